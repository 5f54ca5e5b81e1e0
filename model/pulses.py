"""Stochastic pulse trains for the rank-1 update: update management and the float pulse source.

Update management (Gokmen & Vlasov 2016; the scheme of aihwkit's pulsed updater, docs/science.md §1):
for the update ``dW = -lr d xᵀ`` on devices with nominal step ``dw_min`` the number of pulse slots is

``BL = min(ceil(lr x_max d_max / dw_min), desired_bl)`` (with BL management, else ``desired_bl``),

and the firing probabilities are ``p_i = A |x_i|``, ``q_j = B |d_j|`` with
``A = sqrt(lr / (dw_min BL)) sqrt(d_max / x_max)`` and ``B = sqrt(lr / (dw_min BL)) sqrt(x_max / d_max)``
(the second factors, "update management", balance the two so that the largest probabilities on both
sides are equal). The expected number of coincidences at device ``(j, i)`` is then
``BL p_i q_j = lr |x_i d_j| / dw_min``: on average the pulses write the requested change. Where
``lr x_max d_max / dw_min > desired_bl`` the probabilities saturate at 1 and the update is truncated,
as in aihwkit.

:class:`FloatPulseSource` serves the :class:`~pulsetrain.model.periphery.PulseSource` protocol with
NumPy random numbers; the bit-exact twin lives in :mod:`pulsetrain.model.twins.pulse`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.periphery import PulseSource, PulseTrains

from pulsetrain.config import ConfigError


@dataclass(frozen=True)
class PulsePlan:
    """Update management's decision for one rank-1 update."""

    #: number of pulse slots
    bl: int
    #: (in_size,) firing probability of each x line, in [0, 1]
    x_probability: NDArray[np.float64]
    #: (out_size,) firing probability of each d line, in [0, 1]
    d_probability: NDArray[np.float64]


def plan_pulses(
    x: NDArray[np.float64],
    d: NDArray[np.float64],
    lr: float,
    dw_min: float,
    *,
    desired_bl: int,
    bl_management: bool = True,
    update_management: bool = True,
) -> PulsePlan | None:
    """Slots and firing probabilities for ``dW = -lr d xᵀ``; ``None`` when nothing is to be written.

    Parameters
    ----------
    x, d:
        The input vector ``(in_size,)`` and the error vector ``(out_size,)``, in device units (the tile
        has already divided ``d`` by its output scale).
    lr:
        Learning rate (``> 0``).
    dw_min:
        Nominal step of the devices.
    desired_bl:
        Most pulse slots per update.
    bl_management, update_management:
        aihwkit's ``update_bl_management`` and ``update_management``.
    """
    x_abs = np.abs(x)
    d_abs = np.abs(d)
    scales = pulse_scales(
        float(x_abs.max()) if x.size else 0.0,
        float(d_abs.max()) if d.size else 0.0,
        lr,
        dw_min,
        desired_bl=desired_bl,
        bl_management=bl_management,
        update_management=update_management,
    )
    if scales is None:
        return None
    bl, x_gain, d_gain = scales
    x_probability = x_abs * x_gain
    d_probability = d_abs * d_gain
    np.minimum(x_probability, 1.0, out=x_probability)
    np.minimum(d_probability, 1.0, out=d_probability)
    return PulsePlan(bl=bl, x_probability=x_probability, d_probability=d_probability)


def pulse_scales(
    x_max: float,
    d_max: float,
    lr: float,
    dw_min: float,
    *,
    desired_bl: int,
    bl_management: bool = True,
    update_management: bool = True,
) -> tuple[int, float, float] | None:
    """``(BL, A, B)`` of update management for the largest magnitudes ``x_max`` and ``d_max``.

    The firing probabilities are ``min(A |x_i|, 1)`` and ``min(B |d_j|, 1)``; ``None`` when nothing is to
    be written (a zero vector or learning rate).
    """
    return scales_for(x_max, d_max, lr, dw_min, desired_bl, bl_management, update_management)


def scales_for(
    x_max: float,
    d_max: float,
    lr: float,
    dw_min: float,
    desired_bl: int,
    bl_management: bool,
    update_management: bool,
) -> tuple[int, float, float] | None:
    """:func:`pulse_scales` with positional arguments (the tile's per-sample call: no keyword unpacking)."""
    if x_max == 0.0 or d_max == 0.0 or lr == 0.0:
        return None
    if bl_management:
        # min(max(ceil(.), 1), desired_bl) written as comparisons (this runs once per sample and tile)
        bl = math.ceil(lr * x_max * d_max / dw_min)
        if bl < 1:
            bl = 1
        elif bl > desired_bl:
            bl = desired_bl
    else:
        bl = desired_bl
    gain = math.sqrt(lr / (dw_min * bl))
    balance = math.sqrt(d_max / x_max) if update_management else 1.0
    return bl, gain * balance, gain / balance


