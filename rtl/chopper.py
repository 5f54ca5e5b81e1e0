"""Chopper sign logic (:class:`ChopperSign`): per-line sign registers, flip events, XOR paths.

Behaviour and conventions are documented in :mod:`pulsetrain.periphery.chopper`; the twin is
:class:`pulsetrain.model.twins.chopper.TwinChopper`.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from pulsetrain.rtl.lfsr import advance_step

from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode


class ChopperSign(wiring.Component):
    """Chopper signs of ``config.lines`` lines.

    Ports
    -----
    flip : In(1)
        A flip event this cycle (strobe; e.g. after the read of ``flip_line``).
    flip_line : In(range(lines))
        The line whose read just finished (ignored when ``flip_all``).
    flip_all : In(1)
        The event addresses every line with one decision.
    negative : Out(lines)
        Chopper signs (1: ``c = -1``), registered; an event changes them at the next clock edge.
    flipped : Out(1)
        Whether the most recent event flipped its line(s); valid from the cycle after the event.
    data_negative : In(lines)
        Write path: signs of the data written through each line.
    chopped_negative : Out(lines)
        Write path: ``data_negative ^ negative`` (combinational).
    read_line : In(range(lines))
        Read path: the line whose value is being read.
    read_negative : Out(1)
        Read path: chopper sign of ``read_line`` (combinational).
    """

    def __init__(self, config: ChopperConfig) -> None:
        self._config = config
        lines = config.lines
        super().__init__(
            {
                "flip": In(1),
                "flip_line": In(range(lines)),
                "flip_all": In(1),
                "negative": Out(lines),
                "flipped": Out(1),
                "data_negative": In(lines),
                "chopped_negative": Out(lines),
                "read_line": In(range(lines)),
                "read_negative": Out(1),
            }
        )

    @property
    def config(self) -> ChopperConfig:
        """The shared chopper config."""
        return self._config

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        decision = Signal()  # this event flips its line(s)

        if config.mode is ChopperMode.RANDOM:
            lfsr = Signal(config.lfsr.width, init=config.lfsr.seed)
            next_lfsr = Signal(config.lfsr.width)
            m.d.comb += next_lfsr.eq(advance_step(config.lfsr, lfsr))
            with m.If(self.flip):
                m.d.sync += lfsr.eq(next_lfsr)
            m.d.comb += decision.eq(next_lfsr[: config.probability_bits] < config.flip_code)
        elif config.regular_period > 0:
            period = config.regular_period
            sweep = Signal(config.counter_width)
            counts = self.flip_all | (self.flip_line == 0)
            next_sweep = Signal(config.counter_width)
            with m.If(counts & (sweep == period - 1)):
                m.d.comb += next_sweep.eq(0)
            with m.Elif(counts):
                m.d.comb += next_sweep.eq(sweep + 1)
            with m.Else():
                m.d.comb += next_sweep.eq(sweep)
            with m.If(self.flip):
                m.d.sync += sweep.eq(next_sweep)
            m.d.comb += decision.eq(next_sweep == 0)

        signs = Signal(config.lines)
        with m.If(self.flip):
            m.d.sync += self.flipped.eq(decision)
            with m.If(decision):
                with m.If(self.flip_all):
                    m.d.sync += signs.eq(~signs)
                with m.Else():
                    m.d.sync += signs.bit_select(self.flip_line, 1).eq(~signs.bit_select(self.flip_line, 1))
        m.d.comb += [
            self.negative.eq(signs),
            self.chopped_negative.eq(self.data_negative ^ signs),
            self.read_negative.eq(signs.bit_select(self.read_line, 1)),
        ]
        return m
