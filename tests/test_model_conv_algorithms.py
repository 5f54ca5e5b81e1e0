"""Every algorithm the catalogue declares for named networks, on LeNet-5 at 16x16 pixels: it learns a
synthetic task above chance, makes the same decisions for one seed, and says what it did."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.algorithms.conv_backprop import NamedNetworkTikiTaka
from pulsetrain.model.algorithms.conv_dfa import NamedNetworkDfa
from pulsetrain.model.data import DataSplit
from pulsetrain.model.training import resolve_train_config, train

from pulsetrain import catalogue
from pulsetrain.cli import main

#: every algorithm with a named-network implementation (a new one is tested without a line here)
NAMED_ALGORITHMS = catalogue.algorithm_names(named_network=True)
#: learning rates other than lenet5's default (lr of the TTv2 family scales its transfer only)
LEARNING_RATES = {"ttv2": 1.0, "c-ttv2": 1.0, "agad": 1.0, "sbe": 0.1}
#: A dense layer's columns of A are read one per sample (as aihwkit does), so in the 64 samples of these
#: tests the output layer's C (129 columns) has had at most one read per column and cannot have learnt:
#: the TTv2 family is tested with A in the effective weight (aihwkit ``gamma``: ``gamma A + C``), and
#: the transfers into C are checked beside the decisions (the determinism test).
EXTRA_SETS = {
    "ttv2": ("tiki_taka.gamma=0.5",),
    "c-ttv2": ("tiki_taka.gamma=0.5",),
    "agad": ("tiki_taka.gamma=0.5",),
}
#: batch sizes other than 1 (SBE is SGD at batch 1)
BATCH = {"sbe": 4}
SIDE = 16  # the smallest image LeNet-5 takes: conv 12x12, pool 6x6, conv 2x2, pool 1x1


def bar_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` noisy 16x16 images of one bright bar each: 4 classes (horizontal / vertical, which half)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, size=n)
    images = 0.2 * rng.random((n, SIDE, SIDE))
    for image, label in zip(images, labels, strict=True):
        position = rng.integers(2, 6) + (8 if label % 2 else 0)
        if label < 2:
            image[position : position + 2, 2:14] = 1.0
        else:
            image[2:14, position : position + 2] = 1.0
    return images.reshape(n, -1), labels.astype(np.int64)


def bars(n_train: int = 64, n_test: int = 100) -> DataSplit:
    x_train, y_train = bar_images(n_train, 0)
    x_test, y_test = bar_images(n_test, 1)
    return DataSplit(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=4,
        image_shape=(1, SIDE, SIDE),
    )


def config(algo: str, *, epochs: int = 1, seed: int = 0, sets: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    options = {"network.name": "lenet5", "algo": algo, "epochs": str(epochs), "seed": str(seed)}
    if algo in LEARNING_RATES:
        options["lr"] = str(LEARNING_RATES[algo])
    options["batch_size"] = str(BATCH.get(algo, 1))
    return resolve_train_config(options=options, sets=(*EXTRA_SETS.get(algo, ()), *sets))


@pytest.mark.parametrize("algo", NAMED_ALGORITHMS)
def test_algorithm_learns_bars_on_lenet5_above_chance(algo: str) -> None:
    results = train(config(algo), data=bars())
    # chance is 25 %; measured on seed 0 (64 samples, one epoch, under load): 98-100 % except dfa (50 %)
    assert results["test_accuracy"] >= 0.45, results["epochs"]


@pytest.mark.parametrize("algo", NAMED_ALGORITHMS)
def test_algorithm_decisions_are_deterministic_per_seed(algo: str) -> None:
    data = bars(n_train=12, n_test=8)
    first, again = (train(config(algo, epochs=1), data=data) for _ in range(2))
    other = train(config(algo, epochs=1, seed=1), data=data)
    assert first["weights_sha256"] == again["weights_sha256"]
    assert first["pulses"] == again["pulses"]
    assert other["weights_sha256"] != first["weights_sha256"]
    if catalogue.get_algorithm(algo).family is catalogue.AlgorithmFamily.TIKI_TAKA:
        # every A is written; the first convolution's columns are read once per patch and pass to its C
        assert all(arrays["A"] > 0 for arrays in first["pulses"].values())
        assert first["pulses"]["layer0"]["C"] > 0


def test_ttv2_family_counts_one_sample_and_one_transfer_step_per_patch() -> None:
    algorithm = create_algorithm(config("c-ttv2"), (SIDE * SIDE, 4), np.random.SeedSequence(0))
    assert isinstance(algorithm, NamedNetworkTikiTaka)
    data = bars(n_train=2, n_test=1)
    algorithm.train_batch(data.x_train[:1], data.y_train[:1])
    conv1, conv2, dense1, dense2 = algorithm.layers
    # 12x12 patches on the first convolution, 2x2 on the second, one sample on each dense layer; the
    # default transfer_every 1 reads one column of A per sample
    assert [layer.samples for layer in algorithm.layers] == [144, 4, 1, 1]
    assert [layer.column_reads for layer in algorithm.layers] == [144, 4, 1, 1]
    assert conv1.fast.total_pulses > 0 and dense2.fast.total_pulses > 0


def test_dfa_feedback_fills_every_convolution_output_map() -> None:
    algorithm = create_algorithm(config("dfa"), (SIDE * SIDE, 4), np.random.SeedSequence(0))
    assert isinstance(algorithm, NamedNetworkDfa)
    assert [m.shape for m in algorithm.feedback.matrices] == [(16 * 12 * 12, 4), (32 * 2 * 2, 4), (128, 4)]
    data = bars(n_train=3, n_test=1)
    trace = algorithm.net.trace(data.x_train)
    conv_deltas, dense_deltas = algorithm.errors(trace, np.eye(4)[:3])
    assert [d.shape for d in conv_deltas] == [(3, 16, 12, 12), (3, 32, 2, 2)]
    assert [d.shape for d in dense_deltas] == [(3, 128), (3, 4)]
    # the feedback reaches every pixel of the map, not only the ones max-pooling keeps
    assert np.count_nonzero(conv_deltas[0]) > 0.9 * conv_deltas[0].size


def test_sbe_says_its_convolutions_use_per_patch_sgd() -> None:
    results = train(config("sbe", epochs=1), data=bars(n_train=8, n_test=4))
    extras = results["algorithm"]
    assert "per-patch analog SGD" in extras["note"]
    # 8 images at batch 4: two rank-1 SBE updates on each of the two dense layers, 148 patches per image
    assert extras["array_updates"] == 4 and extras["conv_patch_updates"] == 8 * 148


def test_resumed_ttv2_lenet_run_ends_as_an_uninterrupted_one(tmp_path: Path) -> None:
    data = bars(n_train=6, n_test=4)
    whole = train(config("agad"), data=data)
    train(config("agad"), data=data, checkpoint_dir=tmp_path, stop_after_epoch=1)
    resumed = train(config("agad"), data=data, checkpoint_dir=tmp_path, resume=True)
    assert resumed["weights_sha256"] == whole["weights_sha256"]


def test_784_800_10_is_one_hidden_layer_of_800() -> None:
    named = dataclasses.replace(
        config("sgd"), network=dataclasses.replace(config("sgd").network, name="784-800-10")
    )
    algorithm = create_algorithm(named, (784, 10), np.random.SeedSequence(0))
    assert [w.shape for w in algorithm.weights()] == [(800, 785), (10, 801)]


def test_an_algorithm_without_a_named_network_class_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        catalogue.ALGORITHMS, "dfa", dataclasses.replace(catalogue.ALGORITHMS["dfa"], named_network=None)
    )
    result = CliRunner().invoke(main, ["train", "--network", "lenet5", "--algo", "dfa", "--no-progress"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "pulsetrain: error: network 'lenet5' trains with algo fp, sgd, ttv2, c-ttv2, agad, sbe; not 'dfa'"
    )
