"""Device models: validation, seeded sampling, and the aggregated pulse path against pulse-by-pulse."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pulsetrain.model.devices import (
    DEVICES,
    ConstantStepDevice,
    IdealDevice,
    PowStepDevice,
    PulsedDevice,
    SoftBoundsDevice,
    device_from_name,
)

from pulsetrain.config import ConfigError

BOUNDED = [ConstantStepDevice, SoftBoundsDevice, PowStepDevice]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"dw_min": -0.01}, "device.dw_min"),
        ({"dw_min": 0.0}, "device.dw_min"),
        ({"w_max": -1.0}, "device.w_max"),
        ({"w_min": 0.5}, "device.w_min"),
        ({"dw_min": 3.0}, "device.dw_min"),
        ({"up_down": 1.0}, "device.up_down"),
        ({"dw_min_std": -0.1}, "device.dw_min_std"),
        ({"reference_offset_std": -1.0}, "device.reference_offset_std"),
    ],
    ids=[
        "negative-dw_min",
        "zero-dw_min",
        "negative-w_max",
        "positive-w_min",
        "dw_min-beyond-range",
        "up_down-1",
        "negative-noise",
        "negative-reference-offset",
    ],
)
def test_bad_values_are_refused_with_the_parameter_named(kwargs: dict[str, float], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        SoftBoundsDevice(**kwargs)


def test_pow_gamma_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="device.pow_gamma"):
        PowStepDevice(pow_gamma=0.0)


def test_every_name_builds_its_device() -> None:
    for name, cls in DEVICES.items():
        assert isinstance(device_from_name(name), cls)
    with pytest.raises(ConfigError, match="device must be one of"):
        device_from_name("memristor")


def test_number_of_states_follows_from_dw_min() -> None:
    device = ConstantStepDevice(dw_min=0.01, w_max=1.0, w_min=-1.0)
    assert device.n_states == pytest.approx(200.0)


@pytest.mark.parametrize("cls", BOUNDED, ids=lambda c: c.kind)
def test_same_seed_samples_the_same_devices(cls: type[PulsedDevice]) -> None:
    first = cls(reference_offset_std=0.1).sample((5, 7), np.random.default_rng(3))
    second = cls(reference_offset_std=0.1).sample((5, 7), np.random.default_rng(3))
    other = cls(reference_offset_std=0.1).sample((5, 7), np.random.default_rng(4))
    for name in ("dw_up", "dw_down", "w_max", "w_min", "reference"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
        assert not np.array_equal(getattr(first, name), getattr(other, name))


def test_device_to_device_spread_has_the_configured_size() -> None:
    # 40 000 devices: the relative std of dw_min is 0.2 +- ~1 % (standard error of a std ~ 1/sqrt(2N))
    devices = ConstantStepDevice(dw_min_dtod=0.2, up_down_dtod=0.0).sample(
        (200, 200), np.random.default_rng(0)
    )
    relative = devices.dw_up / ConstantStepDevice().dw_min
    assert np.std(relative) == pytest.approx(0.2, rel=0.03)
    assert np.mean(relative) == pytest.approx(1.0, abs=0.01)


def test_reference_offset_spread_is_in_units_of_w_max() -> None:
    devices = SoftBoundsDevice(reference_offset_std=0.25, w_max=2.0, w_min=-2.0).sample(
        (200, 200), np.random.default_rng(1)
    )
    assert np.std(devices.reference) == pytest.approx(0.5, rel=0.03)


def _random_counts(rng: np.random.Generator, shape: tuple[int, int], high: int) -> np.ndarray:
    counts = rng.integers(-high, high + 1, size=shape)
    counts[rng.random(shape) < 0.2] = 0
    return counts


@pytest.mark.parametrize("cls", [ConstantStepDevice, SoftBoundsDevice, IdealDevice], ids=lambda c: c.kind)
def test_aggregated_pulses_equal_pulse_by_pulse_without_noise(cls: type) -> None:
    kwargs = {} if cls is IdealDevice else {"dw_min_std": 0.0, "up_down": 0.1, "dw_min": 0.05}
    device = cls(**kwargs)
    rng = np.random.default_rng(7)
    array = device.sample((30, 40), rng)
    start = array.clip(rng.uniform(-0.9, 0.9, size=(30, 40)))
    counts = _random_counts(rng, (30, 40), 60)  # 60 steps of 0.05 reach the bounds: clipping is exercised
    aggregated, stepped = start.copy(), start.copy()
    array.apply(aggregated, counts, np.random.default_rng(0))
    array.apply_pulse_by_pulse(stepped, counts, np.random.default_rng(0))
    np.testing.assert_allclose(aggregated, stepped, rtol=0, atol=1e-12)
    assert not np.allclose(aggregated, start)


@pytest.mark.parametrize("cls", [ConstantStepDevice, SoftBoundsDevice], ids=lambda c: c.kind)
@pytest.mark.parametrize("pulses", [1, 5, 20], ids=lambda n: f"n{n}")
def test_aggregated_pulses_match_pulse_by_pulse_in_distribution(cls: type, pulses: int) -> None:
    # identical devices (no spread), 20 000 of them, all starting at 0.1 and receiving the same count:
    # the final states are samples of one distribution on either path. Mean and std are compared with
    # 5 standard errors of tolerance (SE of a mean = std/sqrt(N); of a std ~ std/sqrt(2N)).
    device = cls(
        dw_min=0.02, dw_min_std=0.5, dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0
    )
    shape = (100, 200)
    n_devices = shape[0] * shape[1]
    array = device.sample(shape, np.random.default_rng(0))
    counts = np.full(shape, pulses)
    counts[:50] = -pulses
    aggregated, stepped = np.full(shape, 0.1), np.full(shape, 0.1)
    array.apply(aggregated, counts, np.random.default_rng(1))
    array.apply_pulse_by_pulse(stepped, counts, np.random.default_rng(2))
    for half in (slice(0, 50), slice(50, 100)):
        a, s = aggregated[half].ravel(), stepped[half].ravel()
        std = s.std()
        assert abs(a.mean() - s.mean()) < 5 * std / np.sqrt(n_devices / 2) * np.sqrt(2)
        assert a.std() == pytest.approx(std, rel=5 / np.sqrt(n_devices))


def test_soft_bounds_step_shrinks_toward_the_bound() -> None:
    device = SoftBoundsDevice(
        dw_min=0.1, dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0
    )
    array = device.sample((1, 3), np.random.default_rng(0))
    w = np.array([[-0.5, 0.0, 0.5]])
    array.apply(w, np.ones((1, 3), dtype=np.int64), np.random.default_rng(0))
    np.testing.assert_allclose(w - np.array([[-0.5, 0.0, 0.5]]), [[0.15, 0.1, 0.05]])


def test_constant_step_clips_at_the_bounds() -> None:
    device = ConstantStepDevice(
        dw_min=0.1, dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0
    )
    array = device.sample((1, 2), np.random.default_rng(0))
    w = np.zeros((1, 2))
    array.apply(w, np.array([[50, -50]]), np.random.default_rng(0))
    np.testing.assert_allclose(w, [[1.0, -1.0]])


def test_random_pulses_drive_soft_bounds_to_their_symmetry_point() -> None:
    # with up_down = 0.3 the symmetry point is (dw_up - dw_down) / (dw_up/w_max - dw_down/w_min) = 0.3
    device = SoftBoundsDevice(
        dw_min=0.02,
        up_down=0.3,
        dw_min_std=0.0,
        dw_min_dtod=0.0,
        up_down_dtod=0.0,
        w_max_dtod=0.0,
        w_min_dtod=0.0,
    )
    array = device.sample((20, 20), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    w = np.zeros((20, 20))
    for _ in range(2000):
        array.apply(w, rng.choice([-1, 1], size=(20, 20)), rng)
    np.testing.assert_allclose(array.symmetry_point(), 0.3, atol=1e-12)
    assert np.mean(w) == pytest.approx(0.3, abs=0.02)


def test_pow_step_with_gamma_one_is_soft_bounds() -> None:
    common = {"dw_min": 0.05, "dw_min_std": 0.0, "up_down": 0.2}
    rng = np.random.default_rng(5)
    counts = _random_counts(rng, (10, 10), 30)
    soft = SoftBoundsDevice(**common).sample((10, 10), np.random.default_rng(9))
    power = PowStepDevice(pow_gamma=1.0, **common).sample((10, 10), np.random.default_rng(9))
    # symmetric bounds make both models identical: override the sampled bound spread
    for array in (soft, power):
        array.w_max[...] = 1.0
        array.w_min[...] = -1.0
        array.__post_init__()
    w_soft, w_power = np.zeros((10, 10)), np.zeros((10, 10))
    soft.apply(w_soft, counts, rng)
    power.apply(w_power, counts, rng)
    np.testing.assert_allclose(w_power, w_soft, atol=1e-12)


def test_pow_step_saturates_faster_with_larger_gamma() -> None:
    steps = []
    for gamma in (1.0, 3.0):
        device = PowStepDevice(
            pow_gamma=gamma,
            dw_min=0.01,
            dw_min_std=0.0,
            dw_min_dtod=0.0,
            up_down_dtod=0.0,
            w_max_dtod=0.0,
            w_min_dtod=0.0,
        )
        array = device.sample((1, 1), np.random.default_rng(0))
        w = np.array([[0.6]])
        array.apply(w, np.array([[1]]), np.random.default_rng(0))
        steps.append(w[0, 0] - 0.6)
    assert steps[1] < steps[0]


def test_ideal_device_moves_exactly_dw_min_without_bounds() -> None:
    array = IdealDevice(dw_min=0.25).sample((1, 2), np.random.default_rng(0))
    w = np.zeros((1, 2))
    array.apply(w, np.array([[100, -3]]), np.random.default_rng(0))
    np.testing.assert_array_equal(w, [[25.0, -0.75]])


def test_configs_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SoftBoundsDevice().dw_min = 0.1  # type: ignore[misc]
