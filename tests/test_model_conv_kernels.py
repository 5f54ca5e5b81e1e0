"""The compiled convolution path (:mod:`pulsetrain.model.conv_kernels`) against the NumPy path: the same
weights, pulse counts and random-generator states after training, for every algorithm on a named network,
several seeds and read peripheries; and its kernels against the NumPy functions they replace."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pulsetrain.model import conv_kernels
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.conv import fold, max_pool, max_pool_backward, unfold
from pulsetrain.model.conv_kernels import CompiledLayerLoop
from pulsetrain.model.network import Activation, derivative
from pulsetrain.model.tile import Tile
from pulsetrain.model.training import resolve_train_config

pytestmark = pytest.mark.skipif(not conv_kernels.AVAILABLE, reason="the compiled kernels need Numba")

#: 17x17 images: conv 13x13 pools to 6x6 with a row and a column cut off, conv 2x2 pools to 1x1
SIDE = 17
ALGORITHMS = ("fp", "sgd", "dfa", "sbe", "ttv2", "c-ttv2", "agad")
#: read peripheries that take the kernels' other branches (no noise, no abs-max scaling, ideal ADC/DAC)
PERIPHERIES = {
    "default": (),
    "quiet-unscaled": ("io.out_noise=0", "io.noise_management=none", "io.inp_bound=0.5"),
    "ideal-converters": ("io.adc_bits=none", "io.dac_bits=none"),
}


#: transfer rules and devices that take the TTv2 family's loop through its other branches
TRANSFER_VARIANTS = {
    "soft-bounds": ("device.kind=soft-bounds",),
    "every-2-reads-3": ("tiki_taka.transfer_every=2", "tiki_taka.n_reads_per_transfer=3"),
    "remainder-kept-capped": (
        "tiki_taka.forget_buffer=false",
        "tiki_taka.momentum=0.25",
        "tiki_taka.buffer_cap=2",
        "tiki_taka.max_pulses_per_transfer=3",
        "tiki_taka.thres_scale=0.5",
    ),
    "forget-momentum": ("tiki_taka.momentum=0.5", "device.kind=soft-bounds"),
    "regular-out-choppers": (
        "tiki_taka.chopper_flip=regular",
        "tiki_taka.in_chop_prob=0.5",
        "tiki_taka.out_chop_prob=0.3",
    ),
    "reference-offset-gamma": ("device.reference_offset_std=0.2", "tiki_taka.gamma=0.5"),
    # trains of 70 slots: two 64-bit words per line
    "long-trains": ("update.desired_bl=70", "update.bl_management=false", "device.kind=soft-bounds"),
}


def _images(count: int, seed: int, side: int = SIDE) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((count, side * side)), rng.integers(0, 4, count).astype(np.int64)


def _generator_states(algorithm: Any) -> list[Any]:
    """Every tile's device and pulse-source generator states (what a later step would draw)."""
    states = []
    for array in algorithm.net.arrays():
        tiles = (
            [array]
            if isinstance(array, Tile)
            else [getattr(array, "fast", None), getattr(array, "slow", None)]
        )
        for tile in tiles:
            if tile is not None:
                states.append(tile.rng.bit_generator.state)
                states.append(tile.pulse_source.rng.bit_generator.state)
    return states


def _trained(
    algo: str, seed: int, sets: tuple[str, ...], compiled: bool, network: str = "lenet5", side: int = SIDE
) -> Any:
    batch = "4" if algo == "sbe" else "1"
    config = resolve_train_config(
        options={"network.name": network, "algo": algo, "batch_size": batch, "seed": str(seed)}, sets=sets
    )
    algorithm = create_algorithm(config, (side * side, 4), np.random.SeedSequence(seed))
    algorithm.net.compiled = compiled
    images, labels = _images(8, seed, side)
    step = int(batch)
    for start in range(0, images.shape[0], step):
        algorithm.train_batch(images[start : start + step], labels[start : start + step])
    return algorithm


def _assert_same_run(reference: Any, compiled: Any) -> None:
    for expected, actual in zip(reference.weights(), compiled.weights(), strict=True):
        np.testing.assert_array_equal(actual, expected)
    assert compiled.pulse_counts() == reference.pulse_counts()
    assert _generator_states(compiled) == _generator_states(reference)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("algo", ALGORITHMS)
