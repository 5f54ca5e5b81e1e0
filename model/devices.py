"""Resistive device models: how one device's weight moves under programming pulses.

Each device kind is a frozen, validated config (:class:`IdealDevice`, :class:`ConstantStepDevice`,
:class:`LinearStepDevice`, :class:`SoftBoundsDevice`, :class:`ExpStepDevice`, :class:`PowStepDevice`,
and aihwkit's presets in :mod:`pulsetrain.model.device_presets`). :meth:`DeviceConfig.sample` draws the
device-to-device variation of one array of devices and returns a
:class:`~pulsetrain.model.device_array.DeviceArray`, which applies signed pulse counts.

Units
-----
Device states are in *device units*: the nominal bounds are ``w_min < 0 < w_max`` and one pulse moves a
device by about ``dw_min``. The tile's weight mapping (:class:`pulsetrain.model.tile.MappingConfig`)
maps device units to the network's logical weights.

Names and meanings follow IBM aihwkit
-------------------------------------
Every field that carries an aihwkit name means what it means in aihwkit (read from
``src/aihwkit/simulator/configs/devices.py`` and ``src/rpucuda/rpu_pulsed_device.cpp`` ``populate``,
commit 4545f11b5214c5e3c6b9d293053bbf8baf74e110). Per device, with standard Gaussians ``ξ``:

* ``gain = 1 + dw_min_dtod ξ``; ``r = up_down_dtod ξ`` (in units of ``dw_min``, added, not scaled by
  the gain);
* ``s_up = |min(up_down, 0) + gain + r| dw_min``, ``s_down = |-max(up_down, 0) + gain - r| dw_min``:
  ``up_down > 0`` keeps the up step and shrinks the down step to ``(1 - up_down)``, ``up_down < 0``
  shrinks the up step (the absolute values are aihwkit's ``enforce_consistency``);
* bounds ``w_max (1 + w_max_dtod ξ)``, ``w_min (1 + w_min_dtod ξ)`` (here clipped at 5 % of the nominal
  bound so that a bound never crosses 0, where aihwkit takes absolute values: differs for ~0.1 % of
  devices at a spread of 0.3);
* cycle-to-cycle noise ``dw_min_std`` relative to the step; soft-bounds and linear-step devices choose
  additive or multiplicative noise with ``mult_noise`` (aihwkit's default for ``SoftBoundsDevice`` and
  ``LinearStepDevice``: multiplicative);
* ``write_noise_std``: non-accumulating write noise in units of ``dw_min`` (the read sees the hidden
  state plus ``write_noise_std dw_min ξ``, redrawn each time the device is pulsed or programmed).

The step rules themselves are in :mod:`pulsetrain.model.device_array`.

What pulsetrain adds: ``reference_offset_std`` (σ_r of Rasch et al. 2024, the offset of the reference a
device is read against, in units of ``w_max``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pulsetrain.model.device_array import DeviceArray, StepModel

from pulsetrain.config import ConfigError, check_range

#: A slope smaller than this counts as this (keeps ``ref / γ`` finite for linear-step devices).
_SMALLEST_SLOPE = 1e-12


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    """Common base of all device models: the nominal step size."""

    #: Name of the model, as used by ``--device`` (set by each subclass, not a user parameter).
    kind: ClassVar[str] = "base"
    #: Mean change of the device state per pulse, in device units (``> 0``).
    dw_min: float = 0.001

    def __post_init__(self) -> None:
        check_range("device.dw_min", self.dw_min, 0.0, None, low_open=True)

    @property
    def bounded(self) -> bool:
        """True when the device state is limited to ``[w_min, w_max]``."""
        return False

    @property
    def nominal_w_max(self) -> float:
        """Nominal upper bound in device units (``inf`` for an unbounded device)."""
        return math.inf

    @property
    def nominal_w_min(self) -> float:
        """Nominal lower bound in device units (``-inf`` for an unbounded device)."""
        return -math.inf

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArray:
        """Draw the device-to-device variation of an array of devices of ``shape``."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class IdealDevice(DeviceConfig):
    """A perfect device: every pulse moves it by exactly ``dw_min``; no bounds, no noise, no spread."""

    kind: ClassVar[str] = "ideal"

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArray:
        ones = np.ones(shape)
        return DeviceArray(
            step=StepModel.CONSTANT,
            dw_up=ones * self.dw_min,
            dw_down=ones * self.dw_min,
            w_max=np.full(shape, np.inf),
            w_min=np.full(shape, -np.inf),
            reference=np.zeros(shape),
            dw_min_std=0.0,
        )


