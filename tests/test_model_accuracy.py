"""The accuracy claims of the model (digits, 64-32-10, defaults untuned).

Must show (issue 2): fp >= 96 % in 10 epochs; analog SGD on ConstantStep >= 93 % in 10 and >= 96 % in
30 epochs; on SoftBounds >= 85 % in 30 epochs, falling below ConstantStep as the up/down asymmetry rises.
Those full runs are ``slow`` (``pytest --long``); the default mode runs a short version of the trend.
Accuracies are on the fixed 360-sample test split: one sample is 0.28 %.

Measured with the defaults (tanh, lr 0.05, output scale 3, float pulse source), seeds 0 / 1 / 2, by
``pulsetrain train --algo A --device D --epochs N --seed S --json ...`` (the same code these tests run):
fp 10 epochs 96.9 / 97.2 / 97.5 %; ConstantStep SGD 10 epochs 94.7 / 95.8 / 95.6 %, 30 epochs
96.9 / 96.7 / 96.1 %; SoftBounds SGD 10 epochs 94.4 / 88.1 / 93.3 %, 30 epochs 92.8 / 92.2 / 91.4 %.
"""

from __future__ import annotations

import pytest
from pulsetrain.model.data import DataSplit, load_digits_split
from pulsetrain.model.training import resolve_train_config, train


@pytest.fixture(scope="module")
def digits() -> DataSplit:
    return load_digits_split()


def accuracy(data: DataSplit, algo: str, device: str, epochs: int, seed: int, *sets: str) -> float:
    config = resolve_train_config(
        options={"algo": algo, "device": device, "epochs": epochs, "seed": seed}, sets=sets
    )
    result: float = train(config, data=data)["test_accuracy"]
    return result


def test_soft_bounds_falls_below_constant_step_as_asymmetry_rises_short(digits: DataSplit) -> None:
    # 2 epochs, seed 0. Measured: up_down 0 / 0.3 / 0.6 -> ~91 / ~88 / ~10 %, ConstantStep ~94 %.
    # Adjacent points may swap by test-set noise (SE ~1.5 % at 90 % on 360 samples): 2 % slack between
    # 0 and 0.3; the collapse at 0.6 must be large.
    asymmetric = [
        accuracy(digits, "sgd", "soft-bounds", 2, 0, f"device.up_down={a}") for a in (0.0, 0.3, 0.6)
    ]
    constant_step = accuracy(digits, "sgd", "constant-step", 2, 0)
    assert asymmetric[0] + 0.02 >= asymmetric[1] >= asymmetric[2] + 0.2
    assert constant_step > asymmetric[2]


SEEDS = [0, 1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_fp_reaches_96_percent_in_10_epochs(digits: DataSplit, seed: int) -> None:
    assert accuracy(digits, "fp", "ideal", 10, seed) >= 0.96


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_constant_step_sgd_reaches_93_percent_in_10_epochs(digits: DataSplit, seed: int) -> None:
    assert accuracy(digits, "sgd", "constant-step", 10, seed) >= 0.93


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_constant_step_sgd_reaches_96_percent_in_30_epochs(digits: DataSplit, seed: int) -> None:
    assert accuracy(digits, "sgd", "constant-step", 30, seed) >= 0.96


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed{s}")
def test_soft_bounds_sgd_reaches_85_percent_in_30_epochs(digits: DataSplit, seed: int) -> None:
    assert accuracy(digits, "sgd", "soft-bounds", 30, seed) >= 0.85


@pytest.mark.slow
def test_soft_bounds_falls_below_constant_step_as_asymmetry_rises(digits: DataSplit) -> None:
    # 10 epochs, mean over seeds 0-2. Measured (2026-11-25): up_down 0 / 0.2 / 0.4 / 0.6 -> 91.9 / 91.9 /
    # 82.9 / 10.2 %, ConstantStep 95.4 %. A small asymmetry barely moves the symmetry point, so adjacent
    # points may tie: each may exceed its predecessor by at most 1 % (the test-set noise of a mean over
    # three runs of 360 samples); overall the accuracy must collapse and stay below ConstantStep.
    levels = (0.0, 0.2, 0.4, 0.6)
    means = [
        sum(accuracy(digits, "sgd", "soft-bounds", 10, s, f"device.up_down={a}") for s in SEEDS) / 3
        for a in levels
    ]
    constant_step = sum(accuracy(digits, "sgd", "constant-step", 10, s) for s in SEEDS) / 3
    print(
        "soft-bounds mean accuracy by up_down",
        dict(zip(levels, means, strict=True)),
        "constant-step",
        constant_step,
    )
    assert all(low <= high + 0.01 for high, low in zip(means, means[1:], strict=False)), means
    assert means[-1] <= means[0] - 0.3, means
    assert max(means) < constant_step
