"""Report part ``spice``: the model's column read against ngspice (issue 17's check, at 16 rows).

The same check as ``pulsetrain spice check``: random tiles and inputs, each read by the behavioral model
and by ngspice on the netlist written from the tile's own state, once with ideal wires (the two must agree
within the tolerance derived in :mod:`pulsetrain.spice.check`) and once with the technology's wire and
access resistance (where the plain model and the calibrated IR-drop option are each held against SPICE).
Not available where ngspice is not installed.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulsetrain.report.config import ReportConfig
from pulsetrain.report.page import Section, Table
from pulsetrain.report.part import (
    Part,
    PartData,
    PartOutcome,
    PartPlan,
    Unavailable,
    failed_outcome,
    failures,
    require,
    short,
    spec_from_plain,
    typed_run,
)

KEY = "spice"
TITLE = "The model's column read against ngspice"


@dataclass(frozen=True, kw_only=True)
class SpiceSpec:
    """Size of the check (the default suite's 16-row case)."""

    #: array rows and outputs (column pairs) of each tile
    rows: int = 16
    outputs: int = 8
    #: reads compared per case (tiles x inputs)
    reads: int = 3
    #: technology table whose wires and access transistor the second case uses
    technology: str = "neurosim_v21"


@dataclass(frozen=True, kw_only=True)
class SpiceData(PartData):
    """results.json's ``spice`` entry: :class:`pulsetrain.spice.check.SpiceCheckSummary` as plain data."""

    summary: dict[str, Any]


def spice_check_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Run the model-versus-ngspice check; its summary as plain data."""
    from pulsetrain.spice.check import model_versus_spice

    spec = spec_from_plain(SpiceSpec, plain)
    summary = model_versus_spice(
        rows=spec.rows, outputs=spec.outputs, reads=spec.reads, technology=spec.technology
    )
    if summary is None:
        raise RuntimeError("ngspice disappeared between planning and running the check")
    return dataclasses.asdict(summary)


def plan(config: ReportConfig) -> list[PartPlan]:
    """One run of the check; not available without ngspice."""
    if shutil.which("ngspice") is None:
        raise Unavailable("ngspice is not installed (Debian package ngspice)")
    require("pulsetrain.spice.check", "model_versus_spice")
    run = typed_run(spice_check_run, SpiceSpec(), "model read versus ngspice")
    return [PartPlan(key=KEY, title=TITLE, runs=(run,), assemble=assemble_spice)]


def assemble_spice(results: list[Any]) -> PartOutcome:
    """The two cases as a table, and whether the ideal-wire case held its tolerance."""
    section = Section(
        KEY,
        TITLE,
        intro=(
            "pulsetrain spice check: each read of random 16-row tiles by the behavioral model and by ngspice "
            "on the netlist written from the tile's state (DAC voltages, device and reference conductances, "
            "wire segments, a virtual-ground TIA per column). Errors in ADC LSB, before quantisation; codes "
            "after it. Sweeps to 512 rows: docs/spice/."
        ),
    )
    failed = failures(results)
    if failed:
        return failed_outcome(section, failed)
    summary = results[0]
    section.tables.append(
        Table(
            ["case", "largest |model - ngspice| (LSB)", "codes that differ"],
            [
                [
                    "ideal wires",
                    short(summary["ideal_max_error_lsb"]),
                    str(summary["ideal_code_mismatches"]),
                ],
                [
                    f"{summary['technology']} wires, plain model",
                    short(summary["wires_model_max_error_lsb"]),
                    str(summary["wires_model_code_mismatches"]),
                ],
                [
                    f"{summary['technology']} wires, calibrated IR-drop option",
                    short(summary["wires_ir_max_error_lsb"]),
                    str(summary["wires_ir_code_mismatches"]),
                ],
            ],
        )
    )
    verdict = "held" if summary["passed"] else "DID NOT HOLD"
    tolerance = short(summary["tolerance_lsb"])
    section.notes.append(
        f"Ideal wires: the tolerance of {tolerance} LSB (the TIA's finite gain) {verdict}; "
        f"{summary['ngspice']}."
    )
    status = "ok" if summary["passed"] else "failed"
    return PartOutcome(section=section, data=SpiceData(status=status, summary=summary))


PART = Part(key=KEY, title=TITLE, switch="cosim", plan=plan)
