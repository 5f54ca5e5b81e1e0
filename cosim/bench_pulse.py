"""cocotb bench of the update pulse generator RTL against its twin, with the analog bridge on its lines.

Random codes (with both rails, 0 and full scale, forced in now and then), random signs, random train
lengths ``1..bl_max``; the codes stream gets random idle gaps. For every update the trains the RTL made
(collected by :class:`~pulsetrain.cosim.transactors.PulseGeneratorTransactor`) are compared with
:class:`~pulsetrain.model.twins.pulse.TwinPulseGenerator`'s, and a :class:`~pulsetrain.cosim.bridge.
PulseLineBridge` applies the RTL's pulses to a model tile while the twin's trains go to an identical
shadow tile: the analog weights must match exactly.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from pulsetrain.cosim.bridge import PulseLineBridge
from pulsetrain.cosim.coverage import Coverage
from pulsetrain.cosim.kit import (
    Scoreboard,
    bench_parameters,
    config_from_plain,
    pattern_from,
    report,
    start_clock_and_reset,
)
from pulsetrain.cosim.transactors import PulseGeneratorTransactor
from pulsetrain.model.devices import ConstantStepDevice
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


@cocotb.test()
async def pulse_generator_matches_twin(dut: Any) -> None:
    """Every slot of every train equals the twin's; the bridged tile equals the twin-driven tile."""
    parameters = bench_parameters()
    config: PulseGeneratorConfig = config_from_plain(PulseGeneratorConfig, parameters["config"])
    updates = int(parameters.get("updates", 20))
    rng = random.Random(int(parameters.get("seed", 1)))
    await start_clock_and_reset(dut)
    transactor = PulseGeneratorTransactor(
        dut, config, code_pattern=pattern_from(parameters.get("code_pattern", "random70"), rng)
    )
    twin = TwinPulseGenerator(config)
    tile, shadow = model_tile(config, 7), model_tile(config, 7)
    bridge = PulseLineBridge(dut, tile)
    scoreboard = Scoreboard("pulse_generator")
    coverage = Coverage("pulse_generator")
    count_cover = coverage.point("pulses_per_line", ["zero", "some", "all_bl"])
    bl_cover = coverage.point("bl", ["one", "middle", "bl_max"])
    code_cover = coverage.point("code_rail", ["zero", "full"])
    full = (1 << config.probability_bits) if config.mode is PulseMode.STOCHASTIC else None
    for update in range(updates):
        bl = rng.choice([1, config.bl_max, rng.randrange(1, config.bl_max + 1)])
        high = full if full is not None else bl
        codes = np.array([rng.randrange(high + 1) for _ in range(config.lines)], dtype=np.int64)
        for line in range(config.lines):  # the rails, often enough to cover both
            if rng.random() < 0.15:
                codes[line] = rng.choice([0, high])
        negative = np.array([rng.random() < 0.5 for _ in range(config.lines)])
        x_codes, d_codes = codes[: config.x_lines], codes[config.x_lines :]
        x_neg, d_neg = negative[: config.x_lines], negative[config.x_lines :]
        design = await transactor.fire(x_codes, x_neg, d_codes, d_neg, bl)
        model = twin.fire(x_codes, x_neg, d_codes, d_neg, bl)
        shadow.apply_trains(model)
        for what in ("x_fire", "d_fire", "x_negative", "d_negative"):
            scoreboard.compare(f"update {update} {what}", getattr(design, what), getattr(model, what))
        bl_cover("one" if bl == 1 else "bl_max" if bl == config.bl_max else "middle")
        for count in np.concatenate([design.x_fire.sum(axis=0), design.d_fire.sum(axis=0)]):
            count_cover("zero" if count == 0 else "all_bl" if count == bl else "some")
        for code in codes:
            if code in (0, high):
                code_cover("zero" if code == 0 else "full")
    # let the bridge see the last slot, then compare the analog arrays
    await ClockCycles(dut.clk, 3)
    scoreboard.compare("trains applied by the bridge", bridge.trains_applied, updates)
    scoreboard.compare("tile weights (bridge vs twin)", tile.weights(), shadow.weights())
    report(
        scoreboard=scoreboard.summary(),
        coverage=coverage.summary(),
        cycles=transactor.cycles,
        slots=bridge.slots_seen,
    )
    scoreboard.check()
