"""ChopperSign against TwinChopper, cycle for cycle, for random and regular flips."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator
from helpers.strategies import FEW, MANY, lfsr_configs
from hypothesis import given
from hypothesis import strategies as st
from pulsetrain.model.twins.chopper import TwinChopper
from pulsetrain.rtl.chopper import ChopperSign

from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode
from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm

pytestmark = pytest.mark.sim

CONFIGS = {
    "random-p0.3": ChopperConfig(lines=6, mode=ChopperMode.RANDOM, flip_probability=0.3),
    "random-p1-fib": ChopperConfig(
        lines=5,
        mode=ChopperMode.RANDOM,
        flip_probability=1.0,
        probability_bits=4,
        lfsr=LfsrConfig(width=9, form=LfsrForm.FIBONACCI, seed=3, steps_per_advance=4),
    ),
    "random-p0.05-b10": ChopperConfig(lines=4, flip_probability=0.05, probability_bits=10),
    "regular-p0.25": ChopperConfig(lines=4, mode=ChopperMode.REGULAR, flip_probability=0.25),
    "regular-p1": ChopperConfig(lines=3, mode=ChopperMode.REGULAR, flip_probability=1.0),
    "regular-p0": ChopperConfig(lines=3, mode=ChopperMode.REGULAR, flip_probability=0.0),
}


def _run(config: ChopperConfig, seed: int, cycles: int) -> list[str]:
    """Drive random events (sweeps over the lines, some flip_all) and compare every cycle."""
    dut = ChopperSign(config)
    twin = TwinChopper(config)
    rng = np.random.default_rng(seed)
    mismatches: list[str] = []
    line = 0

    async def bench(ctx):  # type: ignore[no-untyped-def]
        nonlocal line
        for cycle in range(cycles):
            rtl_negative = ctx.get(dut.negative)
            expected = sum(int(b) << i for i, b in enumerate(twin.negative))
            if rtl_negative != expected or bool(ctx.get(dut.flipped)) != twin.flipped:
                mismatches.append(
                    f"cycle {cycle}: rtl {rtl_negative:b}/{ctx.get(dut.flipped)} twin {expected:b}"
                )
            data = int(rng.integers(0, 1 << config.lines))
            read = int(rng.integers(0, config.lines))
            ctx.set(dut.data_negative, data)
            ctx.set(dut.read_line, read)
            chopped = sum(
                int(b) << i
                for i, b in enumerate(
                    twin.chop(np.array([(data >> i) & 1 for i in range(config.lines)], dtype=bool))
                )
            )
            if ctx.get(dut.chopped_negative) != chopped or bool(
                ctx.get(dut.read_negative)
            ) != twin.read_negative(read):
                mismatches.append(f"cycle {cycle}: XOR paths differ")
            event = rng.random() < 0.6
            flip_all = bool(rng.random() < 0.1)
            ctx.set(dut.flip, int(event))
            ctx.set(dut.flip_all, int(flip_all))
            ctx.set(dut.flip_line, line)
            await ctx.tick()
            if event:
                twin.event(None if flip_all else line)
                if not flip_all:
                    line = (line + 1) % config.lines

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return mismatches


@pytest.mark.parametrize("name", list(CONFIGS))
def test_chopper_matches_twin(name: str) -> None:
    assert _run(CONFIGS[name], seed=1, cycles=200) == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("name", list(CONFIGS))
def test_chopper_matches_twin_many_seeds(name: str, seed: int) -> None:
    assert _run(CONFIGS[name], seed=seed, cycles=400) == []


# --------------------------------------------------------------------------------------------------
# Randomized configs (hypothesis): a few by default, many with --long
# --------------------------------------------------------------------------------------------------


@st.composite
def chopper_configs(draw: st.DrawFn) -> ChopperConfig:
    bits = draw(st.integers(1, 10))
    return ChopperConfig(
        lines=draw(st.integers(1, 6)),
        mode=draw(st.sampled_from(list(ChopperMode))),
        flip_probability=draw(st.floats(0.0, 1.0)),
        probability_bits=bits,
        lfsr=draw(lfsr_configs(min_width=bits)),
    )


@FEW
@given(chopper_configs(), st.integers(0, 2**16))
def test_random_configs_match_twin(config: ChopperConfig, seed: int) -> None:
    assert _run(config, seed=seed, cycles=120) == []


@pytest.mark.slow
@MANY
@given(chopper_configs(), st.integers(0, 2**16))
def test_many_random_configs_match_twin(config: ChopperConfig, seed: int) -> None:
    assert _run(config, seed=seed, cycles=120) == []
