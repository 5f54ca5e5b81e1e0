"""Resistive device models: how one device's weight moves under programming pulses.

Each device kind is a frozen, validated config (:class:`IdealDevice`, :class:`ConstantStepDevice`,
:class:`SoftBoundsDevice`, :class:`PowStepDevice`). :meth:`DeviceConfig.sample` draws the
device-to-device variation of one array of devices and returns a :class:`DeviceArray`, which applies
signed pulse counts to a conductance matrix.

Units
-----
Device states are in *device units*: the nominal bounds are ``w_min < 0 < w_max`` and one pulse moves a
device by about ``dw_min``. The digital output scale of a tile (see :mod:`pulsetrain.model.tile`) maps
device units to the network's logical weights.

Step models (per pulse, device parameters after device-to-device sampling)
------------------------------------------------------------------------
* ideal: ``dw = ±dw_min``, no bounds, no noise.
* constant step: ``dw = ±dw_dir`` clipped to ``[w_min, w_max]``.
* soft bounds: ``dw_up = dw_up0 (1 - w / w_max)``, ``dw_down = dw_down0 (1 - w / w_min)``: the step
  shrinks linearly toward each bound (Gokmen & Vlasov 2016; aihwkit ``SoftBoundsDevice``).
* power step: ``dw_up = dw_up0 (2 (w_max - w) / (w_max - w_min))^gamma``,
  ``dw_down = dw_down0 (2 (w - w_min) / (w_max - w_min))^gamma``: a non-linear response whose steps
  equal ``dw_min`` in the middle of the range (same family as aihwkit's ``PowStepDevice``; with
  ``gamma = 1`` and symmetric bounds it is the soft-bounds model).

Cycle-to-cycle write noise is *additive* per pulse: each pulse adds ``dw_min_std * dw_dir * N(0, 1)``
(independent of the state; aihwkit calls this ``mult_noise=False``), then the state is clipped to the
device's bounds.

Aggregation of n same-sign pulses
---------------------------------
A pulsed update gives each device a signed count ``n`` of coincidences. Applying them one pulse at a
time costs ``max |n|`` passes over the array, so the fast path aggregates:

* constant step: ``w + n dw + dw_min_std dw sqrt(n) N(0, 1)``, then clip. Exact in distribution as long
  as no device reaches a bound within the train: the sum of n Gaussian steps is Gaussian. At a bound the
  per-pulse path clips each step, the aggregate clips once; without noise (a monotone walk) both are
  identical, with noise they differ only for trains that touch the bound.
* soft bounds: the step is linear in ``w``, so ``w_max - w`` shrinks geometrically,
  ``(w_max - w_n) = r^n (w_max - w_0) - noise`` with ``r = 1 - dw_up0 / w_max``, and the additive
  noise terms add up to a Gaussian with variance ``(dw_min_std dw_up0)^2 (1 - r^(2n)) / (1 - r^2)``
  (down pulses alike toward ``w_min``). Exact in distribution, except when the noise pushes a device
  past a bound in the middle of the train (per pulse it would be clipped there and then): a rare event
  for ``dw_min_std dw_min`` much smaller than the distance to the bound.
* power step: no closed form; pulses are applied one by one (only to the devices that still have
  pulses left, so the cost is the number of pulses, not ``max |n|`` times the array).

``DeviceArray.apply_pulse_by_pulse`` is the reference path that the tests hold the aggregation against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from pulsetrain.config import ConfigError, check_range

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class _StepModel:
    """Names of the per-pulse step rules a :class:`DeviceArray` knows."""

    CONSTANT = "constant"
    SOFT_BOUNDS = "soft-bounds"
    POW_STEP = "pow-step"


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
            step=_StepModel.CONSTANT,
            dw_up=ones * self.dw_min,
            dw_down=ones * self.dw_min,
            w_max=np.full(shape, np.inf),
            w_min=np.full(shape, -np.inf),
            reference=np.zeros(shape),
            dw_min_std=0.0,
            gamma=1.0,
        )


@dataclass(frozen=True, kw_only=True)
class PulsedDevice(DeviceConfig):
    """Non-idealities shared by the bounded pulsed device models (names follow aihwkit where they exist).

    The number of states of a device is ``(w_max - w_min) / dw_min`` (:attr:`n_states`); set it through
    ``dw_min``.
    """

    kind: ClassVar[str] = "pulsed"
    #: Mean change per pulse in device units (``(w_max - w_min) / dw_min`` states; default 600 states).
    dw_min: float = 2.0 / 600
    #: Device-to-device spread of ``dw_min``: relative standard deviation (aihwkit ``dw_min_dtod``).
    dw_min_dtod: float = 0.3
    #: Cycle-to-cycle write noise: std of each pulse's additive noise, relative to that device's step
    #: (aihwkit ``dw_min_std``).
    dw_min_std: float = 0.3
    #: Mean up/down asymmetry: up steps are ``dw (1 + up_down)``, down steps ``dw (1 - up_down)``.
    up_down: float = 0.0
    #: Device-to-device spread of the up/down asymmetry (std of ``up_down`` across devices).
    up_down_dtod: float = 0.01
    #: Nominal upper bound of the device state (device units, ``> 0``).
    w_max: float = 1.0
    #: Nominal lower bound of the device state (device units, ``< 0``).
    w_min: float = -1.0
    #: Device-to-device spread of ``w_max``: relative standard deviation.
    w_max_dtod: float = 0.3
    #: Device-to-device spread of ``w_min``: relative standard deviation.
    w_min_dtod: float = 0.3
    #: Per-device offset of the reference the device is read against (a zero-mean Gaussian, std in units
    #: of the nominal ``w_max``; sigma_r of Rasch et al. 2024). The read weight is ``w - offset``, so the
    #: symmetry point of a device no longer reads as zero.
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

    _step: ClassVar[str] = "constant"

    def _gamma(self) -> float:
        return 1.0

    def sample(self, shape: tuple[int, int], rng: np.random.Generator) -> DeviceArray:
        # The order of the draws is part of the seeded reproducibility: do not reorder.
        dw = self.dw_min * np.maximum(1.0 + self.dw_min_dtod * rng.standard_normal(shape), 0.0)
        up_down = self.up_down + self.up_down_dtod * rng.standard_normal(shape)
        # keep each direction's step non-negative: |up_down| < 1 on every device
        up_down = np.clip(up_down, -0.99, 0.99)
        # a bound never crosses zero: the spread is clipped at 5 % of the nominal bound
        w_max = self.w_max * np.maximum(1.0 + self.w_max_dtod * rng.standard_normal(shape), 0.05)
        w_min = self.w_min * np.maximum(1.0 + self.w_min_dtod * rng.standard_normal(shape), 0.05)
        reference = self.reference_offset_std * self.w_max * rng.standard_normal(shape)
        dw_up = dw * (1.0 + up_down)
        dw_down = dw * (1.0 - up_down)
        if self._step == _StepModel.SOFT_BOUNDS:
            # a soft-bounds step beyond half the bound would overshoot: keep r = 1 - dw/w in (0, 1)
            dw_up = np.minimum(dw_up, 0.5 * w_max)
            dw_down = np.minimum(dw_down, -0.5 * w_min)
        return DeviceArray(
            step=self._step,
            dw_up=dw_up,
            dw_down=dw_down,
            w_max=w_max,
            w_min=w_min,
            reference=reference,
            dw_min_std=self.dw_min_std,
            gamma=self._gamma(),
        )


@dataclass(frozen=True, kw_only=True)
class ConstantStepDevice(PulsedDevice):
    """Every pulse moves the device by its (sampled) up or down step, clipped at hard bounds."""

    kind: ClassVar[str] = "constant-step"
    _step: ClassVar[str] = "constant"


@dataclass(frozen=True, kw_only=True)
class SoftBoundsDevice(PulsedDevice):
    """Steps shrink linearly toward each bound: ``dw_up = dw (1 - w/w_max)``, ``dw_down = dw (1 - w/w_min)``.

    The symmetry point (where up and down steps are equal) is 0 for symmetric devices; with up/down
    asymmetry it moves toward the bound of the weaker direction.
    """

    kind: ClassVar[str] = "soft-bounds"
    _step: ClassVar[str] = "soft-bounds"


@dataclass(frozen=True, kw_only=True)
class PowStepDevice(PulsedDevice):
    """A non-linear response: the step is a power ``gamma`` of the distance to the bound it moves toward.

    ``dw_up = dw (2 (w_max - w) / (w_max - w_min))^gamma``, ``dw_down = dw (2 (w - w_min) / (w_max -
    w_min))^gamma``; in the middle of the range both equal ``dw``. Applied pulse by pulse.
    """

    kind: ClassVar[str] = "pow-step"
    _step: ClassVar[str] = "pow-step"
    #: Exponent of the response (``> 0``); 1 is the soft-bounds model for symmetric bounds, larger values
    #: saturate faster.
    pow_gamma: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("device.pow_gamma", self.pow_gamma, 0.0, 10.0, low_open=True)

    def _gamma(self) -> float:
        return self.pow_gamma


#: ``--device`` name -> device config class. Extend with one line per new model.
DEVICES: dict[str, type[DeviceConfig]] = {
    cls.kind: cls for cls in (IdealDevice, ConstantStepDevice, SoftBoundsDevice, PowStepDevice)
}


def device_from_name(name: str) -> DeviceConfig:
    """The default config of the device model called ``name`` (a :data:`DEVICES` key)."""
    if name not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}; not {name!r}")
    return DEVICES[name]()


@dataclass(eq=False)
class DeviceArray:
    """The sampled parameters of an array of devices and the rule that moves them under pulses.

    All arrays have the shape of the tile, ``(out_size, in_size)``.
    """

    #: step model (constant, soft-bounds, pow-step)
    step: str
    #: per-device step of one up pulse (device units)
    dw_up: FloatArray
    #: per-device step of one down pulse (device units, positive)
    dw_down: FloatArray
    #: per-device upper bound
    w_max: FloatArray
    #: per-device lower bound
    w_min: FloatArray
    #: per-device reference offset: the device reads as ``w - reference``
    reference: FloatArray
    #: cycle-to-cycle noise relative to the step
    dw_min_std: float
    #: exponent of the power-step model
    gamma: float
    _flat: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._flat = {
            name: getattr(self, name).reshape(-1) for name in ("dw_up", "dw_down", "w_max", "w_min")
        }
        flat = self._flat
        # Tables of length 2N for the aggregated path, indexed by ``device + N * (pulse is up)``: one
        # gather per quantity instead of two gathers and a select.
        with np.errstate(divide="ignore", invalid="ignore"):
            # soft bounds: per-pulse contraction factor of the distance to the bound of that direction
            contraction = np.concatenate(
                [1.0 - flat["dw_down"] / (-flat["w_min"]), 1.0 - flat["dw_up"] / flat["w_max"]]
            )
            step = np.concatenate([flat["dw_down"], flat["dw_up"]])
            if self.step == _StepModel.SOFT_BOUNDS:
                # n pulses of additive noise std*step, each then contracted: total variance
                # (std*step)^2 (1 - r^2n) / (1 - r^2); the part without n is precomputed (a device
                # with a zero step has r = 1 and no noise)
                noise = self.dw_min_std * step / np.sqrt(1.0 - contraction * contraction)
                noise[~np.isfinite(noise)] = 0.0
            else:
                noise = self.dw_min_std * step
        self._table = {
            "bound": np.concatenate([flat["w_min"], flat["w_max"]]),
            "contraction": contraction,
            "signed_step": np.concatenate([-flat["dw_down"], flat["dw_up"]]),
            "noise": noise,
        }
        # The rows the aggregated path of this step model gathers, stacked so that one ``take`` fetches
        # them all (each gathered row is a contiguous array, as a separate gather would give); the
        # device bounds are repeated for both directions so that the same index serves every row.
        low = np.concatenate([flat["w_min"], flat["w_min"]])
        high = np.concatenate([flat["w_max"], flat["w_max"]])
        first = (
            [self._table["bound"], contraction]
            if self.step == _StepModel.SOFT_BOUNDS
            else [self._table["signed_step"], np.zeros_like(contraction)]
        )
        self._gather_rows = np.stack([*first, noise, low, high])
        self._n_devices = flat["w_max"].size

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the array of devices."""
        return self.dw_up.shape  # type: ignore[return-value]

    def symmetry_point(self) -> FloatArray:
        """Per-device state where an up and a down pulse have the same expected size.

        Soft bounds and power step have one; constant-step and ideal devices do not (their steps do not
        depend on the state), for them this returns 0.
        """
        if self.step == _StepModel.SOFT_BOUNDS:
            # dw_up (1 - w/w_max) = dw_down (1 - w/w_min), solved for w
            return (self.dw_up - self.dw_down) / (self.dw_up / self.w_max - self.dw_down / self.w_min)
        if self.step == _StepModel.POW_STEP:
            # (dw_up/dw_down)^(1/g) = (w - w_min)/(w_max - w)
            ratio = (self.dw_up / self.dw_down) ** (1.0 / self.gamma)
            return (ratio * self.w_max + self.w_min) / (1.0 + ratio)
        return np.zeros(self.shape)

    def clip(self, w: FloatArray) -> FloatArray:
        """``w`` clipped to each device's bounds."""
        return np.clip(w, self.w_min, self.w_max)

    # ----------------------------------------------------------------------------------------------
    def apply(self, w: FloatArray, counts: NDArray[Any], rng: np.random.Generator) -> None:
        """Apply ``counts[j, i]`` signed pulses to device ``(j, i)`` of ``w`` in place (aggregated path).

        ``counts`` may hold integers or integer-valued floats; positive counts are up pulses.
        """
        flat_counts = np.asarray(counts).reshape(-1)
        index = np.flatnonzero(flat_counts)
        self.apply_at(w.reshape(-1), index, flat_counts[index].astype(np.float64), rng)

    def apply_at(
        self, w_flat: FloatArray, index: NDArray[np.int64], n: FloatArray, rng: np.random.Generator
    ) -> FloatArray:
        """Apply ``n[m]`` signed pulses to device ``index[m]`` of the flat states ``w_flat``, in place.

        Returns ``|n|`` (the pulses each of those devices received).
        """
        magnitude = np.abs(n)
        if index.size == 0:
            return magnitude
        if self.step == _StepModel.POW_STEP:
            self._pulse_by_pulse(w_flat, index, n, rng)
            return magnitude
        # one gather of every per-device quantity, indexed by ``device + N * (pulse is up)``
        rows = self._gather_rows.take(index + self._n_devices * (n > 0), axis=1)
        first, contraction, noise, low, high = rows
        # in-place arithmetic on fresh gathers: the same operations and roundings, fewer temporaries
        new = w_flat[index]
        if self.step == _StepModel.SOFT_BOUNDS:
            # closed form of n linear-contraction steps toward the bound of the pulse direction:
            # bound + (w0 - bound) r^n
            bound = first
            r_n = contraction**magnitude
            new -= bound
            new *= r_n
            new += bound
            if self.dw_min_std == 0.0:
                w_flat[index] = new  # a contraction toward the bound never leaves [w_min, w_max]
                return magnitude
            # noise std * sqrt(1 - r^2n) * N(0, 1)
            r_n *= r_n
            np.subtract(1.0, r_n, out=r_n)
            np.sqrt(r_n, out=r_n)
            r_n *= noise
            r_n *= rng.standard_normal(index.size)
            new += r_n
        else:
            new += magnitude * first
            if self.dw_min_std > 0.0:
                new += noise * np.sqrt(magnitude) * rng.standard_normal(index.size)
        np.maximum(new, low, out=new)
        np.minimum(new, high, out=new)
        w_flat[index] = new
        return magnitude

    def _single_step(
        self, w: FloatArray, index: IntArray, up: NDArray[np.bool_], rng: np.random.Generator
    ) -> FloatArray:
        """State after one pulse on the devices ``index`` (flat), direction ``up``; not clipped."""
        p = self._flat
        w_hi = p["w_max"][index]
        w_lo = p["w_min"][index]
        dw_up = p["dw_up"][index]
        dw_down = p["dw_down"][index]
        if self.step == _StepModel.SOFT_BOUNDS:
            dw = np.where(up, dw_up * (1.0 - w / w_hi), -dw_down * (1.0 - w / w_lo))
            size = np.where(up, dw_up, dw_down)
        elif self.step == _StepModel.POW_STEP:
            span = w_hi - w_lo
            toward = np.where(up, (w_hi - w) / span, (w - w_lo) / span)
            factor = (2.0 * np.maximum(toward, 0.0)) ** self.gamma
            dw = np.where(up, dw_up, -dw_down) * factor
            size = np.where(up, dw_up, dw_down)
        else:
            dw = np.where(up, dw_up, -dw_down)
            size = np.abs(dw)
        if self.dw_min_std > 0.0:
            dw = dw + self.dw_min_std * size * rng.standard_normal(index.size)
        return w + dw

    def _pulse_by_pulse(
        self, w_flat: FloatArray, index: IntArray, n: FloatArray, rng: np.random.Generator
    ) -> None:
        remaining = np.abs(n).astype(np.int64)
        up_all = n > 0
        active = np.arange(index.size)
        while active.size:
            devices = index[active]
            new = self._single_step(w_flat[devices], devices, up_all[active], rng)
            w_flat[devices] = np.minimum(
                np.maximum(new, self._flat["w_min"][devices]), self._flat["w_max"][devices]
            )
            remaining[active] -= 1
            active = active[remaining[active] > 0]

    def apply_pulse_by_pulse(self, w: FloatArray, counts: NDArray[Any], rng: np.random.Generator) -> None:
        """Reference path: apply the pulses one at a time, clipping after each (slow; for tests)."""
        flat_counts = np.asarray(counts).reshape(-1)
        index = np.flatnonzero(flat_counts)
        if index.size:
            self._pulse_by_pulse(w.reshape(-1), index, flat_counts[index].astype(np.float64), rng)
