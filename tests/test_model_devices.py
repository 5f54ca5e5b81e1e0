"""Device models: validation, seeded sampling, and the aggregated pulse path against pulse-by-pulse."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pulsetrain.model.devices import (
    DEVICES,
    ConstantStepDevice,
    IdealDevice,
    LinearStepDevice,
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
    # up_down = 0.3 (aihwkit): up step dw, down step 0.7 dw; the symmetry point
    # (dw_up - dw_down) / (dw_up/w_max - dw_down/w_min) = 0.3 / 1.7
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
    np.testing.assert_allclose(array.symmetry_point(), 0.3 / 1.7, atol=1e-12)
    assert np.mean(w) == pytest.approx(0.3 / 1.7, abs=0.02)


def test_pow_step_with_gamma_one_is_soft_bounds_at_twice_the_step() -> None:
    # aihwkit's pow step scales by (w_max - w) / (w_max - w_min): on a +-1 device half the soft-bounds
    # factor (1 - w / w_max), so pow_gamma 1 at 2 dw_min is soft bounds at dw_min
    common = {"dw_min_std": 0.0, "up_down": 0.2}
    rng = np.random.default_rng(5)
    counts = _random_counts(rng, (10, 10), 30)
    soft = SoftBoundsDevice(dw_min=0.05, **common).sample((10, 10), np.random.default_rng(9))
    power = PowStepDevice(pow_gamma=1.0, dw_min=0.1, **common).sample((10, 10), np.random.default_rng(9))
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


# --------------------------------------------------------------------------------------------------
# aihwkit semantics: the formulas of src/rpucuda/rpu_pulsed_device.cpp (populate) and
# rpu_linearstep_device.cpp (update_once_mult / update_once_add), commit 4545f11b, written out here
# independently of pulsetrain.model.device_array
# --------------------------------------------------------------------------------------------------

_NO_SPREAD = {"dw_min_dtod": 0.0, "up_down_dtod": 0.0, "w_max_dtod": 0.0, "w_min_dtod": 0.0}


@pytest.mark.parametrize(("up_down", "up", "down"), [(0.2, 1.0, 0.8), (-0.2, 0.8, 1.0)], ids=["pos", "neg"])
def test_up_down_shrinks_only_the_weaker_direction(up_down: float, up: float, down: float) -> None:
    array = ConstantStepDevice(dw_min=0.01, up_down=up_down, **_NO_SPREAD).sample(
        (2, 3), np.random.default_rng(0)
    )
    np.testing.assert_allclose(array.dw_up, up * 0.01)
    np.testing.assert_allclose(array.dw_down, down * 0.01)


def test_up_down_dtod_is_added_in_units_of_dw_min_independent_of_the_gain() -> None:
    # aihwkit: s_up = (gain + r) dw_min, s_down = (gain - r) dw_min with r = up_down_dtod xi, so the
    # difference is 2 r dw_min whatever the gain; 40 000 devices, std within 3 % (SE of a std ~ 0.35 %)
    device = ConstantStepDevice(dw_min=0.01, dw_min_dtod=0.3, up_down_dtod=0.1)
    array = device.sample((200, 200), np.random.default_rng(2))
    difference = (array.dw_up - array.dw_down) / (2 * 0.01)
    gain = (array.dw_up + array.dw_down) / (2 * 0.01)
    assert np.std(difference) == pytest.approx(0.1, rel=0.03)
    assert abs(np.corrcoef(difference.ravel(), gain.ravel())[0, 1]) < 0.03


def _aihwkit_soft_bounds_walk(array: object, w0: np.ndarray, up: int, down: int) -> np.ndarray:
    """aihwkit soft bounds: up w += s_up (1 - w / b_max), down w -= s_down (1 - w / b_min)."""
    w = w0.copy()
    trajectory = []
    for direction in [1] * up + [-1] * down:
        if direction > 0:
            w = w + array.dw_up * (1.0 - w / array.w_max)  # type: ignore[attr-defined]
        else:
            w = w - array.dw_down * (1.0 - w / array.w_min)  # type: ignore[attr-defined]
        w = np.clip(w, array.w_min, array.w_max)  # type: ignore[attr-defined]
        trajectory.append(w)
    return np.array(trajectory)


def test_soft_bounds_pulse_response_follows_aihwkit_with_spreads_and_up_down() -> None:
    # 500 devices with every spread and up_down 0.2, no cycle noise: 200 up then 200 down pulses
    device = SoftBoundsDevice(dw_min=0.01, dw_min_std=0.0, up_down=0.2, up_down_dtod=0.05)
    array = device.sample((1, 500), np.random.default_rng(4))
    expected = _aihwkit_soft_bounds_walk(array, np.zeros((1, 500)), 200, 200)
    w = np.zeros((1, 500))
    for step in range(400):
        array.apply(w, np.full((1, 500), 1 if step < 200 else -1), np.random.default_rng(step))
        np.testing.assert_allclose(w, expected[step], atol=1e-12)


@pytest.mark.parametrize("mult_noise", [True, False], ids=["mult", "add"])
def test_soft_bounds_cycle_noise_is_multiplicative_or_additive_as_in_aihwkit(mult_noise: bool) -> None:
    # one up pulse at w = 0.5 on w_max = 1: step s (1 - 0.5) = s / 2. aihwkit's noise: mult_noise
    # scales the step by (1 + std xi) (std of the change s/2 * std), additive adds s std xi.
    # 40 000 devices: std within 3 %.
    device = SoftBoundsDevice(dw_min=0.01, dw_min_std=0.5, mult_noise=mult_noise, **_NO_SPREAD)
    array = device.sample((200, 200), np.random.default_rng(0))
    w = np.full((200, 200), 0.5)
    array.apply(w, np.ones((200, 200)), np.random.default_rng(1))
    change = w - 0.5
    assert np.mean(change) == pytest.approx(0.005, rel=0.01)
    assert np.std(change) == pytest.approx(0.5 * (0.005 if mult_noise else 0.01), rel=0.03)


def test_multiplicative_noise_vanishes_at_the_bound() -> None:
    device = SoftBoundsDevice(dw_min=0.01, dw_min_std=0.5, mult_noise=True, **_NO_SPREAD)
    array = device.sample((1, 100), np.random.default_rng(0))
    w = np.ones((1, 100))  # at w_max an up step is zero, and so is its noise
    array.apply(w, np.ones((1, 100)), np.random.default_rng(1))
    np.testing.assert_array_equal(w, 1.0)


def test_linear_step_slope_follows_aihwkit() -> None:
    # aihwkit LinearStep with mean_bound_reference: w += s (1 - gamma_up w / w_max)
    device = LinearStepDevice(
        dw_min=0.01,
        dw_min_std=0.0,
        gamma_up=0.4,
        gamma_down=0.7,
        gamma_up_dtod=0.0,
        gamma_down_dtod=0.0,
        **_NO_SPREAD,
    )
    array = device.sample((1, 1), np.random.default_rng(0))
    w = np.array([[0.5]])
    array.apply(w, np.array([[3]]), np.random.default_rng(0))
    expected = 0.5
    for _ in range(3):
        expected += 0.01 * (1.0 - 0.4 * expected / 1.0)
    assert w[0, 0] == pytest.approx(expected, abs=1e-12)
    array.apply(w, np.array([[-1]]), np.random.default_rng(0))
    assert w[0, 0] == pytest.approx(expected - 0.01 * (1.0 - 0.7 * expected / -1.0), abs=1e-12)


def test_write_noise_is_seen_by_reads_and_redrawn_on_every_pulse() -> None:
    from pulsetrain.model.pulses import FloatPulseSource
    from pulsetrain.model.tile import IDEAL_IO, Tile, UpdateConfig, UpdateMode

    device = ConstantStepDevice(dw_min=0.01, dw_min_std=0.0, write_noise_std=5.0, **_NO_SPREAD)
    tile = Tile(
        100,
        100,
        device=device,
        forward_io=IDEAL_IO,
        backward_io=IDEAL_IO,
        update=UpdateConfig(mode=UpdateMode.DETERMINISTIC),
        output_scale=1.0,
        pulse_source=FloatPulseSource(np.random.default_rng(0)),
        rng=np.random.default_rng(1),
    )
    tile.set_device_weights(np.zeros((100, 100)))
    apparent = tile.device_weights() - tile.g
    # aihwkit: apparent = persistent + write_noise_std * dw_min * xi (std 0.05); 10 000 devices, 3 %
    assert np.std(apparent) == pytest.approx(0.05, rel=0.03)
    counts = np.zeros((100, 100))
    counts[:50] = 1.0
    tile.apply_pulse_counts(counts)
    after = tile.device_weights() - tile.g
    assert np.all(after[:50] != apparent[:50]) and np.array_equal(after[50:], apparent[50:])
    np.testing.assert_allclose(tile.g[:50], 0.01)  # the hidden state moved by one clean step


@pytest.mark.parametrize("kind", ["reram-sb", "reram-es", "capacitor", "ecram-mo"])
def test_aihwkit_presets_are_selectable_and_stay_in_bounds(kind: str) -> None:
    device = device_from_name(kind)
    array = device.sample((20, 30), np.random.default_rng(0))
    rng = np.random.default_rng(1)
    w = np.zeros((20, 30))
    for _ in range(50):
        array.apply(w, _random_counts(rng, (20, 30), 5), rng)
    assert np.all(np.isfinite(w)) and np.all(w <= array.w_max) and np.all(w >= array.w_min)
    assert np.any(w != 0.0)


def test_reram_sb_preset_carries_aihwkit_numbers() -> None:
    # aihwkit src/aihwkit/simulator/presets/devices.py ReRamSBPresetDevice (commit 4545f11b)
    device = device_from_name("reram-sb")
    assert isinstance(device, SoftBoundsDevice)
    assert (device.dw_min, device.w_max, device.w_min, device.dw_min_std, device.write_noise_std) == (
        0.002,
        1.25,
        -0.75,
        3.75,
        56.0,
    )
    assert device.mult_noise is False
