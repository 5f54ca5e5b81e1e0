"""ADC readout control: column multiplexing, SAR or ramp conversion, settle timing, (column, code) out.

``columns`` array columns share ``adcs = ceil(columns / columns_per_adc)`` converters. ADC ``a`` serves
columns ``a * columns_per_adc + phase`` for ``phase = 0..columns_per_adc - 1`` (contiguous groups; the
last ADC may have fewer columns). All ADCs work in lockstep, one *phase* at a time:

1. settle: ``mux_select = phase`` and ``sample`` high for ``settle_cycles`` cycles (the multiplexer and
   the sample-and-hold settle on the new column);
2. convert: the digital side puts a *trial code* on each ADC's DAC and, ``compare_cycles`` cycles later,
   samples that ADC's comparator, which answers ``analog value >= DAC(trial code)``:

   - SAR: trials ``code | 1 << b`` for ``b = adc_bits-1 .. 0``; bit ``b`` is kept when the comparator is 1
     (``adc_bits`` trials);
   - ramp (counting ADC): one shared ramp ``t = 1, 2, ...``; an ADC's code is ``t - 1`` at its first
     comparator 0, or ``2**adc_bits - 1`` if it never drops; the ramp stops as soon as every ADC is
     done (data-dependent time, at most ``2**adc_bits - 1`` trials);

   for a monotone comparator both give ``max{c : value >= DAC(c)}``;
3. output: the codes of the phase's columns leave on a stream, one ``(column, code)`` per cycle in ADC
   order (each waits for the consumer's ready).

Busy cycles of one readout with an always-ready consumer, per phase:
``settle_cycles + trials * compare_cycles + columns in the phase``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pulsetrain.config import ConfigError, check_choice, check_int

#: Largest number of columns one readout block serves.
MAX_COLUMNS = 4096


class AdcMode(enum.Enum):
    """Conversion algorithm of the ADCs: the readout's sequencing and the schedule's conversion cycles."""

    #: successive approximation: one comparator trial per bit, MSB first (``adc_bits`` trials).
    SAR = "sar"
    #: counting / single-slope: a shared ramp of trial codes until every comparator drops (up to
    #: ``2**adc_bits`` trials).
    RAMP = "ramp"


@dataclass(frozen=True, kw_only=True)
class AdcReadoutConfig:
    """Readout control of one array's columns."""

    #: number of array columns read out.
    columns: int = 64
    #: columns multiplexed onto one ADC (k); ADCs = ceil(columns / k).
    columns_per_adc: int = 8
    #: ADC resolution in bits.
    adc_bits: int = 8
    #: SAR or ramp conversion.
    mode: AdcMode = AdcMode.SAR
    #: cycles the multiplexer and sample-and-hold settle after switching to a new column (>= 1).
    settle_cycles: int = 2
    #: cycles each trial code is held on the DAC before its comparator is sampled (>= 1).
    compare_cycles: int = 1

    def __post_init__(self) -> None:
        check_int("adc.columns", self.columns, 1, MAX_COLUMNS)
        check_int("adc.columns_per_adc", self.columns_per_adc, 1, self.columns)
        check_int("adc.adc_bits", self.adc_bits, 1, 16)
        check_choice("adc.mode", self.mode, list(AdcMode))
        check_int("adc.settle_cycles", self.settle_cycles, 1, 1024)
        check_int("adc.compare_cycles", self.compare_cycles, 1, 1024)
        if self.mode is AdcMode.RAMP and self.adc_bits > 12:
            raise ConfigError(f"adc.adc_bits must be <= 12 for a ramp ADC (4096 trials), not {self.adc_bits}")

    def derived(self) -> dict[str, object]:
        """Values derived from the config (recorded next to it by ``pulsetrain rtl``)."""
        return {"adcs": self.adcs, "full_scale_code": self.full_scale_code}

    @property
    def adcs(self) -> int:
        """Number of ADCs."""
        return -(-self.columns // self.columns_per_adc)

    @property
    def full_scale_code(self) -> int:
        """Largest code, ``2**adc_bits - 1``."""
        return (1 << self.adc_bits) - 1

    def column(self, adc: int, phase: int) -> int:
        """Column served by ``adc`` in ``phase`` (may be ``>= columns`` for the last ADC: idle)."""
        return adc * self.columns_per_adc + phase

    def active_adcs(self, phase: int) -> int:
        """ADCs with a real column in ``phase`` (all but possibly the last)."""
        return sum(1 for adc in range(self.adcs) if self.column(adc, phase) < self.columns)
