"""Update pulse generator (:class:`PulseGenerator`): row and column trains of one array, one slot per cycle.

Codes are written line by line through the ``codes`` stream (one line per cycle; x lines are
``0..x_lines-1``, d lines ``x_lines..x_lines+d_lines-1``), each with its sign line. A ``start`` strobe with
``bl`` then runs ``bl`` slots, one per cycle: every line's pulse for slot ``t`` appears on ``x_fire`` /
``d_fire`` in a cycle with ``slot_valid`` high (``slot_last`` marks slot ``bl - 1``), from the second cycle
after ``start``. The code semantics (stochastic LFSR comparators or deterministic counts) are in
:mod:`pulsetrain.periphery.pulse`; the twin is :class:`pulsetrain.model.twins.pulse.TwinPulseGenerator`.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
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
        A train is running.
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

        # code writes, one line per cycle, only between trains
        m.d.comb += self.codes.ready.eq(~running)
        with m.If(self.codes.valid & ~running):
            for line in range(config.lines):
                with m.If(self.codes.payload.line == line):
                    m.d.sync += [
                        codes[line].eq(self.codes.payload.code),
                        negative[line].eq(self.codes.payload.negative),
                    ]
        m.d.comb += [
            self.x_negative.eq(Cat(*negative[: config.x_lines])),
            self.d_negative.eq(Cat(*negative[config.x_lines :])),
            self.busy.eq(running),
        ]

        # slot sequencing
        starting = self.start & ~running & (self.bl != 0)
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

    def _stochastic(self, m: Module, running: Signal, codes: list[Signal]) -> None:
        config = self._config
        fires = []
        for line, seed in enumerate(config.seeds()):
            lfsr = Signal(config.lfsr.width, init=seed, name=f"lfsr_{line}")
            advanced = Signal(config.lfsr.width, name=f"lfsr_next_{line}")
            m.d.comb += advanced.eq(advance_step(config.lfsr, lfsr))
            with m.If(running):
                m.d.sync += lfsr.eq(advanced)
            fires.append(advanced[: config.probability_bits] < codes[line])
        self._drive_fire(m, running, fires)

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
