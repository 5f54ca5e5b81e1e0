"""Shared config and fixed-point formats of the streaming batch eigenupdate (SBE) unit.

The unit keeps, for one layer, the rank-1 streamed estimate of the batch gradient ``G = sum_j d_j x_jᵀ``
(Hoskins et al., arXiv 1903.01635; docs/science.md §2) in two on-chip vectors, ``X`` (one entry per x line,
``rows``) and ``D`` (one per d line, ``cols``), plus the running sum of the per-sample projections that
estimates the singular value. Per sample ``j`` (``^`` marks a unit vector)::

    a_j = d_j · D̂_j                  X_{j+1} = X_j + x_j a_j        (X_1 = x_0 a_0)
    b_j = x_j · X̂_{j+1}              D_{j+1} = D_j + d_j b_j        (D_1 = d_0 b_0)
    c_j = d_j · D̂_{j+1}              sigma_sum += c_j b_j

These are docs/science.md's running means with the ``j/(j+1)`` and ``1/(j+1)`` factors dropped: a running
*sum* has the same direction as the running mean at every step and only the direction enters ``D̂`` and
``X̂``, so the estimate is unchanged while the hardware saves a multiply per element and a division per
sample; the host divides ``D`` and ``sigma_sum`` by the sample count once per batch (a shift when the
batch is a power of two). ``D`` is kept between batches: the warm start of Hoskins et al. The first
batch starts from ``D = (1, 1, ..., 1)``.

Normalization. Each sample needs three scalars ``p / ‖v‖`` (``p`` a dot product, ``‖v‖² `` accumulated
while ``v`` was written). Two implementations, chosen by :class:`Normalization`:

``exact``
    integer square root (digit by digit, one result bit per cycle) then a restoring division (one
    quotient bit per cycle): ``floor(|p| 2^K / isqrt(‖v‖²))`` with the sign of ``p``; a few tens of cycles
    per scalar, negligible beside the O(rows + cols) vector passes.
``shift``
    ``‖v‖`` replaced by the smallest power of two ``2^ceil(log2(‖v‖²)/2) >= ‖v‖``, so the division is a shift:
    no divider and no square root. Each sample's contribution is then scaled by a factor in
    ``(1/2, 1]`` of the exact one, which bends the direction estimate slightly (measured in the tests).

The task asked for the division to be approximated "the way Hoskins et al. suggest"; the paper's full
text could not be retrieved in this environment, so no scheme is attributed to it here: the two options
above are this project's own, and the ``shift`` option's cost in accuracy is measured in the tests.

Fixed point. Inputs are ``input_bits`` two's-complement codes for values in ``[-1, 1)`` (``input_bits -
1`` fraction bits). Scalars ``a, b, c`` and the vectors carry ``frac_bits`` fraction bits; products are
truncated (floor, arithmetic shift) back to ``frac_bits``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from pulsetrain.config import ConfigError, check_int


class Normalization(enum.Enum):
    """How the unit divides a dot product by a vector's norm."""

    #: integer square root then restoring division: exact to the last fraction bit.
    EXACT = "exact"
    #: the norm rounded up to a power of two: a shift, no divider.
    SHIFT = "shift"


