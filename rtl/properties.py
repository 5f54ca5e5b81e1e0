"""Formal property harnesses of the periphery blocks, for SymbiYosys (:mod:`pulsetrain.synth.formal`).

Each harness is a port-less component that builds one block (or takes a broken variant of it from
:mod:`pulsetrain.rtl.mutants`), drives every input of the block with a free value (``AnySeq``: the
solver picks any value in every cycle) or with a small model of its environment, and states one
:class:`Property` as ``Assert`` statements on the block's public ports. Only ports are read, so the
harnesses survive rewrites of the blocks' insides. Every harness also has ``Cover`` statements that
show the situation its assertions talk about can happen (a proof whose trigger is unreachable proves
nothing); :mod:`pulsetrain.rtl.proofs` runs them in cover mode.

The reset is held low (``Assume``): registers start from their initial values, which is what a reset
gives. Amaranth 0.5 has no ``Past``; the harness keeps the previous cycle's values in its own registers.
"""

from __future__ import annotations

import enum

from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import (
    Array,
    Assert,
    Assume,
    Cover,
    Module,
    Mux,
    ResetSignal,
    Signal,
    Value,
    ValueLike,
    signed,
)
from amaranth.lib import wiring
from pulsetrain.rtl.adc_readout import AdcReadout
from pulsetrain.rtl.chopper import ChopperSign
from pulsetrain.rtl.pulse_generator import PulseGenerator
from pulsetrain.rtl.sbe_unit import SbeUnit
from pulsetrain.rtl.schedule_controller import ScheduleController
from pulsetrain.rtl.transfer_controller import TransferController

from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.chopper import ChopperConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig, PulseMode
from pulsetrain.periphery.sbe import SbeConfig
from pulsetrain.periphery.schedule import Completion, ScheduleConfig
from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode

__all__ = [
    "AdcReadoutProperties",
    "ChopperSignProperties",
    "Property",
    "PulseGeneratorProperties",
    "SbeUnitProperties",
    "ScheduleControllerProperties",
    "TransferControllerProperties",
]


class Property(enum.Enum):
    """The properties the harnesses state (one per proof)."""

    #: an output stream holds ``valid`` until ``ready`` and keeps its payload while stalled.
    STREAM_HANDSHAKE = "stream-handshake"
    #: H moves in the direction of the chopped read (chopper signs as exported to the update path),
    #: never wraps around its width (saturation), and stays unchanged when not accumulated.
    H_SATURATION = "h-saturation"
    #: a transfer never sends more than ``max_pulses_per_transfer`` pulses to one device of C.
    PULSE_LIMIT = "pulse-limit"
    #: a readout round gives each column of the array exactly once, none outside it, and the ideal code.
    ADC_ROUND = "adc-round"
    #: the read path, the write path and the sign registers agree; signs change only at flip events.
    CHOPPER_CONSISTENCY = "chopper-consistency"
    #: a train started with ``bl`` presents exactly ``bl`` slots, the last one marked, within ``bl`` or
    #: ``bl + 1`` busy cycles (never hangs), and the next train starts only after its last slot.
    TRAIN_LENGTH = "train-length"
    #: a deterministic train fires each line exactly ``min(code, bl)`` times, and only in slots.
    PULSE_COUNT = "pulse-count"
    #: the schedule's cycle counter counts busy cycles and saturates at its width instead of wrapping.
    CYCLE_COUNTER = "cycle-counter"
    #: a sample strobes every operation once, in phase order, and pulses ``done`` when all are done:
    #: after exactly the configured cycles (fixed costs) or after every operation's done (handshake).
    SCHEDULE_COMPLETION = "schedule-completion"


def _environment(m: Module) -> None:
    """Reset held low: the registers start from their initial values and stay out of reset."""
    m.d.comb += Assume(~ResetSignal())


def _previous(m: Module, value: ValueLike, name: str) -> Signal:
    """A register holding ``value`` of the previous cycle (its initial value 0 before the first)."""
    value = Value.cast(value)
    register = Signal(value.shape(), name=name)
    m.d.sync += register.eq(value)
    return register


def _free(shape: object) -> Value:
    """Any value in every cycle, chosen by the solver."""
    return AnySeq(shape)


def _bits_for(count: int) -> int:
    return max(1, count.bit_length())


