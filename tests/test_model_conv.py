"""Analog Conv2d on tiles: forward against a direct convolution, gradients against finite differences,
the pulsed update against the per-patch rule, and a tiny LeNet-5 learning Fashion-MNIST."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pulsetrain.model import conv as conv_module
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.conv import Conv2d, ConvNet, ConvStage, build_network, fold, unfold
from pulsetrain.model.data import FASHION_MNIST_DIR, MNIST_FILES, Dataset, load_dataset
from pulsetrain.model.devices import ConstantStepDevice
from pulsetrain.model.network import Activation, FloatWeights, initial_weights, softmax_cross_entropy
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IDEAL_IO, Tile, UpdateConfig
from pulsetrain.model.training import resolve_train_config

from pulsetrain.cli import main


def direct_convolution(images: np.ndarray, kernels: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Stride-1 valid cross-correlation by explicit loops (what PyTorch's Conv2d computes)."""
    batch, _, rows, cols = images.shape
    out_ch, _, k, _ = kernels.shape
    out = np.zeros((batch, out_ch, rows - k + 1, cols - k + 1))
    for b in range(batch):
        for o in range(out_ch):
            for i in range(rows - k + 1):
                for j in range(cols - k + 1):
                    out[b, o, i, j] = np.sum(images[b, :, i : i + k, j : j + k] * kernels[o]) + bias[o]
    return out


def test_conv_forward_equals_direct_convolution() -> None:
    rng = np.random.default_rng(0)
    images = rng.normal(size=(2, 3, 7, 6))
    kernels, bias = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    conv = Conv2d(FloatWeights(np.concatenate([kernels.reshape(4, -1), bias[:, None]], axis=1)), 3, 3, True)
    out = conv.forward_patches(conv.patches(images), 2, 5, 4)
    np.testing.assert_allclose(out, direct_convolution(images, kernels, bias), rtol=1e-12, atol=1e-12)


def test_fold_is_the_adjoint_of_unfold() -> None:
    rng = np.random.default_rng(1)
    images, rows = rng.normal(size=(2, 2, 6, 5)), rng.normal(size=(2 * 4 * 3, 2 * 9))
    lhs = np.sum(unfold(images, 3) * rows)
    rhs = np.sum(images * fold(rows, images.shape, 3))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def tiny_float_net(seed: int = 0) -> ConvNet:
    rng = np.random.default_rng(seed)
    stages = [
        ConvStage(conv=Conv2d(FloatWeights(rng.normal(0, 0.5, (3, 2 * 9 + 1))), 2, 3, True), pool=2),
        ConvStage(
            conv=Conv2d(FloatWeights(rng.normal(0, 0.5, (4, 3 * 4 + 1))), 3, 2, True),
            pool=1,
            activate_after_pool=True,
        ),
    ]
    dense = [FloatWeights(rng.normal(0, 0.5, (5, 4 * 2 * 2 + 1))), FloatWeights(rng.normal(0, 0.5, (3, 6)))]
    return ConvNet(stages, dense, Activation.TANH, True, (2, 8, 8))


def test_gradient_matches_finite_differences_in_fp_mode() -> None:
    rng = np.random.default_rng(2)
    x, labels = rng.uniform(0, 1, (3, 128)), np.array([0, 2, 1])
    net = tiny_float_net()
    arrays = net.arrays()
    before = [array.weights() for array in arrays]
    trace = net.trace(x)
    _, grad = softmax_cross_entropy(trace.outputs[-1], labels)
    conv_deltas, dense_deltas = net.backprop(trace, grad)
    lr = 1.0
    net.update(trace, conv_deltas, dense_deltas, lr)
    analytic = [(b - array.weights()) / lr for b, array in zip(before, arrays, strict=True)]
    probe = np.random.default_rng(3)
    for layer, array in enumerate(arrays):
        assert isinstance(array, FloatWeights)
        for _ in range(4):
            row, col = probe.integers(array.out_size), probe.integers(array.in_size)
            losses = []
            for step in (1e-6, -1e-6):
                fresh = tiny_float_net()
                target = fresh.arrays()[layer]
                assert isinstance(target, FloatWeights)
                target.w[row, col] += step
                losses.append(softmax_cross_entropy(fresh.forward(x), labels)[0])
            numeric = (losses[0] - losses[1]) / 2e-6
            assert analytic[layer][row, col] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def conv_tile(seed: int) -> Tile:
    device = ConstantStepDevice(dw_min=0.01, dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0)
    return Tile(
        4,
        2 * 9 + 1,
        device=device,
        forward_io=IDEAL_IO,
        backward_io=IDEAL_IO,
        update=UpdateConfig(desired_bl=31),
        output_scale=1.0,
        pulse_source=FloatPulseSource(np.random.default_rng(seed + 100)),
        rng=np.random.default_rng(seed),
    )


