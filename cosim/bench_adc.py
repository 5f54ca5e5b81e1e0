"""cocotb bench of the ADC readout RTL against its twin, with the model's analog read behind the comparators.

The analog side is the model: for every readout the bridge (:class:`AdcComparatorBridge`) takes one
forward read of a model tile (its output noise and saturation included, no ADC: the RTL is the ADC),
holds it as the sample-and-hold values, and answers each comparator trial ``value >= DAC(trial code)``
in the cycle the RTL samples it. :class:`~pulsetrain.model.twins.adc.TwinAdcReadout` converts the same
held values; the ``(column, code)`` stream (taken with random back-pressure) must equal the twin's, and
with an always-ready consumer so must the busy cycles.

Kept apart: the analog front end (:class:`AnalogArray`), the driver (:func:`run_readout`), the monitor
(:func:`observe`: the results stream), the model (:func:`predict`: the twin) and the check;
:class:`~pulsetrain.cosim.kit.Bench` holds the plumbing.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.bridge import AdcComparatorBridge, dac_level
from pulsetrain.cosim.kit import Bench, CycleCounter, StreamSink, read_int
from pulsetrain.model.devices import ConstantStepDevice
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig
from pulsetrain.model.twins.adc import AdcConversion, TwinAdcReadout

from pulsetrain.periphery.adc import AdcReadoutConfig

#: rows of the model array whose columns the ADCs read
ROWS = 8


class AnalogArray:
    """The analog side: a model tile read without an ADC (its noise and saturation included)."""

    def __init__(self, config: AdcReadoutConfig, seed: int, rng: random.Random) -> None:
        # out_size = columns; no ADC on the model's side (the RTL is the ADC)
        self.io = IOConfig(dac_bits=None, adc_bits=None, out_noise=0.05, out_bound=1.0)
        self.tile = Tile(
            config.columns,
            ROWS,
            device=ConstantStepDevice(),
            forward_io=self.io,
            backward_io=self.io,
            update=UpdateConfig(),
            output_scale=1.0,
            pulse_source=FloatPulseSource(np.random.default_rng(seed)),
            rng=np.random.default_rng(seed),
        )
        self.tile.set_weights(np.random.default_rng(seed).uniform(-0.6, 0.6, (config.columns, ROWS)))
        #: the DAC's step: the full output range over the codes
        self.lsb = 2 * self.io.out_bound / (1 << config.adc_bits)
        self.rng = rng

    def read(self) -> np.ndarray:
        """One forward read of random inputs (half of them large enough to saturate at both rails)."""
        x = np.array([self.rng.uniform(-1, 1) for _ in range(ROWS)])
        if self.rng.random() < 0.5:
            x *= 4.0
        return self.tile.forward(x[None, :])[0]


async def run_readout(dut: Any, counter: CycleCounter) -> int:
    """The driver: one ``start`` strobe, then wait until the readout is done; its busy cycles."""
    await FallingEdge(dut.clk)
    dut.start.value = 1
    start_cycle = counter.cycle
    await FallingEdge(dut.clk)
    dut.start.value = 0
    while read_int(dut.busy):
        await FallingEdge(dut.clk)
    return counter.cycle - start_cycle - 1


def observe(sink: StreamSink, config: AdcReadoutConfig, readout: int) -> tuple[tuple[int, int], ...]:
    """The monitor: readout ``readout``'s ``(column, code)`` records from the results stream."""
    column_width = max(1, (config.columns - 1).bit_length())
    items = sink.items[readout * config.columns : (readout + 1) * config.columns]
    return tuple((item.payload & ((1 << column_width) - 1), item.payload >> column_width) for item in items)


def predict(twin: TwinAdcReadout, config: AdcReadoutConfig, held: np.ndarray, lsb: float) -> AdcConversion:
    """The model: the twin converts the held values with the same comparator the bridge answers with."""
    return twin.convert(lambda column, code: bool(held[column] >= dac_level(code, config, lsb)))


@cocotb.test()
async def adc_readout_matches_twin_on_model_reads(dut: Any) -> None:
    """Readouts of random model reads: stream contents (and cycles without back-pressure) equal the twin's."""
    bench = Bench(dut, "adc_readout")
    config = bench.config(AdcReadoutConfig)
    readouts = bench.integer("readouts", 6)
    always_ready = str(bench.parameters.get("sink", "random60")) == "always"
    analog = AnalogArray(config, bench.integer("seed", 1), bench.rng)
    await bench.start(idle_inputs={"start": 0, "comparator": 0})
    bridge = AdcComparatorBridge(dut, config, analog.read, analog.lsb)
    sink = StreamSink(dut, "results", dut.clk, bench.pattern("sink", "random60"), bench.counter)
    twin = TwinAdcReadout(config)
    rails = bench.coverage.point("code", ["zero", "full_scale", "inside"])
    stalls = None if always_ready else bench.coverage.point("results_stalled", [True])
    for readout in range(readouts):
        busy_cycles = await run_readout(dut, bench.counter)
        assert bridge.held is not None
        model = predict(twin, config, bridge.held, analog.lsb)
        bench.scoreboard.compare(f"readout {readout} results", observe(sink, config, readout), model.results)
        if always_ready:
            bench.scoreboard.compare(f"readout {readout} busy cycles", busy_cycles, model.cycles)
        for _, code in model.results:
            rails("zero" if code == 0 else "full_scale" if code == config.full_scale_code else "inside")
        if stalls is not None and sink.backpressure_cycles > 0:
            stalls(True)
    bench.finish(cycles=bench.counter.cycle, trials=bridge.trials, readouts=bridge.readouts)
