"""cocotb bench of the TTv2 / c-TTv2 / AGAD transfer controller RTL against its twin.

Random A updates (``update_done`` strobes with random gaps); whenever the controller asks for a column,
the bench checks the column against the twin's request, sends random ADC codes (both rails now and
then) through the ``readout`` stream with random idle gaps, and takes the per-row ``result`` records
with random back-pressure. Every record (row, column, pulses to C, H after, AGAD reference, accumulated)
is compared with :class:`~pulsetrain.model.twins.transfer.TwinTransferPeriphery`, and after every event
the chopper signs of the update path.

Kept apart: the driver (:class:`TransferDriver`: update strobes and ADC codes), the monitor
(:class:`TransferMonitor`: the requested column, the result records, the chopper signs), the model
(:func:`expected_records`, :func:`expected_signs`: the twin) and the check (the scoreboard);
:class:`~pulsetrain.cosim.kit.Bench` holds the plumbing.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.kit import Bench, StreamSink, StreamSource, bits, decode_struct, read_int
from pulsetrain.model.transfer import TransferResult
from pulsetrain.model.twins.transfer import TwinTransferPeriphery

from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode


class TransferDriver:
    """Update strobes onto ``update_done`` and random ADC codes into the ``readout`` stream."""

    def __init__(self, dut: Any, config: TransferControllerConfig, rng: random.Random, source: StreamSource):
        self.dut = dut
        self.config = config
        self.rng = rng
        self.source = source

    async def update(self) -> None:
        """A gap of idle cycles, then one update strobe while the controller is idle."""
        for _ in range(self.rng.randrange(0, 3)):
            await FallingEdge(self.dut.clk)
        await FallingEdge(self.dut.clk)
        while read_int(self.dut.busy):
            await FallingEdge(self.dut.clk)
        self.dut.update_done.value = 1
        await FallingEdge(self.dut.clk)
        self.dut.update_done.value = 0

    def send_codes(self) -> np.ndarray:
        """One column's ADC codes (a tenth of them at a rail), queued on the readout stream."""
        config, rng = self.config, self.rng
        codes = np.array(
            [
                rng.choice([config.adc_min_code, config.adc_max_code])
                if rng.random() < 0.1
                else rng.randrange(config.adc_min_code, config.adc_max_code + 1)
                for _ in range(config.out_size)
            ],
            dtype=np.int64,
        )
        for code in codes:
            self.source.send(int(code) & ((1 << config.adc_bits) - 1))
        return codes


class TransferMonitor:
    """The design's side: the column it asks for, its result records, its chopper signs."""

    def __init__(self, dut: Any, config: TransferControllerConfig, sink: StreamSink) -> None:
        from pulsetrain.rtl.transfer_controller import result_layout

        self.dut = dut
        self.config = config
        self.sink = sink
        self.layout = result_layout(config)
        self.taken = 0

    async def requested_column(self) -> int:
        """The column of the next transfer (waits up to 200 cycles for ``transfer_due``)."""
        for _ in range(200):
            if read_int(self.dut.transfer_due):
                break
            await FallingEdge(self.dut.clk)
        return read_int(self.dut.column)

    async def records(self) -> list[dict[str, int]]:
        """The next column's per-row result records, decoded (reference 0 outside AGAD)."""
        rows = self.config.out_size
        await self.sink.wait_for(self.taken + rows, timeout_cycles=100 * rows + 200)
        records = [
            decode_struct(self.layout, self.sink.items[self.taken + row].payload) for row in range(rows)
        ]
        self.taken += rows
        if self.config.mode is not TransferMode.AGAD:
            for record in records:
                record["reference"] = 0
        return records

    async def signs(self) -> tuple[list[bool], list[bool]]:
        """Once the controller is idle: the in and out chopper signs (True: negative)."""
        while read_int(self.dut.busy):
            await FallingEdge(self.dut.clk)
        return (
            bits(read_int(self.dut.in_negative), self.config.in_size),
            bits(read_int(self.dut.out_negative), self.config.out_size),
        )


def expected_records(
    twin: TwinTransferPeriphery, mode: TransferMode, column: int, result: TransferResult
) -> list[dict[str, int]]:
    """The model's records of a transfer the twin has just made."""
    agad = mode is TransferMode.AGAD
    h_codes, reference_codes = twin.h_codes(), twin.reference_codes()
    return [
        {
            "row": row,
            "column": column,
            "pulses": int(result.pulses[row]),
            "h": int(h_codes[row, column]),
            "reference": int(reference_codes[row, column]) if agad else 0,
            "accumulated": int(result.accumulated),
        }
        for row in range(len(result.pulses))
    ]


def expected_signs(twin: TwinTransferPeriphery) -> tuple[list[bool], list[bool]]:
    """The model's chopper signs (True: negative)."""
    signs = twin.signs()
    return (signs.in_signs < 0).tolist(), (signs.out_signs < 0).tolist()


@cocotb.test()
async def transfer_controller_matches_twin(dut: Any) -> None:
    """Every result record and the chopper signs after every event equal the twin's."""
    bench = Bench(dut, "transfer_controller")
    config = bench.config(TransferControllerConfig)
    updates = bench.integer("updates", 40)
    twin = TwinTransferPeriphery(config)
    await bench.start(idle_inputs={"update_done": 0, "readout__valid": 0, "result__ready": 0})
    source = StreamSource(dut, "readout", dut.clk, bench.pattern("source", "random70"))
    sink = StreamSink(dut, "result", dut.clk, bench.pattern("sink", "random60"), bench.counter)
    driver, monitor = TransferDriver(dut, config, bench.rng, source), TransferMonitor(dut, config, sink)
    check = bench.scoreboard.compare
    wrap_cover = bench.coverage.point("column_pointer_wrapped", [True])
    pulse_cover = bench.coverage.point("h_crossed_threshold", ["up", "down"])
    flip_cover = bench.coverage.point("in_chopper_flip", ["to_negative", "to_positive"])
    held_cover = bench.coverage.point("agad_hold_off", [True]) if config.mode is TransferMode.AGAD else None
    stall_cover = bench.coverage.point("stream_stalls", ["readout", "result"])
    last_column = -1
    for update in range(updates):
        await driver.update()
        request = twin.step()
        if request is None:
            continue
        for column in request.columns:
            check(f"update {update} column", await monitor.requested_column(), column)
            if column < last_column:
                wrap_cover(True)
            last_column = column
            signs_before = twin.signs().in_signs.copy()
            result = twin.transfer(column, driver.send_codes())
            model = expected_records(twin, config.mode, column, result)
            for row, record in enumerate(await monitor.records()):
                check(f"update {update} column {column} row {row} record", record, model[row])
                if result.pulses[row] != 0:
                    pulse_cover("up" if result.pulses[row] > 0 else "down")
            if held_cover is not None and not result.accumulated:
                held_cover(True)
            if result.in_flipped:
                flip_cover("to_positive" if signs_before[column] < 0 else "to_negative")
        (in_design, out_design), (in_model, out_model) = await monitor.signs(), expected_signs(twin)
        check(f"update {update} in_negative", in_design, in_model)
        check(f"update {update} out_negative", out_design, out_model)
    if source.stall_cycles:
        stall_cover("readout")
    if sink.backpressure_cycles:
        stall_cover("result")
    bench.finish(cycles=bench.counter.cycle)
