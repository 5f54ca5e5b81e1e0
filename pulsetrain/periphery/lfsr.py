"""Linear-feedback shift registers: the pseudo-random source of every stochastic periphery block.

The RTL (:mod:`pulsetrain.rtl.lfsr`) and the digital twin (:mod:`pulsetrain.model.twins.lfsr`) both read an
:class:`LfsrConfig` and the helpers below, so that a seed gives the same bit stream on both sides.

Conventions
-----------
The state is an unsigned integer of ``width`` bits; bit ``i`` (0-based) is stage ``i + 1`` in the tap
numbering of Xilinx XAPP052. ``taps`` lists stage numbers (1-based, the largest is ``width``). The
feedback is XOR, so the all-zero state locks up and is refused as a seed.

- Fibonacci form: ``feedback = XOR of bits (t - 1) for t in taps``; ``state = (state << 1 | feedback)``
  truncated to ``width`` bits (a shift towards the MSB with one XOR tree at the input).
- Galois form: ``out = state & 1``; ``state >>= 1``; if ``out``: ``state ^= mask`` with
  ``mask = OR of 1 << (t - 1) for t in taps`` (a shift towards the LSB with XOR gates between stages: a
  shorter critical path, the usual choice in hardware).

Both forms with the same taps have the maximal period ``2**width - 1`` when the polynomial
``x**width + ... + 1`` with these exponents is primitive over GF(2); :func:`is_maximal_length` checks that
(by the multiplicative order of ``x``), and :class:`LfsrConfig` refuses taps that are not maximal.

An *advance* is ``steps_per_advance`` single steps done in one clock cycle (a leap-forward LFSR): the
RTL unrolls the single step combinationally, the twin applies the precomputed linear map. Advancing by
at least as many steps as the number of bits a comparator reads gives fresh bits at every draw instead
of a shifted copy of the previous draw.

Per-line seeds: many lines (rows, columns, chopper lines) each need their own stream. From one seed,
:func:`line_seeds` places line ``i`` at ``i * stride`` steps further along the same maximal-length
sequence, ``stride = (2**width - 1) // lines``: the lines walk disjoint segments of the sequence, so no
two lines repeat each other for at least ``stride`` steps. The jump is computed with the transition
matrix over GF(2), which is cheap for any ``stride``. Lines that are shifts of one sequence are tied by
every sparse multiple of the feedback polynomial (with a power-of-two line count and a trinomial, lines
``i``, ``i + 1`` and ``i + 4`` are linearly related); :func:`spread_seeds` places lines at offsets of the
golden-ratio sequence instead, for a second bank that breaks such ties (see
:mod:`pulsetrain.periphery.pulse`).
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from pulsetrain.config import ConfigError, check_choice, check_int

#: Smallest and largest LFSR width supported (the primitivity check factors ``2**width - 1`` by trial
#: division, which is instant up to 32 bits).
MIN_WIDTH = 3
MAX_WIDTH = 32

#: Maximal-length taps per width (stage numbers, XAPP052 numbering). Source: P. Alfke, "Efficient Shift
#: Registers, LFSR Counters, and Long Pseudo-Random Sequence Generators", Xilinx application note XAPP052
#: (v1.1, 1996), Table 3 "Taps for Maximum-Length LFSR Counters". Every entry is re-checked for
#: primitivity by :func:`is_maximal_length` (test_periphery_lfsr.py), not taken on trust.
MAXIMAL_TAPS: dict[int, tuple[int, ...]] = {
    3: (3, 2),
    4: (4, 3),
    5: (5, 3),
    6: (6, 5),
    7: (7, 6),
    8: (8, 6, 5, 4),
    9: (9, 5),
    10: (10, 7),
    11: (11, 9),
    12: (12, 6, 4, 1),
    13: (13, 4, 3, 1),
    14: (14, 5, 3, 1),
    15: (15, 14),
    16: (16, 15, 13, 4),
    17: (17, 14),
    18: (18, 11),
    19: (19, 6, 2, 1),
    20: (20, 17),
    21: (21, 19),
    22: (22, 21),
    23: (23, 18),
    24: (24, 23, 22, 17),
    25: (25, 22),
    26: (26, 6, 2, 1),
    27: (27, 5, 2, 1),
    28: (28, 25),
    29: (29, 27),
    30: (30, 6, 4, 1),
    31: (31, 28),
    32: (32, 22, 2, 1),
}


class LfsrForm(enum.Enum):
    """How the feedback is wired (same period and taps; different sequences and critical paths)."""

    #: one XOR tree feeding the first stage (external feedback).
    FIBONACCI = "fibonacci"
    #: XOR gates between the stages (internal feedback); one gate delay per stage.
    GALOIS = "galois"


@dataclass(frozen=True, kw_only=True)
class LfsrConfig:
    """One LFSR (or a bank of them, one per line, seeded by :func:`line_seeds`)."""

    #: number of state bits; the period is ``2**width - 1``.
    width: int = 16
    #: feedback wiring.
    form: LfsrForm = LfsrForm.GALOIS
    #: tap stage numbers (1-based, must contain ``width``); empty: the XAPP052 entry for ``width``
    #: (:attr:`tap_stages` gives the taps in use).
    taps: tuple[int, ...] = ()
    #: initial state (nonzero, below ``2**width``); the base of the per-line seeds.
    seed: int = 1
    #: single steps per advance (per clock enable); >= the bits a comparator reads for fresh draws.
    steps_per_advance: int = 1

    def __post_init__(self) -> None:
        check_int("lfsr.width", self.width, MIN_WIDTH, MAX_WIDTH)
        check_choice("lfsr.form", self.form, list(LfsrForm))
        taps = self.tap_stages
        for tap in taps:
            check_int("lfsr.taps entry", tap, 1, self.width)
        if taps[0] != self.width:
            raise ConfigError(f"lfsr.taps must contain the width {self.width}, not {self.taps!r}")
        if not is_maximal_length(self.width, taps):
            raise ConfigError(
                f"lfsr.taps {self.taps!r} do not give a maximal-length {self.width}-bit LFSR "
                "(the polynomial is not primitive); leave taps empty for the XAPP052 table entry"
            )
        check_seed("lfsr.seed", self.seed, self.width)
        check_int("lfsr.steps_per_advance", self.steps_per_advance, 1, 4 * self.width)

    @property
    def tap_stages(self) -> tuple[int, ...]:
        """The taps in use, largest first: ``taps``, or the XAPP052 entry for ``width`` when empty."""
        return tuple(sorted(set(self.taps or MAXIMAL_TAPS[self.width]), reverse=True))

    def derived(self) -> dict[str, object]:
        """Values derived from the config (recorded next to it by ``pulsetrain rtl``)."""
        return {"taps": list(self.tap_stages), "period": self.period}

    @property
    def period(self) -> int:
        """Length of the state sequence, ``2**width - 1``."""
        return (1 << self.width) - 1

    @property
    def tap_mask(self) -> int:
        """``OR of 1 << (t - 1)`` over the taps: Galois XOR mask, Fibonacci feedback bits."""
        mask = 0
        for tap in self.tap_stages:
            mask |= 1 << (tap - 1)
        return mask


def check_seed(name: str, seed: int, width: int) -> None:
    """Refuse an LFSR seed that is zero (the XOR lock-up state) or does not fit ``width`` bits."""
    check_int(name, seed, 1, (1 << width) - 1)


# --------------------------------------------------------------------------------------------------
# Single steps and the transition matrix over GF(2)
# --------------------------------------------------------------------------------------------------


def step(config: LfsrConfig, state: int) -> int:
    """One single step of the LFSR (not an advance): the reference every other implementation meets."""
    if config.form is LfsrForm.FIBONACCI:
        feedback = (state & config.tap_mask).bit_count() & 1
        return ((state << 1) | feedback) & config.period
    out = state & 1
    state >>= 1
    return state ^ config.tap_mask if out else state


def advance(config: LfsrConfig, state: int, advances: int = 1) -> int:
    """The state after ``advances`` advances of ``steps_per_advance`` single steps each (scalar reference)."""
    for _ in range(advances * config.steps_per_advance):
        state = step(config, state)
    return state


#: A linear map on ``width``-bit states as the images of the basis vectors: ``columns[i]`` is the
#: image of the state ``1 << i``; the image of any state is the XOR of the columns of its set bits.
Columns = tuple[int, ...]


def apply_columns(columns: Sequence[int], state: int) -> int:
    """Image of ``state`` under the linear map given by ``columns``."""
    image = 0
    bit = 0
    while state:
        if state & 1:
            image ^= columns[bit]
        state >>= 1
        bit += 1
    return image


def _compose(outer: Columns, inner: Columns) -> Columns:
    return tuple(apply_columns(outer, column) for column in inner)


@functools.lru_cache(maxsize=256)
def transition_columns(config: LfsrConfig, steps: int) -> Columns:
    """The linear map of ``steps`` single steps (any ``steps >= 0``, by squaring the one-step map)."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, not {steps}")
    one = tuple(step(config, 1 << i) for i in range(config.width))
    result: Columns = tuple(1 << i for i in range(config.width))
    power = one
    while steps:
        if steps & 1:
            result = _compose(power, result)
        power = _compose(power, power)
        steps >>= 1
    return result


