"""Exact pairwise independence of the stochastic pulse generator's draws, by rank over GF(2).

A line's draw in a slot is ``probability_bits`` bits of its LFSR state(s), and every state bit is a
linear function (over GF(2)) of the generator's state at reset. Two draws (two lines, or one line at two
slots) are *exactly* independent and uniform over the generator's period when their
``2 * probability_bits`` bits are linearly independent functions: the generator state then runs through
all its values equally often, and each value of the pair of draws is hit by the same number of states.
A dependent pair shares at least one linear relation, which halves (or zeroes) the joint probability of
some pairs of draw values: at code 1 on both lines, a single relation makes the two lines coincide twice
as often as independent lines (the 1.97 of issue 14).

The seeds of both banks are arithmetic progressions along their sequences (line ``i`` starts
``i * stride`` steps on), so whether lines ``i`` and ``i + k`` at a lag of ``l`` slots are independent
depends on ``(k, l)`` only: :func:`dependent_draws` checks every ``k`` in ``0..lines - 1`` and every
``l`` in ``-max_lag..max_lag`` (``k = 0``: one line's own lag correlation, ``l >= 1``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pulsetrain.periphery.lfsr import LfsrConfig, spread_offset, transition_columns
from pulsetrain.periphery.pulse import PulseGeneratorConfig, PulseMode

_ONE = np.uint64(1)


def _transposed(columns: tuple[int, ...]) -> tuple[int, ...]:
    """Columns of the transposed map, i.e. the rows of ``columns`` as integers."""
    width = len(columns)
    return tuple(sum(((column >> i) & 1) << j for j, column in enumerate(columns)) for i in range(width))


def _apply(columns: tuple[int, ...], vectors: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """The linear map ``columns`` applied to every vector of an array (vectorised ``apply_columns``)."""
    image = np.zeros_like(vectors)
    for bit, column in enumerate(columns):
        image ^= np.where((vectors >> np.uint64(bit)) & _ONE, np.uint64(column), np.uint64(0))
    return image


def _draw_forms(config: LfsrConfig, stride: int, lines: int, max_lag: int, bits: int) -> NDArray[np.uint64]:
    """(lines, 2 * max_lag + 1, bits) linear forms of draw bits, relative to line 0 at slot 0.

    Entry ``[k, lag + max_lag, b]`` is the form (a row vector on the reset state, as an integer) of bit
    ``b`` of line ``k``'s state ``lag`` slots later, with the common factor of line 0's position
    removed (it is invertible and does not change any rank).
    """
    # row b of M**e is (M^T)**e applied to the unit vector e_b
    step_map = _transposed(transition_columns(config, stride % config.period))
    forms = np.zeros((lines, bits), dtype=np.uint64)
    forms[0] = np.uint64(1) << np.arange(bits, dtype=np.uint64)
    for k in range(1, lines):
        forms[k] = _apply(step_map, forms[k - 1])
    lagged = np.zeros((lines, 2 * max_lag + 1, bits), dtype=np.uint64)
    for index, lag in enumerate(range(-max_lag, max_lag + 1)):
        steps = (lag * config.steps_per_advance) % config.period
        lagged[:, index] = _apply(_transposed(transition_columns(config, steps)), forms)
    return lagged


def _ranks(vectors: NDArray[np.uint64], width: int) -> NDArray[np.int64]:
    """Rank over GF(2) of each row's set of vectors: ``vectors`` is (batch, count), ``width`` bits each."""
    batch = vectors.shape[0]
    basis = np.zeros((batch, width), dtype=np.uint64)
    rank = np.zeros(batch, dtype=np.int64)
    rows = np.arange(batch)
    for index in range(vectors.shape[1]):
        vector = vectors[:, index].copy()
        for bit in range(width - 1, -1, -1):
            has = ((vector >> np.uint64(bit)) & _ONE).astype(bool)
            pivot = basis[:, bit]
            place = has & (pivot == 0)
            reduce = has & (pivot != 0)
            basis[rows[place], bit] = vector[place]
            rank += place
            vector[place] = 0
            vector[reduce] ^= pivot[reduce]
    return rank


def dependent_draws(config: PulseGeneratorConfig, max_lag: int | None = None) -> list[tuple[int, int]]:
    """Every ``(k, lag)`` whose draws are linearly dependent: lines ``i`` and ``i + k``, ``lag`` slots apart.

    ``max_lag`` defaults to ``config.bl_max`` (every lag within one train). An empty list means every pair
    of lines, at every lag up to ``max_lag``, draws exactly independent uniform values over the
    generator's period, so any pair of codes coincides exactly as often as the product of the rates says.

    Raises
    ------
    ValueError
        in deterministic mode (no draws).
    """
    if config.mode is not PulseMode.STOCHASTIC:
        raise ValueError("dependent_draws needs a stochastic pulse generator config")
    lag = config.bl_max if max_lag is None else max_lag
    bits = config.probability_bits
    lines = config.lines
    forms = _draw_forms(config.lfsr, config.lfsr.period // lines, lines, lag, bits)
    width = config.lfsr.width
    if config.combined:
        second = config.decorrelator
        forms = forms | (_draw_forms(second, spread_offset(second), lines, lag, bits) << np.uint64(width))
        width += second.width
    reference = forms[0, lag]  # line 0 at slot 0: the other draw of every pair is taken against it
    pairs = forms.reshape(lines * (2 * lag + 1), bits)
    candidates = np.concatenate([np.broadcast_to(reference, pairs.shape), pairs], axis=1)
    ranks = _ranks(candidates, width).reshape(lines, 2 * lag + 1)
    found = []
    for k, index in zip(*np.nonzero(ranks < 2 * bits), strict=True):
        offset = int(index) - lag
        if k == 0 and offset <= 0:
            continue  # a draw against itself, or the mirror of a positive lag
        found.append((int(k), offset))
    return found
