"""Deliberately broken variants of periphery components, to prove that each bench's checker can fail.

A checker that never fails proves nothing. The faults here wrap or patch real components so that a
test can run the unmodified bench against them and require it to report a mismatch:

:class:`PortFault`
    any component with one port passed through a function (the base of the faults below).
:class:`StuckBit`
    one output bit stuck at 0 or 1 (an LFSR state bit that never toggles, an ADC code bit stuck).
:class:`OffByOne`
    an index output one ahead, wrapping (a column pointer that points at the next column).
:class:`StuckInput`
    one input port of a component tied to a constant (a strobe that never reaches the block).
"""

from __future__ import annotations

from collections.abc import Callable

from amaranth.hdl import Const, Module, Mux, Value, ValueCastable
from amaranth.lib import wiring


def _as_value(value: object) -> Value:
    if isinstance(value, ValueCastable):
        return Value.cast(value.as_value())
    return Value.cast(value)


class PortFault(wiring.Component):
    """``inner`` with port ``port`` (flattened name, ``a__b``) passed through ``fault``.

    An output port shows ``fault(inner's value)`` outside; an input port gets ``fault(outside value)``.

    The wrapper has the inner component's signature, so it converts to a Verilog module with the same
    ports and the same bench drives it unchanged.
    """

    def __init__(self, inner: wiring.Component, *, port: str, fault: Callable[[Value], Value]) -> None:
        self._inner = inner
        self._port = port
        self._fault = fault
        super().__init__(inner.signature)
        names = ["__".join(map(str, path)) for path, _, _ in inner.signature.flatten(inner)]
        if port not in names:
            raise ValueError(f"port {port!r} is not among {names}")

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.inner = self._inner
        outer_ports = {"__".join(map(str, p)): v for p, _, v in self.signature.flatten(self)}
        for path, member, inner_value in self._inner.signature.flatten(self._inner):
            name = "__".join(map(str, path))
            inner_bits, outer_bits = _as_value(inner_value), _as_value(outer_ports[name])
            faulty = name == self._port
            if member.flow == wiring.In:
                m.d.comb += inner_bits.eq(self._fault(outer_bits) if faulty else outer_bits)
            else:
                m.d.comb += outer_bits.eq(self._fault(inner_bits) if faulty else inner_bits)
        return m


class StuckBit(PortFault):
    """``inner`` with bit ``bit`` of output port ``port`` stuck at ``level``."""

    def __init__(self, inner: wiring.Component, *, port: str, bit: int, level: int = 0) -> None:
        def stuck(value: Value) -> Value:
            width = len(value)
            mask = ((1 << width) - 1) & ~(1 << bit)
            return (value & Const(mask, width)) | Const(level << bit, width)

        super().__init__(inner, port=port, fault=stuck)


class OffByOne(PortFault):
    """``inner`` with index output ``port`` one ahead, wrapping at ``modulus``."""

    def __init__(self, inner: wiring.Component, *, port: str, modulus: int) -> None:
        def ahead(value: Value) -> Value:
            return Mux(value == modulus - 1, 0, value + 1)

        super().__init__(inner, port=port, fault=ahead)


class StuckInput(PortFault):
    """``inner`` with input port ``port`` (flattened name) tied to ``level`` instead of the outside value.

    Models a broken wire into a block, e.g. a chopper whose flip strobe never arrives.
    """

    def __init__(self, inner: wiring.Component, *, port: str, level: int = 0) -> None:
        super().__init__(inner, port=port, fault=lambda value: Const(level, len(value)))
