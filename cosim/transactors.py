"""Transaction-level drivers of the periphery RTL (run inside the simulator, under cocotb).

A transactor turns one periphery transaction of the model's protocols into pin activity and back:

:class:`PulseGeneratorTransactor`
    codes in, pulse trains out (one rank-1 update).
:class:`AdcReadoutTransactor`
    one readout of all columns: the held analog values in (the model's read), the codes out; the
    comparator trials are answered from the held values, as the analog comparators would.
:class:`TransferControllerTransactor`
    the TTv2-family transfer protocol (:class:`~pulsetrain.model.transfer.TransferPeriphery`): the chopper
    sign lines, one A-update strobe (is a transfer due, which column), one column transfer (ADC codes in,
    per-row records out).

The training loop calls a transactor once per transaction; between transactions the simulator does not
advance, so the per-cycle Python is only what the transaction itself needs (one code write per line, one
sample per pulse slot, one code and one record per row of a transferred column).

Timing discipline (the same in every transactor): inputs are driven at the falling edge and outputs are
sampled at the falling edge, half a cycle after the rising edge that updated the registers. That is
race-free on Verilator and Icarus alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from cocotb.triggers import FallingEdge
from numpy.typing import NDArray
from pulsetrain.cosim.kit import Pattern, always, decode_struct, read_int
from pulsetrain.model.periphery import PulseTrains

from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig
from pulsetrain.periphery.transfer import TransferControllerConfig


@dataclass(frozen=True)
class PulseUpdate:
    """One rank-1 update for a pulse generator: a train length, a code and a sign per line (x lines first)."""

    #: train length (slots)
    bl: int
    #: one probability (or count) code per line
    codes: NDArray[np.int64]
    #: one sign per line (True: negative)
    negative: NDArray[np.bool_]


def _unpack(value: int, width: int) -> NDArray[np.bool_]:
    """A packed bus as ``width`` booleans, bit 0 first."""
    return np.array([(value >> i) & 1 for i in range(width)], dtype=bool)


class PulseGeneratorTransactor:
    """Drives a :class:`pulsetrain.rtl.pulse_generator.PulseGenerator` (ports under ``prefix``).

    Parameters
    ----------
    dut
        The cocotb handle of the top module.
    config
        The generator config the RTL was built from.
    prefix
        Prefix of the generator's ports in the top (``""`` for a generator that is the top itself,
        ``"layer0__"`` inside a multi-layer top).
    code_pattern
        Idle pattern of the ``codes`` stream (random gaps between writes in benches).
    """

    def __init__(
        self, dut: Any, config: PulseGeneratorConfig, prefix: str = "", code_pattern: Pattern | None = None
    ) -> None:
        self.config = config
        self.clock = dut.clk
        self._port = {name: getattr(dut, f"{prefix}{name}") for name in _PULSE_PORTS}
        self.code_pattern = code_pattern or always()
        # payload layout of the codes stream, from the RTL's own StructLayout (no hand-written masks)
        from pulsetrain.rtl.pulse_generator import code_layout

        layout = code_layout(config)
        self._offset = {name: field.offset for name, field in layout}
        #: cycles spent in transactions (code writes, start, slots)
        self.cycles = 0
        #: cycles in which the codes stream was stalled (valid high, ready low)
        self.code_stalls = 0
        self._port["codes__valid"].value = 0
        self._port["start"].value = 0
        self._port["bl"].value = 0

    def payload(self, line: int, code: int, negative: bool) -> int:
        """Packed ``codes`` payload for one line."""
        offset = self._offset
        return (line << offset["line"]) | (code << offset["code"]) | (int(negative) << offset["negative"])

    async def write_codes(self, codes: NDArray[np.int64], negative: NDArray[np.bool_]) -> None:
        """Write every line's code and sign (x lines, then d lines), one handshake per line."""
        valid, ready, payload = (self._port[n] for n in ("codes__valid", "codes__ready", "codes__payload"))
        line = 0
        lines = len(codes)
        await FallingEdge(self.clock)
        presenting = False
        ready_at_edge = False
        while True:
            if presenting:
                # the rising edge just passed took the item when ready was high before it
                if ready_at_edge:
                    line += 1
                    presenting = False
                else:
                    self.code_stalls += 1
            if line == lines:
                valid.value = 0
                return
            if not presenting:
                if next(self.code_pattern):
                    payload.value = self.payload(line, int(codes[line]), bool(negative[line]))
                    valid.value = 1
                    presenting = True
                else:
                    valid.value = 0
            ready_at_edge = bool(read_int(ready))
            await FallingEdge(self.clock)
            self.cycles += 1

    async def run_slots(self, bl: int) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Start a train of ``bl`` slots and collect ``(x_fire, d_fire)`` of every slot."""
        config = self.config
        x_fire = np.zeros((bl, config.x_lines), dtype=bool)
        d_fire = np.zeros((bl, config.d_lines), dtype=bool)
        if bl == 0:
            return x_fire, d_fire
        await FallingEdge(self.clock)
        self._port["start"].value = 1
        self._port["bl"].value = bl
        await FallingEdge(self.clock)
        self.cycles += 1
        self._port["start"].value = 0
        slot = 0
        for _ in range(bl + 8):
            await FallingEdge(self.clock)
            self.cycles += 1
            if read_int(self._port["slot_valid"]):
                x_fire[slot] = _unpack(read_int(self._port["x_fire"]), config.x_lines)
                d_fire[slot] = _unpack(read_int(self._port["d_fire"]), config.d_lines)
                last = read_int(self._port["slot_last"])
                slot += 1
                if last or slot == bl:
                    if bool(last) != (slot == bl):
                        raise AssertionError(f"slot_last at slot {slot - 1} of a train of {bl}")
                    return x_fire, d_fire
        raise AssertionError(f"pulse generator produced {slot} of {bl} slots")

    def sign_lines(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """The x and d sign lines as the RTL holds them now."""
        return (
            _unpack(read_int(self._port["x_negative"]), self.config.x_lines),
            _unpack(read_int(self._port["d_negative"]), self.config.d_lines),
        )

    async def fire(
        self,
        x_codes: NDArray[np.int64],
        x_negative: NDArray[np.bool_],
        d_codes: NDArray[np.int64],
        d_negative: NDArray[np.bool_],
        bl: int,
    ) -> PulseTrains:
        """One update transaction: write the codes, run ``bl`` slots, return the trains the RTL made."""
        await self.write_codes(
            np.concatenate([np.asarray(x_codes), np.asarray(d_codes)]),
            np.concatenate([np.asarray(x_negative, dtype=bool), np.asarray(d_negative, dtype=bool)]),
        )
        x_fire, d_fire = await self.run_slots(bl)
        x_signs, d_signs = self.sign_lines()
        return PulseTrains(x_fire=x_fire, d_fire=d_fire, x_negative=x_signs, d_negative=d_signs)


_PULSE_PORTS = (
    "codes__valid",
    "codes__ready",
    "codes__payload",
    "start",
    "bl",
    "busy",
    "slot_valid",
    "slot_last",
    "x_fire",
    "d_fire",
    "x_negative",
    "d_negative",
)


@dataclass(frozen=True)
class ColumnTransfer:
    """What the transfer controller RTL did for one column read (one ``transfer`` transaction)."""

    #: the ``column`` port while the controller asked for the read
    column: int
    #: one decoded ``result`` record per row, in arrival order (fields of :func:`result_layout`)
    records: list[dict[str, int]]
    #: input chopper sign lines before the read (True: sign -1)
    in_negative_before: NDArray[np.bool_]
    #: output chopper sign lines before the read
    out_negative_before: NDArray[np.bool_]
    #: the ``in_flipped`` port once the column was done
    in_flipped: bool
    #: input chopper sign lines after the column (and, after the last column, the output flips)
    in_negative_after: NDArray[np.bool_]
    #: output chopper sign lines after the column
    out_negative_after: NDArray[np.bool_]


class TransferControllerTransactor:
    """Drives a :class:`pulsetrain.rtl.transfer_controller.TransferController` (ports under ``prefix``).

    The controller is idle between transactions. :meth:`step` strobes ``update_done`` once (one update
    of A) and reports the column when the strobe started a transfer event; :meth:`transfer` then feeds
    the column's ADC codes, row 0 first, into ``readout`` (valid held high) and takes every ``result``
    record (ready held high), and returns once the controller has finished the column's chopper events
    (idle again, or asking for the next column of the same event).

    Parameters
    ----------
    dut
        The cocotb handle of the top module.
    config
        The controller config the RTL was built from.
    prefix
        Prefix of the controller's ports in the top (``"transfer0__"`` in the training top).
    """

    def __init__(self, dut: Any, config: TransferControllerConfig, prefix: str = "") -> None:
        from pulsetrain.rtl.transfer_controller import result_layout

        self.config = config
        self.clock = dut.clk
        self._port = {name: getattr(dut, f"{prefix}{name}") for name in _TRANSFER_PORTS}
        self._layout = result_layout(config)
        self._code_mask = (1 << config.adc_bits) - 1
        #: cycles spent in transactions
        self.cycles = 0
        self._port["update_done"].value = 0
        self._port["readout__valid"].value = 0
        self._port["result__ready"].value = 0

    def sign_lines(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """The ``in_negative`` and ``out_negative`` lines as the RTL holds them now."""
        return (
            _unpack(read_int(self._port["in_negative"]), self.config.in_size),
            _unpack(read_int(self._port["out_negative"]), self.config.out_size),
        )

    async def signs(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """The chopper sign lines (an awaitable, so the training thread can resume it)."""
        return self.sign_lines()

    async def step(self) -> int | None:
        """One ``update_done`` strobe; the column the controller asks for, or None when none is due."""
        if read_int(self._port["busy"]):
            raise AssertionError("transfer controller busy at an update of A: a transfer was left open")
        await FallingEdge(self.clock)
        self._port["update_done"].value = 1
        await FallingEdge(self.clock)
        self._port["update_done"].value = 0
        self.cycles += 2
        if not read_int(self._port["busy"]):
            return None
        return read_int(self._port["column"])

    async def transfer(self, codes: NDArray[np.int64]) -> ColumnTransfer:
        """Send one column's signed ADC codes (row 0 first); collect the records and the chopper events."""
        port = self._port
        rows = self.config.out_size
        for _ in range(8):
            if read_int(port["transfer_due"]):
                break
            await FallingEdge(self.clock)
            self.cycles += 1
        else:
            raise AssertionError("transfer controller never asked for a column read")
        column = read_int(port["column"])
        in_before, out_before = self.sign_lines()
        valid, payload = port["readout__valid"], port["readout__payload"]
        result_valid, result_payload = port["result__valid"], port["result__payload"]
        port["result__ready"].value = 1
        sent = 0
        raw: list[int] = []
        limit = 8 * rows + 16
        # Inputs are driven and outputs sampled at falling edges. ``readout.ready`` and ``result.valid``
        # depend only on the controller's state, so what is read here holds at the next rising edge.
        for _ in range(limit):
            if sent < rows:
                payload.value = int(codes[sent]) & self._code_mask
                valid.value = 1
                if read_int(port["readout__ready"]):
                    sent += 1
            else:
                valid.value = 0
            if read_int(result_valid):
                raw.append(read_int(result_payload))
            if len(raw) == rows:
                break
            await FallingEdge(self.clock)
            self.cycles += 1
        else:
            raise AssertionError(f"transfer controller produced {len(raw)} of {rows} records")
        # the last record is taken at the next rising edge; then the chopper event(s) of the column
        await FallingEdge(self.clock)
        self.cycles += 1
        port["result__ready"].value = 0
        valid.value = 0
        for _ in range(4 + rows):
            if not read_int(port["busy"]) or read_int(port["transfer_due"]):
                break
            await FallingEdge(self.clock)
            self.cycles += 1
        else:
            raise AssertionError("transfer controller did not finish the column's chopper events")
        in_after, out_after = self.sign_lines()
        return ColumnTransfer(
            column=column,
            records=[decode_struct(self._layout, value) for value in raw],
            in_negative_before=in_before,
            out_negative_before=out_before,
            in_flipped=bool(read_int(port["in_flipped"])),
            in_negative_after=in_after,
            out_negative_after=out_after,
        )