def assert_stream_source(m: Module, port: wiring.PureInterface, name: str) -> None:
    """Assert the stream rules on an output stream whose ``ready`` is driven freely by the harness.

    Once ``valid`` is high it stays high until a cycle with ``ready`` high, and the payload does not
    change in between (the rules of :mod:`amaranth.lib.stream`).
    """
    payload = Value.cast(port.payload)
    stalled = _previous(m, port.valid & ~port.ready, f"{name}_stalled")
    held = _previous(m, payload, f"{name}_held_payload")
    with m.If(stalled):
        m.d.comb += [
            Assert(port.valid, "valid withdrawn before ready"),
            Assert(payload == held, "payload changed while stalled"),
        ]
    m.d.comb += Cover(stalled & port.valid & port.ready)


def _check_property(check: Property, supported: tuple[Property, ...], harness: str) -> None:
    if check not in supported:
        allowed = ", ".join(p.value for p in supported)
        raise ValueError(f"{harness} states {allowed}; not {check.value!r}")


class AdcReadoutProperties(wiring.Component):
    """Properties of :class:`~pulsetrain.rtl.adc_readout.AdcReadout`.

    ``STREAM_HANDSHAKE`` drives the comparators freely. ``ADC_ROUND`` connects ideal comparators to
    held analog levels (one free constant per column, in codes): each ADC compares the level of the
    column its multiplexer selects with its trial code, so a correct readout returns exactly that level.
    """

    SUPPORTED = (Property.STREAM_HANDSHAKE, Property.ADC_ROUND)

    def __init__(self, config: AdcReadoutConfig, check: Property, *, block: AdcReadout | None = None) -> None:
        _check_property(check, self.SUPPORTED, "AdcReadoutProperties")
        self._config = config
        self._check = check
        self._block = block if block is not None else AdcReadout(config)
        super().__init__({})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        m.submodules.block = block = self._block
        _environment(m)
        m.d.comb += [block.start.eq(_free(1)), block.results.ready.eq(_free(1))]
        if self._check is Property.STREAM_HANDSHAKE:
            m.d.comb += block.comparator.eq(_free(len(block.comparator)))
            assert_stream_source(m, block.results, "results")
            return m

        levels = Array(AnyConst(config.adc_bits) for _ in range(config.columns))
        for adc in range(len(block.comparator)):  # the block's own ADC count (a broken one may differ)
            phase_levels = Array(
                levels[column] if column < config.columns else 0
                for column in (config.column(adc, phase) for phase in range(config.columns_per_adc))
            )
            m.d.comb += block.comparator[adc].eq(phase_levels[block.mux_select] >= block.trial_code[adc])

        results = block.results
        column, code = results.payload.column, results.payload.code
        seen = Signal(config.columns)
        taken = results.valid & results.ready
        was_busy = _previous(m, block.busy, "was_busy")
        all_columns = (1 << config.columns) - 1
        with m.If(block.start & ~block.busy):
            m.d.sync += seen.eq(0)
        with m.If(taken):
            m.d.sync += seen.eq(seen | (1 << column))
        with m.If(results.valid):
            m.d.comb += [
                Assert(block.busy, "a result outside a readout"),
                Assert(column < config.columns, "a column outside the array"),
                Assert(code <= config.full_scale_code, "a code above full scale"),
            ]
        with m.If(taken & (column < config.columns)):
            m.d.comb += [
                Assert(~seen.bit_select(column, 1), "a column read twice in one round"),
                Assert(code == levels[column], "a code other than the ideal conversion"),
            ]
        with m.If(was_busy & ~block.busy):
            m.d.comb += Assert(seen == all_columns, "a round ended without every column")
        m.d.comb += Cover(was_busy & ~block.busy & (seen == all_columns))
        return m


