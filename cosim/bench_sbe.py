"""cocotb bench of the rank-1 SBE streaming unit RTL (:class:`pulsetrain.rtl.sbe_unit.SbeUnit`).

Batches of random sizes (1 up to ``max_batch``) of correlated samples (a dominant rank-1 direction plus
noise, with now and then a sample at the code rails or an all-zero error) are streamed into ``samples``
with random idle gaps; after each batch ``read`` streams X and D out of ``vectors`` with random
back-pressure. X, D, the norms, the projection sum and the sample count are compared with the bit-exact
twin :class:`pulsetrain.model.twins.sbe.SbeUnitTwin`. D's direction carries over between batches (the
warm start), so a divergence in one batch shows in all later ones as well.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.coverage import Coverage
from pulsetrain.cosim.kit import (
    CycleCounter,
    Scoreboard,
    StreamSink,
    StreamSource,
    bench_parameters,
    config_from_plain,
    pattern_from,
    read_int,
    report,
    start_clock_and_reset,
)
from pulsetrain.model.twins.sbe import SbeUnitTwin

from pulsetrain.periphery.sbe import SbeConfig


def signed_value(raw: int, width: int) -> int:
    """Two's-complement value of the ``width``-bit pattern ``raw``."""
    return raw - (1 << width) if raw >> (width - 1) else raw


def batch_samples(
    config: SbeConfig, size: int, rng: random.Random, np_rng: np.random.Generator
) -> list[tuple[list[int], list[int]]]:
    """``size`` samples as input codes: ``x = alpha v + noise``, ``d = sign(alpha) 0.7 u + noise``.

    One sample in ten sits at the code rails (a random rail per line) and one in twenty has an all-zero
    error, so that saturation of the inputs and a zero norm both reach the normalizers.
    """
    limit = 1 << config.input_frac_bits
    u = np_rng.standard_normal(config.cols)
    v = np_rng.standard_normal(config.rows)
    u *= 0.9 / np.linalg.norm(u)
    v *= 0.9 / np.linalg.norm(v)
    samples = []
    for _ in range(size):
        alpha = np_rng.uniform(-1, 1)
        x = alpha * v + 0.1 * np_rng.standard_normal(config.rows)
        d = np.sign(alpha) * 0.7 * u + 0.1 * np_rng.standard_normal(config.cols)
        x_codes = np.clip(np.round(x * limit), -limit, limit - 1).astype(int).tolist()
        d_codes = np.clip(np.round(d * limit), -limit, limit - 1).astype(int).tolist()
        kind = rng.random()
        if kind < 0.1:
            x_codes = [rng.choice((-limit, limit - 1)) for _ in range(config.rows)]
            d_codes = [rng.choice((-limit, limit - 1)) for _ in range(config.cols)]
        elif kind < 0.15:
            d_codes = [0] * config.cols
        samples.append((x_codes, d_codes))
    return samples


@cocotb.test()
async def sbe_unit_matches_twin(dut: Any) -> None:
    """After every batch: X, D, ‖X‖², ‖D‖², the projection sum and the count equal the twin's."""
    parameters = bench_parameters()
    config: SbeConfig = config_from_plain(SbeConfig, parameters["config"])
    batches = int(parameters.get("batches", 6))
    rng = random.Random(int(parameters.get("seed", 1)))
    np_rng = np.random.default_rng(int(parameters.get("seed", 1)))
    twin = SbeUnitTwin(config)
    input_mask = (1 << config.input_bits) - 1
    dut.start_batch.value = 0
    dut.read.value = 0
    dut.samples__valid.value = 0
    dut.vectors__ready.value = 0
    await start_clock_and_reset(dut)
    counter = CycleCounter(dut.clk)
    source = StreamSource(dut, "samples", dut.clk, pattern_from(parameters.get("source", "random70"), rng))
    sink = StreamSink(dut, "vectors", dut.clk, pattern_from(parameters.get("sink", "random60"), rng), counter)
    scoreboard = Scoreboard("sbe_unit")
    coverage = Coverage("sbe_unit")
    size_cover = coverage.point("batch_size", ["one", "between", "max_batch"])
    rail_cover = coverage.point("input_codes_at_rails", ["low", "high"])
    zero_cover = coverage.point("all_zero_error_sample", [True])
    stall_cover = coverage.point("stream_stalls", ["samples", "vectors"])
    limit = 1 << config.input_frac_bits
    words = config.rows + config.cols
    taken = 0
    for batch in range(batches):
        # the first batches pin the edges of the batch size, the rest are random
        size = (1, config.max_batch)[batch] if batch < 2 else rng.randint(1, config.max_batch)
        size_cover("one" if size == 1 else "max_batch" if size == config.max_batch else "between")
        await FallingEdge(dut.clk)
        dut.start_batch.value = 1
        await FallingEdge(dut.clk)
        dut.start_batch.value = 0
        twin.start_batch()
        for x_codes, d_codes in batch_samples(config, size, rng, np_rng):
            # one sample: the d codes, then the x codes (the order the unit's passes need them in)
            for code in (*d_codes, *x_codes):
                source.send(code & input_mask)
            twin.add(x_codes, d_codes)
            codes = (*x_codes, *d_codes)
            if -limit in codes:
                rail_cover("low")
            if limit - 1 in codes:
                rail_cover("high")
            if not any(d_codes):
                zero_cover(True)
        await source.wait_idle()
        await FallingEdge(dut.clk)
        while read_int(dut.busy):
            await FallingEdge(dut.clk)
        dut.read.value = 1
        await FallingEdge(dut.clk)
        dut.read.value = 0
        await sink.wait_for(taken + words, timeout_cycles=50 * words + 200)
        streamed = [signed_value(item.payload, config.vector_bits) for item in sink.items[taken:]]
        taken += words
        while read_int(dut.busy):
            await FallingEdge(dut.clk)
        state = twin.state()
        sigma = signed_value(read_int(dut.sigma_sum), config.sigma_bits)
        scoreboard.compare(f"batch {batch} X", streamed[: config.rows], state.x.tolist())
        scoreboard.compare(f"batch {batch} D", streamed[config.rows :], state.d.tolist())
        scoreboard.compare(f"batch {batch} x_norm_sq", read_int(dut.x_norm_sq), state.x_norm_sq)
        scoreboard.compare(f"batch {batch} d_norm_sq", read_int(dut.d_norm_sq), state.d_norm_sq)
        scoreboard.compare(f"batch {batch} sigma_sum", sigma, state.sigma_sum)
        scoreboard.compare(f"batch {batch} count", read_int(dut.count), state.count)
    if source.stall_cycles:
        stall_cover("samples")
    if sink.backpressure_cycles:
        stall_cover("vectors")
    report(scoreboard=scoreboard.summary(), coverage=coverage.summary(), cycles=counter.cycle)
    scoreboard.check()
