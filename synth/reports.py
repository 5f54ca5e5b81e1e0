"""Synthesis reports as frozen records, and the parsers that build them from the tools' outputs.

Every report keeps the tool versions, the hash of the emitted RTL plus flow options it was cached under,
and says where each number comes from (Yosys ``stat``, nextpnr's report, OpenSTA) so that a figure in
the estimator can always be traced back to a run.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pulsetrain.synth.tools import ToolVersions

__all__ = [
    "MemoryReport",
    "PowerReport",
    "SynthesisReport",
    "parse_nextpnr_report",
    "parse_sta_power",
    "parse_sta_timing",
    "parse_yosys_memories",
    "parse_yosys_stat",
    "report_from_dict",
]


@dataclass(frozen=True)
class MemoryReport:
    """One memory of the block (an Amaranth ``Memory``: H buffer, references, SBE vectors, ...)."""

    #: hierarchical name in the flattened design.
    name: str
    #: bits per word.
    width: int
    #: words.
    depth: int
    #: read ports.
    read_ports: int
    #: write ports.
    write_ports: int
    #: what the flow did with it: "bram" (FPGA block RAM), "sram model" (ASIC: costed from the SRAM model
    #: of the technology table, not synthesized), or "flops" (synthesized into flip-flops).
    mapped_to: str
    #: area from the SRAM model (µm², ASIC targets with ``mapped_to == "sram model"``), else None.
    sram_area_um2: float | None = None
    #: energy of one word read from the SRAM model (pJ), else None.
    sram_read_energy_pJ: float | None = None
    #: energy of one word write from the SRAM model (pJ), else None.
    sram_write_energy_pJ: float | None = None

    @property
    def bits(self) -> int:
        """Capacity in bits."""
        return self.width * self.depth


@dataclass(frozen=True)
class PowerReport:
    """OpenSTA ``report_power`` totals (W) at the report's clock, with the activity they rest on."""

    internal_W: float
    switching_W: float
    leakage_W: float
    total_W: float
    #: where the switching activity came from (simulation length, stimulus, nets annotated).
    activity_source: str
    #: net bits whose activity was set from the simulation (the rest propagated by OpenSTA).
    annotated_pins: int