class FloatPulseSource:
    """Pulse trains from NumPy uniform random numbers: a line fires in a slot when ``u < probability``.

    Statistically right, never bit-exact with the RTL (the twin is). Seeded; pickles with its state, so
    a checkpointed run resumes with the same random stream.
    """

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def signed_lines(
        self,
        magnitudes: NDArray[np.float64],
        signs: NDArray[np.float32],
        gains: NDArray[np.float64],
        bl: int,
    ) -> NDArray[np.float32]:
        """The trains of :meth:`trains` as signed float32 lines ready for the coincidence product.

        ``magnitudes``, ``signs`` and ``gains`` hold the x lines followed by the d lines (the layout of
        the one uniform draw of :meth:`trains`); line ``k`` fires in a slot when ``u < gains[k]
        magnitudes[k]`` and is multiplied by ``signs[k]`` (the tile passes ``sign(x)`` and ``-sign(d)``,
        so that ``d_linesᵀ x_lines`` counts up-steps positive). Returns ``(bl, lines)``. Same random
        numbers and decisions as :meth:`trains` with ``p = min(gain |x|, 1)``: ``u < min(p, 1)`` equals
        ``u < p`` for ``u`` in [0, 1), so no clipping is needed. The uniform numbers go to a reused
        buffer (``Generator.random(out=...)`` fills it in the same order as a fresh draw).
        """
        n_lines = magnitudes.shape[0]
        buffer = self.__dict__.get("_uniform")
        if buffer is None or buffer.shape[0] < bl or buffer.shape[1] != n_lines:
            buffer = self._uniform = np.empty((max(bl, 32), n_lines))
        uniform = self.rng.random(out=buffer[:bl])
        return (uniform < magnitudes * gains) * signs  # type: ignore[no-any-return]

    def uniform(self, count: int) -> NDArray[np.float64]:
        """The next ``count`` uniform numbers of the stream, as :meth:`signed_lines` would draw them
        (consecutive draws concatenate: ``random(n)`` then ``random(m)`` equals ``random(n + m)``)."""
        return self.rng.random(count)

    def __getstate__(self) -> dict[str, Any]:
        # the draw buffer is scratch space, not state
        state = self.__dict__.copy()
        state.pop("_uniform", None)
        return state

    def trains(
        self,
        x_probability: NDArray[np.float64],
        x_negative: NDArray[np.bool_],
        d_probability: NDArray[np.float64],
        d_negative: NDArray[np.bool_],
        bl: int,
    ) -> PulseTrains:
        """Draw the ``bl`` slots of every x and d line (see ``PulseSource``)."""
        n_x = x_probability.shape[0]
        # one draw for both sides: slot t of x line i uses u[t, i], of d line j uses u[t, n_x + j]
        uniform = self.rng.random((bl, n_x + d_probability.shape[0]))
        x_fire = uniform[:, :n_x] < x_probability
        d_fire = uniform[:, n_x:] < d_probability
        return PulseTrains(x_fire=x_fire, d_fire=d_fire, x_negative=x_negative, d_negative=d_negative)


#: A factory of pulse sources: ``factory(seed, in_size, out_size) -> PulseSource``. ``seed`` is a
#: :class:`numpy.random.SeedSequence` owned by the tile; a bit-exact source may derive its LFSR seeds
#: from it (``seed.generate_state(1)``) or from its own digital config.
PulseSourceFactory = Callable[[np.random.SeedSequence, int, int], PulseSource]


def _float_source(seed: np.random.SeedSequence, in_size: int, out_size: int) -> PulseSource:
    return FloatPulseSource(np.random.default_rng(seed))


#: ``TrainConfig.pulse_source`` name -> factory. The twin registers itself here with one line
#: (``PULSE_SOURCES["twin"] = ...``) in :func:`_register_optional_sources`.
PULSE_SOURCES: dict[str, PulseSourceFactory] = {"float": _float_source}


def _register_optional_sources() -> None:
    """Add the bit-exact twin when its module exists (written by another engineer, optional here)."""
    try:
        from pulsetrain.model.twins import pulse as twin_pulse  # type: ignore[attr-defined]
    except ImportError:
        return
    factory: Any = getattr(twin_pulse, "pulse_source_factory", None)
    if callable(factory):
        PULSE_SOURCES.setdefault("twin", factory)


def make_pulse_source(name: str, seed: np.random.SeedSequence, in_size: int, out_size: int) -> PulseSource:
    """The pulse source called ``name`` (a :data:`PULSE_SOURCES` key) for one tile."""
    if name not in PULSE_SOURCES:
        _register_optional_sources()
    if name not in PULSE_SOURCES:
        raise ConfigError(f"pulse_source must be one of {', '.join(PULSE_SOURCES)}; not {name!r}")
    return PULSE_SOURCES[name](seed, in_size, out_size)
