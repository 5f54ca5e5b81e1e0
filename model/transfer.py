"""The transfer periphery of the TTv2 family: protocol, shared sequencing, and the fast float server.

The transfer periphery is the digital half of Tiki-Taka v2 (TTv2), chopped TTv2 (c-TTv2) and AGAD for
one layer (docs/science.md §2; Rasch et al., arXiv 2303.04721). It owns the column pointer, the
``transfer_every`` counter, the chopper signs, the H buffer, the threshold that turns H into pulses on
C, and AGAD's per-device running mean and reference. The analog arrays A (fast, gradient accumulator)
and C (slow, weights) stay outside, in :mod:`pulsetrain.model.tile`; the training algorithm moves data
between them and this periphery in four transactions.

Protocol (one training step of one layer, batch 1)
--------------------------------------------------
1. ``signs = periphery.signs()`` -> :class:`ChopperSigns`. The gradient written into A is multiplied by
   the chopper signs: the update is ``A += -fast_lr * (out_signs * d) (in_signs * x)^T``, i.e. the
   algorithm flips the sign line of x line ``i`` where ``in_signs[i] == -1`` and of d line ``j`` where
   ``out_signs[j] == -1`` before pulsing. In TTv2 mode all signs are +1.
2. The algorithm applies that pulsed update to A.
3. ``request = periphery.step()`` after *every* update of A -> :class:`TransferRequest` or ``None``.
   Every ``transfer_every`` steps it names the ``n_reads_per_transfer`` columns to transfer now.
4. For each column ``k`` of ``request.columns``, in order: read column k of A through the forward
   periphery (one-hot +1 on x line k, all d lines' ADC codes) and call
   ``result = periphery.transfer(k, readout)`` -> :class:`TransferResult`. ``readout`` holds the
   ``out_size`` reads in ADC LSB units (the raw, un-chopped codes: the periphery applies the signs).
   Then apply ``result.pulses[j]`` pulses to device ``(j, k)`` of C: positive values increase C.

Sign convention: A accumulates ``c * (-fast_lr * gradient)``; the read is multiplied by ``c`` again, so
H accumulates ``transfer_lr * (-fast_lr * gradient) + c * offset``; pulses ``n`` move C by ``n`` device
steps in the direction of H. A constant offset of A (or of its reference) enters H modulated by ``c``
and averages out as the chopper flips.

Servers
-------
:class:`FloatTransferPeriphery` (here)
    float H, NumPy random chopper flips, unquantized learning rate: fast, statistically equal to the
    twin, never bit-exact. Accepts real-valued readouts (an ADC-free model may pass reads in LSB units).
:class:`pulsetrain.model.twins.transfer.TwinTransferPeriphery`
    integer H with the config's widths and saturation, LFSR chopper flips: bit-exact with the RTL
    (:mod:`pulsetrain.rtl.transfer_controller`). Requires integer ADC codes within ``adc_bits``.
``cosim``
    the simulated Verilog behind the same protocol.

All servers of one config share :class:`TransferSequencer`: the counter, pointer, pass count, hold-off
and regular-flip logic are integer bookkeeping that is exact in Python; it also owns the H, running-mean
and reference memories and AGAD's reference taking, and leaves each server only its arithmetic.

Lean form for the training loop
-------------------------------
``TransferSequencer.transfer_pulses(k, readout) -> (pulses or None, signs_changed)`` runs exactly the
steps of ``transfer`` (same state changes, same random draws) but returns only what the loop needs: the
pulses for C's column (``None`` when no device fires) and whether the chopper signs changed. It skips
the per-read copies of H, references and signs that a :class:`TransferResult` holds (a read of one
column of A follows every sample, so those copies cost a noticeable part of an epoch). The training
layer uses it for the model's own servers and the protocol's ``transfer`` for any other (co-simulation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from pulsetrain.periphery.transfer import ChopperFlipMode, TransferControllerConfig, TransferMode

#: ``a.max()`` without the Python wrapper of ndarray.max (the same reduction)
_MAX = np.maximum.reduce

__all__ = [
    "ChopperSigns",
    "FloatTransferPeriphery",
    "TransferPeriphery",
    "TransferRequest",
    "TransferResult",
    "TransferSequencer",
]


@dataclass(frozen=True, eq=False)
class ChopperSigns:
    """Chopper signs to apply on the A update path (and used by the next reads)."""

    #: (in_size,) int8, +1 or -1: sign of x line i's chopper.
    in_signs: NDArray[np.int8]
    #: (out_size,) int8, +1 or -1: sign of d line j's chopper (all +1 without output choppers).
    out_signs: NDArray[np.int8]

    def same_as(self, other: ChopperSigns) -> bool:
        """True when both hold exactly the same signs."""
        return np.array_equal(self.in_signs, other.in_signs) and np.array_equal(
            self.out_signs, other.out_signs
        )


@dataclass(frozen=True)
class TransferRequest:
    """A transfer is due: read these columns of A, in this order, and pass each to ``transfer``."""

    #: Column indices (x lines) of A to read, ``n_reads_per_transfer`` of them.
    columns: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class TransferResult:
    """Everything the periphery decided for one column read."""

    #: The column (x line) of A that was read and of C that receives the pulses.
    column: int
    #: (out_size,) int64: signed pulse counts for devices (j, column) of C; +n raises C by n steps.
    pulses: NDArray[np.int64]
    #: (out_size,) float64: H[:, column] after this read and firing, in units of one pulse on C.
    h_column: NDArray[np.float64]
    #: Input chopper sign used for this read (+1 / -1).
    in_sign: int
    #: (out_size,) int8: output chopper signs used for this read.
    out_signs: NDArray[np.int8]
    #: True when the column's input chopper flipped after this read (the next signs differ).
    in_flipped: bool
    #: (out_size,) bool: output choppers that flipped after this read (only after the last column).
    out_flipped: NDArray[np.bool_]
    #: AGAD only: (out_size,) float64 reference subtracted from this read, in ADC LSB; None otherwise.
    reference: NDArray[np.float64] | None
    #: False when AGAD held this read off (no reference yet, or within ``reads_held_after_flip`` reads
    #: after a flip): H unchanged, no pulses. Always True in TTv2 and c-TTv2.
    accumulated: bool

    def same_as(self, other: TransferResult) -> bool:
        """True when both hold exactly the same decisions (twin-versus-RTL scoreboards)."""
        references_equal = (self.reference is None and other.reference is None) or (
            self.reference is not None
            and other.reference is not None
            and np.array_equal(self.reference, other.reference)
        )
        return (
            self.column == other.column
            and np.array_equal(self.pulses, other.pulses)
            and np.array_equal(self.h_column, other.h_column)
            and self.in_sign == other.in_sign
            and np.array_equal(self.out_signs, other.out_signs)
            and self.in_flipped == other.in_flipped
            and np.array_equal(self.out_flipped, other.out_flipped)
            and references_equal
            and self.accumulated == other.accumulated
        )


@runtime_checkable
class TransferPeriphery(Protocol):
    """The digital transfer controller of one TTv2-family layer, as the training loop sees it."""

    @property
    def config(self) -> TransferControllerConfig:
        """The digital configuration (mode, sizes, widths, probabilities, seeds)."""
        ...

    def signs(self) -> ChopperSigns:
        """Chopper signs for the next update of A (all +1 in TTv2 mode)."""
        ...

    def step(self) -> TransferRequest | None:
        """Count one update of A; return the columns to transfer when a transfer is due."""
        ...

    def transfer(self, column: int, readout: ArrayLike) -> TransferResult:
        """Accumulate one column read of A into H and decide the pulses to C's column."""
        ...

    def h_buffer(self) -> NDArray[np.float64]:
        """(out_size, in_size) copy of H in units of one pulse on C."""
        ...


