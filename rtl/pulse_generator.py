"""Update pulse generator (:class:`PulseGenerator`): row and column trains of one array, one slot per cycle.

Codes are written line by line through the ``codes`` stream (one line per cycle; x lines are
``0..x_lines-1``, d lines ``x_lines..x_lines+d_lines-1``), each with its sign line. A ``start`` strobe with
``bl`` then runs ``bl`` slots, one per cycle: every line's pulse for slot ``t`` appears on ``x_fire`` /
``d_fire`` in a cycle with ``slot_valid`` high (``slot_last`` marks slot ``bl - 1``).

Timing, counted in rising clock edges: edge 0 is the one that samples ``start`` high (with ``bl``) while
``busy`` is low. ``busy`` is high after edges ``0 .. bl`` and slot ``t`` (``t = 0 .. bl - 1``) is presented
after edge ``t + 1``, so ``busy`` covers every presented slot and falls with the cycle after the last
one. A ``start`` is taken only while ``busy`` is low: held high, it starts a train every ``bl + 2``
cycles (``bl`` of them carrying slots). The codes stream is ready exactly when ``busy`` is low.
The code semantics (stochastic LFSR comparators or deterministic counts) are in
:mod:`pulsetrain.periphery.pulse`; the twin is :class:`pulsetrain.model.twins.pulse.TwinPulseGenerator`.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from pulsetrain.rtl.lfsr import advance_step

from pulsetrain.periphery.pulse import PulseGeneratorConfig, PulseMode


def code_layout(config: PulseGeneratorConfig) -> data.StructLayout:
    """Payload of the ``codes`` stream: which line, its code, its sign line."""
    return data.StructLayout({"line": range(config.lines), "code": config.code_width, "negative": 1})


class PulseGenerator(wiring.Component):
    """Pulse trains for ``config.x_lines`` x lines and ``config.d_lines`` d lines.

    Ports
    -----
    codes : In(stream.Signature(code_layout(config)))
        Per-line code and sign writes; ready while no train runs.
    start : In(1)
        Start a train of ``bl`` slots (ignored while ``busy``; ``bl == 0`` runs nothing).
    bl : In(bl_counter_bits)
        Train length, sampled with ``start``.
    busy : Out(1)
        A train is running or its last slot is presented; ``start`` is ignored while high.
    slot_valid : Out(1)
        ``x_fire`` / ``d_fire`` hold one slot this cycle.
    slot_last : Out(1)
        This slot is the last of the train.
    x_fire : Out(x_lines), d_fire : Out(d_lines)
        Which lines fire in this slot.
    x_negative : Out(x_lines), d_negative : Out(d_lines)
        Sign lines (1: the value is negative), as last written.
    """

    def __init__(self, config: PulseGeneratorConfig) -> None:
        self._config = config
        super().__init__(
            {
                "codes": In(stream.Signature(code_layout(config))),
                "start": In(1),
                "bl": In(config.bl_counter_bits),
                "busy": Out(1),
                "slot_valid": Out(1),
                "slot_last": Out(1),
                "x_fire": Out(config.x_lines),
                "d_fire": Out(config.d_lines),
                "x_negative": Out(config.x_lines),
                "d_negative": Out(config.d_lines),
            }
        )

    @property
    def config(self) -> PulseGeneratorConfig:
        """The shared generator config."""
        return self._config

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        counter = config.bl_counter_bits

        running = Signal()
        slot = Signal(counter)
        bl = Signal(counter)
        # one code and one sign register per line, written through a decoded line address (a wide
        # register with a dynamic-index write would make a shifter as wide as all codes together)
        codes = [Signal(config.code_width, name=f"code_{line}") for line in range(config.lines)]
        negative = [Signal(name=f"negative_{line}") for line in range(config.lines)]

        # busy covers the slots as presented (they lag the slot counter by one register stage), so a
        # start is never accepted while a slot of the previous train is still on the outputs
        busy = running | self.slot_valid
        # code writes, one line per cycle, only between trains
        m.d.comb += self.codes.ready.eq(~busy)
        with m.If(self.codes.valid & ~busy):
            for line in range(config.lines):
                with m.If(self.codes.payload.line == line):
                    m.d.sync += [
                        codes[line].eq(self.codes.payload.code),
                        negative[line].eq(self.codes.payload.negative),
                    ]
        m.d.comb += [
            self.x_negative.eq(Cat(*negative[: config.x_lines])),
            self.d_negative.eq(Cat(*negative[config.x_lines :])),
            self.busy.eq(busy),
        ]

        # slot sequencing
        starting = self.start & ~busy & (self.bl != 0)
        last = slot == bl - 1
        with m.If(starting):
            m.d.sync += [running.eq(1), slot.eq(0), bl.eq(self.bl)]
        m.d.sync += [self.slot_valid.eq(running), self.slot_last.eq(running & last)]
        with m.If(running):
            m.d.sync += slot.eq(slot + 1)
            with m.If(last):
                m.d.sync += running.eq(0)

        if config.mode is PulseMode.STOCHASTIC:
            self._stochastic(m, running, codes)
        else:
            self._deterministic(m, running, starting, slot, bl, codes)
        return m

    def next_state(self, bank: str, line: int, state: Value) -> Value:
        """The state of ``line``'s LFSR in ``bank`` after one advance (the subclass point for faults).

        ``bank`` is ``"lfsr"`` (the line's LFSR) or ``"decorrelator"`` (its second LFSR in ``combined``
        streams). Fault variants (:mod:`pulsetrain.cosim.faults_pulse`) override this method; the
        registers, comparators and sequencing stay this class's.
        """
        lfsr = self._config.lfsr if bank == "lfsr" else self._config.decorrelator
        return advance_step(lfsr, state)

    def _bank(
        self, m: Module, bank: str, seeds: tuple[int, ...], width: int, running: Signal
    ) -> list[Signal]:
        """One register per line advanced in every slot; returns each line's next state."""
        advanced = []
        for line, seed in enumerate(seeds):
            register = Signal(width, init=seed, name=f"{bank}_{line}")
            following = Signal(width, name=f"{bank}_next_{line}")
            m.d.comb += following.eq(self.next_state(bank, line, register))
            with m.If(running):
                m.d.sync += register.eq(following)
            advanced.append(following)
        return advanced

    def _stochastic(self, m: Module, running: Signal, codes: list[Signal]) -> None:
        config = self._config
        bits = config.probability_bits
        draws = [state[:bits] for state in self._bank(m, "lfsr", config.seeds(), config.lfsr.width, running)]
        if config.combined:
            second = self._bank(
                m, "decorrelator", config.decorrelator_seeds(), config.decorrelator.width, running
            )
            draws = [draw ^ state[:bits] for draw, state in zip(draws, second, strict=True)]
        self._drive_fire(m, running, [draw < code for draw, code in zip(draws, codes, strict=True)])

    def _deterministic(
        self, m: Module, running: Signal, starting: object, slot: Signal, bl: Signal, codes: list[Signal]
    ) -> None:
        config = self._config
        fires = [slot < codes[line] for line in range(config.x_lines)]  # one block at the start
        for j in range(config.d_lines):  # spread evenly: Bresenham accumulator
            accumulator = Signal(config.bl_counter_bits, name=f"spread_{j}")
            total = Signal(config.bl_counter_bits + 1, name=f"spread_sum_{j}")
            m.d.comb += total.eq(accumulator + codes[config.x_lines + j])
            fire = total >= bl
            with m.If(starting):
                m.d.sync += accumulator.eq(0)
            with m.Elif(running):
                with m.If(fire):
                    m.d.sync += accumulator.eq(total - bl)
                with m.Else():
                    m.d.sync += accumulator.eq(total)
            fires.append(fire)
        self._drive_fire(m, running, fires)

    def _drive_fire(self, m: Module, running: Signal, fires: list) -> None:  # type: ignore[type-arg]
        x_lines = self._config.x_lines
        with m.If(running):
            m.d.sync += [self.x_fire.eq(Cat(*fires[:x_lines])), self.d_fire.eq(Cat(*fires[x_lines:]))]
        with m.Else():
            m.d.sync += [self.x_fire.eq(0), self.d_fire.eq(0)]
