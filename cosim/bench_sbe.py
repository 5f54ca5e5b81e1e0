"""cocotb bench of the rank-1 SBE streaming unit RTL (:class:`pulsetrain.rtl.sbe_unit.SbeUnit`).

Batches of random sizes (1 up to ``max_batch``) of correlated samples (a dominant rank-1 direction plus
noise, with now and then a sample at the code rails or an all-zero error) are streamed into ``samples``
with random idle gaps; after each batch ``read`` streams X and D out of ``vectors`` with random
back-pressure. X, D, the norms, the projection sum and the sample count are compared with the bit-exact
twin :class:`pulsetrain.model.twins.sbe.SbeUnitTwin`. D's direction carries over between batches (the
warm start), so a divergence in one batch shows in all later ones as well.

Kept apart: the stimulus (:func:`batch_samples`), the driver (:class:`SbeDriver`), the monitor
(:func:`observe`), the model (:func:`predict`: the twin) and the check (:func:`check`);
:class:`~pulsetrain.cosim.kit.Bench` holds the plumbing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.kit import Bench, Scoreboard, StreamSink, StreamSource, read_int
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


@dataclass(frozen=True)
class BatchResult:
    """What the unit holds after a batch (the design's, read back, or the twin's)."""

    #: the X vector, one value per row
    x: list[int]
    #: the D vector, one value per column
    d: list[int]
    #: ‖X‖²
    x_norm_sq: int
    #: ‖D‖²
    d_norm_sq: int
    #: the projection sum
    sigma_sum: int
    #: samples in the batch
    count: int


class SbeDriver:
    """Batch strobes and sample codes into the ``samples`` stream (the twin takes the same samples)."""

    def __init__(self, dut: Any, config: SbeConfig, source: StreamSource) -> None:
        self.dut = dut
        self.mask = (1 << config.input_bits) - 1
        self.source = source

    async def start_batch(self) -> None:
        """One ``start_batch`` strobe."""
        await FallingEdge(self.dut.clk)
        self.dut.start_batch.value = 1
        await FallingEdge(self.dut.clk)
        self.dut.start_batch.value = 0

    def send(self, x_codes: list[int], d_codes: list[int]) -> None:
        """One sample: the d codes, then the x codes (the order the unit's passes need them in)."""
        for code in (*d_codes, *x_codes):
            self.source.send(code & self.mask)

    async def read(self) -> None:
        """Once every sample is in and the unit is idle: one ``read`` strobe."""
        await self.source.wait_idle()
        await FallingEdge(self.dut.clk)
        while read_int(self.dut.busy):
            await FallingEdge(self.dut.clk)
        self.dut.read.value = 1
        await FallingEdge(self.dut.clk)
        self.dut.read.value = 0


async def observe(dut: Any, config: SbeConfig, sink: StreamSink, taken: int) -> BatchResult:
    """The monitor: X and D from the ``vectors`` stream (items from ``taken`` on), then the registers."""
    words = config.rows + config.cols
    await sink.wait_for(taken + words, timeout_cycles=50 * words + 200)
    streamed = [signed_value(item.payload, config.vector_bits) for item in sink.items[taken:]]
    while read_int(dut.busy):
        await FallingEdge(dut.clk)
    return BatchResult(
        x=streamed[: config.rows],
        d=streamed[config.rows :],
        x_norm_sq=read_int(dut.x_norm_sq),
        d_norm_sq=read_int(dut.d_norm_sq),
        sigma_sum=signed_value(read_int(dut.sigma_sum), config.sigma_bits),
        count=read_int(dut.count),
    )


def predict(twin: SbeUnitTwin) -> BatchResult:
    """The model: the twin's state after the same samples."""
    state = twin.state()
    return BatchResult(
        x=state.x.tolist(),
        d=state.d.tolist(),
        x_norm_sq=state.x_norm_sq,
        d_norm_sq=state.d_norm_sq,
        sigma_sum=state.sigma_sum,
        count=state.count,
    )


def check(scoreboard: Scoreboard, batch: int, design: BatchResult, model: BatchResult) -> None:
    """Every field, in a fixed order."""
    for what, name in (
        ("x", "X"),
        ("d", "D"),
        ("x_norm_sq", "x_norm_sq"),
        ("d_norm_sq", "d_norm_sq"),
        ("sigma_sum", "sigma_sum"),
        ("count", "count"),
    ):
        scoreboard.compare(f"batch {batch} {name}", getattr(design, what), getattr(model, what))


@cocotb.test()
async def sbe_unit_matches_twin(dut: Any) -> None:
    """After every batch: X, D, ‖X‖², ‖D‖², the projection sum and the count equal the twin's."""
    bench = Bench(dut, "sbe_unit")
    config = bench.config(SbeConfig)
    batches = bench.integer("batches", 6)
    rng = bench.rng
    np_rng = np.random.default_rng(bench.integer("seed", 1))
    twin = SbeUnitTwin(config)
    await bench.start(idle_inputs={"start_batch": 0, "read": 0, "samples__valid": 0, "vectors__ready": 0})
    source = StreamSource(dut, "samples", dut.clk, bench.pattern("source", "random70"))
    sink = StreamSink(dut, "vectors", dut.clk, bench.pattern("sink", "random60"), bench.counter)
    driver = SbeDriver(dut, config, source)
    size_cover = bench.coverage.point("batch_size", ["one", "between", "max_batch"])
    rail_cover = bench.coverage.point("input_codes_at_rails", ["low", "high"])
    zero_cover = bench.coverage.point("all_zero_error_sample", [True])
    stall_cover = bench.coverage.point("stream_stalls", ["samples", "vectors"])
    limit = 1 << config.input_frac_bits
    taken = 0
    for batch in range(batches):
        # the first batches pin the edges of the batch size, the rest are random
        size = (1, config.max_batch)[batch] if batch < 2 else rng.randint(1, config.max_batch)
        size_cover("one" if size == 1 else "max_batch" if size == config.max_batch else "between")
        await driver.start_batch()
        twin.start_batch()
        for x_codes, d_codes in batch_samples(config, size, rng, np_rng):
            driver.send(x_codes, d_codes)
            twin.add(x_codes, d_codes)
            codes = (*x_codes, *d_codes)
            if -limit in codes:
                rail_cover("low")
            if limit - 1 in codes:
                rail_cover("high")
            if not any(d_codes):
                zero_cover(True)
        await driver.read()
        design = await observe(dut, config, sink, taken)
        taken += config.rows + config.cols
        check(bench.scoreboard, batch, design, predict(twin))
    if source.stall_cycles:
        stall_cover("samples")
    if sink.backpressure_cycles:
        stall_cover("vectors")
    bench.finish(cycles=bench.counter.cycle)
