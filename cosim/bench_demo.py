"""cocotb bench of :class:`pulsetrain.cosim.demo.RunningSum`: the smallest bench on the shared kit.

Driver (a :class:`~pulsetrain.cosim.kit.StreamSource` with random idle gaps), monitor (a
:class:`~pulsetrain.cosim.kit.StreamSink` with random back-pressure), model (:func:`running_sums`) and
in-order check (the scoreboard, fed by the monitor) are kept apart; :class:`~pulsetrain.cosim.kit.Bench`
holds the plumbing.
"""

from __future__ import annotations

from typing import Any

import cocotb
from pulsetrain.cosim.demo import running_sums
from pulsetrain.cosim.kit import Bench, Handshake, StreamSink, StreamSource


@cocotb.test()
async def running_sum_matches_model(dut: Any) -> None:
    """Random bytes in with random idle gaps, random back-pressure out; every sum checked in order."""
    bench = Bench(dut, "running_sum")
    count = bench.integer("items", 200)
    await bench.start()
    stalls = bench.coverage.point("output_stalled", [False, True])
    wrap = bench.coverage.point("sum_wrapped", [False, True])
    values = [bench.rng.randrange(256) for _ in range(count)]
    for expected in running_sums(values):
        bench.scoreboard.expect(expected, "sum")
    previous = [0]

    def check(item: Handshake) -> None:
        bench.scoreboard.observe(item.payload, item.cycle)
        wrap(item.payload < previous[0])
        previous[0] = item.payload

    source = StreamSource(dut, "values", dut.clk, bench.pattern("source", "random80"))
    sink = StreamSink(dut, "sums", dut.clk, bench.pattern("sink", "random50"), bench.counter, on_item=check)
    for value in values:
        source.send(value)
    await sink.wait_for(count, timeout_cycles=20 * count + 100)
    stalls(sink.backpressure_cycles > 0)
    stalls(False)
    bench.finish(cycles=bench.counter.cycle)
