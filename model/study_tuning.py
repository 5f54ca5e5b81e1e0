"""Hyper-parameters of the studies, chosen on a validation split carved from the training set.

The test set is never looked at while choosing: :func:`validation_split` holds out a stratified fifth of
the *training* set (the study's tuning runs train on the other four fifths and report the accuracy on that
fifth); :func:`choose` picks, per tuning group, the grid value with the best mean validation accuracy;
the study's final runs then train on the whole training set with that value and report the test accuracy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

#: Fraction of the training set held out for validation, and the seed of that split.
VALIDATION_FRACTION = 0.2
VALIDATION_SEED = 1


@lru_cache(maxsize=4)
def study_data(dataset: str = "digits", train_samples: int | None = None) -> Any:
    """The split a study runs on (loaded once per process): ``dataset``'s training set, or a stratified
    subset of ``train_samples`` of it (seed :data:`VALIDATION_SEED`; the quick size on MNIST-class data),
    and its whole test set."""
    from pulsetrain.model.data import Dataset, load_dataset

    data = load_dataset(Dataset(dataset), None)
    if train_samples is None or train_samples >= data.x_train.shape[0]:
        return data
    x_train, _, y_train, _ = _stratified_split(data, train_size=train_samples)
    return dataclasses.replace(data, x_train=x_train, y_train=y_train)


def _stratified_split(data: Any, **size: Any) -> Any:
    """``data``'s training set split in two with its classes in proportion (seed :data:`VALIDATION_SEED`)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(
        data.x_train, data.y_train, **size, random_state=VALIDATION_SEED, stratify=data.y_train
    )


def digits() -> Any:
    """The digits split most studies run on (loaded once per process)."""
    return study_data("digits")


@lru_cache(maxsize=4)
def validation_split(dataset: str = "digits", train_samples: int | None = None) -> Any:
    """The training set of :func:`study_data` split into training and validation (the test set is not used).

    Returns a :class:`~pulsetrain.model.data.DataSplit` whose ``x_test`` / ``y_test`` are the held-out
    validation samples (stratified, :data:`VALIDATION_FRACTION`, seed :data:`VALIDATION_SEED`).
    """
    data = study_data(dataset, train_samples)
    x_fit, x_valid, y_fit, y_valid = _stratified_split(data, test_size=VALIDATION_FRACTION)
    return dataclasses.replace(data, x_train=x_fit, y_train=y_fit, x_test=x_valid, y_test=y_valid)


def tuning_specs(specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The validation runs of the final ``specs`` marked ``tune_on``: one per value of their ``lr_grid``."""
    runs = []
    for spec in specs:
        if not spec.get("tune_on"):
            continue
        for lr in spec["lr_grid"]:
            runs.append(
                {
                    **spec,
                    "kind": "tune",
                    "label": f"tune {spec['tune_group']} lr={lr}",
                    "lr": lr,
                    "sets": [*spec["sets"], f"lr={lr!r}"],
                }
            )
    return runs


def choose(tuning_results: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per tuning group: the mean validation accuracy of every grid value and the chosen (best) value.

    Ties go to the smaller learning rate (the grid is searched in increasing order).
    """
    table: dict[str, dict[float, list[float]]] = {}
    for result in tuning_results:
        spec = result["spec"]
        table.setdefault(spec["tune_group"], {}).setdefault(float(spec["lr"]), []).append(
            float(result["validation_accuracy"])
        )
    chosen = {}
    for group, grid in table.items():
        means = {lr: float(np.mean(values)) for lr, values in sorted(grid.items())}
        best = max(means, key=lambda lr: (means[lr], -lr))
        chosen[group] = {"validation_accuracy": {repr(lr): acc for lr, acc in means.items()}, "lr": best}
    return chosen


def with_chosen(
    specs: Sequence[Mapping[str, Any]], chosen: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The final ``specs`` with their group's chosen learning rate set (specs without a group unchanged)."""
    final = []
    for spec in specs:
        group = spec.get("tune_group")
        if group is None:
            final.append(dict(spec))
            continue
        lr = chosen[group]["lr"]
        final.append({**spec, "lr": lr, "sets": [*spec["sets"], f"lr={lr!r}"]})
    return final
