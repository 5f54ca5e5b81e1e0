"""Switching activity of a block, measured by simulating it, for OpenSTA's power analysis.

OpenSTA 2.0.17 (Debian) reads no VCD or SAIF, so the activity is derived here: the block runs in the
Amaranth simulator for a number of clock cycles with seeded random stimulus on its inputs, the simulator
writes a VCD of every signal in the hierarchy, and :func:`parse_vcd_activity` turns each bit's value
changes into a toggle rate (transitions per clock cycle) and a duty (fraction of time at 1). The flow then
sets these on the matching nets of the synthesized netlist (input ports and the cell outputs that drive
named nets: registers and the signals Yosys keeps) with ``set_power_activity``; OpenSTA propagates
activity through the remaining combinational gates itself.

Stimulus, two kinds:

* random (the default): every input bit flips at each clock edge with probability
  ``input_toggle_probability`` (0 holds the inputs at their first random value, 0.5 gives independent
  random bits every cycle). A generic workload: it exercises the logic like an uncorrelated data stream,
  not like a training schedule; the estimator uses it only as a bound.
* recorded (``workload_file``): per-cycle values of the input ports, recorded from a training run of the
  twins (:mod:`pulsetrain.synth.workload`); ports the file does not name are held at 0; an input stream
  may instead be given as its items (``stream.NAME``), fed through its valid/ready handshake at the
  block's own pace. The file's content digest (``workload_sha256``) enters the synthesis cache key, its
  path does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pulsetrain.config import ConfigError, check_int, check_range

__all__ = ["ActivityStimulus", "BitActivity", "parse_vcd_activity", "simulate_activity"]


@dataclass(frozen=True, kw_only=True)
class ActivityStimulus:
    """How the block is exercised to measure its switching activity."""

    #: clock cycles simulated.
    cycles: int = 1000
    #: probability that an input bit flips at a clock edge (0: constant inputs, 0.5: random every cycle).
    input_toggle_probability: float = 0.25
    #: seed of the NumPy generator that draws the stimulus.
    seed: int = 1
    #: recorded workload (``.npz`` of per-cycle port values, see the module docstring); "" for random.
    workload_file: str = ""
    #: SHA-256 of the recorded workload's values (from :func:`pulsetrain.synth.workload.workload_file`).
    workload_sha256: str = ""
    #: what the recorded workload is (for the report).
    workload_source: str = ""

    def __post_init__(self) -> None:
        check_int("activity.cycles", self.cycles, 10, 10_000_000)
        check_range("activity.input_toggle_probability", self.input_toggle_probability, 0.0, 1.0)
        check_int("activity.seed", self.seed, 0)
        if bool(self.workload_file) != bool(self.workload_sha256):
            raise ConfigError("activity.workload_file and activity.workload_sha256 go together")

    def describe(self) -> str:
        """One line: what drove the activity simulation."""
        if self.workload_file:
            return (
                f"recorded workload ({self.workload_source or 'training run'}, {self.workload_sha256[:12]})"
            )
        return (
            f"random inputs, {self.cycles} cycles, each bit flipping with probability "
            f"{self.input_toggle_probability} per cycle (seed {self.seed})"
        )


@dataclass(frozen=True)
class BitActivity:
    """Measured activity of one bit."""

    #: transitions per clock cycle (0..2 for a signal that may change on both clock edges).
    toggle_rate: float
    #: fraction of the simulated time the bit was 1.
    duty: float


_CLOCK_PERIOD_S = 1e-8


def simulate_activity(component: object, vcd_path: Path, stimulus: ActivityStimulus) -> Path:
    """Simulate ``component`` (an Amaranth ``wiring.Component``) with random inputs, writing ``vcd_path``."""
    from amaranth.hdl import Value
    from amaranth.lib import wiring
    from amaranth.sim import Simulator

    if not isinstance(component, wiring.Component):
        raise TypeError(f"expected an Amaranth wiring.Component, not {type(component).__name__}")
    inputs = []
    names = []
    for path, member, value in component.signature.flatten(component):
        if member.flow is wiring.In:
            # struct / enum views are driven through their underlying bits
            inputs.append(Value.cast(value))
            names.append(".".join(str(part) for part in path))
    streams: dict[str, list[int]] = {}
    if stimulus.workload_file:
        values_per_port, cycles, streams = _recorded_values(Path(stimulus.workload_file), names, inputs)
    else:
        values_per_port, cycles = _random_values(inputs, stimulus), stimulus.cycles
    simulator = Simulator(component)
    simulator.add_clock(_CLOCK_PERIOD_S)
    if streams:
        simulator.add_testbench(_stream_testbench(component, names, inputs, values_per_port, cycles, streams))
    else:

        async def testbench(ctx):  # type: ignore[no-untyped-def]
            for cycle in range(cycles):
                for port, values in zip(inputs, values_per_port, strict=True):
                    ctx.set(port, values[cycle])
                await ctx.tick()

        simulator.add_testbench(testbench)
    vcd_path.parent.mkdir(parents=True, exist_ok=True)
    with simulator.write_vcd(str(vcd_path)):
        simulator.run()
    return vcd_path


#: clock cycles a stream item may wait for ``ready`` before the replay gives up on the block.
_STREAM_PATIENCE_CYCLES = 10_000


def _recorded_values(
    file: Path, names: list[str], inputs: list[Any]
) -> tuple[list[list[int]], int, dict[str, list[int]]]:
    """Per-cycle values of the ports and the items of each stream from a recorded workload.

    A key ``stream.NAME`` holds the items of the input stream ``NAME`` (fed through its handshake, see
    :func:`_stream_testbench`); every other key is a port's value per cycle. Unknown names are an error
    (a stale file).
    """
    with np.load(file) as archive:
        recorded = {key.replace("__", "."): archive[key] for key in archive.files}
    streams = {
        k.removeprefix("stream."): [int(v) for v in a] for k, a in recorded.items() if k.startswith("stream.")
    }
    per_cycle = {k: v for k, v in recorded.items() if not k.startswith("stream.")}
    stream_ports = {f"{name}.{part}" for name in streams for part in ("valid", "payload")}
    unknown = sorted((set(per_cycle) | stream_ports) - set(names))
    if unknown:
        raise ConfigError(f"workload {file} names ports the block does not have: {', '.join(unknown)}")
    cycles = max((len(v) for v in per_cycle.values()), default=1)
    values = []
    for name, port in zip(names, inputs, strict=True):
        mask = (1 << len(port)) - 1
        column = per_cycle.get(name)
        values.append([int(v) & mask for v in column] if column is not None else [0] * cycles)
    return values, cycles, streams


def _stream_testbench(
    component: Any,
    names: list[str],
    inputs: list[Any],
    values_per_port: list[list[int]],
    cycles: int,
    streams: dict[str, list[int]],
) -> Any:
    """A testbench replaying per-cycle port values and feeding stream items through their handshake.

    Each stream presents its next item with ``valid`` high and moves on only after a clock edge at which
    the block's ``ready`` was high: the block consumes the recorded items at its own pace (a closed loop,
    where a per-cycle replay would run ahead of a block whose passes take a varying number of cycles).
    The replay runs for the per-cycle values' length or until every item is taken, whichever is longer,
    then while the block's ``busy`` output (if it has one) stays high.
    """
    plain = [
        (port, values)
        for name, port, values in zip(names, inputs, values_per_port, strict=True)
        if not any(name in (f"{s}.valid", f"{s}.payload") for s in streams)
    ]
    from amaranth.hdl import Value

    feeds = []
    for name, items in streams.items():
        interface = getattr(component, name)
        mask = (1 << len(Value.cast(interface.payload))) - 1
        feeds.append((interface, [item & mask for item in items]))

    async def testbench(ctx):  # type: ignore[no-untyped-def]
        positions = [0] * len(feeds)
        cycle = 0
        limit = cycles + _STREAM_PATIENCE_CYCLES * (1 + sum(len(items) for _, items in feeds))
        while cycle < limit and (
            cycle < cycles or any(p < len(i) for p, (_, i) in zip(positions, feeds, strict=True))
        ):
            for port, values in plain:
                ctx.set(port, values[cycle] if cycle < len(values) else 0)
            taken = []
            for position, (interface, items) in zip(positions, feeds, strict=True):
                pending = position < len(items)
                ctx.set(interface.valid, int(pending))
                if pending:
                    ctx.set(interface.payload, items[position])
                taken.append(pending and bool(ctx.get(interface.ready)))
            await ctx.tick()
            positions = [p + int(t) for p, t in zip(positions, taken, strict=True)]
            cycle += 1
        # the block finishes the work of the last item (a block with a ``busy`` output until it drops)
        busy = getattr(component, "busy", None)
        for _ in range(_STREAM_PATIENCE_CYCLES):
            if busy is None or not ctx.get(busy):
                break
            await ctx.tick()

    return testbench


def _random_values(inputs: list[Any], stimulus: ActivityStimulus) -> list[list[int]]:
    widths = [len(value) for value in inputs]
    rng = np.random.default_rng(stimulus.seed)
    total = sum(widths)
    # one row per cycle: the bits of all inputs, flipping with the toggle probability
    start = rng.random(total) < 0.5
    flips = rng.random((stimulus.cycles, total)) < stimulus.input_toggle_probability
    flips[0] = False
    bits = np.logical_xor.accumulate(np.vstack([start, flips[1:]]), axis=0)
    offsets = np.cumsum([0, *widths])
    weights = [1 << np.arange(w, dtype=object) for w in widths]
    values_per_port = []
    for index, width in enumerate(widths):
        block = bits[:, offsets[index] : offsets[index] + width].astype(object)
        values_per_port.append([int(v) for v in block.dot(weights[index])] if width else [0] * len(bits))
    return values_per_port


_VAR = re.compile(r"\$var\s+\S+\s+(\d+)\s+(\S+)\s+(.+?)\s+\$end")


def parse_vcd_activity(
    vcd_path: Path, *, clock_period_s: float = _CLOCK_PERIOD_S, root_scopes: int = 2
) -> dict[str, list[BitActivity]]:
    """Per-bit activity of every signal in a VCD, keyed by hierarchical name.

    Names join the scopes below the ``root_scopes`` outermost ones with ``.`` (Amaranth's VCD wraps the
    design in ``bench`` and ``top``), which is how Yosys names the wires of a flattened design; a signal
    visible in several scopes under one identifier appears under each name. Bit 0 is the LSB. Memory
    contents (names starting with a backslash) are skipped.
    """
    names_by_id: dict[str, list[str]] = {}
    widths: dict[str, int] = {}
    scope: list[str] = []
    changes: dict[str, list[tuple[int, int]]] = {}
    time = 0
    with vcd_path.open() as handle:
        for line in handle:
            if line.startswith("$enddefinitions"):
                break
            if line.startswith("$scope"):
                scope.append(line.split()[2])
            elif line.startswith("$upscope"):
                scope.pop()
            elif line.startswith("$var"):
                match = _VAR.match(line.strip())
                if match is None:
                    continue
                width, ident, name = int(match.group(1)), match.group(2), match.group(3).split()[0]
                if name.startswith("\\"):
                    continue
                full = ".".join([*scope[root_scopes:], name])
                names_by_id.setdefault(ident, []).append(full)
                widths[ident] = width
                changes.setdefault(ident, [])
        for line in handle:
            if not line or line[0] == "$":
                continue
            head = line[0]
            if head == "#":
                time = int(line[1:])
            elif head == "b":
                digits, ident = line[1:].split()
                if ident in changes:
                    changes[ident].append((time, int(digits.replace("x", "0").replace("z", "0"), 2)))
            elif head in "01xz":
                ident = line[1:].strip()
                if ident in changes:
                    changes[ident].append((time, 1 if head == "1" else 0))
    end_time = max(time, 1)
    cycles = max(end_time * 1e-15 / clock_period_s, 1.0)
    result: dict[str, list[BitActivity]] = {}
    for ident, events in changes.items():
        width = widths[ident]
        toggles = [0] * width
        high_time = [0] * width
        previous_time: int = 0
        previous_value: int | None = None
        for when, value in events:
            if previous_value is not None:
                span = when - previous_time
                changed = value ^ previous_value
                for bit in range(width):
                    if (previous_value >> bit) & 1:
                        high_time[bit] += span
                    if (changed >> bit) & 1:
                        toggles[bit] += 1
            previous_time, previous_value = when, value
        if previous_value is not None:
            for bit in range(width):
                if (previous_value >> bit) & 1:
                    high_time[bit] += end_time - previous_time
        bits = [BitActivity(toggles[b] / cycles, high_time[b] / end_time) for b in range(width)]
        for name in names_by_id[ident]:
            result[name] = bits
    return result
