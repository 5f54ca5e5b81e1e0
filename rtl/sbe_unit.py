"""Streaming batch eigenupdate (SBE) unit: the rank-1 running estimate of a layer's batch gradient.

For each sample the host streams the layer's ``cols`` error codes ``d`` and then its ``rows`` input codes
``x`` on ``samples``; the unit runs the three passes of :mod:`pulsetrain.periphery.sbe` over its on-chip
memories (``X``: rows words, ``D``: cols words, a ``d`` buffer: cols words) and three normalizations, then
waits for the next sample. ``start_batch`` forgets the running sums (the next sample overwrites ``X`` and
``D``; ``D``'s direction is the warm start). ``read`` streams ``X`` (rows words) then ``D`` (cols words)
out on ``vectors``; ``x_norm_sq``, ``d_norm_sq``, ``sigma_sum`` and ``count`` are plain outputs. The
memories have synchronous read ports (SRAM-like), so every element takes two cycles: address, then data.

The model's twin :class:`pulsetrain.model.twins.sbe.SbeUnitTwin` computes the same codes bit for bit.
"""

from __future__ import annotations

from typing import Any

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from pulsetrain.periphery.sbe import Normalization, SbeConfig

__all__ = ["Normalizer", "SbeUnit"]


class Normalizer(wiring.Component):
    """``numerator / sqrt(norm_sq)`` on fixed-point codes, exact (square root + division) or by a shift.

    ``start`` latches the operands; ``done`` pulses with ``quotient`` valid (and held) when finished.
    Exact mode: one result bit of the integer square root per cycle, then one quotient bit of a
    restoring division per cycle. Shift mode: the norm rounded up to the next power of two, one cycle.
    """

    def __init__(self, config: SbeConfig) -> None:
        self._config = config
        super().__init__(
            {
                "start": In(1),
                "numerator": In(signed(config.dot_bits)),
                "norm_sq": In(unsigned(config.norm_sq_bits)),
                "busy": Out(1),
                "done": Out(1),
                "quotient": Out(signed(config.scalar_bits)),
            }
        )

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        width = config.dot_bits + config.dividend_shift  # |numerator| << K
        result = Signal(width)
        m.d.comb += self.quotient.eq(result)
        m.d.sync += self.done.eq(0)
        magnitude = Signal(width)
        m.d.comb += magnitude.eq(abs(self.numerator) << config.dividend_shift)
        if config.normalization is Normalization.SHIFT:
            self._by_shift(m, magnitude, result)
        else:
            self._exact(m, magnitude, result)
        return m

    def _by_shift(self, m: Module, magnitude: Signal, result: Signal) -> None:
        """One cycle: ``magnitude`` shifted right by half the bit length of ``norm_sq - 1``, signed."""
        config = self._config
        # ceil(log2(norm_sq)) = bit length of norm_sq - 1 (norm_sq >= 1)
        below = Signal(unsigned(config.norm_sq_bits))
        m.d.comb += below.eq(self.norm_sq - 1)
        length = Signal(range(config.norm_sq_bits + 1))
        for bit in range(config.norm_sq_bits):
            with m.If(below[bit]):
                m.d.comb += length.eq(bit + 1)
        exponent = Signal(range(config.norm_sq_bits + 2))
        m.d.comb += exponent.eq((length + 1) >> 1)
        quotient = Signal(len(magnitude))
        m.d.comb += quotient.eq(magnitude >> exponent)
        with m.If(self.start):
            with m.If(self.norm_sq == 0):
                m.d.sync += result.eq(0)
            with m.Elif(self.numerator < 0):
                m.d.sync += result.eq(-quotient)
            with m.Else():
                m.d.sync += result.eq(quotient)
            m.d.sync += self.done.eq(1)

    def _exact(self, m: Module, magnitude: Signal, result: Signal) -> None:
        """Digit-by-digit integer square root of ``norm_sq``, then a restoring division, then the sign."""
        config = self._config
        width = len(magnitude)
        radicand_bits = config.norm_sq_bits + (config.norm_sq_bits % 2)
        root_bits = radicand_bits // 2
        negative = Signal()
        dividend = Signal(width)
        radicand = Signal(radicand_bits)
        remainder = Signal(root_bits + 2)
        root = Signal(root_bits)
        partial = Signal(root_bits + 1)
        steps = Signal(range(max(root_bits, width) + 1))
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += [
                        negative.eq(self.numerator < 0),
                        dividend.eq(magnitude),
                        radicand.eq(self.norm_sq),
                        remainder.eq(0),
                        root.eq(0),
                        steps.eq(root_bits),
                    ]
                    m.next = "SQRT"
            with m.State("SQRT"):
                m.d.comb += self.busy.eq(1)
                # digit-by-digit square root: bring down two radicand bits, try (root << 2) | 1
                shifted = Signal(root_bits + 2)
                trial = Signal(root_bits + 2)
                m.d.comb += [
                    shifted.eq(Cat(radicand[-2:], remainder)),
                    trial.eq(Cat(1, 0, root)),
                ]
                with m.If(shifted >= trial):
                    m.d.sync += [remainder.eq(shifted - trial), root.eq(Cat(1, root))]
                with m.Else():
                    m.d.sync += [remainder.eq(shifted), root.eq(Cat(0, root))]
                m.d.sync += [radicand.eq(radicand << 2), steps.eq(steps - 1)]
                with m.If(steps == 1):
                    m.d.sync += [steps.eq(width), partial.eq(0), result.eq(0)]
                    m.next = "DIVIDE"
            with m.State("DIVIDE"):
                m.d.comb += self.busy.eq(1)
                shifted_partial = Signal(root_bits + 1)
                m.d.comb += shifted_partial.eq(Cat(dividend[-1], partial))
                with m.If(root == 0):
                    # zero norm: the vector is zero, so is its projection
                    m.d.sync += [result.eq(0), self.done.eq(1)]
                    m.next = "IDLE"
                with m.Else():
                    with m.If(shifted_partial >= root):
                        m.d.sync += [partial.eq(shifted_partial - root), result.eq(Cat(1, result))]
                    with m.Else():
                        m.d.sync += [partial.eq(shifted_partial), result.eq(Cat(0, result))]
                    m.d.sync += [dividend.eq(dividend << 1), steps.eq(steps - 1)]
                    with m.If(steps == 1):
                        m.next = "SIGN"
            with m.State("SIGN"):
                m.d.comb += self.busy.eq(1)
                with m.If(negative):
                    m.d.sync += result.eq(-result)
                m.d.sync += self.done.eq(1)
                m.next = "IDLE"


