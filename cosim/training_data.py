"""The data of a training co-simulation: the split both runs train on, and its hand-over to the simulator.

The host cuts the split (:func:`data_for`: the first N training samples, the first M test samples) and
writes it to a file (:func:`save_data`) that the bench in the simulator reads back (:func:`load_data`),
so both runs see the same arrays and the simulator's Python loads no data set itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from pulsetrain.config import ConfigError

#: test sets up to this size are evaluated whole by default (the digits' 360 images)
WHOLE_TEST_SET_UP_TO = 1000
#: test images of the accuracy pass by default for larger test sets (Fashion-MNIST's 10 000): every
#: read of every patch goes through an ADC readout RTL, so the whole set would take hours
DEFAULT_TEST_SAMPLES = 100


def data_for(config: Any, samples: int | None, test_samples: int | None = None) -> Any:
    """The data split of a run; with ``samples`` the first N training samples only, and the first
    ``test_samples`` test samples (None: see :data:`DEFAULT_TEST_SAMPLES`)."""
    from pulsetrain.model.data import load_dataset

    data = load_dataset(config.dataset, config.data_dir)
    if samples is not None:
        if samples > data.x_train.shape[0]:
            raise ConfigError(f"samples must be at most {data.x_train.shape[0]}, not {samples}")
        data = dataclasses.replace(data, x_train=data.x_train[:samples], y_train=data.y_train[:samples])
    n_test = data.x_test.shape[0]
    if test_samples is None:
        test_samples = n_test if n_test <= WHOLE_TEST_SET_UP_TO else DEFAULT_TEST_SAMPLES
    elif test_samples > n_test:
        raise ConfigError(f"test_samples must be at most {n_test}, not {test_samples}")
    return dataclasses.replace(data, x_test=data.x_test[:test_samples], y_test=data.y_test[:test_samples])


def save_data(data: Any, folder: Any) -> str:
    """Write a data split to ``folder/data.npz`` for the simulator process; returns the path.

    The simulator's embedded Python should not import scikit-learn to load the digits again (measured:
    31 s inside the simulator against 4 s outside on the shared 2-core machine).
    """
    from pathlib import Path

    path = Path(folder) / "data.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        n_classes=np.int64(data.n_classes),
    )
    return str(path)


def load_data(path: str) -> Any:
    """The data split written by :func:`save_data`."""
    from pulsetrain.model.data import DataSplit

    with np.load(path) as arrays:
        return DataSplit(
            x_train=arrays["x_train"],
            y_train=arrays["y_train"],
            x_test=arrays["x_test"],
            y_test=arrays["y_test"],
            n_classes=int(arrays["n_classes"]),
        )