def test_compiled_training_step_matches_the_numpy_path(algo: str, seed: int) -> None:
    reference = _trained(algo, seed, (), compiled=False)
    _assert_same_run(reference, _trained(algo, seed, (), compiled=True))


@pytest.mark.parametrize("periphery", sorted(PERIPHERIES))
@pytest.mark.parametrize("algo", ["sgd", "c-ttv2"])
def test_compiled_reads_match_the_numpy_path_for_every_periphery(algo: str, periphery: str) -> None:
    sets = PERIPHERIES[periphery]
    _assert_same_run(_trained(algo, 3, sets, compiled=False), _trained(algo, 3, sets, compiled=True))


@pytest.mark.parametrize("variant", sorted(TRANSFER_VARIANTS))
@pytest.mark.parametrize("algo", ["ttv2", "c-ttv2", "agad"])
def test_compiled_layer_loop_matches_the_python_loop_for_every_transfer_rule(algo: str, variant: str) -> None:
    sets = (*TRANSFER_VARIANTS[variant], "lr=1.0")  # a high transfer rate: C receives pulses
    reference = _trained(algo, 4, sets, compiled=False)
    compiled = _trained(algo, 4, sets, compiled=True)
    # the convolutions went through the compiled loop, and their transfers reached C
    assert all(CompiledLayerLoop.serves(stage.conv.array) for stage in compiled.net.stages)
    assert reference.pulse_counts()["layer0"]["C"] > 0
    _assert_same_run(reference, compiled)
    for expected, actual in zip(reference.layers, compiled.layers, strict=True):
        np.testing.assert_array_equal(actual.periphery.h_buffer(), expected.periphery.h_buffer())
        assert (actual.samples, actual.column_reads) == (expected.samples, expected.column_reads)
        assert actual.periphery.signs().same_as(expected.periphery.signs())


def test_twin_transfer_periphery_keeps_the_python_loop_within_a_compiled_run() -> None:
    sets = ("tiki_taka.periphery=twin", "lr=1.0")
    reference = _trained("c-ttv2", 6, sets, compiled=False)
    compiled = _trained("c-ttv2", 6, sets, compiled=True)
    assert not any(CompiledLayerLoop.serves(array) for array in compiled.net.arrays())
    _assert_same_run(reference, compiled)


@pytest.mark.parametrize("algo", ["sgd", "ttv2", "c-ttv2", "agad"])
def test_compiled_dense_named_network_matches_the_numpy_path(algo: str) -> None:
    # mlp784 on 12x12 images: 144-256-128-4, only fully connected layers (reads and TTv2 loops compiled)
    sets = ("device.kind=soft-bounds", "lr=1.0")
    reference = _trained(algo, 5, sets, compiled=False, network="mlp784", side=12)
    compiled = _trained(algo, 5, sets, compiled=True, network="mlp784", side=12)
    assert all(conv_kernels.serves_reads(array) for array in compiled.net.dense)
    if algo != "sgd":
        assert all(CompiledLayerLoop.serves(array) for array in compiled.net.dense)
    _assert_same_run(reference, compiled)


def test_compiled_unfold_fold_and_pooling_equal_the_numpy_functions() -> None:
    rng = np.random.default_rng(0)
    images = rng.normal(size=(2, 3, 9, 8))
    np.testing.assert_array_equal(conv_kernels.unfold_rows(images, 3, False), unfold(images, 3))
    rows = rng.normal(size=(2 * 7 * 6, 3 * 9 + 1))
    np.testing.assert_array_equal(
        conv_kernels.fold_rows(rows, 2, 3, 9, 8, 3), fold(rows[:, :-1], images.shape, 3)
    )
    # ties (integer values) and odd sizes: the first maximum wins, the cut row and column get no error
    activated = np.tanh(rng.integers(-2, 3, size=(2, 3, 7, 7)).astype(np.float64))
    pooled, mask = conv_kernels.max_pool_mask(activated, 2)
    expected_pooled, expected_mask = max_pool(activated, 2)
    np.testing.assert_array_equal(pooled, expected_pooled)
    np.testing.assert_array_equal(mask, expected_mask)
    grads = rng.normal(size=pooled.shape)
    expected = max_pool_backward(grads, mask, activated.shape) * derivative(activated, Activation.TANH)
    delta = conv_kernels.routed_delta(grads, mask, activated, True)
    np.testing.assert_array_equal(delta, expected)
    assert np.array_equal(np.signbit(delta), np.signbit(expected))  # signed zeros too
