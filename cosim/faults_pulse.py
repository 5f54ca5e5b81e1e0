"""A pulse generator whose first line's LFSR has a stuck state bit (for the bench's can-fail test)."""

from __future__ import annotations

from amaranth.hdl import Const, Value
from pulsetrain.rtl.pulse_generator import PulseGenerator


class StuckLfsrBitPulseGenerator(PulseGenerator):
    """:class:`PulseGenerator` with bit ``bit`` of line 0's LFSR stuck at 0 (feedback and comparator).

    Models a stuck-at-0 fault on one flip-flop of one per-line LFSR: the line's random stream changes,
    so its pulse train differs from the twin's while every other line stays right. Only the component's
    subclass point :meth:`~PulseGenerator.next_state` is replaced; everything else is the RTL's own.
    """

    stuck_bit = 0

    def next_state(self, bank: str, line: int, state: Value) -> Value:
        stepped = super().next_state(bank, line, state)
        if bank != "lfsr" or line != 0:
            return stepped
        width = self.config.lfsr.width
        return stepped & Const(~(1 << self.stuck_bit) & self.config.lfsr.period, width)
