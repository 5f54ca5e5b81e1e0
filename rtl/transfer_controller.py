"""TTv2 / c-TTv2 / AGAD transfer controller: the digital half of Tiki-Taka v2 for one layer.

Generated from :class:`pulsetrain.periphery.transfer.TransferControllerConfig`, the config the model's
twin (:class:`pulsetrain.model.twins.transfer.TwinTransferPeriphery`) reads; the fixed-point formulas
are documented once, in :mod:`pulsetrain.periphery.transfer`. Per read the controller holds:

- a ``transfer_every`` counter of A updates and a column pointer;
- per-column input chopper signs (and optional per-row output chopper signs) that flip at random (an
  LFSR word compared with the probability code) or regularly (a pass counter);
- the H buffer in on-chip memory (one signed word per device, column-major: address
  ``column * out_size + row``), accumulated with the chopper-signed, fixed-point scaled ADC code,
  saturated at its width, thresholded into signed pulse counts for C and reduced after firing;
- in AGAD mode, a running-mean memory and a reference memory of the same shape, the reference taken at
  each flip of the column's chopper, with the first reads after a flip held off.

Ports
-----
``update_done`` (in)
    one-cycle strobe per update of A; counted only while ``busy`` is low.
``busy`` (out)
    a transfer event is in progress.
``transfer_due`` (out), ``column`` (out)
    the controller is transferring ``column``: the host reads column ``column`` of A and sends its
    ``out_size`` ADC codes on ``readout``, row 0 first.
``readout`` (in stream of signed ``adc_bits``)
    the codes of the column read.
``result`` (out stream of :func:`result_layout`)
    one record per row: row, column, pulses to C (signed), H after, AGAD reference used, whether H was
    accumulated (False: AGAD hold-off).
``in_negative`` (out, ``in_size`` bits), ``out_negative`` (out, ``out_size`` bits)
    chopper signs (1: the sign is -1) for the update path of A; they change only while ``busy``.
``in_flipped`` (out)
    whether the chopper of the last transferred column flipped after its read.

The chopper signs are the shared chopper block (:class:`pulsetrain.rtl.chopper.ChopperSign`, one for the
columns and, with ``out_chop_prob > 0``, one for the rows), driven with one flip event per column read
and one per row after each full pass.

Cycles: one to decide a column (AGAD reference and hold-off), then per row one memory-read cycle, one
compute cycle (readout accepted) and one result cycle (result accepted), two cycles per column for the
chopper event and, after the last column of a pass with output choppers, one cycle per row for the
output chopper events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from amaranth.hdl import Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out
from pulsetrain.rtl.chopper import ChopperSign

from pulsetrain.config import ConfigError
from pulsetrain.periphery.transfer import MOMENTUM_FRAC_BITS, TransferControllerConfig, TransferMode

__all__ = ["RowRule", "TransferController", "result_layout"]


def _bits_for(count: int) -> int:
    """Bits of an unsigned counter that holds ``0 .. count - 1`` (at least 1)."""
    return max(1, (count - 1).bit_length())


def result_layout(config: TransferControllerConfig) -> data.StructLayout:
    """Layout of one per-row result record (benches decode it with ``layout.from_bits``)."""
    return data.StructLayout(
        {
            "row": unsigned(_bits_for(config.out_size)),
            "column": unsigned(_bits_for(config.in_size)),
            "pulses": signed(config.max_pulses_per_transfer.bit_length() + 1),
            "h": signed(config.h_bits),
            "reference": signed(config.mean_bits),
            "accumulated": unsigned(1),
        }
    )


class RowRule:
    """The fixed-point transfer rule of one row (formulas: ``pulsetrain/periphery/transfer.py``).

    From H as stored, the ADC code of the read, the AGAD reference and the chopper sign: H accumulated
    and saturated (:meth:`accumulate`), the pulses to C and H after firing (:meth:`fire`). It adds its
    combinational logic to the controller's own module rather than being a component of its own: as a
    separate component the same logic synthesizes to a different netlist (one generic cell more), and
    the controller's netlist is held equal to what it was before the split.
    """

    def __init__(self, m: Module, config: TransferControllerConfig) -> None:
        self._m = m
        self._config = config

    def accumulate(self, h: Value, code: Value, reference: Value, chop_negative: Value) -> Signal:
        """H plus the chopper-signed, scaled read (rounded), saturated at the width of H."""
        m, config = self._m, self._config
        frac = config.reference_frac_bits
        signal = Signal(signed(config.mean_bits + 1))
        m.d.comb += signal.eq((code << frac) - reference)
        product = Signal(signed(len(signal) + config.transfer_lr_code.bit_length() + 1))
        m.d.comb += product.eq(Mux(chop_negative, -signal, signal) * config.transfer_lr_code)
        increment = Signal.like(product)
        if frac:
            m.d.comb += increment.eq((product + (1 << (frac - 1))) >> frac)
        else:
            m.d.comb += increment.eq(product)
        h_sum = Signal(signed(max(config.h_bits, len(increment)) + 1))
        m.d.comb += h_sum.eq(h + increment)
        # Saturation, identical in the twin: clamp to the two's complement range of h_bits.
        h_saturated = Signal(signed(config.h_bits))
        m.d.comb += h_saturated.eq(
            Mux(
                h_sum > config.h_max_code,
                config.h_max_code,
                Mux(h_sum < config.h_min_code, config.h_min_code, h_sum),
            )
        )
        return h_saturated

    def fire(self, h: Value, h_saturated: Signal, active: Value) -> tuple[Signal, Signal]:
        """(H written back, signed pulses to C): both as stored / 0 while ``active`` is low."""
        m, config = self._m, self._config
        h_negative = h_saturated < 0
        magnitude = Signal(unsigned(config.h_bits))
        m.d.comb += magnitude.eq(Mux(h_negative, -h_saturated, h_saturated))
        steps = Signal(range(config.max_pulses_per_transfer + 1))
        m.d.comb += steps.eq(
            sum(
                (magnitude >= level * config.threshold_code).as_unsigned()
                for level in range(1, config.max_pulses_per_transfer + 1)
            )
        )
        pulses = Signal(signed(len(steps) + 1))
        m.d.comb += pulses.eq(Mux(h_negative, -steps, steps))
        h_kept = self._after_firing(h_saturated, h_negative, steps)
        h_next = Signal(signed(config.h_bits))
        m.d.comb += h_next.eq(Mux(active, Mux(steps != 0, h_kept, h_saturated), h))
        pulses_out = Signal.like(pulses)
        m.d.comb += pulses_out.eq(Mux(active, pulses, 0))
        return h_next, pulses_out

    def _after_firing(self, h_saturated: Signal, h_negative: Any, steps: Signal) -> Signal:
        """H after ``steps`` pulses fired: decayed by momentum (forget_buffer) or reduced and capped."""
        m, config = self._m, self._config
        h_kept = Signal(signed(config.h_bits))
        if config.forget_buffer:
            scaled = Signal(signed(config.h_bits + MOMENTUM_FRAC_BITS + 2))
            m.d.comb += scaled.eq(h_saturated * config.momentum_code)
            # Rounded toward zero so that positive and negative H decay alike.
            m.d.comb += h_kept.eq(
                Mux(scaled < 0, -((-scaled) >> MOMENTUM_FRAC_BITS), scaled >> MOMENTUM_FRAC_BITS)
            )
            return h_kept
        fired = Signal(unsigned(config.h_bits + 1))
        m.d.comb += fired.eq(steps * config.threshold_code)
        net = Signal(unsigned(config.h_bits + 1))
        m.d.comb += net.eq(fired - ((fired * config.momentum_code) >> MOMENTUM_FRAC_BITS))
        reduced = Signal(signed(config.h_bits + 2))
        m.d.comb += reduced.eq(h_saturated - Mux(h_negative, -net, net))
        cap = config.buffer_cap_code
        if cap > 0:
            m.d.comb += h_kept.eq(Mux(reduced > cap, cap, Mux(reduced < -cap, -cap, reduced)))
        else:
            m.d.comb += h_kept.eq(reduced)
        return h_kept


class _Sequencing:
    """The controller's sequencing state: counters, pointers, chopper lines and the latched result."""

    def __init__(self, config: TransferControllerConfig, layout: data.StructLayout) -> None:
        self.counter = Signal(_bits_for(config.transfer_every))
        self.pointer = Signal(_bits_for(config.in_size))
        self.reads_left = Signal(_bits_for(config.n_reads_per_transfer))
        self.row = Signal(_bits_for(config.out_size))
        self.active = Signal()
        self.take_reference = Signal()
        self.result = Signal(layout)
        # the chopper lines, made by the controller's _choppers
        self.in_negative: Signal
        self.out_negative: Signal
        self.in_flip_event: Signal
        self.out_flip_event: Signal
        self.in_flipped: Signal