class TransferSequencer:
    """Bookkeeping common to every server: counter, pointer, passes, flips, hold-off, H and references.

    Subclasses supply the arithmetic (:meth:`_accumulate`, :meth:`_update_mean`) on the state memories
    this class allocates (``_h``, ``_mean``, ``_reference``, column-major ``(in_size, out_size)`` like the
    RTL's memories, in the subclass's :attr:`_state_dtype`), and the flip decisions
    (:meth:`_in_flip_event` / :meth:`_draw_in_flip`, :meth:`_draw_out_flips`). The order of events is
    part of the contract with the RTL (:mod:`pulsetrain.periphery.transfer`): per read, the AGAD
    reference and hold-off bookkeeping, the rows, then the column's input chopper event, then, after the
    last column of a pass, one output chopper event per row in row order.

    Two entry points run the same steps: :meth:`transfer` (the protocol: a full :class:`TransferResult`
    for scoreboards and tests) and :meth:`transfer_pulses` (the training loop's lean form: only the
    pulses and whether the chopper signs changed, without copying H, references and signs per read).
    """

    #: dtype of H, the running mean and the references (float64 in the float server, int64 codes in the
    #: twin)
    _state_dtype: type[np.generic] = np.float64
    #: H divided by this is in units of one pulse on C (the twin's ``h_one``)
    _h_scale: float = 1.0
    #: references divided by this are in ADC LSB (the twin's ``2**reference_frac_bits``)
    _reference_scale: float = 1.0

    def __init__(self, config: TransferControllerConfig) -> None:
        self._config = config
        #: A updates since the last transfer event.
        self._updates_since_transfer = 0
        #: Next column the pointer hands out.
        self._pointer = 0
        #: Completed passes over all columns (drives regular chopper flips).
        self._passes = 0
        #: Columns requested and not yet transferred, in order.
        self._pending: list[int] = []
        #: Chopper signs, +1 / -1 (int8, as handed to the update path).
        self._in_signs = np.ones(config.in_size, dtype=np.int8)
        self._out_signs = np.ones(config.out_size, dtype=np.int8)
        # Derived config values, looked up once: the per-transfer path runs ~10^5 times per epoch.
        self._agad = config.mode is TransferMode.AGAD
        self._uses_in_chopper = config.uses_in_chopper
        self._uses_out_chopper = config.uses_out_chopper
        self._regular_period = (
            config.regular_period_passes if config.chopper_flip is ChopperFlipMode.REGULAR else 0
        )
        self._transfer_every = config.transfer_every
        self._last_column = config.in_size - 1
        self._readout_shape = (config.out_size,)
        #: The request of each pointer position (immutable, so one object per position serves every pass).
        self._requests: dict[int, TransferRequest] = {}
        # AGAD bookkeeping per column, as Python lists (a list item costs less to read than an array's)
        #: AGAD: column has a reference (its chopper flipped at least once).
        self._has_reference = [False] * config.in_size
        #: AGAD: column's chopper flipped since its last read (its next read takes the reference).
        self._switched = [False] * config.in_size
        #: AGAD: reads of the column still held off after its last flip.
        self._held_reads = [0] * config.in_size
        # Stored column-major ((in_size, out_size)), like the RTL's memories (address column * out_size
        # + row), so that a transferred column is contiguous.
        shape = (config.in_size, config.out_size)
        #: H (in the subclass's units: pulses on C, or codes).
        self._h = np.zeros(shape, dtype=self._state_dtype)
        #: AGAD running mean of the reads and reference taken at the last flip.
        self._mean = np.zeros(shape, dtype=self._state_dtype)
        self._reference = np.zeros(shape, dtype=self._state_dtype)

    @property
    def config(self) -> TransferControllerConfig:
        """The digital configuration."""
        return self._config

    def signs(self) -> ChopperSigns:
        """Chopper signs for the next update of A."""
        return ChopperSigns(in_signs=self._in_signs.copy(), out_signs=self._out_signs.copy())

    def h_buffer(self) -> NDArray[np.float64]:
        """(out_size, in_size) copy of H in units of one pulse on C (exact: dyadic rationals in the twin)."""
        return self._h.T / self._h_scale  # type: ignore[no-any-return]

    def step(self) -> TransferRequest | None:
        """Count one update of A; every ``transfer_every`` updates hand out the next columns."""
        if self._pending:
            raise RuntimeError(f"columns {self._pending} were requested but not transferred yet")
        self._updates_since_transfer += 1
        if self._updates_since_transfer < self._transfer_every:
            return None
        self._updates_since_transfer = 0
        pointer = self._pointer
        request = self._requests.get(pointer)
        if request is None:
            config = self._config
            columns = tuple((pointer + i) % config.in_size for i in range(config.n_reads_per_transfer))
            request = self._requests[pointer] = TransferRequest(columns=columns)
        self._pointer = (pointer + self._config.n_reads_per_transfer) % self._config.in_size
        self._pending = list(request.columns)
        return request

    def transfer(self, column: int, readout: ArrayLike) -> TransferResult:
        """Accumulate one read of ``column`` into H, decide pulses, then the column's chopper event."""
        out_signs = self._out_signs.copy()  # the signs of this read (an out flip may follow it)
        pulses, in_sign, accumulated, in_flipped, out_flipped = self._advance(column, readout)
        return TransferResult(
            column=column,
            pulses=(
                np.zeros(self._config.out_size, dtype=np.int64)
                if pulses is None
                else pulses.astype(np.int64, copy=False)
            ),
            h_column=self._h[column] / self._h_scale,
            in_sign=in_sign,
            out_signs=out_signs,
            in_flipped=in_flipped,
            out_flipped=np.zeros(self._config.out_size, dtype=np.bool_)
            if out_flipped is None
            else out_flipped,
            reference=self._reference[column] / self._reference_scale if self._agad else None,
            accumulated=accumulated,
        )

    def transfer_pulses(
        self, column: int, readout: ArrayLike
    ) -> tuple[NDArray[np.int64] | NDArray[np.float64] | None, bool]:
        """:meth:`transfer` for the training loop: the same decisions and state, a lean answer.

        Returns
        -------
        pulses
            (out_size,) signed pulse counts for column ``column`` of C (integer-valued: int64 from the
            twin, float64 from the float server), or ``None`` when no device fires (then C is left
            alone).
        signs_changed
            True when a chopper flipped after this read: :meth:`signs` differs from before it.
        """
        pulses, _, _, in_flipped, out_flipped = self._advance(column, readout)
        return pulses, in_flipped or (out_flipped is not None and bool(out_flipped.any()))

    # ----------------------------------------------------------------------------------------------

    def _advance(
        self, column: int, readout: ArrayLike
    ) -> tuple[NDArray[np.int64] | NDArray[np.float64] | None, int, bool, bool, NDArray[np.bool_] | None]:
        """One read of ``column``: ``(pulses or None, in_sign, accumulated, in_flipped, out_flipped or
        None)``, where ``out_flipped`` is ``None`` when no output chopper event took place."""
        pending = self._pending
        if not pending or column != pending[0]:
            expected = pending[0] if pending else "none (call step() first)"
            raise ValueError(f"transfer of column {column} out of order; expected column {expected}")
        values = self._check_readout(readout)
        del pending[0]

        # AGAD: the first read after a flip takes the reference (the running mean at the flip) and
        # starts the hold-off; reads before the column's first flip have no reference and are held.
        agad = self._agad
        accumulated = True
        if agad:
            if self._switched[column]:
                self._switched[column] = False
                self._has_reference[column] = True
                self._held_reads[column] = self._config.reads_held_after_flip
                self._reference[column] = self._mean[column]
            held = self._held_reads[column]
            accumulated = self._has_reference[column] and held == 0
            if held > 0:
                self._held_reads[column] = held - 1

        in_sign = int(self._in_signs[column])
        pulses = self._accumulate(column, values, in_sign) if accumulated else None
        if agad:
            self._update_mean(column, values)

        # The column's chopper event, after its read.
        in_flipped = self._uses_in_chopper and self._in_flip_event(column)
        if in_flipped:
            self._in_signs[column] = -self._in_signs[column]
            self._switched[column] = True
        out_flipped = None
        if column == self._last_column:
            if self._uses_out_chopper:
                out_flipped = self._draw_out_flips()
                if out_flipped.any():
                    self._out_signs[out_flipped] = -self._out_signs[out_flipped]
                    self._out_signs_changed()
            self._passes += 1
        return pulses, in_sign, accumulated, in_flipped, out_flipped

    def _in_flip_event(self, column: int) -> bool:
        """The flip decision of ``column``'s chopper after its read (chopped modes, p > 0)."""
        if self._regular_period:
            return self._passes % self._regular_period == self._regular_period - 1
        return self._draw_in_flip()

    def _check_readout(self, readout: ArrayLike) -> NDArray[np.float64] | NDArray[np.int64]:
        """``readout`` as an array of shape (out_size,) (refused otherwise)."""
        values = readout if type(readout) is np.ndarray else np.asarray(readout)
        if values.shape != self._readout_shape:
            raise ValueError(f"readout must have shape ({self._config.out_size},), not {values.shape}")
        return values

    def _out_signs_changed(self) -> None:
        """Hook: the output chopper signs were just flipped (servers that cache products of them)."""

    def _draw_in_flip(self) -> bool:
        raise NotImplementedError

    def _draw_out_flips(self) -> NDArray[np.bool_]:
        raise NotImplementedError

    def _accumulate(
        self, column: int, values: NDArray[np.float64] | NDArray[np.int64], in_sign: int
    ) -> NDArray[np.int64] | NDArray[np.float64] | None:
        """Add the chopped read ``values`` (minus AGAD's reference) to H's ``column``, fire, return the
        signed pulse counts (integer-valued; ``None`` when no device fires)."""
        raise NotImplementedError

    def _update_mean(self, column: int, values: NDArray[np.float64] | NDArray[np.int64]) -> None:
        """AGAD: fold the raw read into the column's running mean."""
        raise NotImplementedError


