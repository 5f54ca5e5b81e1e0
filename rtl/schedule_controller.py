"""Training-schedule controller: sequences one training sample of an MLP in BP or DFA order.

The phase plan and the operation costs come from
:class:`pulsetrain.periphery.schedule.ScheduleConfig` and are unrolled at elaboration into a small FSM:
one state per phase. In a phase's first cycle the controller raises the one-cycle start strobe of every
operation in the phase (``fwd_start[l]``, ``err_start``, ``bwd_start[l]``, ``proj_start[l]``,
``upd_start[l]``); the phase ends in the cycle in which its last operation is done and the next phase's
strobes follow in the next cycle. "Done" is either the config's fixed cost counted by an internal timer
(``completion = fixed``) or the per-layer unit's ``*_done`` line (``completion = handshake``, a done in
the strobe cycle counts). A saturating counter counts the cycles of the sample, the measured per-sample
latency that the BP-versus-DFA comparison reads.

Ports
-----
``start`` (in)
    begin a sample; accepted while idle.
``busy`` / ``done`` (out)
    a sample is running / one-cycle pulse after its last phase.
``cycles`` (out, ``counter_bits``)
    cycles of the running or last sample (first strobe cycle to the end of the last phase).
``<kind>_start`` (out, one bit per layer; ``err_start`` one bit) and, with handshake, ``<kind>_done`` (in)
    only for the kinds the mode uses (BP: fwd, err, bwd, upd; DFA: fwd, err, proj, upd).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from pulsetrain.periphery.schedule import Completion, OperationKind, ScheduleConfig

__all__ = ["ScheduleController"]


class ScheduleController(wiring.Component):
    """BP / DFA training-schedule controller for an MLP of ``config.depth`` weight layers.

    Parameters
    ----------
    config
        Mode, layer sizes, completion (fixed or handshake) and operation costs.
    """

    def __init__(self, config: ScheduleConfig) -> None:
        if not isinstance(config, ScheduleConfig):
            raise TypeError(f"config must be a ScheduleConfig, not {config!r}")
        self._config = config
        self._kinds = self._used_kinds(config)
        ports: dict[str, wiring.Member] = {
            "start": In(1),
            "busy": Out(1),
            "done": Out(1),
            "cycles": Out(config.counter_bits),
        }
        for kind in self._kinds:
            ports[f"{kind.value}_start"] = Out(self.port_width(kind))
            if config.completion is Completion.HANDSHAKE:
                ports[f"{kind.value}_done"] = In(self.port_width(kind))
        super().__init__(ports)

    @staticmethod
    def _used_kinds(config: ScheduleConfig) -> tuple[OperationKind, ...]:
        used = {kind for _, kind in config.operations()}
        return tuple(kind for kind in OperationKind if kind in used)

    @property
    def config(self) -> ScheduleConfig:
        """The config this controller was built from."""
        return self._config

    @property
    def kinds(self) -> tuple[OperationKind, ...]:
        """Operation kinds with strobe (and done) ports, in port order."""
        return self._kinds

    def port_width(self, kind: OperationKind) -> int:
        """Bits of the strobe / done port of ``kind``: one per layer, one for the error unit."""
        return 1 if kind is OperationKind.ERROR else self._config.depth

    def _bit(self, kind: OperationKind, layer: int) -> int:
        return 0 if kind is OperationKind.ERROR else layer

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        phases = config.phases()
        durations = config.phase_cycles()
        last = len(phases) - 1

        running = Signal()
        first = Signal()  # first cycle of the current phase: the strobes are high
        phase = Signal(range(len(phases)))
        limit = (1 << config.counter_bits) - 1
        count = Signal(config.counter_bits)
        finished = Signal()
        phase_complete = Signal()

        m.d.comb += [self.busy.eq(running), self.done.eq(finished), self.cycles.eq(count)]
        m.d.sync += finished.eq(0)

        # strobes: constant masks per phase, gated by the phase's first cycle
        masks: list[dict[OperationKind, int]] = []
        for ops in phases:
            mask = dict.fromkeys(self._kinds, 0)
            for layer, kind in ops:
                mask[kind] |= 1 << self._bit(kind, layer)
            masks.append(mask)
        with m.If(running & first):
            with m.Switch(phase):
                for index, mask in enumerate(masks):
                    with m.Case(index):
                        for kind, bits in mask.items():
                            if bits:
                                m.d.comb += getattr(self, f"{kind.value}_start").eq(bits)

        if config.completion is Completion.FIXED:
            # a down-counter loaded with (phase cycles - 1) on entry; the phase is complete at zero
            timer = Signal(range(max(durations)))
            m.d.comb += phase_complete.eq(~timer.any())
            m.d.sync += timer.eq(timer - 1)
            load_first = durations[0] - 1
            with m.If(running & phase_complete & (phase != last)):
                with m.Switch(phase):
                    for index in range(last):
                        with m.Case(index):
                            m.d.sync += timer.eq(durations[index + 1] - 1)
            with m.If(~running & self.start):
                m.d.sync += timer.eq(load_first)
        else:
            # pending operations of the phase: the phase mask in its first cycle, then what is left
            pending = {
                kind: Signal(self.port_width(kind), name=f"pending_{kind.value}") for kind in self._kinds
            }
            remaining = {
                kind: Signal(self.port_width(kind), name=f"remaining_{kind.value}") for kind in self._kinds
            }
            for kind in self._kinds:
                current = Signal(self.port_width(kind), name=f"current_{kind.value}")
                with m.If(first):
                    with m.Switch(phase):
                        for index, mask in enumerate(masks):
                            with m.Case(index):
                                m.d.comb += current.eq(mask[kind])
                with m.Else():
                    m.d.comb += current.eq(pending[kind])
                m.d.comb += remaining[kind].eq(current & ~getattr(self, f"{kind.value}_done"))
                m.d.sync += pending[kind].eq(remaining[kind])
            m.d.comb += phase_complete.eq(~Cat(*remaining.values()).any())

        with m.If(running):
            m.d.sync += first.eq(0)
            with m.If(count != limit):
                m.d.sync += count.eq(count + 1)
            with m.If(phase_complete):
                with m.If(phase == last):
                    m.d.sync += [running.eq(0), finished.eq(1)]
                with m.Else():
                    m.d.sync += [phase.eq(phase + 1), first.eq(1)]
        with m.Elif(self.start):
            m.d.sync += [running.eq(1), first.eq(1), phase.eq(0), count.eq(Const(0, config.counter_bits))]
        return m
