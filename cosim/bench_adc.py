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


def dac_level(code: int, config: AdcReadoutConfig, lsb: float) -> float:
    """Analog level of a trial code: offset binary around mid-scale, edges half an LSB below each code.

    With this DAC the conversion ``max{c : value >= level(c)}`` rounds ``value / lsb`` to the nearest code.
    """
    mid = 1 << (config.adc_bits - 1)
    return (code - mid - 0.5) * lsb


class AdcComparatorBridge:
    """Answers the RTL's comparator trials from the model's analog read.

    At the first ``sample`` cycle of each readout it calls ``read()`` (a model forward read, one analog
    value per column) and holds the result; in every ``compare`` cycle it drives each ADC's comparator
    with ``held[column] >= dac_level(trial_code)`` for the column that ADC's multiplexer selects.
    """

    def __init__(self, dut: Any, config: AdcReadoutConfig, read: Any, lsb: float) -> None:
        self.dut = dut
        self.config = config
        self.read = read
        self.lsb = lsb
        self.held: np.ndarray | None = None
        self.readouts = 0
        self.trials = 0
        dut.comparator.value = 0
        self._task = cocotb.start_soon(self._serve())

    async def _serve(self) -> None:
        config, dut = self.config, self.dut
        bits = config.adc_bits
        mask = (1 << bits) - 1
        busy_before = False
        while True:
            await FallingEdge(dut.clk)
            busy = bool(read_int(dut.busy))
            if busy and not busy_before:
                self.held = np.asarray(self.read(), dtype=np.float64)
                self.readouts += 1
            busy_before = busy
            if not busy or self.held is None:
                continue
            phase = read_int(dut.mux_select)
            trials = read_int(dut.trial_code)
            answer = 0
            for adc in range(config.adcs):
                column = config.column(adc, phase)
                if column >= config.columns:
                    continue
                code = (trials >> (adc * bits)) & mask
                if self.held[column] >= dac_level(code, config, self.lsb):
                    answer |= 1 << adc
            if read_int(dut.compare):
                self.trials += 1
            dut.comparator.value = answer


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