@dataclass(frozen=True, kw_only=True)
class PulsedDevice(DeviceConfig):
    """Non-idealities shared by the bounded pulsed device models (aihwkit ``PulsedDevice`` semantics).

    The number of states of a device is ``(w_max - w_min) / dw_min`` (:attr:`n_states`); set it through
    ``dw_min``.
    """

    kind: ClassVar[str] = "pulsed"
    #: Mean step per pulse in device units (``(w_max - w_min) / dw_min`` states; default 600 states).
    dw_min: float = 2.0 / 600
    #: Device-to-device spread of the step: relative std of the gain (aihwkit ``dw_min_dtod``).
    dw_min_dtod: float = 0.3
    #: Cycle-to-cycle noise of each pulse, relative to that device's step (aihwkit ``dw_min_std``).
    dw_min_std: float = 0.3
    #: Mean up/down bias (aihwkit ``up_down``): ``> 0`` keeps the up step and scales the down step by
    #: ``1 - up_down``; ``< 0`` scales the up step by ``1 + up_down``. Every device drifts the same way.
    up_down: float = 0.0
    #: Device-to-device spread of the up/down difference in units of ``dw_min`` (aihwkit
    #: ``up_down_dtod``): ``r ξ dw_min`` is added to the up step and subtracted from the down step.
    up_down_dtod: float = 0.01
    #: Nominal upper bound of the device state (device units, ``> 0``).
    w_max: float = 1.0
    #: Nominal lower bound of the device state (device units, ``< 0``).
    w_min: float = -1.0
    #: Device-to-device spread of ``w_max``: relative standard deviation (aihwkit ``w_max_dtod``).
    w_max_dtod: float = 0.3
    #: Device-to-device spread of ``w_min``: relative standard deviation (aihwkit ``w_min_dtod``).
    w_min_dtod: float = 0.3
    #: Non-accumulating write noise in units of ``dw_min`` (aihwkit ``write_noise_std``): reads see the
    #: hidden state plus this noise, drawn anew each time the device is pulsed or programmed.
    write_noise_std: float = 0.0
    #: Per-device offset of the reference the device is read against (a zero-mean Gaussian, std in units
    #: of the nominal ``w_max``; sigma_r of Rasch et al. 2024). The read weight is ``w - offset``, so the
    #: symmetry point of a device no longer reads as zero. Not an aihwkit field.
    reference_offset_std: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("device.w_max", self.w_max, 0.0, None, low_open=True)
        check_range("device.w_min", self.w_min, None, 0.0, high_open=True)
        if self.dw_min >= self.w_max - self.w_min:
            raise ConfigError(
                f"device.dw_min must be smaller than w_max - w_min = {self.w_max - self.w_min:g} "
                f"(at least one state), not {self.dw_min!r}"
            )
        check_range("device.dw_min_dtod", self.dw_min_dtod, 0.0, 1.0)
        check_range("device.dw_min_std", self.dw_min_std, 0.0, 10.0)
        check_range("device.up_down", self.up_down, -1.0, 1.0, low_open=True, high_open=True)
        check_range("device.up_down_dtod", self.up_down_dtod, 0.0, 1.0)
        check_range("device.w_max_dtod", self.w_max_dtod, 0.0, 1.0)
        check_range("device.w_min_dtod", self.w_min_dtod, 0.0, 1.0)
        check_range("device.write_noise_std", self.write_noise_std, 0.0, 1000.0)
        check_range("device.reference_offset_std", self.reference_offset_std, 0.0, 10.0)

    @property
    def n_states(self) -> float:
        """Number of states between the nominal bounds, ``(w_max - w_min) / dw_min``."""
        return (self.w_max - self.w_min) / self.dw_min

    @property
    def bounded(self) -> bool:
        return True

    @property
    def nominal_w_max(self) -> float:
        return self.w_max

    @property
    def nominal_w_min(self) -> float:
        return self.w_min

    def _common(self, shape: tuple[int, int], rng: np.random.Generator) -> dict[str, Any]:
        """The draws every pulsed device makes, in a fixed order (part of the seeded reproducibility)."""
        gain = 1.0 + self.dw_min_dtod * rng.standard_normal(shape)
        spread = self.up_down_dtod * rng.standard_normal(shape)
        up_bias = min(self.up_down, 0.0)
        down_bias = -max(self.up_down, 0.0)
        # a bound never crosses zero: the spread is clipped at 5 % of the nominal bound
        w_max = self.w_max * np.maximum(1.0 + self.w_max_dtod * rng.standard_normal(shape), 0.05)
        w_min = self.w_min * np.maximum(1.0 + self.w_min_dtod * rng.standard_normal(shape), 0.05)
        reference = self.reference_offset_std * self.w_max * rng.standard_normal(shape)
        return {
            "dw_up": np.abs(up_bias + gain + spread) * self.dw_min,
            "dw_down": np.abs(down_bias + gain - spread) * self.dw_min,
            "w_max": w_max,
            "w_min": w_min,
            "reference": reference,
            "dw_min_std": self.dw_min_std,
            "write_noise": self.write_noise_std * self.dw_min,
        }

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArray:
        return DeviceArray(step=StepModel.CONSTANT, **self._common(shape, rng))


