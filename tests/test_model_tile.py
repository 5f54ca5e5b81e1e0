"""The analog tile: reads through the periphery, the three update modes, pulse counting, TTv2 hooks."""

from __future__ import annotations

import numpy as np
import pytest
from pulsetrain.model.devices import ConstantStepDevice, IdealDevice, SoftBoundsDevice
from pulsetrain.model.periphery import PulseSource, PulseTrains
from pulsetrain.model.pulses import FloatPulseSource, plan_pulses
from pulsetrain.model.tile import IDEAL_IO, IOConfig, NoiseManagement, Tile, UpdateConfig, UpdateMode

from pulsetrain.config import ConfigError

QUIET_CONSTANT_STEP = ConstantStepDevice(
    dw_min=0.001, dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0
)


def make_tile(
    out_size: int = 6,
    in_size: int = 5,
    *,
    device=QUIET_CONSTANT_STEP,  # type: ignore[no-untyped-def]
    io: IOConfig = IDEAL_IO,
    mode: UpdateMode = UpdateMode.STOCHASTIC,
    output_scale: float = 2.0,
    seed: int = 0,
    pulse_source: PulseSource | None = None,
    desired_bl: int = 31,
) -> Tile:
    return Tile(
        out_size,
        in_size,
        device=device,
        forward_io=io,
        backward_io=io,
        update=UpdateConfig(mode=mode, desired_bl=desired_bl),
        output_scale=output_scale,
        pulse_source=pulse_source or FloatPulseSource(np.random.default_rng(seed + 100)),
        rng=np.random.default_rng(seed),
    )


def programmed(tile: Tile, seed: int = 1, scale: float = 0.5) -> np.ndarray:
    weights = np.random.default_rng(seed).uniform(-scale, scale, size=(tile.out_size, tile.in_size))
    tile.set_weights(weights)
    return weights


def test_ideal_periphery_reads_w_x_and_w_transpose_d() -> None:
    tile = make_tile()
    weights = programmed(tile)
    np.testing.assert_allclose(tile.weights(), weights, atol=1e-12)
    x = np.random.default_rng(2).uniform(-1, 1, size=(3, 5))
    d = np.random.default_rng(3).uniform(-1, 1, size=(3, 6))
    np.testing.assert_allclose(tile.forward(x), x @ weights.T, atol=1e-12)
    np.testing.assert_allclose(tile.backward(d), d @ weights, atol=1e-12)


def test_output_scale_maps_device_units_to_weights() -> None:
    tile = make_tile(output_scale=4.0)
    weights = programmed(tile, scale=2.0)
    np.testing.assert_allclose(tile.device_weights() * 4.0, weights, atol=1e-12)


def test_dac_quantizes_the_scaled_input() -> None:
    io = IOConfig(dac_bits=3, adc_bits=None, out_noise=0.0)  # levels at multiples of 1/3
    tile = make_tile(io=io)
    weights = programmed(tile)
    x = np.array([[0.1, 0.2, 0.5, -0.9, 1.0]])  # abs-max scaling leaves it as is (max |x| = 1)
    quantized = np.array([[0.0, 1 / 3, 2 / 3, -1.0, 1.0]])  # rint(x * 3) / 3, 0.5*3=1.5 rounds to 2
    np.testing.assert_allclose(tile.forward(x), quantized @ weights.T, atol=1e-12)


def test_adc_outputs_are_whole_codes_times_the_lsb() -> None:
    io = IOConfig(dac_bits=None, adc_bits=5, out_noise=0.0, out_bound=1.5)
    tile = make_tile(io=io, output_scale=1.0)
    programmed(tile)
    x = np.random.default_rng(4).uniform(0, 1, size=(10, 5))
    scale = np.max(np.abs(x), axis=1, keepdims=True)
    codes = tile.forward(x) / scale / io.adc_lsb
    np.testing.assert_allclose(codes, np.rint(codes), atol=1e-9)


def test_output_bound_saturates() -> None:
    io = IOConfig(
        dac_bits=None, adc_bits=None, out_noise=0.0, out_bound=0.5, noise_management=NoiseManagement.NONE
    )
    tile = make_tile(in_size=5, io=io, output_scale=1.0)
    tile.set_weights(np.full((6, 5), 0.9))
    np.testing.assert_allclose(tile.forward(np.ones((1, 5))), 0.5)


def test_input_clipping_without_noise_management() -> None:
    io = IOConfig(
        dac_bits=None,
        adc_bits=None,
        out_noise=0.0,
        inp_bound=1.0,
        out_bound=100.0,
        noise_management=NoiseManagement.NONE,
    )
    tile = make_tile(io=io, output_scale=1.0)
    weights = programmed(tile)
    x = np.array([[3.0, -2.0, 0.5, 0.0, 1.0]])
    np.testing.assert_allclose(tile.forward(x), np.clip(x, -1, 1) @ weights.T, atol=1e-12)


