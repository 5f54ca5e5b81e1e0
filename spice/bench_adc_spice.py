"""cocotb bench: the ADC readout RTL converting ngspice's crossbar column, in lock-step per readout.

At the start of every readout (``sample`` rising in phase 0) the comparator bridge
(:class:`~pulsetrain.cosim.bridge.AdcComparatorBridge`) calls :func:`_spice_read`: a random tile and
input are drawn, their forward read is simulated by ngspice (:mod:`pulsetrain.spice.netlist`), and
the comparator-input voltages ``V(m_j)`` are held (the sample-and-hold) while the RTL's SAR trials
compare them, cycle by cycle, with its DAC levels in volts. Checked per readout: the RTL's
``(column, code)`` stream equals the twin's on the same voltages (bit for bit). Reported: how many
codes differ from the behavioral model's own ADC on the same read (zero expected with ideal wires).

Why per readout and not per time step: Debian's libngspice 39.3 crashes (SIGSEGV inside the library,
measured) on any circuit with an ``EXTERNAL`` voltage source, which is how a digital SAR DAC would drive
a transient ngspice simulation through the shared library (cocotbext-ams); the operating point of the
held column is what the SAR compares against in either scheme.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.bridge import AdcComparatorBridge, dac_level
from pulsetrain.cosim.kit import (
    Scoreboard,
    StreamSink,
    always,
    bench_parameters,
    config_from_plain,
    read_int,
    report,
    start_clock_and_reset,
)
from pulsetrain.model.tile import IOConfig
from pulsetrain.model.twins.adc import TwinAdcReadout
from pulsetrain.spice.circuit import ReadCircuit, technology_physics, technology_read_voltage
from pulsetrain.spice.compare import compare_read
from pulsetrain.spice.sweep import sample_tile

from pulsetrain.periphery.adc import AdcReadoutConfig


@cocotb.test()
async def adc_readout_converts_the_spice_column_like_its_twin(dut: Any) -> None:
    """RTL codes from ngspice's comparator voltages equal the twin's; model-code differences reported."""
    parameters = bench_parameters()
    config: AdcReadoutConfig = config_from_plain(AdcReadoutConfig, parameters["config"])
    rows, readouts = int(parameters.get("rows", 16)), int(parameters.get("readouts", 3))
    technology = str(parameters.get("technology", "neurosim_v21"))
    physics = technology_physics(technology)
    if not parameters.get("wires", True):
        physics = dataclasses.replace(physics, row_segment_ohm=0.0, column_segment_ohm=0.0, access_ohm=0.0)
    circuit = ReadCircuit(physics=physics, read_voltage_V=technology_read_voltage(technology))
    io = IOConfig(out_noise=0.0, adc_bits=config.adc_bits)
    rng = np.random.default_rng(int(parameters.get("seed", 1)))
    volts_per_unit = circuit.volts_per_unit(io.out_bound)
    lsb_volts = float(io.adc_lsb) * volts_per_unit  # type: ignore[arg-type]
    model_codes: list[np.ndarray] = []

    def spice_read() -> np.ndarray:
        tile = sample_tile(rows, config.columns, io, rng)
        comparison = compare_read(tile, rng.uniform(0.0, 1.0, rows), circuit)
        model_codes.append(comparison.model_codes)
        return comparison.spice_values * volts_per_unit  # the comparator inputs, volts

    dut.start.value = 0
    dut.comparator.value = 0
    await start_clock_and_reset(dut)
    bridge = AdcComparatorBridge(dut, config, spice_read, lsb_volts)
    sink = StreamSink(dut, "results", dut.clk, always())
    twin = TwinAdcReadout(config)
    scoreboard = Scoreboard("adc_readout_spice")
    column_width = max(1, (config.columns - 1).bit_length())
    differing = 0
    for readout in range(readouts):
        await FallingEdge(dut.clk)
        dut.start.value = 1
        await FallingEdge(dut.clk)
        dut.start.value = 0
        while read_int(dut.busy):
            await FallingEdge(dut.clk)
        held = np.asarray(bridge.held)
        expected = twin.convert(
            lambda column, code, held=held: bool(held[column] >= dac_level(code, config, lsb_volts))
        )
        items = sink.items[readout * config.columns : (readout + 1) * config.columns]
        design = tuple(
            (item.payload & ((1 << column_width) - 1), item.payload >> column_width) for item in items
        )
        scoreboard.compare(f"readout {readout} results", design, expected.results)
        signed = expected.codes(config.columns) - (1 << (config.adc_bits - 1))
        differing += int(np.count_nonzero(signed != model_codes[readout]))
    report(
        scoreboard=scoreboard.summary(),
        readouts=bridge.readouts,
        trials=bridge.trials,
        codes=readouts * config.columns,
        codes_differing_from_model=differing,
    )
    scoreboard.check()