_TRANSFER_PORTS = (
    "update_done",
    "busy",
    "transfer_due",
    "column",
    "readout__valid",
    "readout__ready",
    "readout__payload",
    "result__valid",
    "result__ready",
    "result__payload",
    "in_negative",
    "in_flipped",
    "out_negative",
)


class AdcReadoutTransactor:
    """Drives a :class:`pulsetrain.rtl.adc_readout.AdcReadout` (ports under ``prefix``) one readout at a time.

    The analog side is the caller's sample-and-hold: :meth:`convert` takes the held value of every
    column (a model read, in the same units as ``lsb``) and answers each ADC's comparator with
    ``held[column] >= dac_level(trial code)`` (:func:`pulsetrain.cosim.bridge.dac_level`: the edges half an
    LSB below each code, so a correct conversion rounds ``held / lsb`` to the nearest code).
    """

    def __init__(self, dut: Any, config: AdcReadoutConfig, prefix: str = "") -> None:
        from pulsetrain.rtl.adc_readout import result_layout

        self.config = config
        self.clock = dut.clk
        self._port = {name: getattr(dut, f"{prefix}{name}") for name in _ADC_PORTS}
        # (offset, width) of the unsigned ``column`` and ``code`` fields of a result record
        self._fields = {name: (field.offset, field.width) for name, field in result_layout(config)}
        #: cycles spent in readouts
        self.cycles = 0
        #: comparator levels of every code, per LSB (computed once per LSB, not once per readout)
        self._levels: dict[float, NDArray[np.float64]] = {}
        self._port["start"].value = 0
        self._port["comparator"].value = 0
        self._port["results__ready"].value = 0

    async def convert(self, held: NDArray[np.float64], lsb: float) -> NDArray[np.int64]:
        """One readout of every column; the unsigned codes, indexed by column."""
        from pulsetrain.cosim.bridge import dac_level

        config, port = self.config, self._port
        bits, mask = config.adc_bits, (1 << config.adc_bits) - 1
        # the comparator levels of every code (the DAC of the model's ADC), once per LSB
        levels = self._levels.get(lsb)
        if levels is None:
            levels = self._levels[lsb] = np.array([dac_level(code, config, lsb) for code in range(mask + 1)])
        codes = np.full(config.columns, -1, dtype=np.int64)
        received = 0
        await FallingEdge(self.clock)
        port["start"].value = 1
        port["results__ready"].value = 1
        await FallingEdge(self.clock)
        port["start"].value = 0
        self.cycles += 1
        limit = 4 * config.columns_per_adc * (config.settle_cycles + (mask + 1) * config.compare_cycles) + 64
        for _ in range(limit):
            # comparators of the current phase, from the trial codes on the DACs now
            phase = read_int(port["mux_select"])
            trials = read_int(port["trial_code"])
            answer = 0
            for adc in range(config.adcs):
                column = config.column(adc, phase)
                if column < config.columns and held[column] >= levels[(trials >> (adc * bits)) & mask]:
                    answer |= 1 << adc
            port["comparator"].value = answer
            if read_int(port["results__valid"]):
                value = read_int(port["results__payload"])
                (column_at, column_width), (code_at, code_width) = (
                    self._fields["column"],
                    self._fields["code"],
                )
                codes[(value >> column_at) & ((1 << column_width) - 1)] = (value >> code_at) & (
                    (1 << code_width) - 1
                )
                received += 1
            if received == config.columns and not read_int(port["busy"]):
                break
            await FallingEdge(self.clock)
            self.cycles += 1
        else:
            raise AssertionError(f"ADC readout produced {received} of {config.columns} codes")
        # idle again: the last result was taken at the rising edge before this falling edge
        port["results__ready"].value = 0
        port["comparator"].value = 0
        return codes


_ADC_PORTS = (
    "start",
    "busy",
    "mux_select",
    "trial_code",
    "compare",
    "comparator",
    "results__valid",
    "results__ready",
    "results__payload",
)
