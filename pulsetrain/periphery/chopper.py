"""Chopper sign logic: one sign register per line, flipped after reads, randomly or regularly.

Chopped TTv2 and AGAD (Rasch et al., arXiv 2303.04721) multiply the gradient written into A by a sign
``c_i = ±1`` per input line and the value read back from A by the same sign, so a constant offset of A is
modulated by ``c`` and averages out in H. Following aihwkit's ``ChoppedTransferCompound`` documentation
(``in_chop_prob``: "switched with the given probability once after the corresponding vector read";
``in_chop_random=False``: all lines switch in the same sweep, every ``1/in_chop_prob`` reads of a line),
a flip *event* is signalled after the read of one line:

- random mode: one LFSR advance per event; the line's sign flips when the draw (low
  ``probability_bits`` bits of the LFSR state) is below ``flip_code``;
- regular mode: a sweep counter counts events on line 0 modulo ``regular_period = ceil(1 / p)``; a line's
  sign flips at its event when the counter is 0 (so every line flips once every ``regular_period``
  sweeps, all in the same sweep).

The *effective* flip rate differs from ``flip_probability``: random mode flips with probability
``flip_code / 2**probability_bits`` (quantised), regular mode with frequency ``1 / ceil(1 / p)`` (0.25 for
``p = 0.3``). :attr:`ChopperConfig.effective_flip_probability` gives it, :meth:`ChopperConfig.notes` says
it, ``pulsetrain rtl`` prints it and the datasheet records it.

An event may also address all lines at once (``flip_all``, e.g. output choppers after a full update): one
decision (one draw, or one counter step) then flips every line. Signs start positive (register 0) after
reset; a set register bit means the sign is negative.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from pulsetrain.config import ConfigError, check_choice, check_int, check_range
from pulsetrain.periphery.lfsr import LfsrConfig, probability_code

#: Largest number of chopper lines (a 4096-wide array); the RTL grows linearly in it.
MAX_LINES = 4096


class ChopperMode(enum.Enum):
    """How flip decisions are made."""

    #: each event flips with probability ``flip_probability`` (LFSR draw against a fixed-point code).
    RANDOM = "random"
    #: every line flips once every ``ceil(1 / flip_probability)`` sweeps, all in the same sweep.
    REGULAR = "regular"


@dataclass(frozen=True, kw_only=True)
class ChopperConfig:
    """Chopper sign registers for ``lines`` lines (aihwkit's ``in_chop_prob`` / ``in_chop_random``)."""

    #: number of chopped lines (inputs of A for the input chopper).
    lines: int = 64
    #: random or regular flips.
    mode: ChopperMode = ChopperMode.RANDOM
    #: flip probability per read of a line (aihwkit ``in_chop_prob``), in [0, 1]; 0 never flips.
    flip_probability: float = 0.1
    #: fractional bits of the fixed-point flip probability (random mode).
    probability_bits: int = 8
    #: the LFSR drawing the random flips; advanced once per event.
    lfsr: LfsrConfig = field(default_factory=lambda: LfsrConfig(width=16, seed=0xC0DE, steps_per_advance=8))

    def __post_init__(self) -> None:
        check_int("chopper.lines", self.lines, 1, MAX_LINES)
        check_choice("chopper.mode", self.mode, list(ChopperMode))
        check_range("chopper.flip_probability", self.flip_probability, 0.0, 1.0)
        check_int("chopper.probability_bits", self.probability_bits, 1, 16)
        if not isinstance(self.lfsr, LfsrConfig):
            raise ConfigError(f"chopper.lfsr must be an LfsrConfig, not {self.lfsr!r}")
        if self.lfsr.width < self.probability_bits:
            raise ConfigError(
                f"chopper.lfsr.width must be >= chopper.probability_bits ({self.probability_bits}), "
                f"not {self.lfsr.width}"
            )

    def derived(self) -> dict[str, object]:
        """Values derived from the config (recorded next to it by ``pulsetrain rtl``)."""
        return {
            "flip_code": self.flip_code,
            "code_width": self.code_width,
            "regular_period": self.regular_period,
            "lfsr_taps": list(self.lfsr.tap_stages),
            "effective_flip_probability": self.effective_flip_probability,
        }

    @property
    def effective_flip_probability(self) -> float:
        """The flip rate the logic realises: ``flip_code / 2**probability_bits`` (random) or
        ``1 / regular_period`` (regular; 0 when ``flip_probability`` is 0)."""
        if self.mode is ChopperMode.RANDOM:
            return self.flip_code / float(1 << self.probability_bits)
        return 1.0 / self.regular_period if self.regular_period else 0.0

    def notes(self) -> list[str]:
        """Where the effective behaviour differs from the numbers given (said by ``pulsetrain rtl``)."""
        effective = self.effective_flip_probability
        if effective == self.flip_probability:
            return []
        if self.mode is ChopperMode.RANDOM:
            rule = f"flip_code {self.flip_code} / 2^{self.probability_bits}"
        else:
            rule = f"every ceil(1 / p) = {self.regular_period} sweeps"
        given = self.flip_probability
        return [f"chopper flips with probability {effective:g} ({rule}), not flip_probability {given:g}"]

    @property
    def flip_code(self) -> int:
        """Fixed-point flip probability: an event flips when the draw is below this code."""
        return probability_code(self.flip_probability, self.probability_bits)

    @property
    def code_width(self) -> int:
        """Bits of :attr:`flip_code` (``probability_bits + 1``: the code of probability 1 is ``2**bits``)."""
        return self.probability_bits + 1

    @property
    def regular_period(self) -> int:
        """Sweeps between flips in regular mode, ``ceil(1 / p)``; 0 when ``p == 0`` (never flips)."""
        if self.flip_probability == 0:
            return 0
        return max(1, math.ceil(1.0 / self.flip_probability))

    @property
    def counter_width(self) -> int:
        """Bits of the regular-mode sweep counter."""
        return max(1, (self.regular_period - 1).bit_length())