class SbeUnit(wiring.Component):
    """Rank-1 SBE streaming unit for one ``rows x cols`` layer.

    Parameters
    ----------
    config
        Array size, fixed-point widths and normalization.
    """

    def __init__(self, config: SbeConfig) -> None:
        if not isinstance(config, SbeConfig):
            raise TypeError(f"config must be an SbeConfig, not {config!r}")
        self._config = config
        super().__init__(
            {
                "samples": In(stream.Signature(signed(config.input_bits))),
                "vectors": Out(stream.Signature(signed(config.vector_bits))),
                "start_batch": In(1),
                "read": In(1),
                "busy": Out(1),
                "count": Out(config.count_bits),
                "sigma_sum": Out(signed(config.sigma_bits)),
                "x_norm_sq": Out(unsigned(config.norm_sq_bits)),
                "d_norm_sq": Out(unsigned(config.norm_sq_bits)),
            }
        )

    @property
    def config(self) -> SbeConfig:
        """The config this unit was built from."""
        return self._config

    def elaborate(self, platform: object) -> Module:
        m = Module()
        config = self._config
        state = _SbeState(m, config)
        m.submodules.normalizer = normalizer = Normalizer(config)
        m.d.comb += [
            self.count.eq(state.count),
            self.sigma_sum.eq(state.sigma_sum),
            self.x_norm_sq.eq(state.x_norm_sq),
            self.d_norm_sq.eq(state.d_norm_sq),
        ]
        code = self.samples.payload
        m.d.comb += [
            state.new_x.eq(
                Mux(state.first, 0, state.x_read.data) + ((code * state.a) >> config.input_frac_bits)
            ),
            state.new_d.eq(
                Mux(state.first, 0, state.d_read.data)
                + ((state.buffer_read.data * state.b) >> config.input_frac_bits)
            ),
        ]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start_batch):
                    m.d.sync += [state.first.eq(1), state.count.eq(0), state.sigma_sum.eq(0)]
                with m.Elif(self.read):
                    m.d.sync += [state.index.eq(0), state.reading_d.eq(0)]
                    m.next = "READ_ADDRESS"
                with m.Elif(self.samples.valid):
                    m.d.sync += [state.index.eq(0), state.dot.eq(0)]
                    m.next = "PROJECT_D_ADDRESS"
            self._project_d(m, state, normalizer)
            self._update_x(m, state, normalizer)
            self._update_d(m, state, normalizer)
            self._read_out(m, state)
        return m

    def _normalize(
        self,
        m: Module,
        state: _SbeState,
        normalizer: Normalizer,
        step: str,
        norm: Value,
        on_start: list[Any],
        on_done: list[Any],
        then: str,
    ) -> None:
        """The end of each pass: hand (dot, norm) to the normalizer in one state, wait for its quotient
        in the next; ``on_start``/``on_done`` are the pass's own register updates."""
        with m.State(f"NORMALIZE_{step}"):
            m.d.comb += [
                self.busy.eq(1),
                normalizer.start.eq(1),
                normalizer.numerator.eq(state.dot),
                normalizer.norm_sq.eq(norm),
            ]
            m.d.sync += on_start
            m.next = f"WAIT_{step}"
        with m.State(f"WAIT_{step}"):
            m.d.comb += self.busy.eq(1)
            with m.If(normalizer.done):
                m.d.sync += on_done
                m.next = then

    def _project_d(self, m: Module, state: _SbeState, normalizer: Normalizer) -> None:
        """Pass 1: buffer d, dot = d · D (old D); a = dot / ‖D‖."""
        code = self.samples.payload
        with m.State("PROJECT_D_ADDRESS"):
            m.d.comb += self.busy.eq(1)
            m.next = "PROJECT_D"
        with m.State("PROJECT_D"):
            m.d.comb += [self.busy.eq(1), self.samples.ready.eq(1)]
            with m.If(self.samples.valid):
                m.d.comb += [state.buffer_write.data.eq(code), state.buffer_write.en.eq(1)]
                m.d.sync += state.dot.eq(state.dot + code * state.d_read.data)
                with m.If(state.index == self._config.cols - 1):
                    m.next = "NORMALIZE_A"
                with m.Else():
                    m.d.sync += state.index.eq(state.index + 1)
                    m.next = "PROJECT_D_ADDRESS"
        on_done = [state.a.eq(normalizer.quotient), *state.restart]
        self._normalize(m, state, normalizer, "A", state.d_norm_sq, [], on_done, "UPDATE_X_ADDRESS")

    def _update_x(self, m: Module, state: _SbeState, normalizer: Normalizer) -> None:
        """Pass 2: X += x a; ‖X‖² and x · X on the new X; b = x · X / ‖X‖."""
        code = self.samples.payload
        with m.State("UPDATE_X_ADDRESS"):
            m.d.comb += self.busy.eq(1)
            m.next = "UPDATE_X"
        with m.State("UPDATE_X"):
            m.d.comb += [self.busy.eq(1), self.samples.ready.eq(1)]
            with m.If(self.samples.valid):
                m.d.comb += [state.x_write.data.eq(state.new_x), state.x_write.en.eq(1)]
                m.d.sync += [
                    state.dot.eq(state.dot + code * state.new_x),
                    state.norm_sq.eq(state.norm_sq + state.new_x * state.new_x),
                ]
                with m.If(state.index == self._config.rows - 1):
                    m.next = "NORMALIZE_B"
                with m.Else():
                    m.d.sync += state.index.eq(state.index + 1)
                    m.next = "UPDATE_X_ADDRESS"
        self._normalize(
            m,
            state,
            normalizer,
            "B",
            state.norm_sq,
            [state.x_norm_sq.eq(state.norm_sq)],
            [state.b.eq(normalizer.quotient), *state.restart],
            "UPDATE_D_ADDRESS",
        )

    def _update_d(self, m: Module, state: _SbeState, normalizer: Normalizer) -> None:
        """Pass 3: D += d b; ‖D‖² and d · D on the new D; sigma += (d · D / ‖D‖) b."""
        config = self._config
        with m.State("UPDATE_D_ADDRESS"):
            m.d.comb += self.busy.eq(1)
            m.next = "UPDATE_D"
        with m.State("UPDATE_D"):
            m.d.comb += [self.busy.eq(1), state.d_write.data.eq(state.new_d), state.d_write.en.eq(1)]
            m.d.sync += [
                state.dot.eq(state.dot + state.buffer_read.data * state.new_d),
                state.norm_sq.eq(state.norm_sq + state.new_d * state.new_d),
            ]
            with m.If(state.index == config.cols - 1):
                m.next = "NORMALIZE_C"
            with m.Else():
                m.d.sync += state.index.eq(state.index + 1)
                m.next = "UPDATE_D_ADDRESS"
        self._normalize(
            m,
            state,
            normalizer,
            "C",
            state.norm_sq,
            [state.d_norm_sq.eq(state.norm_sq)],
            [
                state.sigma_sum.eq(state.sigma_sum + ((normalizer.quotient * state.b) >> config.frac_bits)),
                state.count.eq(state.count + 1),
                state.first.eq(0),
            ],
            "IDLE",
        )

    def _read_out(self, m: Module, state: _SbeState) -> None:
        """Read-out: X then D, one word per two cycles (synchronous read ports)."""
        config = self._config
        with m.State("READ_ADDRESS"):
            m.d.comb += self.busy.eq(1)
            m.next = "READ"
        with m.State("READ"):
            m.d.comb += [
                self.busy.eq(1),
                self.vectors.valid.eq(1),
            ]
            with m.If(state.reading_d):
                m.d.comb += self.vectors.payload.eq(state.d_read.data)
            with m.Else():
                m.d.comb += self.vectors.payload.eq(state.x_read.data)
            with m.If(self.vectors.ready):
                last_x = (~state.reading_d) & (state.index == config.rows - 1)
                last_d = state.reading_d & (state.index == config.cols - 1)
                with m.If(last_d):
                    m.next = "IDLE"
                with m.Elif(last_x):
                    m.d.sync += [state.index.eq(0), state.reading_d.eq(1)]
                    m.next = "READ_ADDRESS"
                with m.Else():
                    m.d.sync += state.index.eq(state.index + 1)
                    m.next = "READ_ADDRESS"


