"""Report part ``datasheets``: every periphery block's datasheet, its timing checked in simulation.

For each catalogue block at its default config, the datasheet of ``pulsetrain rtl --block B --datasheet``:
the emitted Verilog runs its scenario on a simulator (Icarus when installed, else Verilator), the latency
and throughput formulas are held against the cycles counted in that run, and the timing diagram drawn from
it is embedded. The full sheets (ports with payload field bit ranges, clock, reset values, protocol rules)
go into results.json and come from ``pulsetrain rtl --block B --datasheet`` as Markdown, JSON and SVG.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulsetrain import catalogue
from pulsetrain.executor import RunFailure
from pulsetrain.report.config import ReportConfig
from pulsetrain.report.page import Plot, Section, Table
from pulsetrain.report.part import (
    Part,
    PartData,
    PartOutcome,
    PartPlan,
    failures,
    require,
    short,
    spec_from_plain,
    typed_run,
)

KEY = "datasheets"
TITLE = "Datasheets of the periphery blocks, timing checked in simulation"


@dataclass(frozen=True, kw_only=True)
class DatasheetSpec:
    """One block's datasheet at its default config."""

    #: catalogue block name
    block: str


@dataclass(frozen=True, kw_only=True)
class DatasheetData(PartData):
    """results.json's ``datasheets`` entry: the sheets (without their diagrams' SVG) by block."""

    sheets: dict[str, Any]
    #: every formula that was measured agreed with the simulation
    all_agree: bool


def datasheet_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """The datasheet of one block (simulated) and its timing diagram's SVG text."""
    from pulsetrain.config import to_plain
    from pulsetrain.cosim.datasheet import datasheet_with_timing, default_simulator
    from pulsetrain.rtl.blocks import get_block

    spec = spec_from_plain(DatasheetSpec, plain)
    config = get_block(spec.block).default_config()
    sheet, svg = datasheet_with_timing(spec.block, config, default_simulator())
    return {"sheet": to_plain(sheet), "svg": svg}


def plan(config: ReportConfig) -> list[PartPlan]:
    """One run per block."""
    require("pulsetrain.cosim.datasheet", "datasheet_with_timing")
    runs = tuple(
        typed_run(datasheet_run, DatasheetSpec(block=name), f"datasheet {name}")
        for name in catalogue.block_names()
    )
    return [PartPlan(key=KEY, title=TITLE, runs=runs, assemble=assemble_datasheets)]


def assemble_datasheets(results: list[Any]) -> PartOutcome:
    """One table of formula checks over all blocks, and each block's timing diagram."""
    section = Section(
        KEY,
        TITLE,
        intro=(
            "pulsetrain rtl --block B --datasheet at each block's default config: the formulas the datasheet "
            "states, against the cycles counted while the emitted Verilog ran its scenario. Full sheets: "
            "results.json here, or Markdown / JSON / SVG from that command (examples in docs/datasheets/)."
        ),
    )
    failed = failures(results)
    section.notes.extend(f"not available: {failure.label}: {failure.error}" for failure in failed)
    done = [result for result in results if not isinstance(result, RunFailure)]
    rows = []
    for result in done:
        sheet = result["sheet"]
        measured = {check["name"]: check for check in sheet["checks"]}
        for formula in sheet["formulas"]:
            check = measured.get(formula["name"])
            rows.append(
                [
                    sheet["block"],
                    formula["name"],
                    formula["expression"],
                    short(formula["value"]),
                    "-" if check is None else short(check["measured"]),
                    "-" if check is None else ("yes" if check["agrees"] else "NO"),
                ]
            )
        diagram = sheet["diagrams"][0]
        section.plots.append(
            Plot(
                f"{sheet['block']}: {diagram['title']}",
                result["svg"].encode("utf-8"),
                f"{diagram['caption']} (simulated on {sheet['simulator']})",
                media_type="image/svg+xml",
            )
        )
    if rows:
        section.tables.append(
            Table(["block", "formula", "expression", "stated", "measured", "agrees"], rows)
        )
    all_agree = all(c["agrees"] for r in done for c in r["sheet"]["checks"])
    if not all_agree:
        section.notes.append("A stated formula DIFFERS from the simulation (see the table).")
    sheets = {r["sheet"]["block"]: {k: v for k, v in r["sheet"].items() if k != "diagrams"} for r in done}
    status = "ok" if done and not failed and all_agree else ("failed" if done else "not available")
    if not done:
        section.unavailable = "; ".join(section.notes) or "no datasheet was made"
    return PartOutcome(section=section, data=DatasheetData(status=status, sheets=sheets, all_agree=all_agree))


PART = Part(key=KEY, title=TITLE, switch="cosim", plan=plan)