def line_seeds(config: LfsrConfig, lines: int) -> tuple[int, ...]:
    """Distinct seeds for ``lines`` LFSRs from ``config.seed``: line ``i`` starts ``i * stride`` steps on.

    ``stride = period // lines``, so the lines walk disjoint segments of one maximal-length sequence.
    Both the twin and the RTL (reset values) use this function.
    """
    check_int("lines", lines, 1, config.period)
    stride = config.period // lines
    jump = transition_columns(config, stride)
    seeds = [config.seed]
    for _ in range(lines - 1):
        seeds.append(apply_columns(jump, seeds[-1]))
    return tuple(seeds)


#: ``(sqrt(5) - 1) / 2``: the golden-ratio fraction whose multiples modulo 1 are the most evenly spread
#: of all Weyl sequences (three-distance theorem), so line offsets ``i * g`` stay far apart for every line
#: count and have no power-of-two structure.
GOLDEN_FRACTION = 0.6180339887498949


def spread_offset(config: LfsrConfig) -> int:
    """Steps between neighbouring lines of :func:`spread_seeds`: ``round(period * g)``, made coprime."""
    offset = round(config.period * GOLDEN_FRACTION)
    while math.gcd(offset, config.period) != 1:
        offset += 1
    return offset


def spread_seeds(config: LfsrConfig, lines: int) -> tuple[int, ...]:
    """Seeds for ``lines`` LFSRs: line ``i`` starts ``(i * spread_offset) mod period`` steps after the seed.

    Unlike :func:`line_seeds` the offset does not depend on the line count, and offsets of neighbouring
    lines differ by a golden-ratio fraction of the period, so no sparse polynomial relates them the way a
    power-of-two stride relates the lines of a trinomial sequence. Distinct for ``lines <= period``
    (the offset is coprime to the period).
    """
    check_int("lines", lines, 1, config.period)
    jump_one = transition_columns(config, spread_offset(config))
    seeds = [config.seed]
    for _ in range(lines - 1):
        seeds.append(apply_columns(jump_one, seeds[-1]))
    return tuple(seeds)


