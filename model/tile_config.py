"""Configs of a tile's periphery and weight mapping (read by :class:`pulsetrain.model.tile.Tile`).

Defaults follow aihwkit's ``IOParameters`` / ``UpdateParameters`` / ``MappingParameter`` where the concept
exists there; each field says what it means.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.devices import DeviceConfig

from pulsetrain.config import check_choice, check_int, check_range

FloatArray = NDArray[np.float64]


class NoiseManagement(enum.Enum):
    """How inputs are scaled before the DAC (aihwkit ``noise_management``)."""

    #: no scaling: inputs beyond ``inp_bound`` are clipped
    NONE = "none"
    #: each input vector is divided by its largest magnitude, the output multiplied back after the ADC
    ABS_MAX = "abs-max"


@dataclass(frozen=True, kw_only=True)
class IOConfig:
    """Periphery of one read direction (forward or backward). Defaults follow aihwkit's ``IOParameters``.

    Analog quantities are in device units: an input of 1 on a device of state 1 gives an output of 1.
    """

    #: DAC resolution in bits including the sign (levels ``±(2^(bits-1) - 1)`` over ``±inp_bound``);
    #: ``None`` for an ideal (float) input.
    dac_bits: int | None = 7
    #: ADC resolution in bits including the sign (codes ``±(2^(bits-1) - 1)`` over ``±out_bound``);
    #: ``None`` for an ideal (float) output.
    adc_bits: int | None = 9
    #: Standard deviation of the additive Gaussian output noise, in output units (aihwkit ``out_noise``).
    out_noise: float = 0.06
    #: Saturation of the analog output (aihwkit ``out_bound``), in output units.
    out_bound: float = 12.0
    #: Input clipping bound after noise management (aihwkit ``inp_bound``).
    inp_bound: float = 1.0
    #: Input scaling before the DAC.
    noise_management: NoiseManagement = NoiseManagement.ABS_MAX

    def __post_init__(self) -> None:
        if self.dac_bits is not None:
            check_int("io.dac_bits", self.dac_bits, 2, 24)
        if self.adc_bits is not None:
            check_int("io.adc_bits", self.adc_bits, 2, 24)
        check_range("io.out_noise", self.out_noise, 0.0, None)
        check_range("io.out_bound", self.out_bound, 0.0, None, low_open=True)
        check_range("io.inp_bound", self.inp_bound, 0.0, None, low_open=True)
        check_choice("io.noise_management", self.noise_management, list(NoiseManagement))

    @property
    def dac_lsb(self) -> float | None:
        """Input step of one DAC code (``None`` for an ideal DAC)."""
        if self.dac_bits is None:
            return None
        return self.inp_bound / (2 ** (self.dac_bits - 1) - 1)

    @property
    def adc_lsb(self) -> float | None:
        """Output step of one ADC code, in output units (``None`` for an ideal ADC)."""
        if self.adc_bits is None:
            return None
        return self.out_bound / (2 ** (self.adc_bits - 1) - 1)


#: A periphery without any non-ideality (float in, float out, no noise, no saturation to speak of).
IDEAL_IO = IOConfig(dac_bits=None, adc_bits=None, out_noise=0.0, out_bound=1e30, inp_bound=1e30)


class UpdateMode(enum.Enum):
    """How a tile writes an update."""

    #: stochastic pulse trains with coincidence detection
    STOCHASTIC = "stochastic"
    #: rounded expected pulse counts, no randomness in the pulse numbers
    DETERMINISTIC = "deterministic"
    #: exact float change of the device states (reference, not realizable)
    IDEAL = "ideal"


@dataclass(frozen=True, kw_only=True)
class UpdateConfig:
    """Pulsed update settings (aihwkit ``UpdateParameters``)."""

    #: How updates are written.
    mode: UpdateMode = UpdateMode.STOCHASTIC
    #: Most pulse slots per rank-1 update (aihwkit ``desired_bl``); also the cap of deterministic counts.
    desired_bl: int = 31
    #: Shorten BL to ``ceil(lr x_max d_max / dw_min)`` when that is smaller (aihwkit
    #: ``update_bl_management``).
    bl_management: bool = True
    #: Balance the x and d firing probabilities by ``sqrt(d_max / x_max)`` (aihwkit ``update_management``).
    update_management: bool = True

    def __post_init__(self) -> None:
        check_choice("update.mode", self.mode, list(UpdateMode))
        check_int("update.desired_bl", self.desired_bl, 1, 4096)


class WeightMapping(enum.Enum):
    """How logical weights are placed on the devices' range (the digital gain per output line)."""

    #: A fixed digital gain ``output_scale`` (logical weight per device unit), whatever the device: with
    #: ``output_scale`` 3 on a ``±1`` device a weight may reach ``±3`` (pulsetrain's mapping before the
    #: studies of issue 13; the ``pulsetrain train`` default).
    OUTPUT_SCALE = "output-scale"
    #: NeuroSim's mapping: the logical range ``±weight_range`` spans the device's nominal range, gain
    #: ``weight_range / w_max`` (DNN+NeuroSim maps weights in (-1, 1) onto the full conductance range).
    WEIGHT_RANGE = "weight-range"
    #: aihwkit's ``weight_scaling_omega``: when a tile is programmed, the largest |weight| of the tile is
    #: mapped to ``weight_scaling_omega`` device units (gain ``max|W| / omega``, one gain per tile as
    #: aihwkit's default ``weight_scaling_columnwise=False``). A tile never programmed (TTv2's A) keeps
    #: the weight-range gain.
    INITIAL_OMEGA = "initial-omega"


@dataclass(frozen=True, kw_only=True)
class MappingConfig:
    """Weight mapping: how logical weights are placed on the devices' range (see :class:`WeightMapping`)."""

    #: Which mapping (``--set mapping.mode=weight-range``).
    mode: WeightMapping = WeightMapping.OUTPUT_SCALE
    #: ``output-scale`` mode: digital gain after the ADC of every output line, logical weight per device
    #: unit. A larger scale keeps the weights nearer the middle of the range (less soft-bounds decay,
    #: more output noise and a coarser pulse in weight units).
    output_scale: float = 3.0
    #: ``weight-range`` mode: the logical weight that the device's nominal ``w_max`` represents.
    weight_range: float = 1.0
    #: ``initial-omega`` mode: device state (device units) that the tile's largest initial |weight| maps
    #: to (aihwkit ``weight_scaling_omega``).
    weight_scaling_omega: float = 0.6

    def __post_init__(self) -> None:
        check_choice("mapping.mode", self.mode, list(WeightMapping))
        check_range("mapping.output_scale", self.output_scale, 0.0, None, low_open=True)
        check_range("mapping.weight_range", self.weight_range, 0.0, None, low_open=True)
        check_range("mapping.weight_scaling_omega", self.weight_scaling_omega, 0.0, None, low_open=True)

    def gain(self, device: DeviceConfig) -> float:
        """The digital gain (logical weight per device unit) before any weights are programmed."""
        if self.mode is WeightMapping.OUTPUT_SCALE:
            return self.output_scale
        w_max = device.nominal_w_max
        # an unbounded (ideal) device has no range to span: one device unit is ``weight_range``
        return self.weight_range / w_max if np.isfinite(w_max) else self.weight_range

    def gain_for_weights(self, weights: FloatArray) -> float | None:
        """The gain that programming ``weights`` sets (``initial-omega``), or None to keep the gain."""
        if self.mode is not WeightMapping.INITIAL_OMEGA:
            return None
        largest = float(np.max(np.abs(weights))) if weights.size else 0.0
        return largest / self.weight_scaling_omega if largest > 0.0 else None
