"""The SBE unit's RTL against its bit-exact twin: same X, D, norms, projection sum and count."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from amaranth.sim import Simulator
from helpers.simulation import add_watchdog
from pulsetrain.model.twins.sbe import SbeState, SbeUnitTwin
from pulsetrain.rtl.sbe_unit import SbeUnit

from pulsetrain.periphery.sbe import Normalization, SbeConfig


def stimulus(config: SbeConfig, batches: list[int], seed: int) -> list[list[tuple[list[int], list[int]]]]:
    """Random correlated samples (a dominant rank-1 direction plus noise), as input codes."""
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal(config.cols), rng.standard_normal(config.rows)
    u /= np.linalg.norm(u) / 0.9
    v /= np.linalg.norm(v) / 0.9
    limit = 1 << config.input_frac_bits
    out = []
    for size in batches:
        batch = []
        for _ in range(size):
            alpha = rng.uniform(-1, 1)
            x = alpha * v + 0.1 * rng.standard_normal(config.rows)
            d = np.sign(alpha) * 0.7 * u + 0.1 * rng.standard_normal(config.cols)
            xq = np.clip(np.round(x * limit), -limit, limit - 1).astype(int).tolist()
            dq = np.clip(np.round(d * limit), -limit, limit - 1).astype(int).tolist()
            batch.append((xq, dq))
        out.append(batch)
    return out


def run_rtl(
    config: SbeConfig, batches: list[list[tuple[list[int], list[int]]]], *, seed: int = 0
) -> list[SbeState]:
    """Stream the batches into the RTL with random input gaps and output back-pressure; read after each."""
    dut = SbeUnit(config)
    gaps = random.Random(seed)
    states: list[SbeState] = []

    async def put(ctx, value: int) -> None:  # type: ignore[no-untyped-def]
        while gaps.random() < 0.3:  # random idle cycles between stream words
            ctx.set(dut.samples.valid, 0)
            await ctx.tick()
        ctx.set(dut.samples.payload, value)
        ctx.set(dut.samples.valid, 1)
        await ctx.tick().until(dut.samples.ready)
        ctx.set(dut.samples.valid, 0)

    async def bench(ctx) -> None:  # type: ignore[no-untyped-def]
        for batch in batches:
            ctx.set(dut.start_batch, 1)
            await ctx.tick()
            ctx.set(dut.start_batch, 0)
            for xq, dq in batch:
                for value in dq:
                    await put(ctx, value)
                for value in xq:
                    await put(ctx, value)
                await ctx.tick().until(~dut.busy)
            ctx.set(dut.read, 1)
            await ctx.tick()
            ctx.set(dut.read, 0)
            words: list[int] = []
            while len(words) < config.rows + config.cols:
                ready = gaps.random() < 0.7  # random back-pressure on the output stream
                ctx.set(dut.vectors.ready, int(ready))
                if ready and ctx.get(dut.vectors.valid):
                    words.append(ctx.get(dut.vectors.payload))
                await ctx.tick()
            ctx.set(dut.vectors.ready, 0)
            await ctx.tick().until(~dut.busy)
            states.append(
                SbeState(
                    x=np.array(words[: config.rows], dtype=np.int64),
                    d=np.array(words[config.rows :], dtype=np.int64),
                    x_norm_sq=ctx.get(dut.x_norm_sq),
                    d_norm_sq=ctx.get(dut.d_norm_sq),
                    sigma_sum=ctx.get(dut.sigma_sum),
                    count=ctx.get(dut.count),
                )
            )

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    add_watchdog(sim, 50_000)
    sim.run()
    return states


def run_twin(config: SbeConfig, batches: list[list[tuple[list[int], list[int]]]]) -> list[SbeState]:
    twin = SbeUnitTwin(config)
    states = []
    for batch in batches:
        twin.start_batch()
        for xq, dq in batch:
            twin.add(xq, dq)
        states.append(twin.state())
    return states


def assert_same(rtl: list[SbeState], twin: list[SbeState]) -> None:
    assert len(rtl) == len(twin)
    for index, (r, t) in enumerate(zip(rtl, twin, strict=True)):
        assert np.array_equal(r.x, t.x), f"batch {index}: X differs"
        assert np.array_equal(r.d, t.d), f"batch {index}: D differs"
        assert (r.x_norm_sq, r.d_norm_sq, r.sigma_sum, r.count) == (
            t.x_norm_sq,
            t.d_norm_sq,
            t.sigma_sum,
            t.count,
        ), f"batch {index}: registers differ"


CONFIGS = {
    "4x4-exact": SbeConfig(rows=4, cols=4, batch_bits=3),
    "6x3-shift": SbeConfig(rows=6, cols=3, batch_bits=3, normalization=Normalization.SHIFT),
    "3x5-exact-4bit": SbeConfig(rows=3, cols=5, input_bits=4, frac_bits=6, vector_bits=20, batch_bits=2),
}


@pytest.mark.sim
@pytest.mark.parametrize("name", list(CONFIGS), ids=list(CONFIGS))
def test_rtl_matches_twin_over_warm_started_batches(name: str) -> None:
    config = CONFIGS[name]
    batches = stimulus(config, [min(4, config.max_batch), 3, 1], seed=len(name))
    assert_same(run_rtl(config, batches, seed=1), run_twin(config, batches))


@pytest.mark.sim
def test_zero_inputs_give_zero_projections() -> None:
    config = SbeConfig(rows=3, cols=2, batch_bits=2)
    batches = [[([0, 0, 0], [0, 0]), ([0, 0, 0], [0, 0])]]
    rtl = run_rtl(config, batches)
    assert_same(rtl, run_twin(config, batches))
    assert rtl[0].sigma_sum == 0 and not rtl[0].x.any()


@pytest.mark.sim
def test_extreme_codes_hit_the_rails() -> None:
    config = SbeConfig(rows=4, cols=4, batch_bits=2)
    low, high = -(1 << 7), (1 << 7) - 1
    batches = [[([high, low, high, low], [low, low, high, high])] * 4]
    assert_same(run_rtl(config, batches), run_twin(config, batches))


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("seed", range(12), ids=lambda s: f"seed{s}")
def test_rtl_matches_twin_random_configs(seed: int) -> None:
    rng = random.Random(seed)
    input_bits = rng.randint(3, 8)
    config = SbeConfig(
        rows=rng.randint(1, 9),
        cols=rng.randint(1, 9),
        input_bits=input_bits,
        frac_bits=rng.randint(input_bits - 1, 14),
        batch_bits=rng.randint(0, 4),
        normalization=rng.choice(list(Normalization)),
        vector_bits=40,
    )
    sizes = [rng.randint(1, config.max_batch) for _ in range(3)]
    batches = stimulus(config, sizes, seed=seed)
    assert_same(run_rtl(config, batches, seed=seed), run_twin(config, batches))


@pytest.mark.sim
@pytest.mark.parametrize("mode", list(Normalization), ids=lambda m: m.value)
def test_normalizer_matches_twin_on_extreme_and_random_operands(mode: Normalization) -> None:
    from pulsetrain.model.twins.sbe import normalize
    from pulsetrain.rtl.sbe_unit import Normalizer

    config = SbeConfig(rows=4, cols=4, batch_bits=3, normalization=mode)
    dut = Normalizer(config)
    rng = random.Random(11)
    top_dot = (1 << (config.dot_bits - 1)) - 1
    top_sq = (1 << config.norm_sq_bits) - 1
    cases = [
        (0, 0),
        (5, 0),
        (1, 1),
        (-1, 1),
        (top_dot >> 30, top_sq),
        (-(top_dot >> 30), top_sq),
        (7, 4),
        (7, 5),
    ]
    for _ in range(40):
        # a consistent pair: |numerator| <= sqrt(lines) * 2^in_frac * sqrt(norm_sq) (Cauchy-Schwarz)
        norm_sq = rng.randrange(1, 1 << rng.randint(1, config.norm_sq_bits - 8))
        bound = 2 * (1 << config.input_frac_bits) * math.isqrt(norm_sq)
        cases.append((rng.randint(-bound, bound), norm_sq))
    got: list[int] = []

    async def bench(ctx) -> None:  # type: ignore[no-untyped-def]
        for numerator, norm_sq in cases:
            ctx.set(dut.numerator, numerator)
            ctx.set(dut.norm_sq, norm_sq)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            await ctx.tick().until(dut.done)
            got.append(ctx.get(dut.quotient))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    add_watchdog(sim, 50_000)
    sim.run()
    want = [normalize(n, s, config.dividend_shift, mode) for n, s in cases]
    assert got == want


@pytest.mark.sim
@pytest.mark.parametrize("mode", list(Normalization), ids=lambda m: m.value)
def test_sample_cycles_match_the_config(mode: Normalization) -> None:
    """Back-to-back samples on a gap-free stream take exactly ``config.sample_cycles`` each."""
    config = SbeConfig(rows=5, cols=3, batch_bits=3, normalization=mode)
    dut = SbeUnit(config)
    (batch,) = stimulus(config, [4], seed=3)
    accepted: list[int] = []  # cycle of each accepted word

    async def bench(ctx) -> None:  # type: ignore[no-untyped-def]
        cycle = 0
        words = [value for xq, dq in batch for value in (*dq, *xq)]
        ctx.set(dut.samples.valid, 1)
        for value in words:
            ctx.set(dut.samples.payload, value)
            while not ctx.get(dut.samples.ready):
                await ctx.tick()
                cycle += 1
            accepted.append(cycle)
            await ctx.tick()
            cycle += 1
        ctx.set(dut.samples.valid, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    add_watchdog(sim, 50_000)
    sim.run()
    per_sample = config.rows + config.cols
    firsts = accepted[::per_sample]
    assert [b - a for a, b in zip(firsts, firsts[1:], strict=False)] == [config.sample_cycles] * 3
