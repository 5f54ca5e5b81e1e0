"""cocotb bench of the LFSR bank RTL (:class:`pulsetrain.rtl.lfsr.LfsrBank`) against its twin.

The twin is :class:`pulsetrain.model.twins.lfsr.TwinLfsrBank`.

Every cycle the bench drives a random ``enable`` and compares every line's state with the twin, which
advances on the same enables. The states are read at the falling edge, where the registers of the last
rising edge have settled on every simulator. Driver (:func:`draw_enable`), monitor (:func:`observe`),
model (the twin) and check are kept apart; :class:`~pulsetrain.cosim.kit.Bench` holds the plumbing.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.kit import Bench, read_int
from pulsetrain.model.twins.lfsr import TwinLfsrBank

from pulsetrain.periphery.lfsr import LfsrConfig


def draw_enable(rng: random.Random, probability: float) -> int:
    """The driver's stimulus for one cycle: advance (1) or hold (0)."""
    return int(rng.random() < probability)


def observe(dut: Any, config: LfsrConfig, lines: int) -> np.ndarray:
    """The monitor: every line's state, unpacked from the ``states`` bus."""
    packed = read_int(dut.states)
    mask = (1 << config.width) - 1
    return np.array([(packed >> (line * config.width)) & mask for line in range(lines)], dtype=np.uint64)


@cocotb.test()
async def lfsr_bank_matches_twin(dut: Any) -> None:
    """Random enables (probability from the parameters); every state of every line checked each cycle."""
    bench = Bench(dut, "lfsr")
    config = bench.config(LfsrConfig)
    lines = int(bench.parameters["lines"])
    cycles = bench.integer("cycles", 500)
    enable_probability = bench.real("enable_probability", 0.7)
    twin = TwinLfsrBank(config, lines)
    enable_cover = bench.coverage.point("enable", [0, 1])
    # every state bit of line 0 seen at both levels: a stuck bit leaves one of its bins empty
    bit_cover = bench.coverage.point(
        "line0_bit_levels",
        [(bit, level) for bit in range(config.width) for level in (0, 1)],
        labels=[f"bit{bit}={level}" for bit in range(config.width) for level in (0, 1)],
    )
    await bench.start(idle_inputs={"enable": 0})
    for cycle in range(cycles):
        await FallingEdge(dut.clk)
        design = observe(dut, config, lines)
        bench.scoreboard.compare("states", design.tolist(), twin.states.tolist(), cycle)
        for bit in range(config.width):
            bit_cover((bit, int(design[0] >> np.uint64(bit)) & 1))
        enable = draw_enable(bench.rng, enable_probability)
        enable_cover(enable)
        dut.enable.value = enable
        if enable:
            twin.advance()
    bench.finish(cycles=cycles)
