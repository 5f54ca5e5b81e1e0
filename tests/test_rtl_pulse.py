"""PulseGenerator against TwinPulseGenerator: same codes, same seed, identical pulse trains."""

from __future__ import annotations

import math

import numpy as np
import pytest
from amaranth.sim import Simulator
from helpers.strategies import FEW, MANY, lfsr_configs
from hypothesis import given
from hypothesis import strategies as st
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.twins.pulse import TwinPulseGenerator
from pulsetrain.rtl.pulse_generator import PulseGenerator

from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm
from pulsetrain.periphery.pulse import LineStreams, PulseGeneratorConfig, PulseMode

pytestmark = pytest.mark.sim

CONFIGS = {
    "stochastic-galois-3x4": PulseGeneratorConfig(
        x_lines=3,
        d_lines=4,
        probability_bits=4,
        lfsr=LfsrConfig(width=16, seed=0xBEEF, steps_per_advance=4),
    ),
    "stochastic-fibonacci-5x2": PulseGeneratorConfig(
        x_lines=5,
        d_lines=2,
        lfsr=LfsrConfig(width=24, form=LfsrForm.FIBONACCI, seed=77, steps_per_advance=8),
    ),
    "stochastic-default-4x4": PulseGeneratorConfig(x_lines=4, d_lines=4),
    "stochastic-shifted-4x4": PulseGeneratorConfig(x_lines=4, d_lines=4, streams=LineStreams.SHIFTED),
    "deterministic-4x5": PulseGeneratorConfig(x_lines=4, d_lines=5, mode=PulseMode.DETERMINISTIC),
    "deterministic-2x3-bl63": PulseGeneratorConfig(
        x_lines=2, d_lines=3, mode=PulseMode.DETERMINISTIC, bl_counter_bits=6, bl_max=63
    ),
}


