"""cocotb bench of the TTv2 / c-TTv2 / AGAD transfer controller RTL against its twin.

Random A updates (``update_done`` strobes with random gaps); whenever the controller asks for a column,
the bench checks the column against the twin's request, sends random ADC codes (both rails now and
then) through the ``readout`` stream with random idle gaps, and takes the per-row ``result`` records
with random back-pressure. Every record (row, column, pulses to C, H after, AGAD reference, accumulated)
is compared with :class:`~pulsetrain.model.twins.transfer.TwinTransferPeriphery`, and after every event
the chopper signs of the update path.
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
    bits,
    config_from_plain,
    decode_struct,
    pattern_from,
    read_int,
    report,
    start_clock_and_reset,
)
from pulsetrain.model.twins.transfer import TwinTransferPeriphery

from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode


@cocotb.test()
async def transfer_controller_matches_twin(dut: Any) -> None:
    """Every result record and the chopper signs after every event equal the twin's."""
    from pulsetrain.rtl.transfer_controller import result_layout

    parameters = bench_parameters()
    config: TransferControllerConfig = config_from_plain(TransferControllerConfig, parameters["config"])
    updates = int(parameters.get("updates", 40))
    rng = random.Random(int(parameters.get("seed", 1)))
    layout = result_layout(config)
    twin = TwinTransferPeriphery(config)
    dut.update_done.value = 0
    dut.readout__valid.value = 0
    dut.result__ready.value = 0
    await start_clock_and_reset(dut)
    counter = CycleCounter(dut.clk)
    source = StreamSource(dut, "readout", dut.clk, pattern_from(parameters.get("source", "random70"), rng))
    sink = StreamSink(dut, "result", dut.clk, pattern_from(parameters.get("sink", "random60"), rng), counter)
    scoreboard = Scoreboard("transfer_controller")
    coverage = Coverage("transfer_controller")
    wrap_cover = coverage.point("column_pointer_wrapped", [True])
    pulse_cover = coverage.point("h_crossed_threshold", ["up", "down"])
    flip_cover = coverage.point("in_chopper_flip", ["to_negative", "to_positive"])
    held_cover = coverage.point("agad_hold_off", [True]) if config.mode is TransferMode.AGAD else None
    stall_cover = coverage.point("stream_stalls", ["readout", "result"])
    in_size, out_size = config.in_size, config.out_size
    width = config.adc_bits
    taken = 0
    last_column = -1
    for update in range(updates):
        # a gap of idle cycles, then one update strobe while the controller is idle
        for _ in range(rng.randrange(0, 3)):
            await FallingEdge(dut.clk)
        await FallingEdge(dut.clk)
        while read_int(dut.busy):
            await FallingEdge(dut.clk)
        dut.update_done.value = 1
        await FallingEdge(dut.clk)
        dut.update_done.value = 0
        request = twin.step()
        if request is None:
            continue
        for column in request.columns:
            for _ in range(200):
                if read_int(dut.transfer_due):
                    break
                await FallingEdge(dut.clk)
            scoreboard.compare(f"update {update} column", read_int(dut.column), column)
            if column < last_column:
                wrap_cover(True)
            last_column = column
            signs_before = twin.signs().in_signs.copy()
            codes = np.array(
                [
                    rng.choice([config.adc_min_code, config.adc_max_code])
                    if rng.random() < 0.1
                    else rng.randrange(config.adc_min_code, config.adc_max_code + 1)
                    for _ in range(out_size)
                ],
                dtype=np.int64,
            )
            for code in codes:
                source.send(int(code) & ((1 << width) - 1))
            result = twin.transfer(column, codes)
            await sink.wait_for(taken + out_size, timeout_cycles=100 * out_size + 200)
            h_codes = twin.h_codes()
            reference_codes = twin.reference_codes()
            for row in range(out_size):
                record = decode_struct(layout, sink.items[taken + row].payload)
                model = {
                    "row": row,
                    "column": column,
                    "pulses": int(result.pulses[row]),
                    "h": int(h_codes[row, column]),
                    "reference": int(reference_codes[row, column]) if config.mode is TransferMode.AGAD else 0,
                    "accumulated": int(result.accumulated),
                }
                if config.mode is not TransferMode.AGAD:
                    record["reference"] = 0
                scoreboard.compare(f"update {update} column {column} row {row} record", record, model)
                if result.pulses[row] > 0:
                    pulse_cover("up")
                elif result.pulses[row] < 0:
                    pulse_cover("down")
            taken += out_size
            if held_cover is not None and not result.accumulated:
                held_cover(True)
            if result.in_flipped:
                flip_cover("to_positive" if signs_before[column] < 0 else "to_negative")
        while read_int(dut.busy):
            await FallingEdge(dut.clk)
        signs = twin.signs()
        scoreboard.compare(
            f"update {update} in_negative",
            bits(read_int(dut.in_negative), in_size),
            (signs.in_signs < 0).tolist(),
        )
        scoreboard.compare(
            f"update {update} out_negative",
            bits(read_int(dut.out_negative), out_size),
            (signs.out_signs < 0).tolist(),
        )
    if source.stall_cycles:
        stall_cover("readout")
    if sink.backpressure_cycles:
        stall_cover("result")
    report(scoreboard=scoreboard.summary(), coverage=coverage.summary(), cycles=counter.cycle)
    scoreboard.check()
