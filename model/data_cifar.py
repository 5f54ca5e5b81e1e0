"""CIFAR-10 from its python-pickle batches, unpickled with a restricted unpickler.

The distribution's ``cifar-10-batches-py`` folder holds ``data_batch_1`` .. ``data_batch_5`` (10 000
images each) and ``test_batch``: each a pickled dict with ``b"data"`` (uint8, ``(n, 3072)``, the 32x32
red plane, then green, then blue) and ``b"labels"`` (a list of ints 0..9).

A pickle can run any code it names, so :class:`_PlainUnpickler` allows only what those batches contain:
the builtins pickle writes inline (dicts, lists, ints, bytes, strings) and NumPy's array reconstruction
(``numpy.core.multiarray._reconstruct`` / ``numpy._core.multiarray._reconstruct``, ``numpy.ndarray``,
``numpy.dtype``). Any other global (``os.system``, ``builtins.eval``, ...) is refused with a
:class:`ConfigError` naming the file before it is looked up.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pulsetrain.config import ConfigError

#: training batches and the test batch of the python distribution
CIFAR_TRAIN_FILES = tuple(f"data_batch_{index}" for index in range(1, 6))
CIFAR_TEST_FILE = "test_batch"
#: pixels of one image: 3 channels of 32x32
CIFAR_FEATURES = 3 * 32 * 32
CIFAR_CLASSES = 10
#: the only globals a CIFAR batch may name (module, name)
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }
)
#: largest batch file read (a real one is 31 MB)
MAX_BATCH_BYTES = 2**28


class _PlainUnpickler(pickle.Unpickler):
    """An unpickler that resolves only NumPy's array reconstruction; every other global is refused."""

    def __init__(self, file: io.BytesIO, source: Path) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise ConfigError(
                f"CIFAR-10 batch {str(self.source)!r} names {module}.{name}; only NumPy arrays, dicts, "
                "lists and numbers are unpickled"
            )
        return super().find_class(module, name)


def _field(batch: dict[Any, Any], key: str) -> Any:
    """``batch[key]`` whether the pickle was written with bytes keys (Python 2) or str keys."""
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    return None


def read_cifar_batch(path: Path) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """One batch file: images ``(n, 3072)`` uint8 and labels ``(n,)``; a ConfigError names a bad file."""
    if not path.is_file():
        raise ConfigError(f"data_dir: CIFAR-10 file {str(path)!r} does not exist")
    raw = path.read_bytes()[: MAX_BATCH_BYTES + 1]
    if len(raw) > MAX_BATCH_BYTES:
        raise ConfigError(f"CIFAR-10 batch {str(path)!r} is larger than {MAX_BATCH_BYTES} bytes")
    try:
        batch = _PlainUnpickler(io.BytesIO(raw), path).load()
    except ConfigError:
        raise
    except Exception as error:  # noqa: BLE001 - a truncated or garbled pickle raises many kinds
        raise ConfigError(f"CIFAR-10 batch {str(path)!r} is truncated or not a pickle: {error!r}") from None
    if not isinstance(batch, dict):
        raise ConfigError(f"CIFAR-10 batch {str(path)!r} holds a {type(batch).__name__}, not a dict")
    data, labels = _field(batch, "data"), _field(batch, "labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        raise ConfigError(f"CIFAR-10 batch {str(path)!r}: 'data' must be a 2-D uint8 array")
    if data.shape[1] != CIFAR_FEATURES or data.shape[0] == 0:
        raise ConfigError(
            f"CIFAR-10 batch {str(path)!r}: 'data' has shape {data.shape}; need (n > 0, {CIFAR_FEATURES})"
        )
    label_array = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if label_array.shape != (data.shape[0],):
        raise ConfigError(
            f"CIFAR-10 batch {str(path)!r}: {label_array.size} labels for {data.shape[0]} images"
        )
    if label_array.min() < 0 or label_array.max() >= CIFAR_CLASSES:
        raise ConfigError(f"CIFAR-10 batch {str(path)!r}: labels must be 0..{CIFAR_CLASSES - 1}")
    return data, label_array


def cifar_folder(data_dir: Path) -> Path:
    """``data_dir`` itself or its ``cifar-10-batches-py`` subfolder, whichever holds ``test_batch``."""
    for folder in (data_dir, data_dir / "cifar-10-batches-py"):
        if (folder / CIFAR_TEST_FILE).is_file():
            return folder
    raise ConfigError(
        f"data_dir {str(data_dir)!r} holds no CIFAR-10 {CIFAR_TEST_FILE!r} (nor cifar-10-batches-py/ does)"
    )


def load_cifar_arrays(
    data_dir: Path,
) -> tuple[NDArray[np.uint8], NDArray[np.int64], NDArray[np.uint8], NDArray[np.int64]]:
    """Training images and labels (the five batches in order), test images and labels."""
    folder = cifar_folder(data_dir)
    parts = [read_cifar_batch(folder / name) for name in CIFAR_TRAIN_FILES]
    x_test, y_test = read_cifar_batch(folder / CIFAR_TEST_FILE)
    x_train = np.concatenate([images for images, _ in parts])
    y_train = np.concatenate([labels for _, labels in parts])
    return x_train, y_train, x_test, y_test
