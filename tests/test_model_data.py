"""Data sets: the embedded digits split and the MNIST idx reader on files the test writes."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from pulsetrain.model.data import MNIST_FILES, Dataset, load_dataset, load_digits_split, read_idx

from pulsetrain.config import ConfigError


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)


def write_mnist(
    folder: Path, n_train: int = 40, n_test: int = 20, compress: bool = False
) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, size=(n_train, 6, 5)),
        "y_train": rng.integers(0, 10, size=n_train),
        "x_test": rng.integers(0, 256, size=(n_test, 6, 5)),
        "y_test": rng.integers(0, 10, size=n_test),
    }
    for key, stem in MNIST_FILES.items():
        write_idx(folder / (stem + (".gz" if compress else "")), arrays[key], compress)
    return arrays


def test_digits_split_is_fixed_and_scaled() -> None:
    first, second = load_digits_split(), load_digits_split()
    assert first.x_train.shape == (1437, 64) and first.x_test.shape == (360, 64)
    assert first.x_train.min() >= 0.0 and first.x_train.max() == 1.0
    np.testing.assert_array_equal(first.x_test, second.x_test)
    assert set(np.unique(first.y_test)) == set(range(10))


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_mnist_idx_files_are_read_back(tmp_path: Path, compress: bool) -> None:
    arrays = write_mnist(tmp_path, compress=compress)
    split = load_dataset(Dataset.MNIST, tmp_path)
    np.testing.assert_allclose(split.x_train, arrays["x_train"].reshape(40, 30) / 255.0)
    np.testing.assert_array_equal(split.y_test, arrays["y_test"])
    assert split.n_features == 30 and split.n_classes == 10


def test_missing_idx_file_is_a_config_error(tmp_path: Path) -> None:
    write_mnist(tmp_path)
    (tmp_path / MNIST_FILES["y_test"]).unlink()
    with pytest.raises(ConfigError, match="t10k-labels-idx1-ubyte"):
        load_dataset(Dataset.MNIST, tmp_path)


def test_truncated_idx_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "broken"
    write_idx(path, np.zeros((3, 4)))
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(ConfigError, match="data bytes"):
        read_idx(path)


def test_non_idx_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "text"
    path.write_text("hello world")
    with pytest.raises(ConfigError, match="idx header"):
        read_idx(path)


def test_mnist_without_data_dir_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="data_dir"):
        load_dataset(Dataset.MNIST, None)