class TransferControllerProperties(wiring.Component):
    """Properties of :class:`~pulsetrain.rtl.transfer_controller.TransferController`.

    Updates, ADC codes and the result sink's ``ready`` are free. For ``H_SATURATION`` the harness
    watches one device (a free constant row and column) and keeps the H it last reported; at the next
    result of that device the new H must have moved in the direction of the chopped read, using the
    chopper signs the controller exports for A's update path (so a read path that chops with other
    signs than the write path fails too), and a positive contribution must never give negative pulses
    from a non-negative H (what a wrap-around past ``h_max_code`` does). Valid in modes ttv2 and c-ttv2
    (AGAD subtracts a reference from the read).
    """

    SUPPORTED = (Property.STREAM_HANDSHAKE, Property.H_SATURATION, Property.PULSE_LIMIT)

    def __init__(
        self, config: TransferControllerConfig, check: Property, *, block: TransferController | None = None
    ) -> None:
        _check_property(check, self.SUPPORTED, "TransferControllerProperties")
        if check is Property.H_SATURATION and config.mode is TransferMode.AGAD:
            raise ValueError(
                "h-saturation is stated for modes ttv2 and c-ttv2 (AGAD reads against a reference)"
            )
        self._config = config
        self._check = check
        self._block = block if block is not None else TransferController(config)
        super().__init__({})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        m.submodules.block = block = self._block
        _environment(m)
        m.d.comb += [
            block.update_done.eq(_free(1)),
            block.readout.valid.eq(_free(1)),
            block.readout.payload.eq(_free(config.adc_bits)),
            block.result.ready.eq(_free(1)),
        ]
        result = block.result.payload
        if self._check is Property.STREAM_HANDSHAKE:
            assert_stream_source(m, block.result, "result")
        elif self._check is Property.PULSE_LIMIT:
            limit = config.max_pulses_per_transfer
            with m.If(block.result.valid):
                m.d.comb += [
                    Assert((result.pulses <= limit) & (result.pulses >= -limit), "more pulses than allowed"),
                    Assert(result.accumulated | (result.pulses == 0), "pulses without accumulation"),
                ]
            m.d.comb += Cover(block.result.valid & (result.pulses == limit))
            m.d.comb += Cover(block.result.valid & (result.pulses == -limit))
        else:
            self._h_saturation(m, block)
        return m

    def _h_saturation(self, m: Module, block: TransferController) -> None:
        config = self._config
        result = block.result.payload
        row = AnyConst(len(result.row))
        column = AnyConst(len(result.column))
        m.d.comb += [Assume(row < config.out_size), Assume(column < config.in_size)]
        code = Signal.like(block.readout.payload)
        with m.If(block.readout.valid & block.readout.ready):
            m.d.sync += code.eq(block.readout.payload)
        last_h = Signal.like(result.h)  # the H memory starts at zero
        chopped = block.in_negative.bit_select(result.column, 1) ^ block.out_negative.bit_select(
            result.row, 1
        )
        rising = Mux(chopped, code <= 0, code >= 0)
        falling = Mux(chopped, code >= 0, code <= 0)
        watched = block.result.valid & block.result.ready & (result.row == row) & (result.column == column)
        with m.If(watched):
            m.d.sync += last_h.eq(result.h)
            with m.If(~result.accumulated):
                m.d.comb += Assert(result.h == last_h, "H changed without accumulation")
            with m.Else():
                with m.If(rising & (result.pulses == 0)):
                    m.d.comb += Assert(result.h >= last_h, "H fell on a positive contribution")
                with m.If(rising & (result.pulses < 0)):
                    m.d.comb += Assert(last_h < 0, "negative pulses from a non-negative H and positive read")
                with m.If(falling & (result.pulses == 0)):
                    m.d.comb += Assert(result.h <= last_h, "H rose on a negative contribution")
                with m.If(falling & (result.pulses > 0)):
                    m.d.comb += Assert(last_h > 0, "positive pulses from a non-positive H and negative read")
        # the reads that push H past its bounds happen (ttv2 / c-ttv2: the increment is code x lr exactly)
        increment = Signal(signed(config.adc_bits + config.transfer_lr_code.bit_length() + 1))
        m.d.comb += increment.eq(Mux(chopped, -code, code) * config.transfer_lr_code)
        m.d.comb += Cover(watched & result.accumulated & (last_h + increment > config.h_max_code))
        m.d.comb += Cover(watched & result.accumulated & (last_h + increment < config.h_min_code))
        if config.uses_in_chopper:
            m.d.comb += Cover(watched & chopped & (code != 0))