def test_output_noise_has_the_configured_std() -> None:
    # 20 000 reads of 6 outputs: the std estimate is within 3 % (SE ~ 1/sqrt(2N) = 0.2 %)
    io = IOConfig(dac_bits=None, adc_bits=None, out_noise=0.05)
    tile = make_tile(io=io, output_scale=2.0)
    weights = programmed(tile)
    x = np.tile(np.array([[0.2, -0.4, 1.0, 0.3, 0.0]]), (20_000, 1))
    error = tile.forward(x) - x @ weights.T
    assert np.std(error) == pytest.approx(0.05 * 2.0, rel=0.03)


def test_io_config_validation() -> None:
    with pytest.raises(ConfigError, match="io.adc_bits"):
        IOConfig(adc_bits=0)
    with pytest.raises(ConfigError, match="io.out_noise"):
        IOConfig(out_noise=-0.1)


def test_ideal_update_writes_the_exact_change() -> None:
    tile = make_tile(mode=UpdateMode.IDEAL, device=IdealDevice())
    weights = programmed(tile)
    x = np.random.default_rng(5).uniform(-1, 1, size=(4, 5))
    d = np.random.default_rng(6).uniform(-1, 1, size=(4, 6))
    tile.update(x, d, lr=0.01)
    np.testing.assert_allclose(tile.weights(), weights - 0.01 * d.T @ x, atol=1e-12)
    assert tile.total_pulses == 0


def test_deterministic_update_sends_rounded_expected_counts() -> None:
    tile = make_tile(mode=UpdateMode.DETERMINISTIC, output_scale=1.0)
    start = tile.device_weights()
    x = np.array([[1.0, 0.5, -0.3, 0.0, 0.1]])  # no products on a rounding tie
    d = np.array([[0.1, -0.2, 0.0, 0.3, 0.07, -0.01]])
    tile.update(x, d, lr=0.1)
    expected_counts = np.clip(np.rint(-0.1 * np.outer(d[0], x[0]) / 0.001), -31, 31)
    np.testing.assert_allclose(tile.device_weights() - start, expected_counts * 0.001, atol=1e-12)
    assert tile.total_pulses == int(np.abs(expected_counts).sum())


def test_stochastic_update_writes_the_requested_change_on_average() -> None:
    # 400 repetitions of one rank-1 update on a constant-step tile without noise: each device's mean
    # change must be -lr d_j x_i within 5 standard errors (counts are sums of Bernoulli coincidences).
    x = np.array([0.9, -0.5, 0.2, 0.0, 1.0])
    d = np.array([0.3, -0.6, 0.1, 0.05, -0.2, 0.4])
    lr = 0.02
    changes = []
    tile = make_tile(output_scale=1.0)
    for _ in range(400):
        tile.set_weights(np.zeros((6, 5)))
        tile.update(x[None, :], d[None, :], lr)
        changes.append(tile.device_weights())
    changes_array = np.array(changes)
    mean = changes_array.mean(axis=0)
    standard_error = changes_array.std(axis=0) / np.sqrt(400) + 1e-12
    expected = -lr * np.outer(d, x)
    assert np.all(np.abs(mean - expected) <= 5 * standard_error + 1e-9)
    assert np.all(changes_array[:, :, 3] == 0)  # x = 0 never fires


def test_update_management_gives_equal_largest_probabilities_and_the_expected_count() -> None:
    x = np.array([0.5, -1.0, 0.25])
    d = np.array([0.001, -0.004])
    plan = plan_pulses(x, d, lr=0.5, dw_min=0.001, desired_bl=31)
    assert plan is not None
    assert plan.bl == 2  # ceil(0.5 * 1.0 * 0.004 / 0.001)
    assert plan.x_probability.max() == pytest.approx(plan.d_probability.max())
    expected = plan.bl * np.outer(plan.d_probability, plan.x_probability) * 0.001
    np.testing.assert_allclose(expected, 0.5 * np.abs(np.outer(d, x)))


def test_update_management_saturates_at_probability_one() -> None:
    plan = plan_pulses(np.array([1.0]), np.array([1.0]), lr=10.0, dw_min=0.001, desired_bl=31)
    assert plan is not None
    assert plan.bl == 31
    assert plan.x_probability[0] == 1.0 and plan.d_probability[0] == 1.0


def test_nothing_is_written_for_a_zero_error() -> None:
    assert plan_pulses(np.ones(3), np.zeros(2), lr=0.1, dw_min=0.001, desired_bl=31) is None


def test_coincidences_agree_with_the_periphery_reference() -> None:
    rng = np.random.default_rng(8)
    trains = PulseTrains(
        x_fire=rng.random((31, 5)) < 0.4,
        d_fire=rng.random((31, 6)) < 0.4,
        x_negative=rng.random(5) < 0.5,
        d_negative=rng.random(6) < 0.5,
    )
    np.testing.assert_array_equal(Tile.coincidences(trains), trains.coincidences())


