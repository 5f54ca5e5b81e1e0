"""The sampled devices of one array and the rules that move them under pulses.

A :class:`DeviceArray` is what :meth:`pulsetrain.model.devices.DeviceConfig.sample` returns: per-device
step sizes, bounds, slopes and reference offsets, and the step rule of the device model. The formulas
follow IBM aihwkit's C++ devices (``src/rpucuda/rpu_constantstep_device.cpp``,
``rpu_linearstep_device.cpp``, ``rpu_expstep_device.cpp``, ``rpu_powstep_device.cpp`` at commit
4545f11b5214c5e3c6b9d293053bbf8baf74e110); ``sign`` below is the pulse direction (+ up).

* constant step: ``dw = ±s (1 + σ ξ)``;
* linear step (soft bounds is the case ``γ = 1`` with per-device bounds as reference):
  ``dw_up = s_up (1 - γ_up w / ref_up)``, ``dw_down = -s_down (1 - γ_down w / ref_down)``, with noise
  ``s σ ξ`` (additive, aihwkit ``mult_noise=False``) or ``|dw| σ ξ`` (multiplicative, ``mult_noise=True``);
* exp step: ``z = 2 a w / (b_max - b_min) + b``, ``dw_up = s_up max(1 - A_up e^(γ_up z), 0)(1 + σ ξ)``,
  ``dw_down = -s_down max(1 - A_down e^(-γ_down z), 0)(1 + σ ξ)``;
* pow step: ``dw_up = s_up ((b_max - w) / (b_max - b_min))^γ (1 + σ ξ)``, down alike with ``w - b_min``;

each followed by a clip to the device's hard bounds ``[b_min, b_max]``.

Aggregation of n same-sign pulses
---------------------------------
A pulsed update gives each device a signed count ``n``; applying them one pulse at a time costs
``max |n|`` passes, so the constant and linear rules aggregate:

* constant step: ``w + n s + σ s sqrt(n) ξ``, then clip (exact in distribution unless the train touches
  a bound: per pulse clips each step, the aggregate once; without noise identical).
* linear step: the distance ``d = f - w`` to the fixed point ``f = ref / γ`` contracts by
  ``r = 1 - s γ / |ref|`` per pulse, so ``d_n = r^n d_0`` plus noise. Additive noise sums to a Gaussian of
  variance ``(σ s)^2 (1 - r^(2n)) / (1 - r^2)`` (exact in distribution). Multiplicative noise
  multiplies ``d`` by ``(r - a σ ξ_k)`` per pulse (``a = 1 - r``); the aggregate is the Gaussian with the
  exact mean ``r^n d_0`` and the exact variance ``d_0^2 ((r^2 + a^2 σ^2)^n - r^(2n))`` (exact for
  ``n = 1``, moment-matched for longer trains). ``1 - r^n`` is computed as ``-expm1(n log1p(-a))`` so that
  small slopes (capacitor-like devices, ``γ`` near 0) keep their precision.
* exp and pow step: no closed form; pulses are applied one by one to the devices that still have some.

:meth:`DeviceArray.apply_pulse_by_pulse` is the reference path that the tests hold the aggregation
against.

Write noise (aihwkit ``write_noise_std``): the device updates a hidden persistent state; what a read
sees is that state plus ``write_noise_std dw_min ξ``, drawn anew for a device each time it is pulsed (and
when it is programmed). The tile keeps that apparent offset (:mod:`pulsetrain.model.tile`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class StepModel:
    """Names of the per-pulse step rules a :class:`DeviceArray` knows."""

    CONSTANT = "constant"
    LINEAR = "linear"
    EXP = "exp"
    POW = "pow"


#: Step rules with a closed form for n same-sign pulses (the others are applied pulse by pulse).
AGGREGATED = (StepModel.CONSTANT, StepModel.LINEAR)


@dataclass(eq=False)
class DeviceArray:
    """The sampled parameters of an array of devices and the rule that moves them under pulses.

    All arrays have the shape of the tile, ``(out_size, in_size)``.
    """

    #: step model (a :class:`StepModel` name)
    step: str
    #: per-device step scale of an up pulse, ``s_up`` (device units, >= 0)
    dw_up: FloatArray
    #: per-device step scale of a down pulse, ``s_down`` (device units, >= 0)
    dw_down: FloatArray
    #: per-device hard upper bound
    w_max: FloatArray
    #: per-device hard lower bound
    w_min: FloatArray
    #: per-device reference offset: the device reads as ``w - reference``
    reference: FloatArray
    #: cycle-to-cycle noise relative to the step (aihwkit ``dw_min_std``)
    dw_min_std: float
    #: linear step: per-device slope of the up step at its reference, ``γ_up`` (1: soft bounds)
    gamma_up: FloatArray | None = None
    #: linear step: per-device slope of the down step, ``γ_down``
    gamma_down: FloatArray | None = None
    #: linear step: per-device state where an up step would vanish for ``γ_up = 1`` (> 0)
    reference_up: FloatArray | None = None
    #: linear step: per-device state where a down step would vanish for ``γ_down = 1`` (< 0)
    reference_down: FloatArray | None = None
    #: linear step: cycle-to-cycle noise proportional to the state-dependent step (aihwkit ``mult_noise``)
    mult_noise: bool = False
    #: std of the non-accumulating write noise in device units (aihwkit ``write_noise_std * dw_min``)
    write_noise: float = 0.0
    #: exp / pow step: the model's constants (aihwkit names: ``a``, ``b``, ``A_up``, ``A_down``,
    #: ``gamma_up``, ``gamma_down`` for exp step; ``gamma`` for pow step)
    shape_constants: dict[str, float] = field(default_factory=dict)
    _flat: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        names = ("dw_up", "dw_down", "w_max", "w_min")
        self._flat = {name: getattr(self, name).reshape(-1) for name in names}
        self._n_devices = self._flat["w_max"].size
        if self.step == StepModel.LINEAR:
            assert self.gamma_up is not None and self.gamma_down is not None
            assert self.reference_up is not None and self.reference_down is not None
            self._flat["gamma_up"] = self.gamma_up.reshape(-1)
            self._flat["gamma_down"] = self.gamma_down.reshape(-1)
            self._flat["reference_up"] = self.reference_up.reshape(-1)
            self._flat["reference_down"] = self.reference_down.reshape(-1)
        if self.step in AGGREGATED:
            self._build_tables()

    def _build_tables(self) -> None:
        """Per-direction tables of length 2N, indexed by ``device + N * (pulse is up)``, stacked so that
        one ``take`` fetches every quantity of the aggregated path."""
        flat = self._flat
        step = np.concatenate([flat["dw_down"], flat["dw_up"]])
        low = np.concatenate([flat["w_min"], flat["w_min"]])
        high = np.concatenate([flat["w_max"], flat["w_max"]])
        if self.step == StepModel.LINEAR:
            slope = np.concatenate([flat["gamma_down"], flat["gamma_up"]])
            reference = np.concatenate([flat["reference_down"], flat["reference_up"]])
            # a = s γ / |ref| per pulse; the fixed point f = ref / γ (beyond the bound for γ < 1)
            contraction_rate = step * slope / np.abs(reference)
            target = reference / slope
            log_r = np.log1p(-contraction_rate)
            with np.errstate(divide="ignore", invalid="ignore"):
                if self.mult_noise:
                    # per pulse d -> d (r - a σ ξ): log of (1 + a^2 σ^2 / r^2), the variance growth
                    r = 1.0 - contraction_rate
                    noise = np.log1p((contraction_rate * self.dw_min_std / r) ** 2)
                else:
                    # additive: std σ s of every pulse, contracted by the later ones
                    noise = self.dw_min_std * step / np.sqrt(-np.expm1(2.0 * log_r))
            noise[~np.isfinite(noise)] = 0.0
            rows = [target, log_r, noise, low, high]
        else:
            signed_step = np.concatenate([-flat["dw_down"], flat["dw_up"]])
            rows = [signed_step, np.zeros_like(step), self.dw_min_std * step, low, high]
        self._gather_rows = np.stack(rows)

    def step_table(self) -> FloatArray:
        """The aggregated path's constants with one 64-byte row per device, the layout of the compiled
        kernels (:mod:`pulsetrain.model.pulse_kernels`): columns (down, up) of the signed step
        (constant) or fixed point (linear), (down, up) of ``log r`` (linear), (down, up) of the noise
        constant, then the lower and the upper bound. One cache line per pulsed device."""
        table = self.__dict__.get("_step_table")
        if table is None:
            rows, n = self._gather_rows, self._n_devices
            # 64-byte aligned rows (NumPy aligns to 16 bytes): a row never straddles two cache lines
            storage = np.empty(n * 8 + 8)
            offset = (-storage.ctypes.data % 64) // 8
            table = storage[offset : offset + n * 8].reshape(n, 8)
            for column, (row, half) in enumerate([(q, h) for q in range(3) for h in (0, 1)]):
                table[:, column] = rows[row, half * n : (half + 1) * n]
            table[:, 6] = rows[3, :n]
            table[:, 7] = rows[4, :n]
            self._step_table = table
        return table  # type: ignore[no-any-return]

    def __getstate__(self) -> dict[str, Any]:
        # the kernels' table is a transposed copy, rebuilt on demand
        state = self.__dict__.copy()
        state.pop("_step_table", None)
        state.pop("_expm1_tables", None)  # pulsed_update.expm1_table's cache
        return state

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the array of devices."""
        return self.dw_up.shape  # type: ignore[return-value]

    def symmetry_point(self) -> FloatArray:
        """Per-device state where an up and a down pulse have the same expected size.

        Constant-step and ideal devices have none (their steps do not depend on the state): 0 for them.
        """
        if self.step == StepModel.LINEAR:
            assert self.gamma_up is not None and self.gamma_down is not None
            assert self.reference_up is not None and self.reference_down is not None
            # s_up (1 - γ_up w / ref_up) = s_down (1 - γ_down w / ref_down), solved for w
            slope_up = self.dw_up * self.gamma_up / self.reference_up
            slope_down = self.dw_down * self.gamma_down / self.reference_down
            with np.errstate(divide="ignore", invalid="ignore"):
                point = (self.dw_up - self.dw_down) / (slope_up - slope_down)
            return np.clip(np.nan_to_num(point), self.w_min, self.w_max)
        if self.step in (StepModel.EXP, StepModel.POW):
            return self._symmetry_by_bisection()
        return np.zeros(self.shape)

    def _symmetry_by_bisection(self) -> FloatArray:
        """Symmetry point of a monotone non-linear response: up step minus down step changes sign once."""
        low, high = self.w_min.reshape(-1).copy(), self.w_max.reshape(-1).copy()
        index = np.arange(low.size)
        for _ in range(50):
            middle = 0.5 * (low + high)
            up = self._mean_step(middle, index, np.ones(low.size, dtype=bool))
            down = -self._mean_step(middle, index, np.zeros(low.size, dtype=bool))
            above = up < down  # the up step is already the smaller one: the point lies below
            high = np.where(above, middle, high)
            low = np.where(above, low, middle)
        return (0.5 * (low + high)).reshape(self.shape)

    def clip(self, w: FloatArray) -> FloatArray:
        """``w`` clipped to each device's bounds."""
        return np.clip(w, self.w_min, self.w_max)

    # ----------------------------------------------------------------------------------------------
    def apply(self, w: FloatArray, counts: NDArray[Any], rng: np.random.Generator) -> None:
        """Apply ``counts[j, i]`` signed pulses to device ``(j, i)`` of ``w`` in place (aggregated path)."""
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
        if self.step not in AGGREGATED:
            self._pulse_by_pulse(w_flat, index, n, rng)
            return magnitude
        rows = self._gather_rows.take(index + self._n_devices * (n > 0), axis=1)
        first, log_r, noise, low, high = rows
        new = w_flat[index]
        if self.step == StepModel.LINEAR:
            # distance to the fixed point, contracted by r^n: w += (f - w)(1 - r^n)
            distance = first - new
            moved = -np.expm1(magnitude * log_r)
            new += distance * moved
            if self.dw_min_std > 0.0:
                if self.mult_noise:
                    # std |d_n| sqrt((1 + a^2 σ^2 / r^2)^n - 1) with |d_n| = r^n |d_0|
                    spread = np.abs(distance) * (1.0 - moved) * np.sqrt(np.expm1(magnitude * noise))
                else:
                    spread = noise * np.sqrt(-np.expm1(2.0 * magnitude * log_r))
                new += spread * rng.standard_normal(index.size)
        else:
            new += magnitude * first
            if self.dw_min_std > 0.0:
                new += noise * np.sqrt(magnitude) * rng.standard_normal(index.size)
        np.maximum(new, low, out=new)
        np.minimum(new, high, out=new)
        w_flat[index] = new
        return magnitude

    def _mean_step(self, w: FloatArray, index: IntArray, up: NDArray[np.bool_]) -> FloatArray:
        """Noise-free signed step of one pulse at states ``w`` of the devices ``index`` (flat)."""
        p = self._flat
        hi, lo = p["w_max"][index], p["w_min"][index]
        s_up, s_down = p["dw_up"][index], p["dw_down"][index]
        if self.step == StepModel.LINEAR:
            factor_up = 1.0 - p["gamma_up"][index] * w / p["reference_up"][index]
            factor_down = 1.0 - p["gamma_down"][index] * w / p["reference_down"][index]
        elif self.step == StepModel.EXP:
            c = self.shape_constants
            span = hi - lo
            z = 2.0 * c["a"] * w / np.where(span > 0.0, span, 1.0) + c["b"]
            factor_up = np.maximum(1.0 - c["A_up"] * np.exp(c["gamma_up"] * z), 0.0)
            factor_down = np.maximum(1.0 - c["A_down"] * np.exp(-c["gamma_down"] * z), 0.0)
        elif self.step == StepModel.POW:
            gamma = self.shape_constants["gamma"]
            span = np.where(hi > lo, hi - lo, 1.0)
            factor_up = np.maximum((hi - w) / span, 0.0) ** gamma
            factor_down = np.maximum((w - lo) / span, 0.0) ** gamma
        else:
            factor_up = factor_down = np.ones_like(w)
        return np.where(up, s_up * factor_up, -s_down * factor_down)

    def _single_step(
        self, w: FloatArray, index: IntArray, up: NDArray[np.bool_], rng: np.random.Generator
    ) -> FloatArray:
        """State after one pulse on the devices ``index`` (flat), direction ``up``; not clipped."""
        dw = self._mean_step(w, index, up)
        if self.dw_min_std > 0.0:
            if self.step == StepModel.CONSTANT or (self.step == StepModel.LINEAR and not self.mult_noise):
                size = np.where(up, self._flat["dw_up"][index], self._flat["dw_down"][index])
            else:
                size = np.abs(dw)  # exp and pow step scale their noise with the step (aihwkit)
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