class _AgadMemories:
    """AGAD's per-device running mean and reference memories, and its per-column flip bookkeeping."""

    def __init__(
        self, m: Module, config: TransferControllerConfig, address: Signal, state: _Sequencing
    ) -> None:
        self._config = config
        mean_memory = Memory(shape=signed(config.mean_bits), depth=config.memory_words, init=[])
        reference_memory = Memory(shape=signed(config.mean_bits), depth=config.memory_words, init=[])
        m.submodules.mean_memory = mean_memory
        m.submodules.reference_memory = reference_memory
        self.mean_read = mean_memory.read_port()
        self.mean_write = mean_memory.write_port()
        reference_read = reference_memory.read_port()
        self.reference_write = reference_memory.write_port()
        m.d.comb += [
            self.mean_read.addr.eq(address),
            self.mean_write.addr.eq(address),
            reference_read.addr.eq(address),
            self.reference_write.addr.eq(address),
        ]
        self.has_reference = Signal(config.in_size)
        self.switched = Signal(config.in_size)
        self.held_bits = max(1, config.reads_held_after_flip.bit_length())
        self.held = Signal(config.in_size * self.held_bits)
        # The first read after a flip takes the old running mean as its reference.
        self.reference_value = Mux(state.take_reference, self.mean_read.data, reference_read.data)

    def follow_the_mean(self, m: Module, code: Any) -> Signal:
        """The running mean moved toward the code (written back after every read)."""
        config = self._config
        mean_next = Signal(signed(config.mean_bits))
        delta = Signal(signed(config.mean_bits + 1))
        m.d.comb += delta.eq((code << config.reference_frac_bits) - self.mean_read.data)
        m.d.comb += mean_next.eq(self.mean_read.data + (delta >> config.mean_shift))
        return mean_next

    def decide_column(self, m: Module, state: _Sequencing) -> None:
        """Reference and hold-off bookkeeping of the column at ``state.pointer``, before its rows."""
        pointer = state.pointer
        held_here = self.held.word_select(pointer, self.held_bits)
        take = self.switched.bit_select(pointer, 1)
        held_now = Signal(self.held_bits)
        m.d.comb += held_now.eq(Mux(take, self._config.reads_held_after_flip, held_here))
        has_reference = self.has_reference.bit_select(pointer, 1)
        m.d.sync += [
            state.take_reference.eq(take),
            state.active.eq((has_reference | take) & (held_now == 0)),
            has_reference.eq(has_reference | take),
            self.switched.bit_select(pointer, 1).eq(0),
            held_here.eq(Mux(held_now != 0, held_now - 1, 0)),
        ]


