"""Fashion-MNIST, CIFAR-10 (restricted unpickling) and the validation split, on files the tests write."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
from pulsetrain.model.data import (
    FASHION_MNIST_DIR,
    MNIST_FILES,
    Dataset,
    carve_validation,
    check_available,
    load_dataset,
    load_digits_split,
)
from pulsetrain.model.data_cifar import CIFAR_TEST_FILE, CIFAR_TRAIN_FILES

from pulsetrain.config import ConfigError


def write_mnist(folder: Path) -> dict[str, np.ndarray]:
    """Four small gzip-compressed idx files of 6x5 images."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, size=(12, 6, 5)),
        "y_train": rng.integers(0, 10, size=12),
        "x_test": rng.integers(0, 256, size=(4, 6, 5)),
        "y_test": rng.integers(0, 10, size=4),
    }
    for key, stem in MNIST_FILES.items():
        array = arrays[key]
        header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
        (folder / f"{stem}.gz").write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))
    return arrays


def write_cifar(folder: Path, per_batch: int = 6) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    written: dict[str, np.ndarray] = {}
    for name in (*CIFAR_TRAIN_FILES, CIFAR_TEST_FILE):
        data = rng.integers(0, 256, size=(per_batch, 3072)).astype(np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=per_batch)]
        (folder / name).write_bytes(pickle.dumps({b"data": data, b"labels": labels, b"batch_label": b"x"}))
        written[name] = data
    return written


def test_cifar_batches_are_read_back_channel_major(tmp_path: Path) -> None:
    written = write_cifar(tmp_path)
    split = load_dataset(Dataset.CIFAR10, tmp_path)
    assert split.x_train.shape == (30, 3072) and split.x_test.shape == (6, 3072)
    assert split.image_shape == (3, 32, 32)
    np.testing.assert_array_equal(split.x_test * 255.0, written[CIFAR_TEST_FILE])
    np.testing.assert_array_equal(split.x_train[:6] * 255.0, written[CIFAR_TRAIN_FILES[0]])


class _Sneaky:
    """A pickle that would call a function on load (here a harmless one): it must be refused."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (os.getcwd, ())


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing", "does not exist"),
        ("truncated", "truncated or not a pickle"),
        ("code", "getcwd; only NumPy arrays"),
        ("shape", "need (n > 0, 3072)"),
        ("labels", "labels must be 0..9"),
    ],
)
def test_bad_cifar_batch_is_one_config_error(tmp_path: Path, damage: str, message: str) -> None:
    write_cifar(tmp_path)
    target = tmp_path / CIFAR_TRAIN_FILES[2]
    if damage == "missing":
        target.unlink()
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "code":
        target.write_bytes(pickle.dumps({b"data": _Sneaky(), b"labels": []}))
    elif damage == "shape":
        target.write_bytes(pickle.dumps({b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}))
    else:
        target.write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")) as error:
        check_available(Dataset.CIFAR10, tmp_path)
    assert "\n" not in str(error.value)


def test_fashion_mnist_reads_idx_files_from_data_dir(tmp_path: Path) -> None:
    arrays = write_mnist(tmp_path)
    split = load_dataset(Dataset.FASHION_MNIST, tmp_path)
    assert split.image_shape == (1, 6, 5)
    np.testing.assert_array_equal(split.y_train, arrays["y_train"])


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package() -> None:
    shape = check_available(Dataset.FASHION_MNIST, None)
    assert (shape.n_features, shape.n_train, shape.n_classes) == (784, 60_000, 10)


def test_cifar_without_data_dir_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="data_dir must name the folder holding the cifar10 files"):
        check_available(Dataset.CIFAR10, None)


def test_validation_split_is_stratified_and_disjoint_from_test() -> None:
    digits = load_digits_split()
    carved = carve_validation(digits, 0.2, seed=0)
    assert carved.x_train.shape[0] + carved.x_test.shape[0] == digits.x_train.shape[0]
    assert set(np.unique(carved.y_test)) == set(range(10))
    together = np.concatenate([carved.x_train, carved.x_test])
    np.testing.assert_array_equal(np.unique(together, axis=0), np.unique(digits.x_train, axis=0))
    with pytest.raises(ConfigError, match="validation fraction 1.0"):
        carve_validation(digits, 1.0)
