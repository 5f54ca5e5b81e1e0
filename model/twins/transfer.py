"""Bit-exact digital twin of the TTv2-family transfer controller (:mod:`pulsetrain.rtl.transfer_controller`).

Integers only: ADC codes in, H in two's complement with the config's width and fractional bits
(saturating, never wrapping), the transfer learning rate and threshold as fixed-point constants, AGAD's
running mean and reference with ``reference_frac_bits`` fractional bits, and chopper flips from the
shared chopper block's twin (:class:`pulsetrain.model.twins.chopper.TwinChopper`). The formulas are
documented once, in :mod:`pulsetrain.periphery.transfer`; the sequencing (counter, pointer, passes,
hold-off, the state memories, AGAD's reference taking) is the shared
:class:`pulsetrain.model.transfer.TransferSequencer`. Vectorised over the rows of a column with int64
NumPy (every intermediate fits: ``adc_bits + reference_frac_bits <= 24`` and ``h_bits <= 32``)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pulsetrain.model.transfer import TransferSequencer
from pulsetrain.model.twins.chopper import TwinChopper

from pulsetrain.periphery.transfer import MOMENTUM_FRAC_BITS, TransferControllerConfig

__all__ = ["TwinTransferPeriphery", "saturate", "shift_round_half_up", "truncate_toward_zero"]

_MIN = np.minimum.reduce
_MAX = np.maximum.reduce


def saturate(values: NDArray[np.int64], low: int, high: int) -> NDArray[np.int64]:
    """Clamp to ``[low, high]``: H saturates at its width instead of wrapping (same in the RTL)."""
    return np.clip(values, low, high)


def shift_round_half_up(values: NDArray[np.int64], shift: int) -> NDArray[np.int64]:
    """``round(values / 2**shift)`` with ties towards +inf: ``(values + 2**(shift-1)) >> shift``."""
    if shift == 0:
        return values
    return (values + (1 << (shift - 1))) >> shift


def truncate_toward_zero(values: NDArray[np.int64], shift: int) -> NDArray[np.int64]:
    """``values / 2**shift`` rounded toward zero (symmetric for both signs of H)."""
    return np.where(values < 0, -((-values) >> shift), values >> shift)


class TwinTransferPeriphery(TransferSequencer):
    """Integer transfer controller: the same decisions as the RTL for the same config (and seeds).

    Parameters
    ----------
    config
        The digital configuration shared with the RTL; its LFSR seeds fix the random chopper flips.
    """

    #: H codes (h_frac_bits fractional bits), AGAD running mean and reference codes
    #: (reference_frac_bits fractional bits): integers, in the sequencer's column-major memories
    _state_dtype = np.int64

    def __init__(self, config: TransferControllerConfig) -> None:
        super().__init__(config)
        self._h_scale = float(config.h_one)
        self._reference_scale = float(1 << config.reference_frac_bits)
        # The shared chopper block's twins: the same flip events and LFSR draws as the RTL's ChopperSign.
        self._in_chopper = TwinChopper(config.in_chopper)
        self._out_chopper = TwinChopper(config.out_chopper)
        # Pulse counts 1..max: |H| >= n * threshold fires at least n pulses.
        self._pulse_levels = config.threshold_code * np.arange(1, config.max_pulses_per_transfer + 1)

    # ------------------------------------------------------------------------------------------
    # State views (codes for scoreboards)
    # ------------------------------------------------------------------------------------------

    def h_codes(self) -> NDArray[np.int64]:
        """(out_size, in_size) copy of the H memory contents (two's complement values)."""
        return self._h.T.copy()

    def mean_codes(self) -> NDArray[np.int64]:
        """(out_size, in_size) copy of AGAD's running-mean memory."""
        return self._mean.T.copy()

    def reference_codes(self) -> NDArray[np.int64]:
        """(out_size, in_size) copy of AGAD's reference memory."""
        return self._reference.T.copy()

    # ------------------------------------------------------------------------------------------

    def _check_readout(self, readout: ArrayLike) -> NDArray[np.int64]:
        config = self._config
        values = super()._check_readout(readout)
        if values.dtype != np.int64:
            if not np.issubdtype(values.dtype, np.integer) and (
                not np.all(np.isfinite(values)) or not np.all(values == np.round(values))
            ):
                raise ValueError("the twin takes integer ADC codes; quantize the read first")
            values = values.astype(np.int64)
        low, high = int(_MIN(values)), int(_MAX(values))
        if low < config.adc_min_code or high > config.adc_max_code:
            raise ValueError(
                f"ADC codes must lie in [{config.adc_min_code}, {config.adc_max_code}] for adc_bits="
                f"{config.adc_bits}; got [{low}, {high}]"
            )
        return values

    def _in_flip_event(self, column: int) -> bool:
        return self._in_chopper.event(column)

    def _draw_out_flips(self) -> NDArray[np.bool_]:
        return np.array(
            [self._out_chopper.event(row) for row in range(self._config.out_size)], dtype=np.bool_
        )

    def _accumulate(
        self, column: int, values: NDArray[np.float64] | NDArray[np.int64], in_sign: int
    ) -> NDArray[np.int64] | None:
        config = self._config
        frac = config.reference_frac_bits
        signal = (values << frac) - self._reference[column] if self._agad else values << frac
        signed = signal * (in_sign * config.transfer_lr_code) * self._out_signs.astype(np.int64)
        h = saturate(
            self._h[column] + shift_round_half_up(signed, frac), config.h_min_code, config.h_max_code
        )
        magnitude = np.abs(h)
        steps = (magnitude[:, None] >= self._pulse_levels[None, :]).sum(axis=1)
        fired = steps > 0
        if not fired.any():
            self._h[column] = h
            return None
        pulses = np.where(h < 0, -steps, steps).astype(np.int64)
        if config.forget_buffer:
            kept = truncate_toward_zero(h * config.momentum_code, MOMENTUM_FRAC_BITS)
        else:
            fired_amount = steps * config.threshold_code
            net = fired_amount - (fired_amount * config.momentum_code >> MOMENTUM_FRAC_BITS)
            kept = h - np.where(h < 0, -net, net)
            if config.buffer_cap_code > 0:
                kept = np.clip(kept, -config.buffer_cap_code, config.buffer_cap_code)
        self._h[column] = np.where(fired, kept, h)
        return pulses

    def _update_mean(self, column: int, values: NDArray[np.float64] | NDArray[np.int64]) -> None:
        # Running mean: mean += ((code << F) - mean) >> mean_shift (floor), stays within the codes.
        mean = self._mean[column]
        mean += ((values << self._config.reference_frac_bits) - mean) >> self._config.mean_shift
