"""Data sets: scikit-learn's 8x8 digits (embedded, the default); MNIST, Fashion-MNIST, CIFAR-10 on disk.

Features are scaled to [0, 1]; labels are integers ``0 .. n_classes - 1``.

* digits: 1797 images of 64 pixels (values 0..16), fixed split of 20 % test by
  ``train_test_split(test_size=0.2, random_state=0, stratify=labels)``: 1437 training, 360 test samples.
* mnist: the four files of LeCun's distribution in ``data_dir`` (``train-images-idx3-ubyte``,
  ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally
  gzip-compressed with a ``.gz`` suffix). Nothing is downloaded.
* fashion-mnist: the same four files, by default from Debian's ``dataset-fashion-mnist``
  (:data:`FASHION_MNIST_DIR`); ``data_dir`` overrides.
* cifar10: the python-pickle batches in ``data_dir`` (:mod:`pulsetrain.model.data_cifar`).

idx format: a big-endian header ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then
the data; type ``0x08`` is unsigned bytes (the only type MNIST uses, and the only one read here).
"""

from __future__ import annotations

import enum
import functools
import gzip
import io
import math
import zlib
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
    #: Fashion-MNIST: the same idx files, from Debian's ``dataset-fashion-mnist`` unless ``data_dir`` says
    FASHION_MNIST = "fashion-mnist"
    #: CIFAR-10 from the python-pickle batches in ``data_dir`` (:mod:`pulsetrain.model.data_cifar`)
    CIFAR10 = "cifar10"


#: where Debian's ``dataset-fashion-mnist`` package installs the four gzip-compressed idx files
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass(frozen=True, eq=False)
class DataSplit:
    """A training and a test set."""

    x_train: NDArray[np.float64]
    y_train: NDArray[np.int64]
    x_test: NDArray[np.float64]
    y_test: NDArray[np.int64]
    n_classes: int
    #: (channels, rows, columns) of one image, for convolutional networks; the features are its flattening
    image_shape: tuple[int, int, int] = (1, 8, 8)

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


