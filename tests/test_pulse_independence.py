"""Independence of the stochastic pulse generator's lines: exact algebra and exact binomial statistics.

Neither check compares against the twin's rule (the RTL-versus-twin tests share that rule and cannot see a
correlation). The algebraic check (:func:`~pulsetrain.periphery.independence.dependent_draws`) works on
the config alone; the statistical check counts coincidences in the pulse trains the generator makes
(drawn with the bit-exact twin, which the RTL-versus-twin tests hold equal to the RTL on every suite
seed) and holds every count to exact binomial bounds of independent lines.

Statistical test, stated: each line fires with probability ``q = code / 2**probability_bits``. For every
ordered pair of lines ``(i, j)`` (``i == j`` only at lags >= 1) and every lag ``0..MAX_LAG`` slots, the
number of slots where ``i`` fires and ``j`` fires ``lag`` slots later is, for independent lines,
Binomial(n, q_i q_j) with ``n`` the slot pairs counted. Every count must lie within the two-sided exact
binomial interval of level ``1 - FALSE_ALARM / tests`` (Bonferroni), so a correct generator fails the
whole test with probability at most ``FALSE_ALARM`` (1e-6). Codes: every line gets code 1 or 26 (the
issue's pair), by one bit of its line index per run, so that every pair of lines meets at (1, 26) and
(26, 1) in some run and at (1, 1) or (26, 26) in the others; code 1 fires on the all-zero draw, which
satisfies every linear relation, so a pair tied by one relation coincides twice as often there.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pulsetrain.model.twins.pulse import TwinPulseGenerator
from scipy.stats import binom

from pulsetrain.periphery.independence import dependent_draws
from pulsetrain.periphery.lfsr import LfsrConfig
from pulsetrain.periphery.pulse import LineStreams, PulseGeneratorConfig

#: family-wise false-alarm rate of the statistical test (all pairs, lags and runs together).
FALSE_ALARM = 1e-6
#: lags checked by the statistical test, in slots (0: same slot).
MAX_LAG = 4
#: the two codes every line takes (probability bits 8): the issue's example pair.
CODES = (1, 26)
#: slots per train of the twin used to draw the stream (its counter has 8 bits).
TRAIN = 255


@dataclasses.dataclass(frozen=True)
class Violation:
    """One count outside its exact binomial bounds."""

    run: int
    line: int
    other: int
    lag: int
    count: int
    expected: float
    low: int
    high: int

    @property
    def ratio(self) -> float:
        """Observed over expected coincidences."""
        return self.count / self.expected


def _config(lines: int, streams: LineStreams) -> PulseGeneratorConfig:
    return PulseGeneratorConfig(
        x_lines=lines // 2, d_lines=lines - lines // 2, bl_counter_bits=8, bl_max=TRAIN, streams=streams
    )


def _lagged_counts(config: PulseGeneratorConfig, codes: np.ndarray, slots: int) -> np.ndarray:
    """(MAX_LAG + 1, lines, lines) counts of ``i`` firing at ``t`` and ``j`` at ``t + lag``, within trains."""
    generator = TwinPulseGenerator(config)
    lines = config.lines
    x_codes, d_codes = codes[: config.x_lines], codes[config.x_lines :]
    no_sign_x, no_sign_d = np.zeros(config.x_lines, bool), np.zeros(config.d_lines, bool)
    counts = np.zeros((MAX_LAG + 1, lines, lines))
    for _ in range(slots // TRAIN):
        trains = generator.fire(x_codes, no_sign_x, d_codes, no_sign_d, TRAIN)
        fire = np.concatenate([trains.x_fire, trains.d_fire], axis=1).astype(np.float32)
        for lag in range(MAX_LAG + 1):
            counts[lag] += fire[: TRAIN - lag].T @ fire[lag:]
    return counts


def coincidence_violations(config: PulseGeneratorConfig, slots: int) -> list[Violation]:
    """Every coincidence count of the runs (one per line-index bit) outside its exact binomial bounds."""
    lines = config.lines
    scale = float(1 << config.probability_bits)
    runs = max(1, (lines - 1).bit_length())
    pair_tests = lines * (lines - 1) // 2 + lines * (lines - 1) * MAX_LAG + lines * MAX_LAG
    alpha = FALSE_ALARM / (runs * pair_tests)  # Bonferroni over every count below
    trains = slots // TRAIN
    found = []
    for run in range(runs):
        codes = np.where((np.arange(lines) >> run) & 1, CODES[0], CODES[1]).astype(np.int64)
        counts = _lagged_counts(config, codes, slots)
        q = codes / scale
        for lag in range(MAX_LAG + 1):
            n = trains * (TRAIN - lag)
            for i in range(lines):
                for j in range(lines):
                    if (lag == 0 and j <= i) or q[i] * q[j] == 0:
                        continue  # same slot: each unordered pair once, no line against itself
                    p = q[i] * q[j]
                    low, high = binom.ppf(alpha / 2, n, p), binom.isf(alpha / 2, n, p)
                    count = int(counts[lag, i, j])
                    if not low <= count <= high:
                        found.append(Violation(run, i, j, lag, count, n * p, int(low), int(high)))
    return found


# --------------------------------------------------------------------------------------------------
# Exact algebra: every pair of lines, every lag in a train
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lines", [4, 5, 8, 16, 24, 64, 128], ids=lambda n: f"{n}lines")
def test_combined_streams_draw_independently_for_every_pair_and_lag(lines: int) -> None:
    assert dependent_draws(_config(lines, LineStreams.COMBINED)) == []


@pytest.mark.slow
@pytest.mark.parametrize("lines", [256, 384, 512, 1024], ids=lambda n: f"{n}lines")
def test_combined_streams_draw_independently_for_many_lines(lines: int) -> None:
    assert dependent_draws(_config(lines, LineStreams.COMBINED)) == []


def test_shifted_streams_tie_lines_the_algebra_finds() -> None:
    # the fault variant (today's generator): with 16 lines, neighbours are tied at lag 0
    dependent = dependent_draws(_config(16, LineStreams.SHIFTED))
    assert any(lag == 0 and k > 0 for k, lag in dependent)
    assert (0, 3) in dependent  # and one line with itself 3 slots later (the trinomial's 28 and 31)


@pytest.mark.parametrize(
    "config",
    [
        # the suite's other stochastic generator configs: cosim benches, cosim training, RTL tests
        PulseGeneratorConfig(
            x_lines=5,
            d_lines=3,
            bl_counter_bits=3,
            bl_max=7,
            probability_bits=4,
            lfsr=LfsrConfig(width=12, seed=0x5A5, steps_per_advance=4),
        ),
        PulseGeneratorConfig(
            x_lines=32, d_lines=10, bl_max=31, lfsr=LfsrConfig(width=16, seed=9, steps_per_advance=8)
        ),
        PulseGeneratorConfig(
            x_lines=3,
            d_lines=4,
            probability_bits=4,
            lfsr=LfsrConfig(width=16, seed=0xBEEF, steps_per_advance=4),
        ),
    ],
    ids=["bench-5x3-w12", "training-32x10-w16", "rtl-3x4-w16"],
)
def test_other_suite_configs_draw_independently(config: PulseGeneratorConfig) -> None:
    assert dependent_draws(config) == []


# --------------------------------------------------------------------------------------------------
# Statistics: coincidences within exact binomial bounds
# --------------------------------------------------------------------------------------------------


def test_combined_streams_coincide_like_independent_lines() -> None:
    violations = coincidence_violations(_config(16, LineStreams.COMBINED), slots=1_000_000)
    assert violations == [], [dataclasses.astuple(v) + (round(v.ratio, 2),) for v in violations[:8]]


def test_shifted_streams_fail_the_coincidence_test() -> None:
    violations = coincidence_violations(_config(16, LineStreams.SHIFTED), slots=1_000_000)
    assert violations, "the test must catch today's generator"
    assert max(v.ratio for v in violations) > 1.8  # neighbours at codes (1, 26) coincide about twice as often


@pytest.mark.slow
@pytest.mark.parametrize("lines", [64, 128], ids=lambda n: f"{n}lines")
def test_combined_streams_coincide_like_independent_lines_long(lines: int) -> None:
    assert coincidence_violations(_config(lines, LineStreams.COMBINED), slots=4_000_000) == []
