"""A tiny stream component of the kit's own, used to prove the runner and the verification kit.

:class:`RunningSum` adds every input byte to an accumulator and emits the new sum on its output stream;
its output register holds an item until the sink takes it, so back-pressure on the output stalls the
input. The ``broken`` flag makes it skip every 16th addition: a bug the scoreboard must catch.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class RunningSum(wiring.Component):
    """Stream in ``width_in``-bit values, stream out their running sum modulo ``2**width_sum``."""

    def __init__(self, *, width_in: int = 8, width_sum: int = 16, broken: bool = False) -> None:
        self._width_in = width_in
        self._width_sum = width_sum
        self._broken = broken
        super().__init__(
            {
                "values": In(stream.Signature(unsigned(width_in))),
                "sums": Out(stream.Signature(unsigned(width_sum))),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        total = Signal(self._width_sum)
        count = Signal(4)
        full = Signal()
        m.d.comb += [
            self.values.ready.eq(~full | self.sums.ready),
            self.sums.valid.eq(full),
            self.sums.payload.eq(total),
        ]
        with m.If(self.sums.ready & full):
            m.d.sync += full.eq(0)
        with m.If(self.values.valid & self.values.ready):
            m.d.sync += [full.eq(1), count.eq(count + 1)]
            if self._broken:
                with m.If(count != 15):
                    m.d.sync += total.eq(total + self.values.payload)
            else:
                m.d.sync += total.eq(total + self.values.payload)
        return m


def running_sums(values: list[int], width_sum: int = 16) -> list[int]:
    """Reference model: the sums the component must emit for ``values``."""
    sums, total = [], 0
    for value in values:
        total = (total + value) % (1 << width_sum)
        sums.append(total)
    return sums
