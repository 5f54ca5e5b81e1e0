"""Bit-exact twin of the chopper sign logic (:class:`pulsetrain.rtl.chopper.ChopperSign`)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode
from pulsetrain.periphery.lfsr import advance, draw


class TwinChopper:
    """Chopper signs of ``config.lines`` lines, flipped by events exactly as the RTL does.

    Parameters
    ----------
    config
        Shared chopper config; the twin starts in the RTL's reset state (all signs positive, LFSR at
        ``config.lfsr.seed``, sweep counter 0).
    """

    def __init__(self, config: ChopperConfig) -> None:
        self._config = config
        self.reset()

    @property
    def config(self) -> ChopperConfig:
        """The shared chopper config."""
        return self._config

    def reset(self) -> None:
        """Back to the reset state."""
        self._negative = np.zeros(self._config.lines, dtype=bool)
        self._lfsr_state = self._config.lfsr.seed
        self._sweep = 0
        self._flipped = False

    @property
    def negative(self) -> NDArray[np.bool_]:
        """(lines,) chopper signs, True where ``c_i = -1`` (a copy)."""
        return self._negative.copy()

    @property
    def signs(self) -> NDArray[np.int8]:
        """(lines,) chopper signs as ``+1`` / ``-1``."""
        return np.where(self._negative, -1, 1).astype(np.int8)

    @property
    def lfsr_state(self) -> int:
        """State of the flip LFSR."""
        return self._lfsr_state

    @property
    def sweep(self) -> int:
        """Regular-mode sweep counter."""
        return self._sweep

    @property
    def flipped(self) -> bool:
        """Whether the most recent event flipped its line(s) (the RTL's ``flipped`` output)."""
        return self._flipped

    def _decide(self, counts_sweep: bool) -> bool:
        config = self._config
        if config.mode is ChopperMode.RANDOM:
            self._lfsr_state = advance(config.lfsr, self._lfsr_state)
            return draw(self._lfsr_state, config.probability_bits) < config.flip_code
        period = config.regular_period
        if period == 0:
            return False
        if counts_sweep:
            self._sweep = (self._sweep + 1) % period
        return self._sweep == 0

    def event(self, line: int | None) -> bool:
        """One flip event after the read of ``line`` (None: all lines, one decision); True if it flipped."""
        if line is None:
            flip = self._decide(counts_sweep=True)
            if flip:
                self._negative ^= True
        else:
            if not 0 <= line < self._config.lines:
                raise ValueError(f"line must be in 0..{self._config.lines - 1}, not {line}")
            flip = self._decide(counts_sweep=line == 0)
            if flip:
                self._negative[line] ^= True
        self._flipped = flip
        return flip

    def chop(self, negative: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Write path: data signs XOR chopper signs (True: negative)."""
        return np.asarray(negative, dtype=bool) ^ self._negative

    def read_negative(self, line: int) -> bool:
        """Read path: the chopper sign of ``line`` to multiply the value read through it by."""
        return bool(self._negative[line])
