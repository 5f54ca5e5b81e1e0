"""A pulse generator whose first line's LFSR has a stuck state bit (for the bench's can-fail test)."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from pulsetrain.rtl.lfsr import advance_step
from pulsetrain.rtl.pulse_generator import PulseGenerator


class StuckLfsrBitPulseGenerator(PulseGenerator):
    """:class:`PulseGenerator` with bit ``bit`` of line 0's LFSR stuck at 0 (feedback and comparator).

    Models a stuck-at-0 fault on one flip-flop of one per-line LFSR: the line's random stream changes,
    so its pulse train differs from the twin's while every other line stays right.
    """

    stuck_bit = 0

    def _stochastic(self, m: Module, running: Signal, codes: list[Signal]) -> None:
        config = self._config
        fires = []
        for line, seed in enumerate(config.seeds()):
            lfsr = Signal(config.lfsr.width, init=seed, name=f"lfsr_{line}")
            advanced = Signal(config.lfsr.width, name=f"lfsr_next_{line}")
            stepped = advance_step(config.lfsr, lfsr)
            if line == 0:
                stepped = stepped & Const(~(1 << self.stuck_bit) & config.lfsr.period, config.lfsr.width)
            m.d.comb += advanced.eq(stepped)
            with m.If(running):
                m.d.sync += lfsr.eq(advanced)
            fires.append(advanced[: config.probability_bits] < codes[line])
        self._drive_fire(m, running, fires)
