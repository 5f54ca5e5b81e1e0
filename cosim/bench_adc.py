"""cocotb bench of the ADC readout RTL against its twin, with the model's analog read behind the comparators.

The analog side is the model: for every readout the bridge (:class:`AdcComparatorBridge`) takes one
forward read of a model tile (its output noise and saturation included, no ADC: the RTL is the ADC),
holds it as the sample-and-hold values, and answers each comparator trial ``value >= DAC(trial code)``
in the cycle the RTL samples it. :class:`~pulsetrain.model.twins.adc.TwinAdcReadout` converts the same
held values; the ``(column, code)`` stream (taken with random back-pressure) must equal the twin's, and
with an always-ready consumer so must the busy cycles.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.bridge import AdcComparatorBridge, dac_level
from pulsetrain.cosim.coverage import Coverage
from pulsetrain.cosim.kit import (
    CycleCounter,
    Scoreboard,
    StreamSink,
    bench_parameters,
    config_from_plain,
    pattern_from,
    read_int,
    report,
    start_clock_and_reset,
)
from pulsetrain.model.devices import ConstantStepDevice
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig
from pulsetrain.model.twins.adc import TwinAdcReadout

from pulsetrain.periphery.adc import AdcReadoutConfig


@cocotb.test()
async def adc_readout_matches_twin_on_model_reads(dut: Any) -> None:
    """Readouts of random model reads: stream contents (and cycles without back-pressure) equal the twin's."""
    parameters = bench_parameters()
    config: AdcReadoutConfig = config_from_plain(AdcReadoutConfig, parameters["config"])
    readouts = int(parameters.get("readouts", 6))
    seed = int(parameters.get("seed", 1))
    rng = random.Random(seed)
    sink_pattern = str(parameters.get("sink", "random60"))
    # the model's array: out_size = columns, read without an ADC (the RTL is the ADC)
    io = IOConfig(dac_bits=None, adc_bits=None, out_noise=0.05, out_bound=1.0)
    tile = Tile(
        config.columns,
        8,
        device=ConstantStepDevice(),
        forward_io=io,
        backward_io=io,
        update=UpdateConfig(),
        output_scale=1.0,
        pulse_source=FloatPulseSource(np.random.default_rng(seed)),
        rng=np.random.default_rng(seed),
    )
    weights = np.random.default_rng(seed).uniform(-0.6, 0.6, (config.columns, 8))
    tile.set_weights(weights)
    lsb = 2 * io.out_bound / (1 << config.adc_bits)
    inputs: list[np.ndarray] = []

    def analog_read() -> np.ndarray:
        x = np.array([rng.uniform(-1, 1) for _ in range(8)])
        if rng.random() < 0.5:  # drive some columns into saturation at both rails
            x *= 4.0
        inputs.append(x)
        return tile.forward(x[None, :])[0]

    dut.start.value = 0
    dut.comparator.value = 0
    await start_clock_and_reset(dut)
    counter = CycleCounter(dut.clk)
    bridge = AdcComparatorBridge(dut, config, analog_read, lsb)
    sink = StreamSink(dut, "results", dut.clk, pattern_from(sink_pattern, rng), counter)
    twin = TwinAdcReadout(config)
    scoreboard = Scoreboard("adc_readout")
    coverage = Coverage("adc_readout")
    rails = coverage.point("code", ["zero", "full_scale", "inside"])
    stalls = coverage.point("results_stalled", [True]) if sink_pattern != "always" else None
    column_width = max(1, (config.columns - 1).bit_length())
    dut.start.value = 0
    for readout in range(readouts):
        await FallingEdge(dut.clk)
        dut.start.value = 1
        start_cycle = counter.cycle
        await FallingEdge(dut.clk)
        dut.start.value = 0
        while read_int(dut.busy):
            await FallingEdge(dut.clk)
        busy_cycles = counter.cycle - start_cycle - 1
        assert bridge.held is not None
        held = bridge.held
        model = twin.convert(
            lambda column, code, held=held: bool(held[column] >= dac_level(code, config, lsb))
        )
        items = sink.items[readout * config.columns : (readout + 1) * config.columns]
        design = tuple(
            (item.payload & ((1 << column_width) - 1), item.payload >> column_width) for item in items
        )
        scoreboard.compare(f"readout {readout} results", design, model.results)
        if sink_pattern == "always":
            scoreboard.compare(f"readout {readout} busy cycles", busy_cycles, model.cycles)
        for _, code in model.results:
            rails("zero" if code == 0 else "full_scale" if code == config.full_scale_code else "inside")
        if stalls is not None and sink.backpressure_cycles > 0:
            stalls(True)
    report(
        scoreboard=scoreboard.summary(),
        coverage=coverage.summary(),
        cycles=counter.cycle,
        trials=bridge.trials,
        readouts=bridge.readouts,
    )
    scoreboard.check()