class SbeUnitProperties(wiring.Component):
    """:attr:`Property.STREAM_HANDSHAKE` of the SBE unit's ``vectors`` read-out stream (every input
    free: samples, batch starts, read requests and the sink's ``ready``)."""

    SUPPORTED = (Property.STREAM_HANDSHAKE,)

    def __init__(self, config: SbeConfig, check: Property, *, block: SbeUnit | None = None) -> None:
        _check_property(check, self.SUPPORTED, "SbeUnitProperties")
        self._block = block if block is not None else SbeUnit(config)
        super().__init__({})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.block = block = self._block
        _environment(m)
        m.d.comb += [
            block.samples.valid.eq(_free(1)),
            block.samples.payload.eq(_free(len(block.samples.payload))),
            block.start_batch.eq(_free(1)),
            block.read.eq(_free(1)),
            block.vectors.ready.eq(_free(1)),
        ]
        assert_stream_source(m, block.vectors, "vectors")
        return m


class ChopperSignProperties(wiring.Component):
    """:attr:`Property.CHOPPER_CONSISTENCY` of :class:`~pulsetrain.rtl.chopper.ChopperSign`.

    Every input is free (line numbers within the lines). The read path must give the sign register of
    the line read, the write path every data sign XOR its line's sign, the signs must change only in the
    cycle after a flip event, only on the addressed line(s), and exactly when ``flipped`` says so.
    """

    SUPPORTED = (Property.CHOPPER_CONSISTENCY,)

    def __init__(self, config: ChopperConfig, check: Property, *, block: ChopperSign | None = None) -> None:
        _check_property(check, self.SUPPORTED, "ChopperSignProperties")
        self._config = config
        self._block = block if block is not None else ChopperSign(config)
        super().__init__({})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        lines = self._config.lines
        m.submodules.block = block = self._block
        _environment(m)
        m.d.comb += [
            block.flip.eq(_free(1)),
            block.flip_line.eq(_free(len(block.flip_line))),
            block.flip_all.eq(_free(1)),
            block.data_negative.eq(_free(lines)),
            block.read_line.eq(_free(len(block.read_line))),
            Assume(block.flip_line < lines),
            Assume(block.read_line < lines),
        ]
        signs = block.negative
        m.d.comb += [
            Assert(block.read_negative == signs.bit_select(block.read_line, 1), "read path disagrees"),
            Assert(block.chopped_negative == (block.data_negative ^ signs), "write path disagrees"),
        ]
        was_flip = _previous(m, block.flip, "was_flip")
        was_all = _previous(m, block.flip_all, "was_all")
        was_line = _previous(m, block.flip_line, "was_line")
        was_signs = _previous(m, signs, "was_signs")
        has_past = _previous(m, 1, "has_past")
        changed = signs ^ was_signs
        line_mask = Signal(lines)
        m.d.comb += line_mask.eq(Mux(was_all, (1 << lines) - 1, 1 << was_line))
        with m.If(has_past):
            with m.If(~was_flip):
                m.d.comb += Assert(changed == 0, "signs changed without an event")
            with m.Else():
                m.d.comb += Assert(changed == Mux(block.flipped, line_mask, 0), "event changed other lines")
        m.d.comb += Cover(has_past & was_flip & block.flipped & ~was_all & (block.read_line == was_line))
        return m