class _SbeState:
    """The unit's memories (X, D, the d buffer) with their ports, and its registers."""

    def __init__(self, m: Module, config: SbeConfig) -> None:
        vector = signed(config.vector_bits)
        m.submodules.x_memory = x_memory = Memory(shape=vector, depth=config.rows, init=[])
        m.submodules.d_memory = d_memory = Memory(
            shape=vector, depth=config.cols, init=[config.initial_vector_code] * config.cols
        )
        m.submodules.d_buffer = d_buffer = Memory(shape=signed(config.input_bits), depth=config.cols, init=[])
        x_read, x_write = x_memory.read_port(), x_memory.write_port()
        d_read, d_write = d_memory.read_port(), d_memory.write_port()
        buffer_read, buffer_write = d_buffer.read_port(), d_buffer.write_port()
        self.x_read, self.x_write = x_read, x_write
        self.d_read, self.d_write = d_read, d_write
        self.buffer_read, self.buffer_write = buffer_read, buffer_write
        self.index = Signal(range(max(config.rows, config.cols)))
        m.d.comb += [
            port.addr.eq(self.index)
            for port in (
                self.x_read,
                self.x_write,
                self.d_read,
                self.d_write,
                self.buffer_read,
                self.buffer_write,
            )
        ]
        self.first = Signal(init=1)  # the next sample overwrites X and D
        self.count = Signal(config.count_bits)
        self.sigma_sum = Signal(signed(config.sigma_bits))
        self.x_norm_sq = Signal(unsigned(config.norm_sq_bits))
        self.d_norm_sq = Signal(
            unsigned(config.norm_sq_bits), init=config.cols * config.initial_vector_code**2
        )
        self.dot = Signal(signed(config.dot_bits))
        self.norm_sq = Signal(unsigned(config.norm_sq_bits))
        self.a = Signal(signed(config.scalar_bits))
        self.b = Signal(signed(config.scalar_bits))
        self.new_x = Signal(vector)
        self.new_d = Signal(vector)
        self.reading_d = Signal()  # read-out: X words first, then D words
        #: every pass ends by restarting the index and the sums
        self.restart = [self.index.eq(0), self.dot.eq(0), self.norm_sq.eq(0)]
