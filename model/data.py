"""Data sets: scikit-learn's 8x8 digits (embedded, the default) and MNIST from idx files on disk.

Features are scaled to [0, 1]; labels are integers ``0 .. n_classes - 1``.

* digits: 1797 images of 64 pixels (values 0..16), fixed split of 20 % test by
  ``train_test_split(test_size=0.2, random_state=0, stratify=labels)``: 1437 training, 360 test samples.
* mnist: the four files of LeCun's distribution in ``data_dir`` (``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
  gzip-compressed with a ``.gz`` suffix). Nothing is downloaded.

idx format: a big-endian header ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then
the data; type ``0x08`` is unsigned bytes (the only type MNIST uses, and the only one read here).
"""

from __future__ import annotations

import enum
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pulsetrain.config import ConfigError


class Dataset(enum.Enum):
    """Which data set to train on."""

    #: scikit-learn's 8x8 handwritten digits, embedded (no download)
    DIGITS = "digits"
    #: MNIST read from idx files in ``data_dir``
    MNIST = "mnist"


@dataclass(frozen=True, eq=False)
class DataSplit:
    """A training and a test set."""

    x_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float64]
    y_test: NDArray[np.int64]
    n_classes: int

    @property
    def n_features(self) -> int:
        """Input width."""
        return int(self.x_train.shape[1])


MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def load_digits_split() -> DataSplit:
    """scikit-learn's digits, scaled to [0, 1], split 80/20 with seed 0 (stratified)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.float64) / 16.0
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    return DataSplit(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, n_classes=10)


def _idx_path(data_dir: Path, stem: str) -> Path:
    for candidate in (data_dir / stem, data_dir / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"data_dir: MNIST file {str(data_dir / stem)!r} (or .gz) does not exist")


def read_idx(path: str | Path) -> NDArray[np.uint8]:
    """Read an idx file of unsigned bytes (optionally gzip-compressed) as an array of its shape."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"idx file {str(file)!r} does not exist")
    raw = file.read_bytes()
    if file.suffix == ".gz":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ConfigError(f"idx file {str(file)!r} has no idx header (magic 0x0000....)")
    if raw[2] != 0x08:
        raise ConfigError(
            f"idx file {str(file)!r} holds type 0x{raw[2]:02x}; only unsigned bytes (0x08) are read"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise ConfigError(f"idx file {str(file)!r} has a truncated header")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise ConfigError(
            f"idx file {str(file)!r} holds {len(raw) - header} data bytes, its header says {size}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def check_available(dataset: Dataset, data_dir: str | Path | None) -> None:
    """Raise :class:`ConfigError` unless the data set can be read (before any training work)."""
    if dataset is Dataset.MNIST:
        if data_dir is None:
            raise ConfigError(
                "data_dir must name the folder holding the MNIST idx files when dataset is mnist"
            )
        folder = Path(data_dir)
        if not folder.is_dir():
            raise ConfigError(f"data_dir {str(folder)!r} is not a folder")
        for stem in MNIST_FILES.values():
            _idx_path(folder, stem)


def load_mnist(data_dir: str | Path) -> DataSplit:
    """MNIST from its four idx files in ``data_dir``; images flattened and scaled to [0, 1]."""
    folder = Path(data_dir)
    check_available(Dataset.MNIST, folder)
    arrays = {key: read_idx(_idx_path(folder, stem)) for key, stem in MNIST_FILES.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise ConfigError(
                f"MNIST {part} files disagree: images {images.shape}, labels {labels.shape} "
                "(need (n, rows, cols) and (n,))"
            )
    x_train = arrays["x_train"].reshape(arrays["x_train"].shape[0], -1).astype(np.float64) / 255.0
    x_test = arrays["x_test"].reshape(arrays["x_test"].shape[0], -1).astype(np.float64) / 255.0
    y_train = arrays["y_train"].astype(np.int64)
    y_test = arrays["y_test"].astype(np.int64)
    n_classes = int(max(y_train.max(initial=0), y_test.max(initial=0))) + 1
    return DataSplit(
        x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, n_classes=max(n_classes, 10)
    )


def load_dataset(dataset: Dataset, data_dir: str | Path | None = None) -> DataSplit:
    """The data set named by ``dataset``."""
    if dataset is Dataset.DIGITS:
        return load_digits_split()
    check_available(dataset, data_dir)
    assert data_dir is not None
    return load_mnist(data_dir)
