"""cocotb bench of the update pulse generator RTL against its twin, with the analog bridge on its lines.

Random codes (with both rails, 0 and full scale, forced in now and then), random signs, random train
lengths ``1..bl_max``; the codes stream gets random idle gaps. For every update the trains the RTL made
(collected by :class:`~pulsetrain.cosim.transactors.PulseGeneratorTransactor`) are compared with
:class:`~pulsetrain.model.twins.pulse.TwinPulseGenerator`'s, and a :class:`~pulsetrain.cosim.bridge.
PulseLineBridge` applies the RTL's pulses to a model tile while the twin's trains go to an identical
shadow tile: the analog weights must match exactly.

Kept apart: the stimulus (:func:`draw_update`, a :class:`~pulsetrain.cosim.transactors.PulseUpdate`),
the driver and monitor (the transactor), the model (the twin and its shadow tile), the check
(:func:`check`) and the coverage (:class:`PulseCoverage`); :class:`~pulsetrain.cosim.kit.Bench` holds
the plumbing.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from pulsetrain.cosim.bridge import PulseLineBridge
from pulsetrain.cosim.coverage import Coverage
from pulsetrain.cosim.kit import Bench, Scoreboard
from pulsetrain.cosim.transactors import PulseGeneratorTransactor, PulseUpdate
from pulsetrain.model.devices import ConstantStepDevice
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig
from pulsetrain.model.twins.pulse import TwinPulseGenerator

from pulsetrain.periphery.pulse import PulseGeneratorConfig, PulseMode


def model_tile(config: PulseGeneratorConfig, seed: int) -> Tile:
    """A model tile with the generator's shape (constant-step devices with their default spreads)."""
    return Tile(
        config.d_lines,
        config.x_lines,
        device=ConstantStepDevice(),
        forward_io=IOConfig(),
        backward_io=IOConfig(),
        update=UpdateConfig(),
        output_scale=1.0,
        pulse_source=FloatPulseSource(np.random.default_rng(seed)),
        rng=np.random.default_rng(seed),
    )


def full_scale(config: PulseGeneratorConfig, bl: int) -> int:
    """The code that fires in every slot: ``2**probability_bits`` (stochastic), ``bl`` (deterministic)."""
    return (1 << config.probability_bits) if config.mode is PulseMode.STOCHASTIC else bl


def draw_update(config: PulseGeneratorConfig, rng: random.Random) -> PulseUpdate:
    """Random codes (both rails forced in now and then), random signs, a random train length."""
    bl = rng.choice([1, config.bl_max, rng.randrange(1, config.bl_max + 1)])
    high = full_scale(config, bl)
    codes = np.array([rng.randrange(high + 1) for _ in range(config.lines)], dtype=np.int64)
    for line in range(config.lines):  # the rails, often enough to cover both
        if rng.random() < 0.15:
            codes[line] = rng.choice([0, high])
    negative = np.array([rng.random() < 0.5 for _ in range(config.lines)])
    return PulseUpdate(bl, codes, negative)


def check(scoreboard: Scoreboard, update: int, design: PulseTrains, model: PulseTrains) -> None:
    """Every slot of every line's train and both sign vectors."""
    for what in ("x_fire", "d_fire", "x_negative", "d_negative"):
        scoreboard.compare(f"update {update} {what}", getattr(design, what), getattr(model, what))


class PulseCoverage:
    """Pulses per line (none, some, all BL), the train length and the code rails."""

    def __init__(self, coverage: Coverage, config: PulseGeneratorConfig) -> None:
        self.config = config
        self.bl_max = config.bl_max
        self.count = coverage.point("pulses_per_line", ["zero", "some", "all_bl"])
        self.bl = coverage.point("bl", ["one", "middle", "bl_max"])
        self.code = coverage.point("code_rail", ["zero", "full"])

    def sample(self, stimulus: PulseUpdate, design: PulseTrains) -> None:
        """Sample one update."""
        bl = stimulus.bl
        high = full_scale(self.config, bl)
        self.bl("one" if bl == 1 else "bl_max" if bl == self.bl_max else "middle")
        for count in np.concatenate([design.x_fire.sum(axis=0), design.d_fire.sum(axis=0)]):
            self.count("zero" if count == 0 else "all_bl" if count == bl else "some")
        for code in stimulus.codes:
            if code in (0, high):
                self.code("zero" if code == 0 else "full")


@cocotb.test()
async def pulse_generator_matches_twin(dut: Any) -> None:
    """Every slot of every train equals the twin's; the bridged tile equals the twin-driven tile."""
    bench = Bench(dut, "pulse_generator")
    config = bench.config(PulseGeneratorConfig)
    updates = bench.integer("updates", 20)
    await bench.start()
    transactor = PulseGeneratorTransactor(dut, config, code_pattern=bench.pattern("code_pattern", "random70"))
    twin = TwinPulseGenerator(config)
    tile, shadow = model_tile(config, 7), model_tile(config, 7)
    bridge = PulseLineBridge(dut, tile)
    coverage = PulseCoverage(bench.coverage, config)
    x = config.x_lines
    for update in range(updates):
        stimulus = draw_update(config, bench.rng)
        codes, negative = stimulus.codes, stimulus.negative
        design = await transactor.fire(codes[:x], negative[:x], codes[x:], negative[x:], stimulus.bl)
        model = twin.fire(codes[:x], negative[:x], codes[x:], negative[x:], stimulus.bl)
        shadow.apply_trains(model)
        check(bench.scoreboard, update, design, model)
        coverage.sample(stimulus, design)
    # let the bridge see the last slot, then compare the analog arrays
    await ClockCycles(dut.clk, 3)
    bench.scoreboard.compare("trains applied by the bridge", bridge.trains_applied, updates)
    bench.scoreboard.compare("tile weights (bridge vs twin)", tile.weights(), shadow.weights())
    bench.finish(cycles=transactor.cycles, slots=bridge.slots_seen)
