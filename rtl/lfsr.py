"""LFSR components: one register (:class:`Lfsr`) or a bank of per-line registers (:class:`LfsrBank`).

The feedback, taps and per-line seeds come from :class:`pulsetrain.periphery.lfsr.LfsrConfig`, the same
config the model's twin (:class:`pulsetrain.model.twins.lfsr.TwinLfsrBank`) reads. One advance per cycle
while ``enable`` is high. A single step is wired structurally (shift plus XOR gates in the configured
form); an advance of several steps (a leap-forward LFSR) is wired as the matrix of the combined linear
map, so every next-state bit is one XOR over a fixed subset of the current bits: one level of logic
however many steps are combined.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal, Value, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm, line_seeds, transition_columns


def single_step(config: LfsrConfig, state: Value) -> Value:
    """The next state after one single step, as shift-and-XOR wiring in the configured form."""
    width = config.width
    mask = config.tap_mask
    if config.form is LfsrForm.FIBONACCI:
        feedback = Cat(*(state[tap - 1] for tap in config.tap_stages)).xor()
        return Cat(feedback, state[: width - 1])
    out = state[0]
    bits = []
    for i in range(width):
        shifted = state[i + 1] if i + 1 < width else Const(0, 1)
        bits.append(shifted ^ out if (mask >> i) & 1 else shifted)
    return Cat(*bits)


def _row_masks(config: LfsrConfig, steps: int) -> tuple[int, ...]:
    """``rows[j]``: the current-state bits whose XOR is next-state bit ``j`` after ``steps`` steps."""
    columns = transition_columns(config, steps)
    return tuple(
        sum(1 << i for i, column in enumerate(columns) if (column >> j) & 1) for j in range(config.width)
    )


def advance_step(config: LfsrConfig, state: Value) -> Value:
    """The next state after one advance (``config.steps_per_advance`` single steps)."""
    if config.steps_per_advance == 1:
        return single_step(config, state)
    bits = []
    for row in _row_masks(config, config.steps_per_advance):
        terms = [state[i] for i in range(config.width) if (row >> i) & 1]
        bit = terms[0]
        for term in terms[1:]:
            bit = bit ^ term
        bits.append(bit)
    return Cat(*bits)


class Lfsr(wiring.Component):
    """One LFSR that advances once per cycle while ``enable`` is high.

    Ports
    -----
    enable : In(1)
        Advance at the next clock edge.
    state : Out(width)
        Current state (``config.seed`` after reset).
    """

    def __init__(self, config: LfsrConfig) -> None:
        self._config = config
        super().__init__({"enable": In(1), "state": Out(config.width)})

    @property
    def config(self) -> LfsrConfig:
        """The shared LFSR config."""
        return self._config

    def elaborate(self, platform: object) -> Module:
        m = Module()
        register = Signal(self._config.width, init=self._config.seed)
        with m.If(self.enable):
            m.d.sync += register.eq(advance_step(self._config, register))
        m.d.comb += self.state.eq(register)
        return m


class LfsrBank(wiring.Component):
    """``lines`` LFSRs seeded by :func:`~pulsetrain.periphery.lfsr.line_seeds`, advanced together.

    Ports
    -----
    enable : In(1)
        Advance every line at the next clock edge.
    states : Out(ArrayLayout(width, lines))
        Current state of each line.
    """

    def __init__(self, config: LfsrConfig, lines: int) -> None:
        self._config = config
        self._lines = lines
        self._seeds = line_seeds(config, lines)
        super().__init__({"enable": In(1), "states": Out(data.ArrayLayout(unsigned(config.width), lines))})

    @property
    def config(self) -> LfsrConfig:
        """The shared LFSR config."""
        return self._config

    @property
    def lines(self) -> int:
        """Number of LFSRs."""
        return self._lines

    def elaborate(self, platform: object) -> Module:
        m = Module()
        for line, seed in enumerate(self._seeds):
            register = Signal(self._config.width, init=seed, name=f"lfsr_{line}")
            with m.If(self.enable):
                m.d.sync += register.eq(advance_step(self._config, register))
            m.d.comb += self.states[line].eq(register)
        return m
