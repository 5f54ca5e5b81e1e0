"""``pulsetrain report --size lenet``: the LeNet-5 / Fashion-MNIST comparison of every algorithm.

Planning only (no training): the size lists one run per algorithm the model trains on LeNet-5, each with
the network, data set, epochs and device the size names, says why the others are not available, and
switches every other part off.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pulsetrain.config import ConfigError
from pulsetrain.report.config import ALL_ALGORITHMS, LENET_ALGORITHM_DEVICES, resolve_report_config
from pulsetrain.report.part import spec_from_plain
from pulsetrain.report.parts import plan_parts
from pulsetrain.report.training import TrainSpec, layer_weight_counts, refused_on_network

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
needs_fashion_mnist = pytest.mark.skipif(
    not (FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's dataset-fashion-mnist is not installed ({FASHION_MNIST} has no idx files)",
)


def _training_plan(*sets: str) -> object:
    plans = plan_parts(resolve_report_config(size="lenet", sets=sets))
    return next(plan for plan in plans if plan.key == "training")


@needs_fashion_mnist
def test_lenet_size_plans_one_run_per_algorithm_the_model_trains_on_lenet5() -> None:
    config = resolve_report_config(size="lenet")
    plan = _training_plan()
    specs = [spec_from_plain(TrainSpec, run.spec) for run in plan.runs]  # type: ignore[attr-defined]
    trainable = [algo for algo in ALL_ALGORITHMS if refused_on_network(algo, config.training) is None]
    # at least fp and analog SGD train LeNet-5; the rest join as the model learns them (no list to edit)
    assert {"fp", "sgd"} <= set(trainable)
    assert [spec.algo for spec in specs] == trainable
    assert [run.label for run in plan.runs] == [f"train {algo} seed=0" for algo in trainable]  # type: ignore[attr-defined]
    devices = dict(item.split("=") for item in LENET_ALGORITHM_DEVICES)
    for spec in specs:
        assert (spec.network, spec.dataset, spec.epochs, spec.seed) == ("lenet5", "fashion-mnist", 10, 0)
        assert (spec.train_samples, spec.test_samples) == (0, 0)  # the whole 60k / 10k splits
        assert spec.sets[0] == f"device.kind={devices.get(spec.algo, 'constant-step')}"


@needs_fashion_mnist
def test_lenet_size_names_each_algorithm_it_cannot_train_and_why() -> None:
    config = resolve_report_config(size="lenet")
    plan = _training_plan()
    planned = {spec_from_plain(TrainSpec, run.spec).algo for run in plan.runs}  # type: ignore[attr-defined]
    section = plan.assemble([]).section  # type: ignore[attr-defined]
    for algo in ALL_ALGORITHMS:
        reason = refused_on_network(algo, config.training)
        if algo in planned:
            assert reason is None
        else:
            assert reason and any(f"'{algo}'" in note and reason in note for note in section.notes), algo


def test_lenet_size_switches_every_other_part_off() -> None:
    config = resolve_report_config(size="lenet")
    assert config.training.enabled
    assert not (config.cosim.enabled or config.cost.enabled or config.studies.enabled)


def test_lenet_size_without_fashion_mnist_is_not_available(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulsetrain.model import data

    missing = tmp_path / "no-such-folder"
    monkeypatch.setattr(data, "FASHION_MNIST_DIR", missing)
    plan = _training_plan()
    assert plan.unavailable and "fashion-mnist" in plan.unavailable  # type: ignore[attr-defined]
    assert not plan.runs  # type: ignore[attr-defined]


def test_a_data_dir_that_does_not_exist_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no-such-folder"):
        _training_plan(f"training.data_dir={tmp_path / 'no-such-folder'}")


def test_quick_and_another_size_are_refused() -> None:
    with pytest.raises(ConfigError, match="--quick and --size lenet"):
        resolve_report_config(quick=True, size="lenet")
    with pytest.raises(ConfigError, match="--size"):
        resolve_report_config(size="huge")


def test_report_command_refuses_an_unknown_size_with_exit_2(tmp_path: Path) -> None:
    from pulsetrain.cli import main

    result = CliRunner().invoke(main, ["report", "--size", "huge", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "--size" in result.output and "huge" in result.output


def test_lenet5_weight_counts_follow_the_unfolded_kernels() -> None:
    # conv1 16 x (1·5·5 + 1), conv2 32 x (16·5·5 + 1), 128 x (512 + 1), 10 x (128 + 1) on 28x28 images
    assert layer_weight_counts((), bias=True, network="lenet5", inputs=784, classes=10) == [
        16 * 26,
        32 * 401,
        128 * 513,
        10 * 129,
    ]
