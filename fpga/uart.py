"""A small 8N1 UART (amaranth-stdlib 0.5 has none): receiver and transmitter as byte streams.

The receiver samples the middle of each bit, timed from the falling edge of the start bit, after a
two-flop synchronizer (the line comes from another clock domain: the USB bridge). A byte that arrives
while the previous one has not been taken is lost; the link protocol's retry covers it.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


class UartReceiver(wiring.Component):
    """Serial line in, bytes out.

    Parameters
    ----------
    divisor
        Clock cycles per bit (clock frequency / baud rate), at least 4.

    Attributes
    ----------
    line : In(1)
        The RX pin (idle high).
    data : Out(stream.Signature(8))
        Received bytes.
    """

    def __init__(self, *, divisor: int) -> None:
        if not divisor >= 4:
            raise ValueError(f"divisor must be >= 4 clock cycles per bit, not {divisor!r}")
        self._divisor = divisor
        super().__init__({"line": In(1, init=1), "data": Out(stream.Signature(8))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        line = Signal(init=1)
        m.submodules.synchronizer = FFSynchronizer(self.line, line, init=1)
        timer = Signal(range(self._divisor * 3 // 2 + 1))
        bit = Signal(range(9))
        shift = Signal(8)
        with m.If(self.data.ready):
            m.d.sync += self.data.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):  # start bit: wait one and a half bits to the middle of bit 0
                    m.d.sync += [timer.eq(self._divisor * 3 // 2 - 1), bit.eq(0)]
                    m.next = "BITS"
            with m.State("BITS"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [
                        shift.eq(shift[1:] | (line << 7)),
                        bit.eq(bit + 1),
                        timer.eq(self._divisor - 1),
                    ]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(line):  # a good stop bit; a framing error drops the byte
                        m.d.sync += [self.data.payload.eq(shift), self.data.valid.eq(1)]
                    m.next = "IDLE"
        return m


class UartTransmitter(wiring.Component):
    """Bytes in, serial line out.

    Parameters
    ----------
    divisor
        Clock cycles per bit (clock frequency / baud rate), at least 4.

    Attributes
    ----------
    data : In(stream.Signature(8))
        Bytes to send.
    line : Out(1)
        The TX pin (idle high).
    """

    def __init__(self, *, divisor: int) -> None:
        if not divisor >= 4:
            raise ValueError(f"divisor must be >= 4 clock cycles per bit, not {divisor!r}")
        self._divisor = divisor
        super().__init__({"data": In(stream.Signature(8)), "line": Out(1, init=1)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        timer = Signal(range(self._divisor))
        frame = Signal(10, init=0x3FF)  # stop, 8 data, start, shifted out LSB first
        remaining = Signal(range(11))
        m.d.comb += self.line.eq(frame[0])
        with m.If(remaining == 0):
            m.d.comb += self.data.ready.eq(1)
            with m.If(self.data.valid):
                m.d.sync += [
                    frame.eq((1 << 9) | (self.data.payload << 1)),
                    remaining.eq(10),
                    timer.eq(self._divisor - 1),
                ]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
            with m.If(timer == 0):
                m.d.sync += [
                    frame.eq((frame >> 1) | (1 << 9)),
                    remaining.eq(remaining - 1),
                    timer.eq(self._divisor - 1),
                ]
        return m
