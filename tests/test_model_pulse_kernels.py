"""The compiled pulsed update (packed bits, AND + popcount) against the NumPy path it replaces.

Every case runs the same tile twice, once through the kernels of :mod:`pulsetrain.model.pulse_kernels`
and once through the tile's NumPy path (float32 coincidence product, ``DeviceArray.apply_at``), and
demands identical device states, pulse counts and random-generator states afterwards: the same
decisions, the same noise on the same devices, the same numbers drawn.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from pulsetrain.model import pulse_kernels, pulsed_update
from pulsetrain.model.devices import (
    ConstantStepDevice,
    ExpStepDevice,
    IdealDevice,
    LinearStepDevice,
    PowStepDevice,
    SoftBoundsDevice,
)
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig

pytestmark = pytest.mark.skipif(not pulse_kernels.AVAILABLE, reason="numba is not importable")

DEVICES: dict[str, Any] = {
    "constant-step": ConstantStepDevice(dw_min=0.01),
    "constant-step-quiet": ConstantStepDevice(dw_min=0.01, dw_min_std=0.0),
    "ideal": IdealDevice(dw_min=0.01),
    "soft-bounds-multiplicative": SoftBoundsDevice(dw_min=0.01),
    "soft-bounds-additive": SoftBoundsDevice(dw_min=0.01, mult_noise=False),
    "linear-step": LinearStepDevice(dw_min=0.01, gamma_up=0.3, gamma_down=0.2),
    "exp-step": ExpStepDevice(dw_min=0.01),
    "pow-step": PowStepDevice(dw_min=0.01),
    "write-noise": ConstantStepDevice(dw_min=0.01, write_noise_std=2.0),
    "reference-offsets": SoftBoundsDevice(dw_min=0.01, reference_offset_std=0.2),
}


def tile_pair(out_size: int, in_size: int, device: Any, desired_bl: int = 31) -> tuple[Tile, Tile]:
    tile = Tile(
        out_size,
        in_size,
        device=device,
        forward_io=IOConfig(),
        backward_io=IOConfig(),
        update=UpdateConfig(desired_bl=desired_bl),
        output_scale=1.5,
        pulse_source=FloatPulseSource(np.random.default_rng(1)),
        rng=np.random.default_rng(2),
    )
    tile.set_weights(np.random.default_rng(3).uniform(-0.6, 0.6, size=(out_size, in_size)))
    return tile, copy.deepcopy(tile)


def update_both(
    monkeypatch: pytest.MonkeyPatch, tiles: tuple[Tile, Tile], x: np.ndarray, d: np.ndarray, lr: float,
    line_signs: Any = None,
) -> None:  # fmt: skip
    compiled, reference = tiles
    compiled.update(x, d, lr, line_signs=line_signs)
    with monkeypatch.context() as patch:
        patch.setattr(pulse_kernels, "AVAILABLE", False)
        reference.update(x, d, lr, line_signs=line_signs)


def assert_same(tiles: tuple[Tile, Tile]) -> None:
    compiled, reference = tiles
    np.testing.assert_array_equal(compiled.g, reference.g)
    np.testing.assert_array_equal(compiled.device_weights(), reference.device_weights())
    np.testing.assert_array_equal(compiled.pulse_counts, reference.pulse_counts)
    # the same numbers were drawn from both generators
    assert compiled.rng.bit_generator.state == reference.rng.bit_generator.state
    assert compiled.pulse_source.rng.bit_generator.state == reference.pulse_source.rng.bit_generator.state  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["streamed", "fused", "lists"])
@pytest.mark.parametrize("name", list(DEVICES))
def test_kernels_write_what_the_numpy_path_writes(
    monkeypatch: pytest.MonkeyPatch, name: str, path: str
) -> None:
    monkeypatch.setattr(pulsed_update, "STREAMED", path == "streamed")
    monkeypatch.setattr(pulsed_update, "FUSED_FROM", 0 if path == "fused" else 2**62)
    tiles = tile_pair(9, 13, DEVICES[name])
    rng = np.random.default_rng(4)
    for lr in (0.05, 0.5):
        x = rng.uniform(-1, 1, size=(40, 13))
        d = rng.normal(0, 0.5, size=(40, 9))
        x[:, 2] = 0.0  # a line that never fires
        update_both(monkeypatch, tiles, x, d, lr)
    assert tiles[0].total_pulses > 0
    assert_same(tiles)


def test_no_pulses_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulsed_update, "FUSED_FROM", 0)
    tiles = tile_pair(5, 7, DEVICES["constant-step"])
    before = tiles[0].g.copy()
    x = np.zeros((3, 7))
    d = np.random.default_rng(5).normal(size=(3, 5))
    update_both(monkeypatch, tiles, x, d, 0.1)  # zero inputs
    update_both(monkeypatch, tiles, d[:, :5] @ np.zeros((5, 7)) + 1.0, np.zeros((3, 5)), 0.1)  # zero errors
    update_both(monkeypatch, tiles, np.full((2, 7), 1e-12), np.full((2, 5), 1e-12), 1e-9)  # ~0 odds
    assert tiles[0].total_pulses == 0
    np.testing.assert_array_equal(tiles[0].g, before)
    assert_same(tiles)


def test_saturated_trains_pulse_every_device_in_every_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulsed_update, "FUSED_FROM", 0)
    tiles = tile_pair(6, 8, DEVICES["constant-step"])
    x = np.ones((2, 8))
    d = -np.ones((2, 6))
    update_both(monkeypatch, tiles, x, d, 100.0)  # every probability saturates at 1, BL = desired_bl
    update_both(monkeypatch, tiles, x, 1e290 * d, 1e10)  # lr x d / dw_min = 1e302, beyond int64: BL capped
    np.testing.assert_array_equal(tiles[0].pulse_counts, np.full((6, 8), 4 * 31))
    assert_same(tiles)


@pytest.mark.parametrize("name", ["constant-step", "soft-bounds-multiplicative", "pow-step"])
def test_bounds_are_hit_as_on_the_numpy_path(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(pulsed_update, "FUSED_FROM", 0)
    tiles = tile_pair(7, 7, DEVICES[name])
    rng = np.random.default_rng(6)
    x = np.abs(rng.uniform(0.5, 1, size=(30, 7)))
    d = -np.abs(rng.uniform(0.5, 1, size=(30, 7)))
    update_both(monkeypatch, tiles, x, d, 5.0)  # hundreds of up pulses each: every device at its bound
    if name == "constant-step":
        np.testing.assert_array_equal(tiles[0].g, tiles[0].devices.w_max)
    assert_same(tiles)


@pytest.mark.parametrize("desired_bl", [63, 64, 65, 200])
def test_trains_longer_than_one_word(monkeypatch: pytest.MonkeyPatch, desired_bl: int) -> None:
    monkeypatch.setattr(pulsed_update, "FUSED_FROM", 0)
    tiles = tile_pair(6, 10, DEVICES["soft-bounds-additive"], desired_bl=desired_bl)
    rng = np.random.default_rng(7)
    update_both(monkeypatch, tiles, rng.uniform(-1, 1, (12, 10)), rng.normal(0, 1, (12, 6)), 3.0)
    assert_same(tiles)


def test_chopped_updates_match(monkeypatch: pytest.MonkeyPatch) -> None:
    tiles = tile_pair(8, 6, DEVICES["soft-bounds-multiplicative"])
    rng = np.random.default_rng(8)
    signs = (np.where(rng.random(6) < 0.5, -1.0, 1.0), np.where(rng.random(8) < 0.5, -1.0, 1.0))
    update_both(monkeypatch, tiles, rng.uniform(-1, 1, (25, 6)), rng.normal(0, 0.4, (25, 8)), 0.2, signs)
    assert_same(tiles)


@pytest.mark.parametrize("name", ["exp-step", "write-noise", "soft-bounds-multiplicative"])
def test_batches_larger_than_one_chunk(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # chunks of one sample (48 devices, 50 entries at most), and no expm1 table: the list path
    monkeypatch.setattr(pulsed_update, "MAX_ENTRIES", 50)
    monkeypatch.setattr(pulsed_update, "MAX_EXPM1_TABLE_BYTES", 0)
    monkeypatch.setattr(pulsed_update, "FUSED_FROM", 0)  # the linear step draws its normals in the loop
    tiles = tile_pair(6, 8, DEVICES[name])
    rng = np.random.default_rng(9)
    update_both(monkeypatch, tiles, rng.uniform(-1, 1, (10, 8)), rng.normal(0, 1, (10, 6)), 0.3)
    assert tiles[0].total_pulses > 0
    assert_same(tiles)


@pytest.mark.parametrize("name", ["constant-step", "soft-bounds-multiplicative", "soft-bounds-additive"])
@pytest.mark.parametrize("dtype", [np.int64, np.float64, np.float32])
def test_column_pulses_match_the_numpy_path(monkeypatch: pytest.MonkeyPatch, name: str, dtype: Any) -> None:
    tiles = tile_pair(6, 4, DEVICES[name])
    counts = np.array([3, 0, -2, 40, -1, 7], dtype=dtype)  # a zero, both signs, a bound reached
    flat_index, flat_counts = np.array([1, 6, 22]), np.array([-5.0, 2.0, 1.0], dtype=np.float32)
    for column in (0, 3):
        tiles[0].apply_column_pulses(column, counts)
        tiles[0].apply_pulses_at(flat_index, flat_counts)
        with monkeypatch.context() as patch:
            patch.setattr(pulse_kernels, "AVAILABLE", False)
            tiles[1].apply_column_pulses(column, counts)
            tiles[1].apply_pulses_at(flat_index, flat_counts)
    assert tiles[0].total_pulses == 2 * (53 + 8)
    assert_same(tiles)


def test_large_reads_keep_their_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    # a batch above the tile's large-read size takes the maxima without |x| and draws the noise in row
    # blocks: the same outputs and the same numbers drawn as the one-block path
    import pulsetrain.model.tile as tile_module

    tiles = tile_pair(16, 26, DEVICES["constant-step"])
    x = np.random.default_rng(10).uniform(-1, 1, size=(3000, 26))
    x[7] = 0.0
    monkeypatch.setattr(tile_module, "_LARGE", 1000)
    large = tiles[0].forward(x), tiles[0].backward(x[:, :16])
    monkeypatch.setattr(tile_module, "_LARGE", 1 << 40)
    small = tiles[1].forward(x), tiles[1].backward(x[:, :16])
    np.testing.assert_array_equal(large[0], small[0])
    np.testing.assert_array_equal(large[1], small[1])
    assert tiles[0].rng.bit_generator.state == tiles[1].rng.bit_generator.state


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_streamed_draws_are_numpys_draws(seed: int) -> None:
    # 2 M normals reach the ziggurat's wedges and its tail (about 1 in 3600 draws) many times
    compiled, reference = np.random.default_rng(seed), np.random.default_rng(seed)
    state = pulse_kernels.generator_state(compiled)
    assert state is not None
    normals, uniforms = np.empty(2_000_000), np.empty(1001)
    pulse_kernels.stream_normal(state, normals)
    pulse_kernels.stream_uniform(state, uniforms)
    np.testing.assert_array_equal(normals, reference.standard_normal(2_000_000))
    np.testing.assert_array_equal(uniforms, reference.random(1001))
    assert np.sum(np.abs(normals) > 3.6541528853610088) > 100  # the tail's start: r of the ziggurat
    assert compiled.bit_generator.state == reference.bit_generator.state
    assert compiled.random() == reference.random()  # NumPy goes on from where the kernel stopped


def test_only_pcg64_generators_are_streamed() -> None:
    assert pulse_kernels.generator_state(np.random.Generator(np.random.Philox(0))) is None
    assert pulse_kernels.generator_state(np.random.Generator(np.random.PCG64DXSM(0))) is None


def test_one_generator_for_both_streams_is_not_streamed() -> None:
    tile, _ = tile_pair(9, 13, DEVICES["constant-step"])
    tile.rng = tile.pulse_source.rng  # type: ignore[attr-defined]
    assert pulsed_update.TileKernels.of(tile).streams(tile) is None


def test_tiles_that_cannot_stream_take_the_other_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled, reference = tile_pair(9, 13, DEVICES["constant-step"])
    for tile in (compiled, reference):
        tile.rng = np.random.Generator(np.random.PCG64DXSM(11))
    assert pulsed_update.TileKernels.of(compiled).streams(compiled) is None
    rng = np.random.default_rng(12)
    update_both(
        monkeypatch, (compiled, reference), rng.uniform(-1, 1, (20, 13)), rng.normal(0, 0.5, (20, 9)), 0.3
    )
    assert compiled.total_pulses > 0
    assert_same((compiled, reference))


@pytest.mark.parametrize("name", ["soft-bounds-multiplicative", "soft-bounds-additive", "linear-step"])
def test_streamed_linear_step_without_a_table_in_small_rounds(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # no expm1 table (as for a 512 x 512 array), rounds of one row, trains packed three samples at a time
    monkeypatch.setattr(pulsed_update, "MAX_EXPM1_TABLE_BYTES", 0)
    monkeypatch.setattr(pulsed_update, "LINEAR_ENTRIES", 1)
    monkeypatch.setattr(pulsed_update, "TRAIN_SAMPLES", 3)
    tiles = tile_pair(9, 13, DEVICES[name])
    rng = np.random.default_rng(13)
    for lr in (0.05, 0.5):
        x = rng.uniform(-1, 1, size=(20, 13))
        x[:, 4] = 0.0
        update_both(monkeypatch, tiles, x, rng.normal(0, 0.5, size=(20, 9)), lr)
    assert tiles[0].total_pulses > 0
    assert_same(tiles)


def _train_digits(algo: str, device: str) -> tuple[Any, Any, Any]:
    from pulsetrain.model.algorithms import create_algorithm
    from pulsetrain.model.data import load_digits_split
    from pulsetrain.model.network import layer_sizes
    from pulsetrain.model.training import resolve_train_config

    data = load_digits_split()
    config = resolve_train_config(sets=[f"algo={algo}", f"device.kind={device}"])
    sizes = layer_sizes(data.n_features, config.network.hidden, data.n_classes)
    algorithm = create_algorithm(config, sizes, np.random.SeedSequence(0))
    for index in np.random.default_rng(0).permutation(data.x_train.shape[0])[:150]:
        algorithm.train_batch(data.x_train[index : index + 1], data.y_train[index : index + 1])
    return algorithm.weights_digest(), algorithm.predict(data.x_test[:50]), algorithm.pulse_counts()


@pytest.mark.parametrize("device", ["soft-bounds", "constant-step"])
@pytest.mark.parametrize("algo", ["sgd", "c-ttv2", "agad"])
def test_training_matches_with_the_streamed_and_read_kernels_off(
    monkeypatch: pytest.MonkeyPatch, algo: str, device: str
) -> None:
    from pulsetrain.model import read_kernels

    streamed = _train_digits(algo, device)
    with monkeypatch.context() as patch:
        patch.setattr(pulsed_update, "STREAMED", False)
        patch.setattr(read_kernels, "AVAILABLE", False)
        reference = _train_digits(algo, device)
    assert streamed[0] == reference[0]  # every weight, bit for bit
    # the predictions read every tile through its noisy periphery: the generators were left alike
    np.testing.assert_array_equal(streamed[1], reference[1])
    assert streamed[2] == reference[2]
