"""cocotb bench of the chopper sign RTL (:class:`pulsetrain.rtl.chopper.ChopperSign`) against its twin.

Random flip events (a random line, sometimes all lines), random data signs on the write path and a
random line on the read path; every cycle the bench compares the sign registers, ``flipped`` and both
XOR paths with :class:`pulsetrain.model.twins.chopper.TwinChopper`. Read at the falling edge: the
registers show the events up to the last rising edge, the XOR paths the inputs driven half a cycle ago.

Driver (:class:`ChopperDriver`), monitor (:func:`observe`), model (:class:`ChopperModel`) and check
(:func:`check`) are kept apart; :class:`~pulsetrain.cosim.kit.Bench` holds the plumbing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.kit import Bench, Scoreboard, bits, read_int
from pulsetrain.model.twins.chopper import TwinChopper

from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode


@dataclass(frozen=True)
class ChopperInputs:
    """One cycle's stimulus."""

    #: data signs on the write path, one per line
    data_negative: np.ndarray
    #: the line read on the read path
    read_line: int
    #: a flip event in this cycle
    event: bool
    #: the event covers every line
    every_line: bool
    #: the line of a single-line event
    line: int


@dataclass(frozen=True)
class ChopperOutputs:
    """What the design (or the twin) shows in one cycle."""

    #: the sign register of each line
    negative: list[bool]
    #: the last event flipped
    flipped: int
    #: the write path: data signs XOR line signs
    chopped_negative: list[bool]
    #: the read path: the read line's sign
    read_negative: int


class ChopperDriver:
    """Random stimulus, drawn in a fixed order from the bench's generator, driven onto the ports."""

    def __init__(self, dut: Any, lines: int, rng: random.Random, event_probability: float) -> None:
        self.dut = dut
        self.lines = lines
        self.rng = rng
        self.event_probability = event_probability
        for port in ("flip", "flip_all", "flip_line", "data_negative", "read_line"):
            getattr(dut, port).value = 0

    def draw(self) -> ChopperInputs:
        """The next cycle's stimulus."""
        rng = self.rng
        data_negative = np.array([rng.random() < 0.5 for _ in range(self.lines)])
        read_line = rng.randrange(self.lines)
        event = rng.random() < self.event_probability
        every_line = event and rng.random() < 0.1
        return ChopperInputs(data_negative, read_line, event, every_line, rng.randrange(self.lines))

    def drive(self, inputs: ChopperInputs) -> None:
        """Put ``inputs`` on the ports."""
        self.dut.data_negative.value = sum(int(b) << i for i, b in enumerate(inputs.data_negative))
        self.dut.read_line.value = inputs.read_line
        self.dut.flip.value = int(inputs.event)
        self.dut.flip_all.value = int(inputs.every_line)
        self.dut.flip_line.value = inputs.line


def observe(dut: Any, lines: int) -> ChopperOutputs:
    """The monitor: the design's outputs in this cycle."""
    return ChopperOutputs(
        negative=np.array(bits(read_int(dut.negative), lines)).tolist(),
        flipped=read_int(dut.flipped),
        chopped_negative=bits(read_int(dut.chopped_negative), lines),
        read_negative=read_int(dut.read_negative),
    )


class ChopperModel:
    """The twin, fed the same events; predicts the outputs for the inputs driven half a cycle ago."""

    def __init__(self, config: ChopperConfig) -> None:
        self.twin = TwinChopper(config)
        self.inputs = ChopperInputs(np.zeros(config.lines, dtype=bool), 0, False, False, 0)

    def predict(self) -> ChopperOutputs:
        """What the design must show now."""
        twin = self.twin
        return ChopperOutputs(
            negative=twin.negative.tolist(),
            flipped=int(twin.flipped),
            chopped_negative=twin.chop(self.inputs.data_negative).tolist(),
            read_negative=int(twin.read_negative(self.inputs.read_line)),
        )

    def apply(self, inputs: ChopperInputs) -> tuple[bool, bool, int] | None:
        """Take the next cycle's inputs; for an event: (flipped, probed line's sign before, sweep before)."""
        self.inputs = inputs
        if not inputs.event:
            return None
        before = self.twin.negative
        sweep_before = self.twin.sweep
        flipped = self.twin.event(None if inputs.every_line else inputs.line)
        probe = 0 if inputs.every_line else inputs.line
        return flipped, bool(before[probe]), sweep_before


def check(scoreboard: Scoreboard, design: ChopperOutputs, model: ChopperOutputs, cycle: int) -> None:
    """Every output of the cycle, in a fixed order."""
    for what in ("negative", "flipped", "chopped_negative", "read_negative"):
        scoreboard.compare(what, getattr(design, what), getattr(model, what), cycle)


@cocotb.test()
async def chopper_matches_twin(dut: Any) -> None:
    """Every cycle: signs, flipped, chopped write signs and read sign equal the twin's."""
    bench = Bench(dut, "chopper")
    config = bench.config(ChopperConfig)
    cycles = bench.integer("cycles", 400)
    flip_cover = bench.coverage.point(
        "flip", ["to_negative", "to_positive", "kept"], labels=["to_negative", "to_positive", "kept"]
    )
    scope_cover = bench.coverage.point("event_scope", ["one_line", "all_lines"])
    # the regular-mode sweep counter must wrap (only regular mode has one)
    regular = config.mode is ChopperMode.REGULAR
    sweep_wrap = bench.coverage.point("sweep_wrapped", [True]) if regular else None
    model = ChopperModel(config)
    driver = ChopperDriver(dut, config.lines, bench.rng, bench.real("event_probability", 0.6))
    await bench.start()
    for cycle in range(cycles):
        await FallingEdge(dut.clk)
        check(bench.scoreboard, observe(dut, config.lines), model.predict(), cycle)
        inputs = driver.draw()
        driver.drive(inputs)
        event = model.apply(inputs)
        if event is None:
            continue
        flipped, was_negative, sweep_before = event
        scope_cover("all_lines" if inputs.every_line else "one_line")
        flip_cover("kept" if not flipped else "to_positive" if was_negative else "to_negative")
        if sweep_wrap is not None and model.twin.sweep < sweep_before:
            sweep_wrap(True)
    bench.finish(cycles=cycles)
