"""cocotb bench of :class:`pulsetrain.cosim.demo.RunningSum`: driver, sink with back-pressure, scoreboard."""

from __future__ import annotations

import random
from typing import Any

import cocotb
from pulsetrain.cosim.coverage import Coverage
from pulsetrain.cosim.demo import running_sums
from pulsetrain.cosim.kit import (
    CycleCounter,
    Scoreboard,
    StreamSink,
    StreamSource,
    bench_parameters,
    pattern_from,
    report,
    start_clock_and_reset,
)


@cocotb.test()
async def running_sum_matches_model(dut: Any) -> None:
    """Random bytes in with random idle gaps, random back-pressure out; every sum checked in order."""
    parameters = bench_parameters()
    rng = random.Random(int(parameters.get("seed", 1)))
    count = int(parameters.get("items", 200))
    await start_clock_and_reset(dut)
    counter = CycleCounter(dut.clk)
    coverage = Coverage("running_sum")
    stalls = coverage.point("output_stalled", [False, True])
    wrap = coverage.point("sum_wrapped", [False, True])
    scoreboard = Scoreboard("running_sum")
    values = [rng.randrange(256) for _ in range(count)]
    for expected in running_sums(values):
        scoreboard.expect(expected, "sum")
    previous = [0]

    def check(item: Any) -> None:
        scoreboard.observe(item.payload, item.cycle)
        wrap(item.payload < previous[0])
        previous[0] = item.payload

    source = StreamSource(dut, "values", dut.clk, pattern_from(parameters.get("source", "random80"), rng))
    sink = StreamSink(
        dut, "sums", dut.clk, pattern_from(parameters.get("sink", "random50"), rng), counter, on_item=check
    )
    for value in values:
        source.send(value)
    await sink.wait_for(count, timeout_cycles=20 * count + 100)
    stalls(sink.backpressure_cycles > 0)
    stalls(False)
    report(scoreboard=scoreboard.summary(), coverage=coverage.summary(), cycles=counter.cycle)
    scoreboard.check()
