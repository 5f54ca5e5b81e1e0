"""Bit-exact twin of the SBE streaming unit (:mod:`pulsetrain.rtl.sbe_unit`).

Integer arithmetic on the codes, in the order and with the truncations of the RTL, as specified in
:mod:`pulsetrain.periphery.sbe`. Python integers are unbounded, so every intermediate is checked against
the width the RTL gives it: an overflow here is a config the RTL would get wrong, and raises.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pulsetrain.config import ConfigError
from pulsetrain.periphery.sbe import Normalization, SbeConfig

__all__ = ["SbeState", "SbeUnitTwin", "normalize"]


def normalize(numerator: int, norm_sq: int, shift: int, mode: Normalization) -> int:
    """``numerator / sqrt(norm_sq)`` in codes: ``sign(p) floor(|p| 2^shift / isqrt(norm_sq))`` (exact) or
    ``sign(p) (|p| 2^shift >> ceil(log2(norm_sq) / 2))`` (shift); 0 when the norm is 0."""
    if norm_sq == 0:
        return 0
    magnitude = abs(numerator) << shift
    if mode is Normalization.EXACT:
        quotient = magnitude // math.isqrt(norm_sq)
    else:
        # the smallest power of two >= sqrt(norm_sq): 2^ceil(log2(norm_sq) / 2)
        quotient = magnitude >> (((norm_sq - 1).bit_length() + 1) // 2)
    return -quotient if numerator < 0 else quotient


@dataclass(frozen=True, eq=False)
class SbeState:
    """The unit's registers and vectors (codes), as the RTL shows them after a batch."""

    #: (rows,) int64 codes of X (``frac_bits`` fraction bits).
    x: NDArray[np.int64]
    #: (cols,) int64 codes of D.
    d: NDArray[np.int64]
    #: ``‖X‖²`` code (``2 frac_bits`` fraction bits).
    x_norm_sq: int
    #: ``‖D‖²`` code.
    d_norm_sq: int
    #: sum of the per-sample projections ``c_j b_j`` (``frac_bits`` fraction bits).
    sigma_sum: int
    #: samples streamed since the batch start.
    count: int


class SbeUnitTwin:
    """Bit-exact model of the rank-1 SBE unit.

    Parameters
    ----------
    config
        Array size, widths and normalization of the unit.
    """

    def __init__(self, config: SbeConfig) -> None:
        self._config = config
        self._x = [0] * config.rows
        self._d = [config.initial_vector_code] * config.cols
        self._x_norm_sq = 0
        self._d_norm_sq = config.cols * config.initial_vector_code**2
        self._sigma_sum = 0
        self._count = 0

    @property
    def config(self) -> SbeConfig:
        """The config this twin mirrors."""
        return self._config

    def start_batch(self) -> None:
        """Forget the running sums (the next sample overwrites X and D); keep D's direction."""
        self._sigma_sum = 0
        self._count = 0

    def _check(self, name: str, value: int, bits: int, signed: bool = True) -> int:
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
        if not low <= value <= high:
            raise ConfigError(f"SBE {name} = {value} overflows its {bits} bits: widen the config")
        return value

    def add(self, x_codes: Sequence[int], d_codes: Sequence[int]) -> None:
        """Stream one sample: x codes (``rows``) and d codes (``cols``), each ``input_bits`` signed."""
        config = self._config
        if len(x_codes) != config.rows or len(d_codes) != config.cols:
            raise ConfigError(f"sample must have {config.rows} x and {config.cols} d codes")
        if self._count >= config.max_batch:
            raise ConfigError(f"batch longer than max_batch = {config.max_batch} samples")
        limit = 1 << (config.input_bits - 1)
        xs = [int(v) for v in x_codes]
        ds = [int(v) for v in d_codes]
        if any(not -limit <= v < limit for v in (*xs, *ds)):
            raise ConfigError(f"input codes must be in {-limit}..{limit - 1}")
        first = self._count == 0
        frac_in = config.input_frac_bits
        k = config.dividend_shift
        mode = config.normalization
        # pass 1: a = d · D̂ with D and ‖D‖² from before this sample
        dot = self._check("d.D", sum(d * v for d, v in zip(ds, self._d, strict=True)), config.dot_bits)
        a = self._check("a", normalize(dot, self._d_norm_sq, k, mode), config.scalar_bits)
        # pass 2: X += x a; accumulate ‖X‖² and x · X on the new values
        new_x = [
            self._check("X", (0 if first else old) + ((x * a) >> frac_in), config.vector_bits)
            for x, old in zip(xs, self._x, strict=True)
        ]
        x_norm_sq = self._check("|X|^2", sum(v * v for v in new_x), config.norm_sq_bits, signed=False)
        x_dot = self._check("x.X", sum(x * v for x, v in zip(xs, new_x, strict=True)), config.dot_bits)
        b = self._check("b", normalize(x_dot, x_norm_sq, k, mode), config.scalar_bits)
        # pass 3: D += d b; accumulate ‖D‖² and d · D on the new values
        new_d = [
            self._check("D", (0 if first else old) + ((d * b) >> frac_in), config.vector_bits)
            for d, old in zip(ds, self._d, strict=True)
        ]
        d_norm_sq = self._check("|D|^2", sum(v * v for v in new_d), config.norm_sq_bits, signed=False)
        d_dot = self._check("d.D", sum(d * v for d, v in zip(ds, new_d, strict=True)), config.dot_bits)
        c = self._check("c", normalize(d_dot, d_norm_sq, k, mode), config.scalar_bits)
        self._x, self._d = new_x, new_d
        self._x_norm_sq, self._d_norm_sq = x_norm_sq, d_norm_sq
        projection = (c * b) >> config.frac_bits
        self._sigma_sum = self._check("sigma", self._sigma_sum + projection, config.sigma_bits)
        self._count += 1

    def state(self) -> SbeState:
        """The registers and vectors now (what a ``read`` of the RTL streams out)."""
        return SbeState(
            x=np.array(self._x, dtype=np.int64),
            d=np.array(self._d, dtype=np.int64),
            x_norm_sq=self._x_norm_sq,
            d_norm_sq=self._d_norm_sq,
            sigma_sum=self._sigma_sum,
            count=self._count,
        )

    # ------------------------------------------------------------------ float views for the algorithm
    def quantize(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        """Float inputs in [-1, 1) to input codes (round to nearest, clipped)."""
        scale = 1 << self._config.input_frac_bits
        return np.clip(np.round(values * scale), -scale, scale - 1).astype(np.int64)

    def estimate(self) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
        """Float view of the batch estimate: unit ``X̂``, mean ``D = sigma D̂`` and the mean projection."""
        scale = float(1 << self._config.frac_bits)
        count = max(self._count, 1)
        x = np.array(self._x, dtype=np.float64)
        norm = float(np.sqrt(x @ x))
        x_unit = x / norm if norm > 0 else x
        d_mean = np.array(self._d, dtype=np.float64) / scale / count
        return x_unit, d_mean, self._sigma_sum / scale / count