def test_pulse_counts_per_device_add_up() -> None:
    tile = make_tile(output_scale=1.0)
    rng = np.random.default_rng(9)
    trains = PulseTrains(
        x_fire=rng.random((31, 5)) < 0.5,
        d_fire=rng.random((31, 6)) < 0.5,
        x_negative=np.zeros(5, dtype=bool),
        d_negative=np.ones(6, dtype=bool),
    )
    tile.apply_trains(trains)
    tile.apply_trains(trains)
    np.testing.assert_array_equal(tile.pulse_counts, 2 * np.abs(trains.coincidences()))
    assert tile.total_pulses == 2 * int(np.abs(trains.coincidences()).sum())
    # all coincidences step up (x positive, d negative): the device moved by +count * dw_min
    np.testing.assert_allclose(tile.device_weights(), 2 * trains.coincidences() * 0.001, atol=1e-12)


class AllFire:
    """A minimal PulseSource: every line with a non-zero probability fires in every slot."""

    def trains(self, x_probability, x_negative, d_probability, d_negative, bl):  # type: ignore[no-untyped-def]
        return PulseTrains(
            x_fire=np.tile(x_probability > 0, (bl, 1)),
            d_fire=np.tile(d_probability > 0, (bl, 1)),
            x_negative=x_negative,
            d_negative=d_negative,
        )


def test_any_pulse_source_serves_the_update() -> None:
    assert isinstance(AllFire(), PulseSource)
    tile = make_tile(output_scale=1.0, pulse_source=AllFire(), desired_bl=4)
    x = np.array([[1.0, 0.0, -1.0, 0.0, 0.0]])
    d = np.array([[1.0, 0.0, 0.0, 0.0, 0.0, -1.0]])
    tile.update(x, d, lr=1.0)  # BL capped at 4: every firing pair meets 4 times
    expected = np.zeros((6, 5))
    expected[0, 0], expected[0, 2], expected[5, 0], expected[5, 2] = -4, 4, 4, -4
    np.testing.assert_allclose(tile.device_weights(), expected * 0.001, atol=1e-12)


def test_read_column_returns_adc_codes_of_one_column() -> None:
    io = IOConfig(adc_bits=8, out_noise=0.0, out_bound=1.0)
    tile = make_tile(io=io, output_scale=3.0)
    programmed(tile, scale=1.5)
    read = tile.read_column(2)
    assert read.codes is not None and read.lsb == pytest.approx(1.0 / 127)
    np.testing.assert_array_equal(read.codes, np.rint(tile.device_weights()[:, 2] / read.lsb))
    np.testing.assert_allclose(read.values, read.codes * read.lsb)
    with pytest.raises(ConfigError, match="column"):
        tile.read_column(5)


def test_a_column_adc_converts_the_reads_of_its_tile() -> None:
    # the co-simulation's seam: the tile's analog column values go to the ColumnAdc instead of rint(v/lsb)
    io = IOConfig(adc_bits=8, out_noise=0.0, out_bound=1.0)
    tile = make_tile(io=io, output_scale=3.0)
    programmed(tile, scale=1.5)
    model_codes = tile.read_column(2).codes
    seen: list[tuple[int, np.ndarray, float]] = []

    class OneCodeHigh:
        def convert(self, column: int, values: np.ndarray, lsb: float) -> np.ndarray:
            seen.append((column, values.copy(), lsb))
            return np.rint(values / lsb).astype(np.int64) + 1

    tile.column_adc = OneCodeHigh()
    read = tile.read_column(2)
    assert read.codes is not None and model_codes is not None
    np.testing.assert_array_equal(read.codes, model_codes + 1)
    np.testing.assert_array_equal(tile.read_column_codes(2), model_codes + 1)
    column, values, lsb = seen[0]
    assert column == 2 and lsb == read.lsb
    np.testing.assert_allclose(values, tile.device_weights()[:, 2], atol=1e-12)