def test_pulsed_conv_update_is_one_rank1_update_per_patch_in_order() -> None:
    rng = np.random.default_rng(4)
    images, delta = rng.uniform(0, 1, (2, 2, 5, 5)), rng.normal(0, 0.3, (2, 4, 3, 3))
    weights = rng.uniform(-0.3, 0.3, (4, 19))
    by_layer, by_hand = conv_tile(7), conv_tile(7)
    by_layer.set_weights(weights)
    by_hand.set_weights(weights)
    conv = Conv2d(by_layer, 2, 3, True)
    conv.update(conv.patches(images), delta, 0.1)
    # the rule: for every image b and output pixel (i, j), in that order, the rank-1 update
    # d[b, :, i, j] x[b, :, i:i+3, j:j+3]ᵀ (bias line 1), each a separate pulsed update
    for b in range(2):
        for i in range(3):
            for j in range(3):
                patch = np.append(images[b, :, i : i + 3, j : j + 3].ravel(), 1.0)[None, :]
                by_hand.update(patch, delta[b, :, i, j][None, :], 0.1)
    assert by_layer.total_pulses > 0
    np.testing.assert_array_equal(by_layer.weights(), by_hand.weights())
    np.testing.assert_array_equal(by_layer.pulse_counts, by_hand.pulse_counts)


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_tiny_analog_lenet_learns_fashion_mnist_above_chance() -> None:
    data = load_dataset(Dataset.FASHION_MNIST, None)
    rng = np.random.default_rng(0)
    seeds = iter(np.random.SeedSequence(0).spawn(16))

    def make_array(out: int, inp: int) -> Tile:
        tile_seed, pulse_seed = next(seeds), next(seeds)
        tile = Tile(
            out,
            inp,
            device=ConstantStepDevice(),
            forward_io=IDEAL_IO,
            backward_io=IDEAL_IO,
            update=UpdateConfig(),
            output_scale=1.0,
            pulse_source=FloatPulseSource(np.random.default_rng(pulse_seed)),
            rng=np.random.default_rng(tile_seed),
        )
        tile.set_weights(initial_weights(rng, out, inp, True))
        return tile

    net = build_network("lenet5", data.image_shape, 10, make_array=make_array)
    order = np.random.default_rng(1).permutation(60_000)[:300]
    for start in range(0, 300, 10):
        rows = order[start : start + 10]
        trace = net.trace(data.x_train[rows])
        _, grad = softmax_cross_entropy(trace.outputs[-1], data.y_train[rows])
        net.update(trace, *net.backprop(trace, grad), 0.05)
    accuracy = np.mean(np.argmax(net.forward(data.x_test[:500]), axis=1) == data.y_test[:500])
    assert accuracy > 0.3  # chance is 0.1


def write_small_idx_set(folder: Path) -> None:
    """A 16x16 MNIST-format data set (40 training, 20 test images): the smallest images LeNet-5 takes."""
    rng = np.random.default_rng(5)
    arrays = {
        "x_train": rng.integers(0, 256, size=(40, 16, 16)),
        "y_train": rng.integers(0, 10, size=40),
        "x_test": rng.integers(0, 256, size=(20, 16, 16)),
        "y_test": rng.integers(0, 10, size=20),
    }
    for key, stem in MNIST_FILES.items():
        array = arrays[key]
        header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        (folder / stem).write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize(("network", "layers"), [("lenet5", 4), ("mlp784", 3)])