@dataclass(frozen=True, kw_only=True)
class SbeConfig:
    """SBE streaming unit for one layer: array size, rank and fixed-point widths."""

    #: x lines of the layer (the layer's inputs, ``in_size``): entries of ``X``.
    rows: int = 64
    #: d lines of the layer (its outputs, ``out_size``): entries of ``D``.
    cols: int = 32
    #: singular pairs kept; the RTL unit implements rank 1 (Hoskins et al.'s SBE).
    rank: int = 1
    #: bits of the x and d input codes (two's complement, values in [-1, 1)).
    input_bits: int = 8
    #: fraction bits of the vectors X, D and of the scalars a, b, c.
    frac_bits: int = 12
    #: bits of the X and D entries (two's complement); must hold a full batch (checked).
    vector_bits: int = 32
    #: log2 of the largest batch: at most ``2**batch_bits`` samples between two batch starts.
    batch_bits: int = 8
    #: exact division by the norm or a power-of-two shift.
    normalization: Normalization = Normalization.EXACT

    def __post_init__(self) -> None:
        check_int("sbe.rows", self.rows, 1, 4096)
        check_int("sbe.cols", self.cols, 1, 4096)
        check_int("sbe.rank", self.rank, 1, 1)
        check_int("sbe.input_bits", self.input_bits, 2, 16)
        check_int("sbe.frac_bits", self.frac_bits, self.input_bits - 1, 24)
        check_int("sbe.batch_bits", self.batch_bits, 0, 16)
        if not isinstance(self.normalization, Normalization):
            raise ConfigError(f"sbe.normalization must be one of exact, shift; not {self.normalization!r}")
        check_int("sbe.vector_bits", self.vector_bits, 2, 64)
        if self.vector_bits < self.required_vector_bits:
            raise ConfigError(
                f"sbe.vector_bits must be at least {self.required_vector_bits} to hold a batch of "
                f"{1 << self.batch_bits} samples of a {self.rows}x{self.cols} layer, not {self.vector_bits}"
            )

    # ---------------------------------------------------------------- derived widths (shared with RTL)
    @property
    def input_frac_bits(self) -> int:
        """Fraction bits of the input codes."""
        return self.input_bits - 1

    @property
    def max_batch(self) -> int:
        """Most samples per batch."""
        return 1 << self.batch_bits

    @property
    def scalar_bits(self) -> int:
        """Signed width of the scalars a, b, c.

        ``|d · D̂| <= ‖d‖ <= sqrt(lines)``; the floor of the integer square root can at most double the
        quotient (when ``‖D‖`` is one lsb), hence the factor 2.
        """
        bound = self.scalar_bound
        return bound.bit_length() + 1

    @property
    def required_vector_bits(self) -> int:
        """Signed width that holds ``max_batch`` additions of ``|x_i a| <= scalar bound``."""
        return (self.max_batch * self.scalar_bound).bit_length() + 1

    @property
    def scalar_bound(self) -> int:
        """Largest magnitude of a scalar code a, b or c."""
        return (2 * (math.isqrt(max(self.rows, self.cols)) + 1)) << self.frac_bits

    @property
    def norm_sq_bits(self) -> int:
        """Unsigned width of ``‖X‖²`` and ``‖D‖²`` in codes (``2 frac_bits`` fraction bits)."""
        largest = 1 << (self.vector_bits - 1)
        return (max(self.rows, self.cols) * largest * largest).bit_length()

    @property
    def dot_bits(self) -> int:
        """Signed width of ``x · X`` and ``d · D`` (``input_frac_bits + frac_bits`` fraction bits)."""
        largest = (1 << (self.input_bits - 1)) * (1 << (self.vector_bits - 1))
        return (max(self.rows, self.cols) * largest).bit_length() + 1

    @property
    def sigma_bits(self) -> int:
        """Signed width of the projection sum (``frac_bits`` fraction bits)."""
        bound = self.max_batch * (self.scalar_bound**2 >> self.frac_bits)
        return bound.bit_length() + 1

    @property
    def count_bits(self) -> int:
        """Width of the sample counter (0 .. max_batch)."""
        return self.batch_bits + 1

    @property
    def dividend_shift(self) -> int:
        """``K``: left shift of ``|dot|`` so that ``dot / norm`` lands on ``frac_bits`` fraction bits."""
        return self.frac_bits - self.input_frac_bits

    @property
    def initial_vector_code(self) -> int:
        """Code of every entry of ``D`` before the first batch (1.0)."""
        return 1 << self.frac_bits

    # ---------------------------------------------------------------- timing of the RTL unit
    @property
    def normalize_cycles(self) -> int:
        """Cycles from a normalization's start to the unit seeing its result (non-zero norm).

        Exact: one cycle per root bit (``ceil(norm_sq_bits / 2)``), one per dividend bit
        (``dot_bits + dividend_shift``), one to apply the sign, one for the registered done. Shift: 1.
        """
        if self.normalization is Normalization.SHIFT:
            return 1
        root_bits = (self.norm_sq_bits + 1) // 2
        return root_bits + self.dot_bits + self.dividend_shift + 2

    @property
    def sample_cycles(self) -> int:
        """Cycles per sample with a gap-free input stream (two per element of each of the three passes,
        one idle cycle and three normalizations with their start cycles); for latency estimates."""
        return 1 + 2 * (2 * self.cols + self.rows) + 3 * (1 + self.normalize_cycles)
