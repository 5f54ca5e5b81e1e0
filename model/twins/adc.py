"""Bit-exact twin of the ADC readout control (:class:`pulsetrain.rtl.adc_readout.AdcReadout`).

The analog side is a *comparator function* ``comparator(column, trial_code) -> bool`` answering
``analog value of column >= DAC(trial_code)``; the twin asks it the same questions, in the same order
and for the same codes as the RTL, and reports the same codes and busy-cycle count.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig

#: ``comparator(column, trial_code)``: True when the column's analog value is at or above the trial level.
Comparator = Callable[[int, int], bool]


@dataclass(frozen=True, eq=False)
class AdcConversion:
    """One readout of every column."""

    #: ``(column, code)`` in the order the output stream delivers them (phase by phase, ADC order).
    results: tuple[tuple[int, int], ...]
    #: cycles the block is busy (consumer always ready).
    cycles: int

    def codes(self, columns: int) -> NDArray[np.int64]:
        """(columns,) codes indexed by column."""
        out = np.zeros(columns, dtype=np.int64)
        for column, code in self.results:
            out[column] = code
        return out


class TwinAdcReadout:
    """Codes and timing of one readout for a given analog comparator."""

    def __init__(self, config: AdcReadoutConfig) -> None:
        self._config = config

    @property
    def config(self) -> AdcReadoutConfig:
        """The shared readout config."""
        return self._config

    def _convert_phase(self, columns: list[int], comparator: Comparator) -> tuple[list[int], int]:
        config = self._config
        codes = [0] * len(columns)
        if config.mode is AdcMode.SAR:
            for bit in reversed(range(config.adc_bits)):
                for i, column in enumerate(columns):
                    if comparator(column, codes[i] | (1 << bit)):
                        codes[i] |= 1 << bit
            return codes, config.adc_bits
        done = [False] * len(columns)
        for trial in range(1, config.full_scale_code + 1):
            for i, column in enumerate(columns):
                if not done[i] and not comparator(column, trial):
                    codes[i], done[i] = trial - 1, True
            if all(done):
                return codes, trial
        return [code if d else config.full_scale_code for code, d in zip(codes, done, strict=True)], trial

    def convert(self, comparator: Comparator) -> AdcConversion:
        """Read every column once: ``results`` in stream order and the busy-cycle count."""
        config = self._config
        results: list[tuple[int, int]] = []
        cycles = 0
        for phase in range(config.columns_per_adc):
            columns = [config.column(adc, phase) for adc in range(config.active_adcs(phase))]
            codes, trials = self._convert_phase(columns, comparator)
            results.extend(zip(columns, codes, strict=True))
            cycles += config.settle_cycles + trials * config.compare_cycles + len(columns)
        return AdcConversion(results=tuple(results), cycles=cycles)

    def convert_levels(self, levels: NDArray[np.float64]) -> AdcConversion:
        """Readout of analog levels given in LSB units of the DAC (``value >= trial`` comparator)."""
        values = np.asarray(levels, dtype=np.float64)
        if values.shape != (self._config.columns,):
            raise ValueError(f"levels must have shape ({self._config.columns},), not {values.shape}")
        return self.convert(lambda column, trial: bool(values[column] >= trial))
