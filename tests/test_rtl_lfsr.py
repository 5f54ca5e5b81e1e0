"""The LFSR components against the twin, cycle for cycle, in Amaranth's simulator."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator
from pulsetrain.model.twins.lfsr import TwinLfsrBank
from pulsetrain.rtl.lfsr import Lfsr, LfsrBank

from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm

pytestmark = pytest.mark.sim

CONFIGS = [
    LfsrConfig(width=8, form=LfsrForm.GALOIS, seed=0x5A),
    LfsrConfig(width=8, form=LfsrForm.FIBONACCI, seed=0x01),
    LfsrConfig(width=16, form=LfsrForm.GALOIS, seed=0xACE1, steps_per_advance=8),
    LfsrConfig(width=13, form=LfsrForm.FIBONACCI, seed=0x1234, steps_per_advance=5),
    LfsrConfig(width=32, form=LfsrForm.GALOIS, seed=0xDEADBEEF, steps_per_advance=9),
]


def _id(config: LfsrConfig) -> str:
    return f"{config.form.value}-w{config.width}-k{config.steps_per_advance}"


@pytest.mark.parametrize("config", CONFIGS, ids=_id)
def test_bank_matches_twin_cycle_for_cycle(config: LfsrConfig) -> None:
    lines, cycles = 4, 60
    dut = LfsrBank(config, lines)
    twin = TwinLfsrBank(config, lines)
    enables = np.random.default_rng(7).random(cycles) < 0.7
    mismatches: list[tuple[int, list[int], list[int]]] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        for cycle, enable in enumerate(enables):
            rtl = [ctx.get(dut.states[line]) for line in range(lines)]
            expected = [int(s) for s in twin.states]
            if rtl != expected:
                mismatches.append((cycle, rtl, expected))
            ctx.set(dut.enable, int(enable))
            await ctx.tick()
            if enable:
                twin.advance()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert mismatches == []


def test_single_lfsr_period_in_simulation() -> None:
    config = LfsrConfig(width=6, form=LfsrForm.FIBONACCI, seed=0x21)
    dut = Lfsr(config)
    seen: list[int] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        ctx.set(dut.enable, 1)
        for _ in range(config.period + 1):
            seen.append(ctx.get(dut.state))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert len(set(seen[:-1])) == config.period
    assert seen[-1] == seen[0] == config.seed