class PulseGeneratorProperties(wiring.Component):
    """:attr:`Property.TRAIN_LENGTH` and :attr:`Property.PULSE_COUNT` of the pulse generator.

    Code writes, ``start`` and ``bl`` (up to ``bl_max``) are free. The harness records the ``bl`` of
    each accepted start and counts busy cycles and slots; for ``PULSE_COUNT`` (deterministic mode) it
    also keeps the codes written and counts each line's pulses in the train.
    """

    SUPPORTED = (Property.TRAIN_LENGTH, Property.PULSE_COUNT)

    def __init__(
        self, config: PulseGeneratorConfig, check: Property, *, block: PulseGenerator | None = None
    ) -> None:
        _check_property(check, self.SUPPORTED, "PulseGeneratorProperties")
        if check is Property.PULSE_COUNT and config.mode is not PulseMode.DETERMINISTIC:
            raise ValueError("pulse-count is stated for deterministic trains only")
        self._config = config
        self._check = check
        self._block = block if block is not None else PulseGenerator(config)
        super().__init__({})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        m.submodules.block = block = self._block
        _environment(m)
        line = _free(range(config.lines))
        code = _free(config.code_width)
        bl = _free(config.bl_counter_bits)
        m.d.comb += [
            block.codes.valid.eq(_free(1)),
            block.codes.payload.line.eq(line),
            block.codes.payload.code.eq(code),
            block.codes.payload.negative.eq(_free(1)),
            block.start.eq(_free(1)),
            block.bl.eq(bl),
            Assume(line < config.lines),
            Assume(bl <= config.bl_max),
        ]
        counter = config.bl_counter_bits + 1
        train_bl = Signal(counter)
        busy_cycles = Signal(counter)
        slots = Signal(counter)
        accepted = block.start & ~block.busy & (bl != 0)
        was_busy = _previous(m, block.busy, "was_busy")
        with m.If(block.busy):
            m.d.sync += busy_cycles.eq(busy_cycles + 1)
        with m.If(block.slot_valid):
            m.d.sync += slots.eq(slots + 1)
        with m.If(accepted):  # after the counts: the last slot of a train may meet the next start
            m.d.sync += [train_bl.eq(bl), busy_cycles.eq(0), slots.eq(0)]
        fires = [*block.x_fire, *block.d_fire]

        if self._check is Property.TRAIN_LENGTH:
            m.d.comb += Assert(block.codes.ready == ~block.busy, "codes accepted during a train")
            # busy spans the train's bl slots; whether it also spans the cycle that presents the last
            # slot (the fire outputs are registered) is the block's choice: bl or bl + 1 cycles
            with m.If(block.busy):
                m.d.comb += Assert(busy_cycles <= train_bl, "a train longer than its bl")
            with m.If(was_busy & ~block.busy):
                m.d.comb += Assert(busy_cycles >= train_bl, "a train shorter than its bl")
            with m.If(accepted):
                m.d.comb += Assert(
                    slots + block.slot_valid == train_bl, "a train started before the last ended"
                )
            with m.If(block.slot_valid):
                m.d.comb += [
                    Assert(was_busy, "a slot outside a train"),
                    Assert(slots < train_bl, "more slots than bl"),
                    Assert(block.slot_last == (slots == train_bl - 1), "slot_last on the wrong slot"),
                ]
            with m.Else():
                m.d.comb += Assert(~block.slot_last, "slot_last without a slot")
            m.d.comb += Cover(block.slot_last & (train_bl == config.bl_max))
            return m

        codes = Array(Signal(config.code_width, name=f"written_{index}") for index in range(config.lines))
        with m.If(block.codes.valid & block.codes.ready):
            m.d.sync += codes[line].eq(code)
        counts = [Signal(counter, name=f"pulses_{index}") for index in range(config.lines)]
        for index, fire in enumerate(fires):
            with m.If(accepted):
                m.d.sync += counts[index].eq(0)
            with m.Elif(block.slot_valid & fire):
                m.d.sync += counts[index].eq(counts[index] + 1)
            with m.If(~block.slot_valid):
                m.d.comb += Assert(~fire, "a pulse outside a slot")
            with m.If(block.slot_last):
                total = counts[index] + fire
                expected = Mux(codes[index] < train_bl, codes[index], train_bl)
                m.d.comb += Assert(total == expected, "a line fired other than min(code, bl) times")
        m.d.comb += Cover(block.slot_last & (train_bl > 2) & (codes[config.lines - 1] == train_bl - 1))
        return m


