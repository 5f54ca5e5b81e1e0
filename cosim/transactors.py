"""Transaction-level drivers of the periphery RTL (run inside the simulator, under cocotb).

A transactor turns one periphery transaction of the model's protocols into pin activity and back: codes
in, pulse trains out. The training loop calls it once per rank-1 update; between transactions the RTL
runs free, so the per-cycle Python is only what the transaction itself needs (one code write per line,
one sample per pulse slot).

Timing discipline (the same in every transactor): inputs are driven at the falling edge and outputs are
sampled at the falling edge, half a cycle after the rising edge that updated the registers. That is
race-free on Verilator and Icarus alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from cocotb.triggers import FallingEdge
from numpy.typing import NDArray
from pulsetrain.cosim.kit import Pattern, always, read_int
from pulsetrain.model.periphery import PulseTrains

from pulsetrain.periphery.pulse import PulseGeneratorConfig


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