def carve_validation(split: DataSplit, fraction: float, seed: int = 0) -> DataSplit:
    """The training set of ``split`` divided into training and validation (returned as its ``x_test``).

    A stratified ``fraction`` of the training samples (``train_test_split`` with ``random_state=seed``)
    becomes the held-out set; the original test set is dropped, so tuning never sees it.
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation fraction {fraction!r} must lie strictly between 0 and 1")
    x_train, x_valid, y_train, y_valid = train_test_split(
        split.x_train, split.y_train, test_size=fraction, random_state=seed, stratify=split.y_train
    )
    return DataSplit(
        x_train=x_train,
        y_train=y_train,
        x_test=x_valid,
        y_test=y_valid,
        n_classes=split.n_classes,
        image_shape=split.image_shape,
    )


def _idx_path(data_dir: Path, stem: str) -> Path:
    for candidate in (data_dir / stem, data_dir / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    raise ConfigError(f"data_dir: MNIST file {str(data_dir / stem)!r} (or .gz) does not exist")


#: classes of MNIST (and of Fashion-MNIST, which has the same file format): labels are 0..9
MNIST_CLASSES = 10
#: largest idx file read after decompression (MNIST's training images are 47 MB)
MAX_IDX_BYTES = 2**31


def _idx_bytes(file: Path) -> bytes:
    """The raw idx bytes of ``file``, decompressed when it ends in ``.gz`` (a corrupt archive is named)."""
    try:
        raw = file.read_bytes()
        if file.suffix != ".gz":
            return raw
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as archive:
            data = archive.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise ConfigError(f"idx file {str(file)!r} cannot be read or decompressed: {error}") from None
    if len(data) > MAX_IDX_BYTES:
        raise ConfigError(f"idx file {str(file)!r} decompresses to more than {MAX_IDX_BYTES} bytes")
    return data


def read_idx(path: str | Path) -> NDArray[np.uint8]:
    """Read an idx file of unsigned bytes (optionally gzip-compressed) as an array of its shape.

    Every problem (missing file, corrupt archive, wrong magic or type, a zero dimension, a size that does
    not match the header) is a :class:`ConfigError` naming the file.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"idx file {str(file)!r} does not exist")
    raw = _idx_bytes(file)
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
    if 0 in shape:
        raise ConfigError(f"idx file {str(file)!r} has a zero dimension {shape}: it holds no samples")
    size = math.prod(shape)
    if len(raw) - header != size:
        raise ConfigError(
            f"idx file {str(file)!r} holds {len(raw) - header} data bytes, its header says {size}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@dataclass(frozen=True)
class DataShape:
    """What the validation layer needs to know of a data set before any work: its sizes."""

    #: input width
    n_features: int
    #: training samples
    n_train: int
    #: classes
    n_classes: int


def check_available(dataset: Dataset, data_dir: str | Path | None) -> DataShape:
    """Read and check the data set (files, headers, shapes, labels) before any training work.

    Returns its sizes; a :class:`ConfigError` naming the file for anything wrong. MNIST is read whole
    (and kept, see :func:`load_mnist`), so a corrupt archive is found here and not after work started.
    """
    if dataset is Dataset.DIGITS:
        if data_dir is not None:
            raise ConfigError(
                f"data_dir is only read for datasets mnist, fashion-mnist and cifar10; digits is embedded, "
                f"not {data_dir!r}"
            )
        return DataShape(n_features=64, n_train=1437, n_classes=10)
    folder = _data_folder(dataset, data_dir)
    split = load_cifar10(folder) if dataset is Dataset.CIFAR10 else load_mnist(folder)
    return DataShape(n_features=split.n_features, n_train=split.x_train.shape[0], n_classes=split.n_classes)


def _data_folder(dataset: Dataset, data_dir: str | Path | None) -> Path:
    """The folder a file-based data set is read from (Fashion-MNIST defaults to Debian's package)."""
    if data_dir is None:
        if dataset is not Dataset.FASHION_MNIST:
            raise ConfigError(f"data_dir must name the folder holding the {dataset.value} files")
        if not FASHION_MNIST_DIR.is_dir():
            raise ConfigError(
                f"dataset fashion-mnist: {str(FASHION_MNIST_DIR)!r} is absent; install Debian's "
                "dataset-fashion-mnist or pass --data-dir"
            )
        return FASHION_MNIST_DIR
    folder = Path(data_dir)
    if not folder.is_dir():
        raise ConfigError(f"data_dir {str(folder)!r} is not a folder")
    return folder


def _check_mnist_arrays(arrays: dict[str, NDArray[np.uint8]], paths: dict[str, Path]) -> None:
    for part in ("train", "test"):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        image_file, label_file = str(paths[f"x_{part}"]), str(paths[f"y_{part}"])
        if images.ndim != 3:
            raise ConfigError(f"MNIST images {image_file!r} have shape {images.shape}; need (n, rows, cols)")
        if labels.ndim != 1:
            raise ConfigError(f"MNIST labels {label_file!r} have shape {labels.shape}; need (n,)")
        if images.shape[0] != labels.shape[0]:
            raise ConfigError(
                f"MNIST {part} files disagree: {image_file!r} holds {images.shape[0]} images, "
                f"{label_file!r} {labels.shape[0]} labels"
            )
        top = int(labels.max())
        if top >= MNIST_CLASSES:
            raise ConfigError(
                f"MNIST labels {label_file!r} hold label {top}; labels must be 0..{MNIST_CLASSES - 1}"
            )
    if arrays["x_test"].shape[1:] != arrays["x_train"].shape[1:]:
        raise ConfigError(
            f"MNIST test images {str(paths['x_test'])!r} are {arrays['x_test'].shape[1:]} pixels, the "
            f"training images {str(paths['x_train'])!r} {arrays['x_train'].shape[1:]}: they must agree"
        )


def load_mnist(data_dir: str | Path) -> DataSplit:
    """MNIST from its four idx files in ``data_dir``; images flattened and scaled to [0, 1].

    The split is kept per folder and file state (path, size, modification time), so the validation before
    a run and the run itself read the files once.
    """
    folder = Path(data_dir)
    paths = {key: _idx_path(folder, stem) for key, stem in MNIST_FILES.items()}
    stamp = tuple((str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in paths.values())
    return _load_mnist_files(stamp)


@functools.lru_cache(maxsize=1)
def _load_mnist_files(stamp: tuple[tuple[str, int, int], ...]) -> DataSplit:
    paths = {key: Path(entry[0]) for key, entry in zip(MNIST_FILES, stamp, strict=True)}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    _check_mnist_arrays(arrays, paths)
    x_train = arrays["x_train"].reshape(arrays["x_train"].shape[0], -1).astype(np.float64) / 255.0
    x_test = arrays["x_test"].reshape(arrays["x_test"].shape[0], -1).astype(np.float64) / 255.0
    y_train = arrays["y_train"].astype(np.int64)
    y_test = arrays["y_test"].astype(np.int64)
    rows, cols = arrays["x_train"].shape[1:]
    return DataSplit(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=MNIST_CLASSES,
        image_shape=(1, rows, cols),
    )


def load_cifar10(data_dir: str | Path) -> DataSplit:
    """CIFAR-10 from its python batches (restricted unpickling); features scaled to [0, 1], channel-major."""
    folder = Path(data_dir)
    from pulsetrain.model.data_cifar import cifar_folder

    files = sorted(cifar_folder(folder).glob("*_batch*"))
    stamp = tuple((str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in files)
    return _load_cifar_files(str(folder), stamp)


@functools.lru_cache(maxsize=1)
def _load_cifar_files(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> DataSplit:
    from pulsetrain.model.data_cifar import CIFAR_CLASSES, load_cifar_arrays

    del stamp  # the cache key only: a changed file reloads
    x_train, y_train, x_test, y_test = load_cifar_arrays(Path(folder))
    return DataSplit(
        x_train=x_train.astype(np.float64) / 255.0,
        y_train=y_train,
        x_test=x_test.astype(np.float64) / 255.0,
        y_test=y_test,
        n_classes=CIFAR_CLASSES,
        image_shape=(3, 32, 32),
    )


def load_dataset(dataset: Dataset, data_dir: str | Path | None = None) -> DataSplit:
    """The data set named by ``dataset``."""
    check_available(dataset, data_dir)
    if dataset is Dataset.DIGITS:
        return load_digits_split()
    folder = _data_folder(dataset, data_dir)
    return load_cifar10(folder) if dataset is Dataset.CIFAR10 else load_mnist(folder)