class ScheduleControllerProperties(wiring.Component):
    """:attr:`Property.CYCLE_COUNTER` and :attr:`Property.SCHEDULE_COMPLETION`.

    ``start`` (and with handshake completion every ``*_done`` line) is free. The harness counts the busy
    cycles of each sample; with fixed completion a sample lasts ``sum(config.phase_cycles())`` cycles.
    With handshake completion the harness tracks each operation (strobed, done: a done counts from its
    strobe's cycle on): an operation is strobed once per sample and only after every operation of the
    earlier phases is done, and the sample ends only when all are done.
    """

    SUPPORTED = (Property.CYCLE_COUNTER, Property.SCHEDULE_COMPLETION)

    def __init__(
        self, config: ScheduleConfig, check: Property, *, block: ScheduleController | None = None
    ) -> None:
        _check_property(check, self.SUPPORTED, "ScheduleControllerProperties")
        if check is Property.CYCLE_COUNTER and config.completion is not Completion.FIXED:
            raise ValueError("the cycle-counter property is stated for fixed completion")
        self._config = config
        self._check = check
        self._block = block if block is not None else ScheduleController(config)
        super().__init__({})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        m.submodules.block = block = self._block
        _environment(m)
        m.d.comb += block.start.eq(_free(1))
        total = sum(config.phase_cycles())
        width = _bits_for(total + 1)
        busy_cycles = Signal(width)
        strobes = Signal(_bits_for(len(config.operations()) + 1))
        was_busy = _previous(m, block.busy, "was_busy")
        was_cycles = _previous(m, block.cycles, "was_cycles")
        strobe_bits = [bit for kind in block.kinds for bit in getattr(block, f"{kind.value}_start")]
        strobed = sum(bit.as_unsigned() for bit in strobe_bits)
        with m.If(block.start & ~block.busy):
            m.d.sync += [busy_cycles.eq(0), strobes.eq(0)]
        with m.If(block.busy):
            m.d.sync += [busy_cycles.eq(busy_cycles + 1), strobes.eq(strobes + strobed)]
        finished = was_busy & ~block.busy

        if self._check is Property.CYCLE_COUNTER:
            limit = (1 << config.counter_bits) - 1
            saturated = Mux(busy_cycles < limit, busy_cycles, limit)
            with m.If(block.busy | finished):
                m.d.comb += Assert(block.cycles == saturated, "cycles is not the saturated busy count")
            with m.If(~was_busy & ~block.busy):
                m.d.comb += Assert(block.cycles == was_cycles, "cycles changed while idle")
            m.d.comb += Cover(finished & (block.cycles == limit))
            return m

        if config.completion is Completion.HANDSHAKE:
            self._handshake_completion(m, block, finished)
            return m
        with m.If(block.busy):
            m.d.comb += Assert(busy_cycles < total, "a sample longer than its phases")
        with m.Else():
            m.d.comb += Assert(strobed == 0, "an operation strobed while idle")
        m.d.comb += Assert(block.done == finished, "done does not mark the end of a sample")
        with m.If(finished):
            m.d.comb += [
                Assert(busy_cycles == total, "a sample shorter than its phases"),
                Assert(strobes == len(config.operations()), "an operation strobed other than once"),
            ]
        m.d.comb += Cover(finished)
        return m

    def _handshake_completion(self, m: Module, block: ScheduleController, finished: Value) -> None:
        config = self._config
        for kind in block.kinds:
            done = getattr(block, f"{kind.value}_done")
            m.d.comb += done.eq(_free(len(done)))
        strobed_flags: list[Signal] = []
        done_flags: list[Signal] = []
        for phase, operations in enumerate(config.phases()):
            for layer, kind in operations:
                bit = 0 if block.port_width(kind) == 1 else layer
                strobe = getattr(block, f"{kind.value}_start")[bit]
                done_now = getattr(block, f"{kind.value}_done")[bit]
                was_strobed = Signal(name=f"strobed_{kind.value}{layer}")
                was_done = Signal(name=f"done_{kind.value}{layer}")
                with m.If(strobe):
                    m.d.sync += was_strobed.eq(1)
                with m.If((strobe | was_strobed) & done_now):
                    m.d.sync += was_done.eq(1)
                with m.If(block.start & ~block.busy):
                    m.d.sync += [was_strobed.eq(0), was_done.eq(0)]
                with m.If(strobe):
                    m.d.comb += Assert(block.busy & ~was_strobed, "an operation strobed twice or while idle")
                    for earlier in done_flags[: self._phase_starts(phase)]:
                        m.d.comb += Assert(
                            earlier, "an operation started before the earlier phases were done"
                        )
                strobed_flags.append(was_strobed)
                done_flags.append(was_done)
        with m.If(finished):
            for was_strobed, was_done in zip(strobed_flags, done_flags, strict=True):
                m.d.comb += Assert(was_strobed & was_done, "a sample ended with an operation not done")
        m.d.comb += Cover(finished)

    def _phase_starts(self, phase: int) -> int:
        """Operations in the phases before ``phase``."""
        return sum(len(operations) for operations in self._config.phases()[:phase])