@dataclass(frozen=True, kw_only=True)
class ConstantStepDevice(PulsedDevice):
    """Every pulse moves the device by its (sampled) up or down step, clipped at hard bounds."""

    kind: ClassVar[str] = "constant-step"


def _limit_linear_steps(
    common: dict[str, Any], gamma_up: Any, gamma_down: Any, ref_up: Any, ref_down: Any
) -> None:
    """Keep one linear step below half the distance to its fixed point (``a = s γ / |ref| <= 0.5``), so
    that a pulse never overshoots it (the aggregated form needs ``a < 1``)."""
    common["dw_up"] = np.minimum(common["dw_up"], 0.5 * np.abs(ref_up) / gamma_up)
    common["dw_down"] = np.minimum(common["dw_down"], 0.5 * np.abs(ref_down) / gamma_down)


@dataclass(frozen=True, kw_only=True)
class LinearStepDevice(PulsedDevice):
    """A step that changes linearly with the state (aihwkit ``LinearStepDevice``).

    ``dw_up = s_up (1 - γ_up w / w_max)``, ``dw_down = s_down (1 - γ_down w / w_min)``, where ``w_max``
    and ``w_min`` are the nominal bounds (``mean_bound_reference``) or each device's own.
    """

    kind: ClassVar[str] = "linear-step"
    #: Relative decrease of the up step at ``w_max`` (aihwkit ``gamma_up``; 1 is soft bounds).
    gamma_up: float = 0.0
    #: Relative decrease of the down step at ``w_min`` (aihwkit ``gamma_down``).
    gamma_down: float = 0.0
    #: Device-to-device spread of ``gamma_up`` (absolute std, aihwkit ``gamma_up_dtod``).
    gamma_up_dtod: float = 0.05
    #: Device-to-device spread of ``gamma_down`` (absolute std, aihwkit ``gamma_down_dtod``).
    gamma_down_dtod: float = 0.05
    #: Slopes refer to the nominal bounds (True) or to each device's sampled bounds (aihwkit
    #: ``mean_bound_reference``).
    mean_bound_reference: bool = True
    #: Cycle-to-cycle noise proportional to the state-dependent step (True) or to ``s`` (aihwkit
    #: ``mult_noise``).
    mult_noise: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("gamma_up", "gamma_down", "gamma_up_dtod", "gamma_down_dtod"):
            check_range(f"device.{name}", getattr(self, name), 0.0, 100.0)

    def _slopes(self, shape: tuple[int, int], rng: np.random.Generator) -> tuple[Any, Any]:
        # aihwkit's default allow_increasing=False: the slopes are made non-negative
        up = np.abs(self.gamma_up + self.gamma_up_dtod * rng.standard_normal(shape))
        down = np.abs(self.gamma_down + self.gamma_down_dtod * rng.standard_normal(shape))
        return np.maximum(up, _SMALLEST_SLOPE), np.maximum(down, _SMALLEST_SLOPE)

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArray:
        common = self._common(shape, rng)
        gamma_up, gamma_down = self._slopes(shape, rng)
        if self.mean_bound_reference:
            ref_up, ref_down = np.full(shape, self.w_max), np.full(shape, self.w_min)
        else:
            ref_up, ref_down = common["w_max"], common["w_min"]
        _limit_linear_steps(common, gamma_up, gamma_down, ref_up, ref_down)
        return DeviceArray(
            step=StepModel.LINEAR,
            gamma_up=gamma_up,
            gamma_down=gamma_down,
            reference_up=ref_up,
            reference_down=ref_down,
            mult_noise=self.mult_noise,
            **common,
        )


