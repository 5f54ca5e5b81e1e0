"""Update pulse generators: per-line pulse trains of BL slots for the rank-1 coincidence update.

For an update ``dW = -lr * d xᵀ`` every x line ``i`` (``in_size`` of them) and every d line ``j``
(``out_size``) gets a train of ``bl`` slots; device ``(j, i)`` steps where both fire in the same slot
(Gokmen & Vlasov, Front. Neurosci. 2016, "Acceleration of DNN training with resistive cross-point
devices"). The training loop computes firing probabilities (update management); the periphery turns them
into *codes* and the codes into pulses. This module fixes both steps for the RTL
(:mod:`pulsetrain.rtl.pulse_generator`) and the twin (:mod:`pulsetrain.model.twins.pulse`).

Stochastic mode
    code ``c = floor(p * 2**probability_bits + 1/2)`` (:func:`~pulsetrain.periphery.lfsr.probability_code`),
    so the probability a line fires is ``c / 2**probability_bits`` (:func:`effective_probability`), not
    ``p``: steps of ``2**-probability_bits``, and ``p < 2**-(probability_bits + 1)`` never fires.
    Each line has its own LFSR (x lines are lines ``0..x_lines-1``, d lines follow), seeded by
    :func:`~pulsetrain.periphery.lfsr.line_seeds`. In every slot each LFSR advances once
    (``lfsr.steps_per_advance`` single steps); with ``streams = combined`` (the default) each line also
    has a second, shorter LFSR (``decorrelator``, seeded by :func:`~pulsetrain.periphery.lfsr.spread_seeds`)
    that advances with it, and the line's *draw* is the low ``probability_bits`` bits of the XOR of both
    new states (``streams = shifted``: of the first alone). The line fires when its draw is below ``c``.
    LFSRs advance in every slot whatever the codes, so their states depend only on the number of slots
    run since reset.

Why two LFSRs per line
    Lines that are shifts of one maximal-length sequence are linearly related whenever a sparse multiple
    of the feedback polynomial spans their offsets. With ``2**m`` lines on the trinomial
    ``x^31 + x^28 + 1`` the stride ``2**(31 - m) - 1`` makes neighbouring lines' draws dependent: two
    lines at codes (1, 26) coincided 1.97 times as often as independent lines would (issue 14). A draw
    pair is exactly independent over the joint period when its ``2 * probability_bits`` bits are linearly
    independent functions of the generator state (the state then runs through all values equally often).
    XOR with a second bank of another width (coprime, so the joint period is the product and the joint
    state is uniform) makes a dependency need the *same* bit combination to vanish in both banks;
    golden-ratio offsets in the second bank share no structure with the first bank's stride, so that
    happens with probability about ``2**-decorrelator.width`` per tied pair. :func:`dependent_draws`
    checks every pair of lines and every lag up to ``bl_max`` exactly (by rank over GF(2)); the test suite
    runs it for 4..1024 lines. The alternatives cost more: different polynomials per line (too few sparse
    primitive ones, one transition table per line in the twin) or one LFSR of more than 47 bits per line.

Cost of the decorrelator (``pulsetrain synth --block pulse-generator --size 64 --target T --set
streams=shifted|combined``, 64 x + 64 d lines, Yosys 0.70, measured 2026-12-04): generic 11,692 -> 15,868
cells and 5,389 -> 7,565 flip-flops (+17 per line); iCE40 4,445 -> 7,384 LUT4 (neither fits an UP5K);
Nangate45 43,648 -> 63,272 um^2 (+45 %), 11.8 -> 15.3 mW at 100 MHz, critical path unchanged (0.77 ns).
Deterministic mode
    code ``n = floor(p * bl + 1/2)``, a pulse count in ``0..bl``. x lines fire in the first ``n`` slots (a
    pulse of width ``n``); d lines spread their ``n`` pulses evenly (an accumulator adds ``n`` per slot and
    fires when it reaches ``bl``, keeping the remainder), so an x line with ``n_x`` and a d line with
    ``n_d`` coincide ``floor(n_x * n_d / bl)`` times, close to the stochastic mean ``bl * p_x * p_d``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from pulsetrain.config import ConfigError, check_choice, check_int
from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm, line_seeds, spread_offset, spread_seeds

#: Largest number of lines per side (x or d) a generator may have.
MAX_LINES = 4096


class PulseMode(enum.Enum):
    """How codes become pulse trains."""

    #: each slot fires with probability ``code / 2**probability_bits`` (LFSR + comparator per line).
    STOCHASTIC = "stochastic"
    #: ``code`` pulses per train: x lines in one block at the start, d lines spread evenly.
    DETERMINISTIC = "deterministic"


class LineStreams(enum.Enum):
    """How the per-line random streams of stochastic mode are built."""

    #: each line: the XOR of its LFSR and its decorrelator LFSR (pairwise independent draws).
    COMBINED = "combined"
    #: each line: its LFSR alone, a shift of one sequence (neighbouring lines correlated: kept as the
    #: fault variant the independence test must catch).
    SHIFTED = "shifted"


@dataclass(frozen=True, kw_only=True)
class PulseGeneratorConfig:
    """Row and column pulse generators of one array: ``x_lines`` (inputs) and ``d_lines`` (errors)."""

    #: number of x lines (the layer's ``in_size``).
    x_lines: int = 64
    #: number of d lines (the layer's ``out_size``).
    d_lines: int = 64
    #: width of the slot counter; the largest BL it can count is ``2**bl_counter_bits - 1``.
    bl_counter_bits: int = 5
    #: largest pulse-train length (slots) accepted per update (aihwkit's default ``desired_bl`` cap is 31).
    bl_max: int = 31
    #: fractional bits of the fixed-point firing probability (stochastic mode).
    probability_bits: int = 8
    #: stochastic or deterministic trains.
    mode: PulseMode = PulseMode.STOCHASTIC
    #: per-line LFSRs (stochastic mode); ``steps_per_advance >= probability_bits`` gives fresh draws.
    #: The default, a 31-bit Fibonacci LFSR on the trinomial x^31 + x^28 + 1 (XAPP052), advances 8 steps
    #: per slot with 8 two-input XORs per line (a leap of up to 28 steps touches only old bits), and its
    #: period 2^31 - 1 leaves each of 1024 lines a private segment of 2 million steps.
    lfsr: LfsrConfig = field(
        default_factory=lambda: LfsrConfig(
            width=31, form=LfsrForm.FIBONACCI, seed=0x1234_5678, steps_per_advance=8
        )
    )
    #: how lines' streams are built (stochastic mode): ``combined`` XORs in the decorrelator bank.
    streams: LineStreams = LineStreams.COMBINED
    #: the second per-line LFSR of ``combined`` streams; its width must be coprime to ``lfsr.width`` and
    #: at least ``probability_bits``. The default, the 17-bit trinomial x^17 + x^14 + 1 (XAPP052) in
    #: Fibonacci form, leaps 8 steps with 8 two-input XORs per line.
    decorrelator: LfsrConfig = field(
        default_factory=lambda: LfsrConfig(
            width=17, form=LfsrForm.FIBONACCI, seed=0x0ACE5, steps_per_advance=8
        )
    )

    def __post_init__(self) -> None:
        check_int("pulse.x_lines", self.x_lines, 1, MAX_LINES)
        check_int("pulse.d_lines", self.d_lines, 1, MAX_LINES)
        check_int("pulse.bl_counter_bits", self.bl_counter_bits, 1, 16)
        check_int("pulse.bl_max", self.bl_max, 1, (1 << self.bl_counter_bits) - 1)
        check_int("pulse.probability_bits", self.probability_bits, 1, 16)
        check_choice("pulse.mode", self.mode, list(PulseMode))
        if not isinstance(self.lfsr, LfsrConfig):
            raise ConfigError(f"pulse.lfsr must be an LfsrConfig, not {self.lfsr!r}")
        if self.lfsr.width < self.probability_bits:
            raise ConfigError(
                f"pulse.lfsr.width must be >= pulse.probability_bits ({self.probability_bits}), "
                f"not {self.lfsr.width}"
            )
        if self.lines > self.lfsr.period:
            raise ConfigError(
                f"pulse.lfsr.width {self.lfsr.width} gives {self.lfsr.period} distinct seeds, "
                f"fewer than the {self.lines} lines"
            )
        check_choice("pulse.streams", self.streams, list(LineStreams))
        if not isinstance(self.decorrelator, LfsrConfig):
            raise ConfigError(f"pulse.decorrelator must be an LfsrConfig, not {self.decorrelator!r}")
        if self.combined:
            self._check_decorrelator()

    def _check_decorrelator(self) -> None:
        width = self.decorrelator.width
        if width < self.probability_bits:
            raise ConfigError(
                f"pulse.decorrelator.width must be >= pulse.probability_bits ({self.probability_bits}), "
                f"not {width}"
            )
        if math.gcd(width, self.lfsr.width) != 1:
            raise ConfigError(
                f"pulse.decorrelator.width must be coprime to pulse.lfsr.width ({self.lfsr.width}) so that "
                f"the joint period is the product of both, not {width}"
            )
        if self.lines > self.decorrelator.period:
            raise ConfigError(
                f"pulse.decorrelator.width {width} gives {self.decorrelator.period} distinct seeds, "
                f"fewer than the {self.lines} lines"
            )

    @property
    def combined(self) -> bool:
        """Stochastic mode with ``combined`` streams: each line XORs two LFSRs."""
        return self.mode is PulseMode.STOCHASTIC and self.streams is LineStreams.COMBINED

    def derived(self) -> dict[str, object]:
        """Values derived from the config (recorded next to it by ``pulsetrain rtl``)."""
        derived: dict[str, object] = {
            "lines": self.lines,
            "code_width": self.code_width,
            "lfsr_taps": list(self.lfsr.tap_stages),
        }
        if self.mode is PulseMode.STOCHASTIC:
            derived["probability_step"] = 2.0**-self.probability_bits
            derived["smallest_firing_probability"] = 2.0**-self.probability_bits
        if self.combined:
            derived["decorrelator_taps"] = list(self.decorrelator.tap_stages)
            derived["decorrelator_offset"] = spread_offset(self.decorrelator)
        return derived

    def notes(self) -> list[str]:
        """Where the effective behaviour differs from the numbers given (said by ``pulsetrain rtl``)."""
        if self.mode is PulseMode.STOCHASTIC:
            step = 2.0**-self.probability_bits
            scale = 1 << self.probability_bits
            note = (
                f"firing probabilities are quantised to multiples of {step:g} (2^-{self.probability_bits}): "
                f"p fires with probability floor(p * {scale} + 1/2) / {scale}, "
                f"and p < {step / 2:g} never fires"
            )
            return [note]
        note = (
            "deterministic pulse counts are round(p * bl): a line fires n = floor(p * bl + 1/2) times per "
            "train, so p is quantised to multiples of 1 / bl"
        )
        return [note]

    @property
    def lines(self) -> int:
        """All lines: x lines first, then d lines."""
        return self.x_lines + self.d_lines

    @property
    def code_width(self) -> int:
        """Bits of a line's code: ``probability_bits + 1`` (stochastic) or enough for ``bl_max``."""
        if self.mode is PulseMode.STOCHASTIC:
            return self.probability_bits + 1
        return self.bl_max.bit_length()

    def seeds(self) -> tuple[int, ...]:
        """Per-line LFSR seeds (x lines, then d lines)."""
        return line_seeds(self.lfsr, self.lines)

    def decorrelator_seeds(self) -> tuple[int, ...]:
        """Per-line decorrelator seeds (x lines, then d lines); empty unless :attr:`combined`."""
        return spread_seeds(self.decorrelator, self.lines) if self.combined else ()

    def check_bl(self, bl: int) -> None:
        """Refuse a train length the slot counter cannot run."""
        check_int("bl", bl, 0, self.bl_max)


def quantize(config: PulseGeneratorConfig, probability: NDArray[np.float64], bl: int) -> NDArray[np.int64]:
    """Codes of firing probabilities for ``bl`` slots (see the module docstring for both modes).

    Probabilities must lie in [0, 1]; values above 1 by less than ``1e-9`` (rounding in update management)
    are taken as 1.
    """
    config.check_bl(bl)
    p = np.asarray(probability, dtype=np.float64)
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1 + 1e-9):
        bad = p[~(np.isfinite(p) & (p >= 0) & (p <= 1 + 1e-9))]
        raise ValueError(f"firing probabilities must be in [0, 1], got {bad[:4].tolist()}")
    p = np.minimum(p, 1.0)
    scale = float(1 << config.probability_bits) if config.mode is PulseMode.STOCHASTIC else float(bl)
    return np.floor(p * scale + 0.5).astype(np.int64)


def effective_probability(config: PulseGeneratorConfig, code: int | NDArray[np.int64]) -> NDArray[np.float64]:
    """Probability that a line with ``code`` fires in one slot (stochastic mode): ``code / 2**bits``."""
    return np.asarray(code, dtype=np.float64) / float(1 << config.probability_bits)