@dataclass(frozen=True)
class SynthesisReport:
    """Cost of one block on one target."""

    #: block name (registry name or the component's class name).
    block: str
    #: generic, ice40, ecp5, nangate45 or sky130.
    target: str
    #: the flow options and block parameters it was run with (plain data).
    options: dict[str, Any]
    #: SHA-256 of the emitted RTL (source locations stripped) plus the options: the cache key.
    key: str
    #: versions of the tools that produced it.
    tools: ToolVersions
    #: total cells after technology mapping (generic gates, FPGA primitives or standard cells).
    cells: int
    #: cells by type.
    cell_types: dict[str, int]
    #: flip-flops (or FPGA flip-flop primitives).
    flip_flops: int
    #: memories found in the design and how each was mapped.
    memories: tuple[MemoryReport, ...] = ()
    #: FPGA: logic cells / LUTs (iCE40 SB_LUT4, ECP5 LUT4).
    luts: int | None = None
    #: FPGA: block RAM primitives used.
    brams: int | None = None
    #: FPGA: maximum clock frequency from nextpnr (MHz).
    fmax_MHz: float | None = None
    #: ASIC: standard-cell area (µm²), without memories costed from the SRAM model.
    area_um2: float | None = None
    #: ASIC: area of flip-flops and latches (µm²).
    sequential_area_um2: float | None = None
    #: clock period the timing and power were computed at (ns).
    clock_period_ns: float | None = None
    #: ASIC with timing: longest register-to-register / port path arrival (ns) from OpenSTA.
    critical_path_ns: float | None = None
    #: ASIC with power: OpenSTA power at ``clock_period_ns``.
    power: PowerReport | None = None
    #: remarks: what was approximated, what was skipped and why.
    notes: tuple[str, ...] = ()
    #: wall time of the run that produced it (s); a cache hit keeps the original value.
    runtime_s: float = 0.0
    #: True when this object was read from the cache.
    cached: bool = False

    @property
    def memory_bits(self) -> int:
        """Total memory capacity in bits."""
        return sum(m.bits for m in self.memories)

    @property
    def sram_area_um2(self) -> float:
        """Area of the memories costed from the SRAM model (µm²)."""
        return sum(m.sram_area_um2 or 0.0 for m in self.memories)

    @property
    def total_area_um2(self) -> float | None:
        """Standard cells plus SRAM-model memories (µm²), for ASIC targets."""
        if self.area_um2 is None:
            return None
        return self.area_um2 + self.sram_area_um2

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a flat row (for tables)."""
        row: dict[str, Any] = {
            "block": self.block,
            "target": self.target,
            "cells": self.cells,
            "flip_flops": self.flip_flops,
            "memory_bits": self.memory_bits,
        }
        for name in ("luts", "brams", "fmax_MHz", "area_um2", "critical_path_ns"):
            value = getattr(self, name)
            if value is not None:
                row[name] = value
        if self.memories and self.area_um2 is not None:
            row["sram_area_um2"] = self.sram_area_um2
        if self.area_um2 is not None:
            row["total_area_um2"] = self.area_um2 + self.sram_area_um2
        if self.power is not None:
            row["power_W"] = self.power.total_W
        return row


def report_from_dict(data: dict[str, Any]) -> SynthesisReport:
    """Rebuild a :class:`SynthesisReport` from its JSON form (the cache)."""
    values = dict(data)
    values["tools"] = ToolVersions(**values["tools"])
    values["memories"] = tuple(MemoryReport(**m) for m in values.get("memories", ()))
    values["power"] = PowerReport(**values["power"]) if values.get("power") else None
    values["notes"] = tuple(values.get("notes", ()))
    values.pop("cached", None)
    return SynthesisReport(**values, cached=True)


# --------------------------------------------------------------------------------------------------
# parsers
# --------------------------------------------------------------------------------------------------

_FF_PATTERN = re.compile(
    r"(^\$_.*DFF|^\$_.*FF_|^\$_DLATCH|DFF|^SB_DFF|^TRELLIS_FF|dfxtp|^\$_ALDFF|LATCH|TLAT)"
)


def _is_flop(cell_type: str) -> bool:
    return bool(_FF_PATTERN.search(cell_type))


@dataclass(frozen=True)
class YosysStat:
    """What ``stat -json`` says about the top module."""

    cells: int
    cell_types: dict[str, int] = field(default_factory=dict)
    area_um2: float | None = None
    sequential_area_um2: float | None = None

    @property
    def flip_flops(self) -> int:
        """Cells whose type is a flip-flop or latch."""
        return sum(n for t, n in self.cell_types.items() if _is_flop(t))


def parse_yosys_stat(text: str, top: str) -> YosysStat:
    """Parse the output of ``tee -q -o FILE stat -json [-liberty LIB]`` for module ``top``."""
    data = json.loads(text)
    modules = data.get("modules", {})
    module = modules.get(f"\\{top}") or modules.get(top) or data.get("design", {})
    types = {k.lstrip("\\"): int(v) for k, v in module.get("num_cells_by_type", {}).items()}
    area = module.get("area")
    sequential = module.get("sequential_area")
    return YosysStat(
        cells=int(module.get("num_cells", sum(types.values()))),
        cell_types=types,
        area_um2=float(area) if area is not None else None,
        sequential_area_um2=float(sequential) if sequential is not None else None,
    )


def parse_yosys_memories(text: str) -> list[dict[str, Any]]:
    """The ``$mem_v2`` cells of a ``write_json`` netlist: name, width, depth, read and write ports."""
    data = json.loads(text)
    found = []
    for module in data.get("modules", {}).values():
        for name, cell in module.get("cells", {}).items():
            if cell.get("type") != "$mem_v2":
                continue
            parameters = cell.get("parameters", {})

            def number(key: str, params: dict[str, Any] = parameters) -> int:
                value = params.get(key, "0")
                return int(value, 2) if isinstance(value, str) else int(value)

            memid = parameters.get("MEMID", name)
            found.append(
                {
                    "name": str(memid).lstrip("\\"),
                    "width": number("WIDTH"),
                    "depth": number("SIZE"),
                    "read_ports": number("RD_PORTS"),
                    "write_ports": number("WR_PORTS"),
                }
            )
    return found


def parse_nextpnr_report(text: str) -> tuple[float | None, dict[str, int]]:
    """Fmax (MHz, slowest clock) and used cells by type from nextpnr's ``--report`` JSON."""
    data = json.loads(text)
    fmax_values = [float(v.get("achieved", 0.0)) for v in data.get("fmax", {}).values()]
    fmax = min(fmax_values) if fmax_values else None
    used = {name: int(v.get("used", 0)) for name, v in data.get("utilization", {}).items()}
    return fmax, used


def parse_sta_timing(text: str) -> float | None:
    """Data arrival time (ns) of the worst path in a ``report_checks`` output, None if no path."""
    match = re.search(r"^\s*([-\d.]+)\s+data arrival time", text, flags=re.M)
    return float(match.group(1)) if match else None


def parse_sta_power(text: str) -> tuple[float, float, float, float]:
    """(internal, switching, leakage, total) in W from the ``Total`` row of ``report_power``."""
    match = re.search(r"^Total\s+([-\d.eE+]+)\s+([-\d.eE+]+)\s+([-\d.eE+]+)\s+([-\d.eE+]+)", text, flags=re.M)
    if match is None:
        raise ValueError("no Total row in the OpenSTA power report")
    internal, switching, leakage, total = (float(match.group(i)) for i in range(1, 5))
    return internal, switching, leakage, total