@dataclass(frozen=True, kw_only=True)
class SoftBoundsDevice(PulsedDevice):
    """Steps shrink linearly to zero at each device's bound (aihwkit ``SoftBoundsDevice``).

    ``dw_up = s_up (1 - w / w_max)``, ``dw_down = s_down (1 - w / w_min)`` with the device's sampled
    bounds. The symmetry point is 0 for symmetric steps; with up/down asymmetry it moves toward the bound
    of the weaker direction.
    """

    kind: ClassVar[str] = "soft-bounds"
    #: Cycle-to-cycle noise proportional to the state-dependent step (True, aihwkit's default) or to
    #: ``s`` (additive, aihwkit ``mult_noise=False``).
    mult_noise: bool = True

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArray:
        common = self._common(shape, rng)
        ones = np.ones(shape)
        _limit_linear_steps(common, ones, ones, common["w_max"], common["w_min"])
        return DeviceArray(
            step=StepModel.LINEAR,
            gamma_up=ones,
            gamma_down=ones,
            reference_up=common["w_max"],
            reference_down=common["w_min"],
            mult_noise=self.mult_noise,
            **common,
        )


@dataclass(frozen=True, kw_only=True)
class ExpStepDevice(PulsedDevice):
    """An exponential response (aihwkit ``ExpStepDevice``), applied pulse by pulse.

    ``z = 2 a w / (w_max - w_min) + b``; ``dw_up = s_up max(1 - A_up exp(gamma_up z), 0)``,
    ``dw_down = s_down max(1 - A_down exp(-gamma_down z), 0)``; noise multiplies the step.
    """

    kind: ClassVar[str] = "exp-step"
    #: Scale of the state in ``z`` (aihwkit ``a``).
    a: float = 0.244
    #: Offset of ``z`` (aihwkit ``b``).
    b: float = 0.2425
    #: Amplitude of the up-step decrease (aihwkit ``A_up``).
    A_up: float = 0.00081
    #: Amplitude of the down-step decrease (aihwkit ``A_down``).
    A_down: float = 0.36833
    #: Exponent of the up-step decrease (aihwkit ``gamma_up``).
    gamma_up: float = 12.44625
    #: Exponent of the down-step decrease (aihwkit ``gamma_down``).
    gamma_down: float = 12.78785

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArray:
        constants = {
            "a": self.a,
            "b": self.b,
            "A_up": self.A_up,
            "A_down": self.A_down,
            "gamma_up": self.gamma_up,
            "gamma_down": self.gamma_down,
        }
        return DeviceArray(step=StepModel.EXP, shape_constants=constants, **self._common(shape, rng))


@dataclass(frozen=True, kw_only=True)
class PowStepDevice(PulsedDevice):
    """A power-law response (aihwkit ``PowStepDevice``), applied pulse by pulse.

    ``dw_up = s_up ((w_max - w) / (w_max - w_min))^pow_gamma``, ``dw_down = s_down ((w - w_min) /
    (w_max - w_min))^pow_gamma`` with each device's bounds; noise multiplies the step. aihwkit's
    ``pow_gamma_dtod`` and ``pow_up_down`` are not modelled (one exponent for every device).
    """

    kind: ClassVar[str] = "pow-step"
    #: Exponent of the response (``> 0``, aihwkit ``pow_gamma``).
    pow_gamma: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("device.pow_gamma", self.pow_gamma, 0.0, 10.0, low_open=True)

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArray:
        constants = {"gamma": self.pow_gamma}
        return DeviceArray(step=StepModel.POW, shape_constants=constants, **self._common(shape, rng))


def _registry() -> dict[str, type[DeviceConfig]]:
    from pulsetrain.model.device_presets import PRESETS

    models: tuple[type[DeviceConfig], ...] = (
        IdealDevice,
        ConstantStepDevice,
        LinearStepDevice,
        SoftBoundsDevice,
        ExpStepDevice,
        PowStepDevice,
        *PRESETS,
    )
    return {cls.kind: cls for cls in models}


#: ``--device`` name -> device config class (the models above and aihwkit's presets).
DEVICES: dict[str, type[DeviceConfig]] = _registry()


def device_from_name(name: str) -> DeviceConfig:
    """The default config of the device model called ``name`` (a :data:`DEVICES` key)."""
    if name not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}; not {name!r}")
    return DEVICES[name]()


__all__ = [
    "DEVICES",
    "ConstantStepDevice",
    "DeviceArray",
    "DeviceConfig",
    "ExpStepDevice",
    "IdealDevice",
    "LinearStepDevice",
    "PowStepDevice",
    "PulsedDevice",
    "SoftBoundsDevice",
    "device_from_name",
]