class FloatTransferPeriphery(TransferSequencer):
    """Fast float server: float H and references, NumPy random flips; statistically equal to the twin.

    Parameters
    ----------
    config
        The digital configuration; its fixed-point widths only bound H (the same saturation range as the
        twin), the learning rate and threshold are used unquantized.
    seed
        Seed of the NumPy generator that draws random chopper flips.
    """

    def __init__(self, config: TransferControllerConfig, seed: int | np.random.Generator = 0) -> None:
        super().__init__(config)
        self._rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._h_low = config.h_min_code / config.h_one
        self._h_high = config.h_max_code / config.h_one
        self._mean_weight = 2.0**-config.mean_shift
        self._lr = config.transfer_lr_per_lsb
        self._threshold = config.thres_scale
        self._max_pulses = float(config.max_pulses_per_transfer)
        self._momentum = config.momentum
        self._forget = config.forget_buffer
        self._cap = (
            config.buffer_cap * config.max_pulses_per_transfer * config.thres_scale
            if config.buffer_cap > 0.0
            else 0.0
        )
        self._in_chop_prob = config.in_chop_prob
        self._out_signs_changed()

    def _out_signs_changed(self) -> None:
        # H gains per row for each input sign: (in_sign * lr) * out_signs, the same product (bit for bit)
        # that the read would form, kept until an output chopper flips.
        self._row_gains = {sign: (sign * self._lr) * self._out_signs for sign in (1, -1)}

    def _draw_in_flip(self) -> bool:
        return bool(self._rng.random() < self._in_chop_prob)

    def _draw_out_flips(self) -> NDArray[np.bool_]:
        return self._rng.random(self._config.out_size) < self._config.out_chop_prob

    def _accumulate(
        self, column: int, values: NDArray[np.float64] | NDArray[np.int64], in_sign: int
    ) -> NDArray[np.float64] | None:
        # int64 codes take part as float64 (the ufuncs cast them exactly, as an astype would)
        signal = values - self._reference[column] if self._agad else values
        # written in place on one temporary; every operation and rounding as in the formula
        # H = min(max(H + (c lr) signal, low), high), steps = min(floor(|H| / thres), max)
        h = self._row_gains[in_sign] * signal
        h += self._h[column]
        np.maximum(h, self._h_low, out=h)
        np.minimum(h, self._h_high, out=h)
        steps = np.abs(h)
        if self._threshold != 1.0:  # (a division by 1 changes nothing)
            steps /= self._threshold
        pulses = None
        # floor(q) > 0 exactly when q >= 1: reads that fire no device stop here
        top = _MAX(steps)
        if top >= 1.0:
            np.floor(steps, out=steps)
            if top >= self._max_pulses + 1.0:  # else no floor(q) exceeds the cap
                np.minimum(steps, self._max_pulses, out=steps)
            # integer-valued float64 counts (``transfer`` records them as int64; C takes either)
            pulses = np.copysign(steps, h)
            fired = steps > 0
            if self._forget:
                np.multiply(h, self._momentum, out=h, where=fired)
            else:
                h -= (1.0 - self._momentum) * self._threshold * pulses
                if self._cap > 0.0:
                    h = np.where(fired, np.minimum(np.maximum(h, -self._cap), self._cap), h)
        self._h[column] = h
        return pulses

    def _update_mean(self, column: int, values: NDArray[np.float64] | NDArray[np.int64]) -> None:
        # running mean of the raw reads between flips; the reference is the mean at the flip
        mean = self._mean[column]
        mean += (values - mean) * self._mean_weight