class TransferController(wiring.Component):
    """Transfer controller of one TTv2-family layer (mode ttv2, c-ttv2 or agad).

    Parameters
    ----------
    config
        The shared digital configuration (validated when it was made; checked again here for the
        properties only the hardware needs).
    """

    def __init__(self, config: TransferControllerConfig) -> None:
        if not isinstance(config, TransferControllerConfig):
            raise ConfigError(f"config must be a TransferControllerConfig, not {config!r}")
        # The config validates itself; re-check what elaboration relies on, before any hardware exists.
        if config.memory_words < config.in_size * config.out_size:
            raise ConfigError(
                f"transfer.h_memory_words={config.memory_words} is too small for H "
                f"({config.in_size * config.out_size} words)"
            )
        self._config = config
        self._layout = result_layout(config)
        super().__init__(
            {
                "update_done": In(1),
                "busy": Out(1),
                "transfer_due": Out(1),
                "column": Out(_bits_for(config.in_size)),
                "readout": In(stream.Signature(signed(config.adc_bits))),
                "result": Out(stream.Signature(self._layout)),
                "in_negative": Out(config.in_size),
                "in_flipped": Out(1),
                "out_negative": Out(config.out_size),
            }
        )

    @property
    def config(self) -> TransferControllerConfig:
        """The config this controller was built from."""
        return self._config

    @property
    def layout(self) -> data.StructLayout:
        """Layout of the ``result`` payload."""
        return self._layout

    def elaborate(self, platform: object) -> Module:
        config = self._config
        m = Module()
        h_memory = Memory(shape=signed(config.h_bits), depth=config.memory_words, init=[])
        m.submodules.h_memory = h_memory
        h_read = h_memory.read_port()
        h_write = h_memory.write_port()
        state = _Sequencing(config, self._layout)
        m.d.comb += [self.result.payload.eq(state.result), self.column.eq(state.pointer)]
        address = Signal(_bits_for(config.memory_words))
        m.d.comb += address.eq(state.pointer * config.out_size + state.row)
        m.d.comb += [h_read.addr.eq(address), h_write.addr.eq(address)]

        self._choppers(m, state)
        agad = _AgadMemories(m, config, address, state) if config.mode is TransferMode.AGAD else None
        reference_value = agad.reference_value if agad else Const(0, signed(config.mean_bits))

        # the fixed-point rule of one row: H from the code read, pulses to C, H after firing
        code = self.readout.payload
        rule = RowRule(m, config)
        chop_negative = state.in_negative.bit_select(state.pointer, 1) ^ state.out_negative.bit_select(
            state.row, 1
        )
        h_saturated = rule.accumulate(h_read.data, code, reference_value, chop_negative)
        h_next, pulses_out = rule.fire(h_read.data, h_saturated, state.active)
        mean_next = agad.follow_the_mean(m, code) if agad else None
        m.d.comb += h_write.data.eq(h_next)
        if agad:
            m.d.comb += [
                agad.mean_write.data.eq(mean_next),
                agad.reference_write.data.eq(agad.mean_read.data),
            ]

        def row_done() -> None:
            # the ROW state when a code arrives: write H (and AGAD's memories), latch the result
            m.d.comb += h_write.en.eq(state.active)
            if agad:
                m.d.comb += [agad.mean_write.en.eq(1), agad.reference_write.en.eq(state.take_reference)]
            m.d.sync += [
                state.result.row.eq(state.row),
                state.result.column.eq(state.pointer),
                state.result.pulses.eq(pulses_out),
                state.result.h.eq(h_next),
                state.result.reference.eq(reference_value),
                state.result.accumulated.eq(state.active),
            ]

        fsm = self._sequencer(m, state, agad, row_done=row_done)
        m.d.comb += [
            self.busy.eq(~fsm.ongoing("IDLE")),
            self.transfer_due.eq(
                fsm.ongoing("DECIDE") | fsm.ongoing("LOAD") | fsm.ongoing("ROW") | fsm.ongoing("EMIT")
            ),
        ]
        return m

    def _choppers(self, m: Module, state: _Sequencing) -> None:
        """The shared chopper blocks: one sign per column, and per row with output choppers."""
        config = self._config
        state.in_negative = Signal(config.in_size)
        state.out_negative = Signal(config.out_size)
        state.in_flip_event = Signal()
        state.out_flip_event = Signal()
        state.in_flipped = Signal()
        if config.uses_in_chopper:
            m.submodules.in_chopper = in_chopper = ChopperSign(config.in_chopper)
            m.d.comb += [
                in_chopper.flip.eq(state.in_flip_event),
                in_chopper.flip_line.eq(state.pointer),
                state.in_negative.eq(in_chopper.negative),
                state.in_flipped.eq(in_chopper.flipped),
            ]
        if config.uses_out_chopper:
            m.submodules.out_chopper = out_chopper = ChopperSign(config.out_chopper)
            m.d.comb += [
                out_chopper.flip.eq(state.out_flip_event),
                out_chopper.flip_line.eq(state.row),
                state.out_negative.eq(out_chopper.negative),
            ]
        m.d.comb += [
            self.in_negative.eq(state.in_negative),
            self.out_negative.eq(state.out_negative),
            self.in_flipped.eq(state.in_flipped),
        ]

    def _sequencer(
        self, m: Module, state: _Sequencing, agad: _AgadMemories | None, *, row_done: Callable[[], None]
    ) -> Any:
        """The controller's FSM: count updates, decide a column, its rows, its chopper event, next column."""
        config = self._config
        last_row = state.row == config.out_size - 1
        last_column = state.pointer == config.in_size - 1
        with m.FSM(name="transfer_fsm") as fsm:
            with m.State("IDLE"):
                with m.If(self.update_done):
                    with m.If(state.counter == config.transfer_every - 1):
                        m.d.sync += [
                            state.counter.eq(0),
                            state.reads_left.eq(config.n_reads_per_transfer - 1),
                        ]
                        m.next = "DECIDE"
                    with m.Else():
                        m.d.sync += state.counter.eq(state.counter + 1)
            with m.State("DECIDE"):
                if agad:
                    agad.decide_column(m, state)
                else:
                    m.d.sync += [state.active.eq(1), state.take_reference.eq(0)]
                m.d.sync += state.row.eq(0)
                m.next = "LOAD"
            with m.State("LOAD"):
                # The memories answer the address of this row in the next cycle.
                m.next = "ROW"
            with m.State("ROW"):
                m.d.comb += self.readout.ready.eq(1)
                with m.If(self.readout.valid):
                    row_done()
                    m.next = "EMIT"
            with m.State("EMIT"):
                m.d.comb += self.result.valid.eq(1)
                with m.If(self.result.ready):
                    with m.If(last_row):
                        m.next = "FLIP"
                    with m.Else():
                        m.d.sync += state.row.eq(state.row + 1)
                        m.next = "LOAD"
            with m.State("FLIP"):
                # The column's chopper event, after its read; the chopper answers next cycle.
                m.d.comb += state.in_flip_event.eq(1)
                m.next = "FINISH"
            with m.State("FINISH"):
                if agad:
                    with m.If(state.in_flipped):
                        m.d.sync += agad.switched.bit_select(state.pointer, 1).eq(1)
                m.d.sync += [state.pointer.eq(Mux(last_column, 0, state.pointer + 1)), state.row.eq(0)]
                if config.uses_out_chopper:
                    with m.If(last_column):
                        m.next = "OUT_FLIPS"
                    with m.Else():
                        self._next_column(m, state.reads_left)
                else:
                    self._next_column(m, state.reads_left)
            if config.uses_out_chopper:
                with m.State("OUT_FLIPS"):
                    # One output chopper event per row, row 0 first (the twin's order).
                    m.d.comb += state.out_flip_event.eq(1)
                    m.d.sync += state.row.eq(state.row + 1)
                    with m.If(last_row):
                        m.d.sync += state.row.eq(0)
                        self._next_column(m, state.reads_left)
        return fsm

    @staticmethod
    def _next_column(m: Module, reads_left: Signal) -> None:
        """After a column: the next column of the same transfer event, or back to idle."""
        with m.If(reads_left != 0):
            m.d.sync += reads_left.eq(reads_left - 1)
            m.next = "DECIDE"
        with m.Else():
            m.next = "IDLE"