def _random_update(
    config: PulseGeneratorConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    bl = int(rng.integers(1, config.bl_max + 1))
    high = (1 << config.probability_bits) if config.mode is PulseMode.STOCHASTIC else bl
    x_codes = rng.integers(0, high + 1, config.x_lines)
    d_codes = rng.integers(0, high + 1, config.d_lines)
    x_negative = rng.random(config.x_lines) < 0.5
    d_negative = rng.random(config.d_lines) < 0.5
    return x_codes, x_negative, d_codes, d_negative, bl


def run_updates(config: PulseGeneratorConfig, seed: int, updates: int) -> list[str]:
    """Several updates back to back through the RTL and the twin; returns the differences."""
    rng = np.random.default_rng(seed)
    requests = [_random_update(config, rng) for _ in range(updates)]
    dut = PulseGenerator(config)
    twin = TwinPulseGenerator(config)
    got: list[PulseTrains] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        for x_codes, x_negative, d_codes, d_negative, bl in requests:
            while ctx.get(dut.busy):  # codes are taken only while busy is low (ready == ~busy)
                await ctx.tick()
            codes = list(zip(x_codes, x_negative, strict=True)) + list(zip(d_codes, d_negative, strict=True))
            for line, (code, negative) in enumerate(codes):
                while rng.random() < 0.3:  # idle cycles between writes
                    ctx.set(dut.codes.valid, 0)
                    await ctx.tick()
                ctx.set(dut.codes.valid, 1)
                ctx.set(dut.codes.payload, {"line": line, "code": int(code), "negative": int(negative)})
                await ctx.tick()
            ctx.set(dut.codes.valid, 0)
            ctx.set(dut.start, 1)
            ctx.set(dut.bl, bl)
            await ctx.tick()
            ctx.set(dut.start, 0)
            x_fire, d_fire = [], []
            while True:
                await ctx.tick()
                if ctx.get(dut.slot_valid):
                    x_fire.append([(ctx.get(dut.x_fire) >> i) & 1 for i in range(config.x_lines)])
                    d_fire.append([(ctx.get(dut.d_fire) >> j) & 1 for j in range(config.d_lines)])
                    if ctx.get(dut.slot_last):
                        break
            x_neg = ctx.get(dut.x_negative)
            d_neg = ctx.get(dut.d_negative)
            got.append(
                PulseTrains(
                    x_fire=np.array(x_fire, dtype=bool),
                    d_fire=np.array(d_fire, dtype=bool),
                    x_negative=np.array([(x_neg >> i) & 1 for i in range(config.x_lines)], dtype=bool),
                    d_negative=np.array([(d_neg >> j) & 1 for j in range(config.d_lines)], dtype=bool),
                )
            )

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    differences = []
    for n, (request, rtl) in enumerate(zip(requests, got, strict=True)):
        expected = twin.fire(*request)
        if not rtl.same_as(expected):
            differences.append(f"update {n}: rtl {rtl.x_fire.astype(int)} twin {expected.x_fire.astype(int)}")
    return differences


@pytest.mark.parametrize("name", list(CONFIGS))
def test_generator_matches_twin(name: str) -> None:
    assert run_updates(CONFIGS[name], seed=3, updates=4) == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("name", list(CONFIGS))
def test_generator_matches_twin_many_seeds(name: str, seed: int) -> None:
    assert run_updates(CONFIGS[name], seed=seed, updates=6) == []


def test_busy_refuses_codes_and_start() -> None:
    config = CONFIGS["stochastic-default-4x4"]
    dut = PulseGenerator(config)
    seen: dict[str, int] = {}

    async def bench(ctx):  # type: ignore[no-untyped-def]
        ctx.set(dut.start, 1)
        ctx.set(dut.bl, 5)
        await ctx.tick()
        seen["busy"] = ctx.get(dut.busy)
        seen["ready"] = ctx.get(dut.codes.ready)
        slots = 0
        for _ in range(12):  # start held high: a second train must not begin until the first ends
            await ctx.tick()
            slots += ctx.get(dut.slot_valid)
            if ctx.get(dut.slot_last):
                break
        seen["slots"] = slots

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert seen == {"busy": 1, "ready": 0, "slots": 5}


@pytest.mark.parametrize("bl", [1, 2, 5])
def test_busy_covers_every_slot_and_back_to_back_starts_follow_it(bl: int) -> None:
    """start held high, edge 0 samples it: busy after edges 0..bl, slot t after t+1, next start at bl+2."""
    dut = PulseGenerator(CONFIGS["stochastic-default-4x4"])
    trace: list[tuple[int, int, int, int]] = []  # (busy, slot_valid, slot_last, ready) after each edge

    async def bench(ctx):  # type: ignore[no-untyped-def]
        ctx.set(dut.start, 1)
        ctx.set(dut.bl, bl)
        for _ in range(2 * (bl + 2)):
            await ctx.tick()
            trace.append(
                (ctx.get(dut.busy), ctx.get(dut.slot_valid), ctx.get(dut.slot_last), ctx.get(dut.codes.ready))
            )

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    period = bl + 2  # one train every bl + 2 cycles with start held high
    for edge, (busy, slot_valid, slot_last, ready) in enumerate(trace):
        phase = edge % period  # phase 0: the edge that sampled start
        assert busy == (phase <= bl), f"busy after edge {edge}"
        assert slot_valid == (1 <= phase <= bl), f"slot_valid after edge {edge}"
        assert slot_last == (phase == bl), f"slot_last after edge {edge}"
        assert ready == 1 - busy, f"codes.ready after edge {edge}"
        if slot_valid:
            assert busy, f"a slot presented while busy is low after edge {edge}"


# --------------------------------------------------------------------------------------------------
# Randomized configs (hypothesis): a few by default, many with --long
# --------------------------------------------------------------------------------------------------


@st.composite
def pulse_configs(draw: st.DrawFn) -> PulseGeneratorConfig:
    bits = draw(st.integers(1, 10))
    counter = draw(st.integers(1, 6))
    lfsr = draw(lfsr_configs(min_width=max(bits, 4)))
    # the decorrelator: any width >= bits coprime to the first LFSR's (the config refuses others)
    decorrelator = draw(
        lfsr_configs(min_width=max(bits, 3)).filter(lambda c: math.gcd(c.width, lfsr.width) == 1)
    )
    return PulseGeneratorConfig(
        x_lines=draw(st.integers(1, 5)),
        d_lines=draw(st.integers(1, 5)),
        bl_counter_bits=counter,
        bl_max=draw(st.integers(1, (1 << counter) - 1)),
        probability_bits=bits,
        mode=draw(st.sampled_from(list(PulseMode))),
        lfsr=lfsr,
        streams=draw(st.sampled_from(list(LineStreams))),
        decorrelator=decorrelator,
    )


@FEW
@given(pulse_configs(), st.integers(0, 2**16))
def test_random_configs_match_twin(config: PulseGeneratorConfig, seed: int) -> None:
    assert run_updates(config, seed=seed, updates=3) == []


@pytest.mark.slow
@MANY
@given(pulse_configs(), st.integers(0, 2**16))
def test_many_random_configs_match_twin(config: PulseGeneratorConfig, seed: int) -> None:
    assert run_updates(config, seed=seed, updates=3) == []
