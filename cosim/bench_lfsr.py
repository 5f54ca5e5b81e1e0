"""cocotb bench of the LFSR bank RTL (:class:`pulsetrain.rtl.lfsr.LfsrBank`) against its twin.

The twin is :class:`pulsetrain.model.twins.lfsr.TwinLfsrBank`.

Every cycle the bench drives a random ``enable`` and compares every line's state with the twin, which
advances on the same enables. The states are read at the falling edge, where the registers of the last
rising edge have settled on every simulator.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.coverage import Coverage
from pulsetrain.cosim.kit import Scoreboard, bench_parameters, read_int, report, start_clock_and_reset
from pulsetrain.model.twins.lfsr import TwinLfsrBank

from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm


def config_from(parameters: dict[str, Any]) -> LfsrConfig:
    """The bench's LFSR config from its JSON parameters (the same fields the host built the RTL from)."""
    fields = dict(parameters["config"])
    fields["form"] = LfsrForm(fields["form"])
    fields["taps"] = tuple(fields["taps"])
    return LfsrConfig(**fields)


@cocotb.test()
async def lfsr_bank_matches_twin(dut: Any) -> None:
    """Random enables (probability from the parameters); every state of every line checked each cycle."""
    parameters = bench_parameters()
    config = config_from(parameters)
    lines = int(parameters["lines"])
    cycles = int(parameters.get("cycles", 500))
    rng = random.Random(int(parameters.get("seed", 1)))
    enable_probability = float(parameters.get("enable_probability", 0.7))
    twin = TwinLfsrBank(config, lines)
    mask = (1 << config.width) - 1
    coverage = Coverage("lfsr")
    enable_cover = coverage.point("enable", [0, 1])
    # every state bit of line 0 seen at both levels: a stuck bit leaves one of its bins empty
    bit_cover = coverage.point(
        "line0_bit_levels",
        [(bit, level) for bit in range(config.width) for level in (0, 1)],
        labels=[f"bit{bit}={level}" for bit in range(config.width) for level in (0, 1)],
    )
    scoreboard = Scoreboard("lfsr")
    dut.enable.value = 0
    await start_clock_and_reset(dut)
    for cycle in range(cycles):
        await FallingEdge(dut.clk)
        packed = read_int(dut.states)
        design = np.array(
            [(packed >> (line * config.width)) & mask for line in range(lines)], dtype=np.uint64
        )
        scoreboard.compare("states", design.tolist(), twin.states.tolist(), cycle)
        for bit in range(config.width):
            bit_cover((bit, int(design[0] >> np.uint64(bit)) & 1))
        enable = int(rng.random() < enable_probability)
        enable_cover(enable)
        dut.enable.value = enable
        if enable:
            twin.advance()
    report(scoreboard=scoreboard.summary(), coverage=coverage.summary(), cycles=cycles)
    scoreboard.check()