def test_train_command_runs_a_named_network(tmp_path: Path, network: str, layers: int) -> None:
    write_small_idx_set(tmp_path)
    out = tmp_path / "run.json"
    args = ["train", "--network", network, "--dataset", "mnist", "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, "--epochs", "1", "--no-progress", "--json", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads(out.read_text())
    assert len(results["pulses"]) == layers and results["pulses"]["layer0"]["W"] > 0


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--network", "vgg"], "network.name must be one of lenet5, mlp784, 784-800-10"),
        (["--network", "lenet5"], "lenet5 needs images of at least 16x16 pixels"),
    ],
)
def test_bad_named_network_is_one_line_exit_2(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(main, ["train", *args, "--no-progress"])
    assert (
        result.exit_code == 2 and fragment in result.stderr and len(result.stderr.strip().splitlines()) == 1
    )


def test_train_command_says_what_sbe_does_on_the_convolutions(tmp_path: Path) -> None:
    write_small_idx_set(tmp_path)
    args = [
        "train",
        "--network",
        "lenet5",
        "--dataset",
        "mnist",
        "--data-dir",
        str(tmp_path),
        "--algo",
        "sbe",
    ]
    result = CliRunner().invoke(main, [*args, "--epochs", "1", "--batch-size", "4", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "note: sbe writes the fully connected layers; the convolution layers use per-patch analog SGD" in (
        result.output
    )


def _fp_network(name: str):  # type: ignore[no-untyped-def]
    config = resolve_train_config(options={"network.name": name, "algo": "fp"})
    return create_algorithm(config, (784, 10), np.random.SeedSequence(0))


def test_lenet_evaluation_chunk_keeps_its_patch_matrices_within_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    algorithm = _fp_network("lenet5")
    per_image = algorithm.net.patch_bytes_per_image()
    # 28x28: conv1 24·24 patches of 5·5+1 values, conv2 8·8 patches of 16·5·5+1, each with its bias copy
    assert per_image == 2 * 8 * (576 * 26 + 64 * 401)
    assert algorithm.net.evaluation_chunk() * per_image <= conv_module.EVALUATION_PATCH_BUDGET_BYTES
    assert 100 <= algorithm.net.evaluation_chunk() <= 256
    # with a budget of 3 images, a prediction of 7 runs as 3 + 3 + 1 and no chunk holds more
    monkeypatch.setattr(conv_module, "EVALUATION_PATCH_BUDGET_BYTES", 3 * per_image + 1)
    held: list[int] = []
    unchunked_patches = Conv2d.patches

    def recording_patches(self: Conv2d, images: np.ndarray) -> np.ndarray:
        rows = unchunked_patches(self, images)
        held.append(rows.nbytes)
        return rows

    monkeypatch.setattr(Conv2d, "patches", recording_patches)
    images = np.random.default_rng(2).random((7, 784))
    logits = algorithm.predict(images)
    assert len(held) == 3 * 2  # three chunks of two convolutions each
    for conv1_bytes, conv2_bytes in zip(held[::2], held[1::2], strict=True):
        assert 2 * (conv1_bytes + conv2_bytes) <= conv_module.EVALUATION_PATCH_BUDGET_BYTES
    np.testing.assert_allclose(logits, algorithm.net.forward(images), rtol=1e-12, atol=1e-12)


def test_mlp784_backprop_skips_the_first_layers_unused_backward_read() -> None:
    reads: list[str] = []
    for name in ("mlp784", "lenet5"):
        net = _fp_network(name).net
        first = net.dense[0]
        original = first.backward

        def counting_backward(delta: np.ndarray, original=original, name=name) -> np.ndarray:  # type: ignore[no-untyped-def]
            reads.append(name)
            return original(delta)

        first.backward = counting_backward
        images = np.random.default_rng(3).random((2, 784))
        trace = net.trace(images)
        _, grad = softmax_cross_entropy(trace.outputs[-1], np.array([1, 2]))
        conv_deltas, dense_deltas = net.backprop(trace, grad)
        assert len(dense_deltas) == len(net.dense) and len(conv_deltas) == len(net.stages)
    # lenet5 needs the first dense layer's error for its convolutions; mlp784 has none below it
    assert reads == ["lenet5"]