def test_a_read_adc_converts_forward_and_backward_reads_and_observers_see_new_tiles() -> None:
    from pulsetrain.model.tile import TILE_OBSERVERS

    # no noise management: the read's outputs are codes times the digital gain, with no per-input scale
    io = IOConfig(adc_bits=8, out_noise=0.0, out_bound=1.0, noise_management=NoiseManagement.NONE)
    created: list[Tile] = []
    TILE_OBSERVERS.append(created.append)
    try:
        tile = make_tile(io=io, output_scale=3.0)
    finally:
        TILE_OBSERVERS.remove(created.append)
    assert created == [tile]
    programmed(tile, scale=1.5)
    x = np.random.default_rng(3).uniform(-1, 1, (2, 5))
    d = np.random.default_rng(4).uniform(-1, 1, (2, 6))
    forward, backward = tile.forward(x), tile.backward(d)
    seen: list[tuple[bool, tuple[int, ...]]] = []

    class OneCodeHigh:
        def convert(self, transpose: bool, values: np.ndarray, lsb: float) -> np.ndarray:
            seen.append((transpose, values.shape))
            return np.rint(values / lsb) + 1.0

    tile.read_adc = OneCodeHigh()
    lsb = io.adc_lsb
    assert lsb is not None
    # one code more is one LSB more, times the digital gain of each output line
    np.testing.assert_allclose(tile.forward(x) - forward, np.broadcast_to(lsb * tile.output_scale, (2, 6)))
    np.testing.assert_allclose(tile.backward(d) - backward, np.full((2, 5), lsb), atol=1e-12)
    assert seen == [(False, (2, 6)), (True, (2, 5))]


def test_read_column_sees_the_reference_offset() -> None:
    device = SoftBoundsDevice(reference_offset_std=0.2, dw_min_std=0.0)
    tile = make_tile(device=device, io=IDEAL_IO, output_scale=1.0)
    tile.set_device_weights(np.zeros((6, 5)) - tile.reference)  # every device at g = 0
    np.testing.assert_allclose(tile.read_column(1).values, -tile.reference[:, 1], atol=1e-12)


def test_column_pulses_touch_only_that_column() -> None:
    tile = make_tile(output_scale=1.0)
    tile.apply_column_pulses(3, np.array([1, 0, -2, 0, 5, 0]))
    changed = tile.device_weights()
    np.testing.assert_allclose(changed[:, 3], np.array([1, 0, -2, 0, 5, 0]) * 0.001, atol=1e-12)
    assert np.count_nonzero(np.delete(changed, 3, axis=1)) == 0
    assert tile.total_pulses == 8


def test_soft_bounds_update_of_a_large_tile_keeps_states_in_bounds() -> None:
    tile = make_tile(256, 256, device=SoftBoundsDevice(), io=IOConfig(), output_scale=3.0)
    rng = np.random.default_rng(11)
    for _ in range(5):
        tile.update(rng.uniform(-1, 1, size=(8, 256)), rng.normal(0, 0.3, size=(8, 256)), lr=0.1)
    assert np.all(tile.g <= tile.devices.w_max) and np.all(tile.g >= tile.devices.w_min)
    assert tile.total_pulses > 0


class GenericFloatSource(FloatPulseSource):
    """The float source through the generic PulseSource path (the fast path is for the exact type)."""


def test_fast_path_makes_the_same_decisions_as_the_protocol_path() -> None:
    tiles = [
        make_tile(
            16, 12, device=SoftBoundsDevice(), io=IOConfig(), pulse_source=source(np.random.default_rng(5))
        )
        for source in (FloatPulseSource, GenericFloatSource)
    ]
    rng = np.random.default_rng(6)
    x, d = rng.uniform(-1, 1, size=(20, 12)), rng.normal(0, 0.3, size=(20, 16))
    x[3] = 0.0  # a sample without input writes nothing on either path
    for tile in tiles:
        tile.set_weights(np.zeros((16, 12)))
        tile.update(x, d, lr=0.05)
    assert tiles[0].total_pulses > 0
    np.testing.assert_array_equal(tiles[0].g, tiles[1].g)
    np.testing.assert_array_equal(tiles[0].pulse_counts, tiles[1].pulse_counts)


def test_forward_and_backward_use_their_own_periphery() -> None:
    tile = Tile(
        6,
        5,
        device=QUIET_CONSTANT_STEP,
        forward_io=IOConfig(out_noise=0.5),
        backward_io=IDEAL_IO,
        update=UpdateConfig(),
        output_scale=1.0,
        pulse_source=FloatPulseSource(np.random.default_rng(0)),
        rng=np.random.default_rng(1),
    )
    weights = programmed(tile)
    d = np.random.default_rng(2).uniform(-1, 1, size=(4, 6))
    x = np.random.default_rng(3).uniform(-1, 1, size=(4, 5))
    np.testing.assert_allclose(tile.backward(d), d @ weights, atol=1e-12)
    assert np.max(np.abs(tile.forward(x) - x @ weights.T)) > 0.1  # noise std 0.5 on 24 outputs


def test_pickled_tile_keeps_learning_in_place() -> None:
    import pickle

    tile = make_tile(output_scale=1.0)
    copy = pickle.loads(pickle.dumps(tile))
    copy.apply_column_pulses(0, np.ones(6))
    np.testing.assert_allclose(copy.device_weights()[:, 0], 0.001)
    np.testing.assert_allclose(copy.weights()[:, 0], 0.001)  # reads see the write (views rebuilt)
