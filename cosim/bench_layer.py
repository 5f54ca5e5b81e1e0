"""Whole-layer bench: the tile periphery top of one TTv2-family layer driving a modelled A/C array pair.

The analog side is the model, through the bridges only: A's pulse lines go to tile A
(:class:`~pulsetrain.cosim.bridge.PulseLineBridge`), the ADC's comparator trials are answered from a
forward read of tile A with the DAC codes the RTL drives (:class:`~pulsetrain.cosim.bridge.
AdcComparatorBridge`), and the transfer's pulses for C go to tile C (:class:`~pulsetrain.cosim.bridge.
ColumnPulseBridge`). The host side sends random rank-1 updates (codes and BL).

The pure-model reference runs the same updates through the twins (pulse generator, ADC readout,
transfer controller) on shadow tiles A and C. Checked step for step: every transfer record (H, pulses
to C, reference, accumulated) and the chopper signs; at the end the analog weights of A and C must be
equal exactly (device noise off, so the order of the model calls cannot matter).
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, FallingEdge
from pulsetrain.cosim.bridge import AdcComparatorBridge, ColumnPulseBridge, PulseLineBridge, dac_level
from pulsetrain.cosim.coverage import Coverage
from pulsetrain.cosim.kit import (
    Scoreboard,
    StreamSink,
    StreamSource,
    bench_parameters,
    config_from_plain,
    decode_struct,
    read_int,
    report,
    start_clock_and_reset,
)
from pulsetrain.model.devices import ConstantStepDevice
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, NoiseManagement, Tile, UpdateConfig
from pulsetrain.model.twins.adc import TwinAdcReadout
from pulsetrain.model.twins.pulse import TwinPulseGenerator
from pulsetrain.model.twins.transfer import TwinTransferPeriphery

from pulsetrain.periphery.transfer import TransferMode


def array(out_size: int, in_size: int, seed: int) -> Tile:
    """A noiseless model array (device-to-device spread kept, cycle-to-cycle and read noise off).

    Coarse devices (``dw_min`` 0.02, about two thirds of an ADC LSB here) so that a short bench moves A by
    whole ADC codes between reads: AGAD's reference-subtracted reads then reach C's threshold too.
    """
    io = IOConfig(
        dac_bits=None, adc_bits=None, out_noise=0.0, out_bound=1.0, noise_management=NoiseManagement.NONE
    )
    return Tile(
        out_size,
        in_size,
        device=ConstantStepDevice(dw_min=0.02, dw_min_std=0.0),
        forward_io=io,
        backward_io=io,
        update=UpdateConfig(),
        output_scale=1.0,
        pulse_source=FloatPulseSource(np.random.default_rng(seed)),
        rng=np.random.default_rng(seed),
    )


@cocotb.test()
async def layer_matches_pure_model(dut: Any) -> None:
    """Random updates; transfers, chopper signs and the final A and C weights equal the pure model's."""
    from pulsetrain.rtl.pulse_generator import code_layout
    from pulsetrain.rtl.tile_periphery import TilePeripheryConfig
    from pulsetrain.rtl.transfer_controller import result_layout

    parameters = bench_parameters()
    config: TilePeripheryConfig = config_from_plain(TilePeripheryConfig, parameters["config"])
    updates = int(parameters.get("updates", 30))
    seed = int(parameters.get("seed", 1))
    rng = random.Random(seed)
    n_in, n_out = config.in_size, config.out_size
    adc = config.adc
    lsb = 2.0 / (1 << adc.adc_bits)
    mid = 1 << (adc.adc_bits - 1)
    initial = np.random.default_rng(seed).uniform(-0.3, 0.3, (n_out, n_in))
    tile_a, tile_c = array(n_out, n_in, seed), array(n_out, n_in, seed + 1)
    shadow_a, shadow_c = array(n_out, n_in, seed), array(n_out, n_in, seed + 1)
    for tile in (tile_a, shadow_a):
        tile.set_weights(initial)

    def dac_inputs() -> np.ndarray:
        packed = read_int(dut.dac_code)
        width = config.dac_bits
        codes = [(packed >> (i * width)) & ((1 << width) - 1) for i in range(n_in)]
        signed = [c - (1 << width) if c >> (width - 1) else c for c in codes]
        return np.array(signed, dtype=np.float64) / config.dac_full_scale

    for name in ("update_codes__valid", "update_start", "update_bl", "dac_codes__valid", "read_start"):
        getattr(dut, name).value = 0
    dut.read_results__ready.value = 0
    dut.adc_comparator.value = 0
    await start_clock_and_reset(dut)
    PulseLineBridge(dut, tile_a, has_slot_last=False)
    AdcComparatorBridge(dut, adc, lambda: tile_a.forward(dac_inputs()[None, :])[0], lsb, prefix="adc_")
    c_bridge = ColumnPulseBridge(dut, tile_c)
    codes_source = StreamSource(dut, "update_codes", dut.clk)
    results = StreamSink(dut, "transfer_results", dut.clk)
    generator = TwinPulseGenerator(config.pulse)
    readout = TwinAdcReadout(adc)
    transfer = TwinTransferPeriphery(config.transfer)
    layout, offsets = result_layout(config.transfer), dict(code_layout(config.pulse))
    scoreboard = Scoreboard("tile_periphery")
    coverage = Coverage("tile_periphery")
    c_cover = coverage.point("pulses_to_c", ["up", "down"])
    flip_cover = (
        coverage.point("chopper_flipped", [True]) if config.transfer.mode is not TransferMode.TTV2 else None
    )
    taken = 0
    full = 1 << config.pulse.probability_bits
    for update in range(updates):
        bl = rng.randrange(1, config.pulse.bl_max + 1)
        codes = np.array([rng.randrange(full + 1) for _ in range(config.pulse.lines)], dtype=np.int64)
        negative = np.array([rng.random() < 0.5 for _ in range(config.pulse.lines)])
        for line in range(config.pulse.lines):
            payload = (
                (line << offsets["line"].offset)
                | (int(codes[line]) << offsets["code"].offset)
                | (int(negative[line]) << offsets["negative"].offset)
            )
            codes_source.send(payload)
        await codes_source.wait_idle()
        await FallingEdge(dut.clk)
        while read_int(dut.busy):
            await FallingEdge(dut.clk)
        dut.update_bl.value = bl
        dut.update_start.value = 1
        await FallingEdge(dut.clk)
        dut.update_start.value = 0
        # the pure model: the same update through the twins, chopped by the signs of this moment
        signs = transfer.signs()
        trains = generator.fire(codes[:n_in], negative[:n_in], codes[n_in:], negative[n_in:], bl)
        shadow_a.apply_trains(
            PulseTrains(
                x_fire=trains.x_fire,
                d_fire=trains.d_fire,
                x_negative=trains.x_negative ^ (signs.in_signs < 0),
                d_negative=trains.d_negative ^ (signs.out_signs < 0),
            )
        )
        request = transfer.step()
        for _ in range(3):
            await FallingEdge(dut.clk)
        while read_int(dut.busy):
            await FallingEdge(dut.clk)
        if request is None:
            continue
        for column in request.columns:
            one_hot = np.zeros(n_in)
            one_hot[column] = 1.0
            held = shadow_a.forward(one_hot[None, :])[0]
            conversion = readout.convert(
                lambda c, code, held=held: bool(held[c] >= dac_level(code, adc, lsb))
            )
            adc_codes = conversion.codes(n_out) - mid
            result = transfer.transfer(column, adc_codes)
            shadow_c.apply_column_pulses(column, result.pulses)
            h_codes, references = transfer.h_codes(), transfer.reference_codes()
            await results.wait_for(taken + n_out, timeout_cycles=1000)
            for row in range(n_out):
                record = decode_struct(layout, results.items[taken + row].payload)
                expected = {
                    "row": row,
                    "column": column,
                    "pulses": int(result.pulses[row]),
                    "h": int(h_codes[row, column]),
                    "reference": int(references[row, column])
                    if config.transfer.mode is TransferMode.AGAD
                    else 0,
                    "accumulated": int(result.accumulated),
                }
                if config.transfer.mode is not TransferMode.AGAD:
                    record["reference"] = 0
                scoreboard.compare(f"update {update} column {column} row {row}", record, expected)
                if result.pulses[row]:
                    c_cover("up" if result.pulses[row] > 0 else "down")
            taken += n_out
            if flip_cover is not None and result.in_flipped:
                flip_cover(True)
    await ClockCycles(dut.clk, 5)
    scoreboard.compare("array A weights", tile_a.weights(), shadow_a.weights())
    scoreboard.compare("array C weights", tile_c.weights(), shadow_c.weights())
    report(
        scoreboard=scoreboard.summary(),
        coverage=coverage.summary(),
        c_records=c_bridge.records,
        transfers=taken // n_out,
    )
    scoreboard.check()
