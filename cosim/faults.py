"""Deliberately broken variants of periphery components, to prove that each bench's checker can fail.

A checker that never fails proves nothing. The faults here wrap or patch real components so that a
test can run the unmodified bench against them and require it to report a mismatch:

:class:`StuckBit`
    any component with one output bit stuck at 0 or 1 (an LFSR state bit that never toggles, a pulse
    line that never fires, an ADC code bit stuck at a rail).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Value, ValueCastable
from amaranth.lib import wiring


def _as_value(value: object) -> Value:
    if isinstance(value, ValueCastable):
        return Value.cast(value.as_value())
    return Value.cast(value)


class StuckBit(wiring.Component):
    """``inner`` with bit ``bit`` of output port ``port`` (flattened name, ``a__b``) stuck at ``level``.

    The wrapper has the inner component's signature, so it converts to a Verilog module with the same
    ports and the same bench drives it unchanged.
    """

    def __init__(self, inner: wiring.Component, *, port: str, bit: int, level: int = 0) -> None:
        self._inner = inner
        self._port = port
        self._bit = bit
        self._level = level
        super().__init__(inner.signature)
        names = ["__".join(map(str, path)) for path, _, _ in inner.signature.flatten(inner)]
        if port not in names:
            raise ValueError(f"port {port!r} is not among {names}")

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.inner = self._inner
        outer_ports = {"__".join(map(str, p)): (mem, v) for p, mem, v in self.signature.flatten(self)}
        for path, member, inner_value in self._inner.signature.flatten(self._inner):
            name = "__".join(map(str, path))
            _, outer_value = outer_ports[name]
            inner_bits, outer_bits = _as_value(inner_value), _as_value(outer_value)
            if member.flow == wiring.In:
                m.d.comb += inner_bits.eq(outer_bits)
            elif name == self._port:
                width = len(inner_bits)
                mask = ((1 << width) - 1) & ~(1 << self._bit)
                forced = (inner_bits & Const(mask, width)) | Const(self._level << self._bit, width)
                m.d.comb += outer_bits.eq(forced)
            else:
                m.d.comb += outer_bits.eq(inner_bits)
        return m