# --------------------------------------------------------------------------------------------------
# Primitivity (maximal length) check
# --------------------------------------------------------------------------------------------------


def _prime_factors(number: int) -> list[int]:
    factors = []
    divisor = 2
    while divisor * divisor <= number:
        if number % divisor == 0:
            factors.append(divisor)
            while number % divisor == 0:
                number //= divisor
        divisor += 1 if divisor == 2 else 2
    if number > 1:
        factors.append(number)
    return factors


def _polymulmod(a: int, b: int, modulus: int, degree: int) -> int:
    """Product of two GF(2) polynomials (bit i: coefficient of x**i) modulo ``modulus`` of ``degree``."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if (a >> degree) & 1:
            a ^= modulus
    return product


def _polypowmod(exponent: int, modulus: int, degree: int) -> int:
    """``x**exponent`` modulo ``modulus``."""
    result, base = 1, 0b10
    while exponent:
        if exponent & 1:
            result = _polymulmod(result, base, modulus, degree)
        base = _polymulmod(base, base, modulus, degree)
        exponent >>= 1
    return result


@functools.cache
def is_maximal_length(width: int, taps: tuple[int, ...]) -> bool:
    """True when ``1 + sum(x**t for t in taps)`` is primitive over GF(2): period ``2**width - 1``.

    A polynomial of degree ``n`` is primitive exactly when ``x`` has multiplicative order ``2**n - 1``
    modulo it: ``x**(2**n - 1) == 1`` and ``x**((2**n - 1) / q) != 1`` for every prime ``q`` dividing
    ``2**n - 1``. Reversing the polynomial (the other tap-numbering convention) preserves primitivity.
    """
    if not taps or max(taps) != width or min(taps) < 1:
        return False
    modulus = 1
    for tap in taps:
        modulus ^= 1 << tap
    order = (1 << width) - 1
    if _polypowmod(order, modulus, width) != 1:
        return False
    return all(_polypowmod(order // q, modulus, width) != 1 for q in _prime_factors(order))


# --------------------------------------------------------------------------------------------------
# Comparators: probability codes against LFSR draws
# --------------------------------------------------------------------------------------------------


def probability_code(probability: float, bits: int) -> int:
    """Fixed-point code of a probability: ``floor(p * 2**bits + 1/2)``, in ``0..2**bits``.

    A comparator fires when an LFSR draw (the low ``bits`` bits of the state, uniform over
    ``0..2**bits - 1`` to within ``2**-width``) is below the code, so it fires with probability
    ``code / 2**bits``: ``0`` never, ``2**bits`` always. The code therefore needs ``bits + 1`` bits.
    """
    check_int("probability bits", bits, 1, MAX_WIDTH)
    if isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1:
        raise ConfigError(f"probability must be in [0, 1], not {probability!r}")
    return int(probability * (1 << bits) + 0.5)


def draw(state: int, bits: int) -> int:
    """The comparator's draw from an LFSR state: its low ``bits`` bits."""
    return state & ((1 << bits) - 1)
