"""The training loop: config resolution, results, reproducibility, checkpoint and resume, learning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pulsetrain.model.algorithms import ALGORITHMS, algorithm_class
from pulsetrain.model.algorithms.base import Algorithm
from pulsetrain.model.data import DataSplit, load_digits_split
from pulsetrain.model.devices import SoftBoundsDevice
from pulsetrain.model.training import TrainConfig, resolve_train_config, train, without_timing

from pulsetrain.config import ConfigError
from pulsetrain.results import write_json


@pytest.fixture(scope="module")
def digits() -> DataSplit:
    return load_digits_split()


@pytest.fixture(scope="module")
def small_digits(digits: DataSplit) -> DataSplit:
    """300 training samples: enough to see learning in a short test."""
    return DataSplit(
        x_train=digits.x_train[:300],
        y_train=digits.y_train[:300],
        x_test=digits.x_test,
        y_test=digits.y_test,
        n_classes=10,
    )


def test_registry_holds_fp_and_sgd() -> None:
    assert {"fp", "sgd"} <= set(ALGORITHMS)
    for name in ("fp", "sgd"):
        cls = algorithm_class(name)
        assert issubclass(cls, Algorithm) and cls.name == name


def test_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ConfigError, match="algo must be one of"):
        TrainConfig(algo="hebbian")


@pytest.mark.parametrize(
    ("sets", "fragment"),
    [
        (["batch_size=0"], "batch_size"),
        (["epochs=0"], "epochs"),
        (["lr=-1"], "lr"),
        (["device.dw_min=-0.1"], "device.dw_min"),
        (["io.adc_bits=0"], "io.adc_bits"),
        (["nonsense=1"], "unknown key 'nonsense'"),
        (["device.kind=memristor"], "device must be one of"),
        (["network.hidden=32,0"], "network.hidden"),
        (["pulse_source=quantum"], "pulse_source"),
    ],
    ids=[
        "batch-0",
        "epochs-0",
        "negative-lr",
        "negative-dw_min",
        "adc-0-bits",
        "unknown-key",
        "unknown-device",
        "hidden-0",
        "unknown-pulse-source",
    ],
)
def test_bad_settings_are_refused_before_any_work(sets: list[str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        resolve_train_config(sets=sets)


def test_toml_then_options_then_set(tmp_path: Path) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text(
        'epochs = 4\nlr = 0.3\n[device]\nkind = "soft-bounds"\ndw_min = 0.002\n[io]\nadc_bits = 6\n'
    )
    config = resolve_train_config(options={"epochs": "5"}, config_file=toml, sets=["lr=0.2"])
    assert isinstance(config.device, SoftBoundsDevice)
    assert config.device.dw_min == 0.002 and config.io.adc_bits == 6
    assert config.epochs == 5 and config.lr == 0.2


def test_device_option_selects_the_model_and_set_tunes_it() -> None:
    config = resolve_train_config(options={"device": "soft-bounds"}, sets=["device.up_down=0.2"])
    assert isinstance(config.device, SoftBoundsDevice) and config.device.up_down == 0.2


def _run(data: DataSplit, tmp: Path | None = None, **kwargs: object) -> dict:
    sets = [f"{k}={v}" for k, v in kwargs.items()]
    config = resolve_train_config(sets=["epochs=1", *sets])
    return train(config, data=data)


def test_results_hold_the_promised_fields(small_digits: DataSplit) -> None:
    results = _run(small_digits)
    assert {"config", "epochs", "test_accuracy", "pulses", "wall_seconds"} <= set(results)
    assert set(results["epochs"][0]) >= {"epoch", "train_accuracy", "test_accuracy", "seconds"}
    assert results["config"]["device"]["kind"] == "constant-step"
    assert set(results["pulses"]) == {"layer0", "layer1"}
    assert results["pulses"]["layer0"]["W"] > 0


def test_same_seed_gives_a_byte_identical_json_apart_from_timing(
    small_digits: DataSplit, tmp_path: Path
) -> None:
    texts = []
    for name in ("first.json", "second.json"):
        results = _run(small_digits, seed=5)
        write_json(tmp_path / name, without_timing(results))
        texts.append((tmp_path / name).read_bytes())
    assert texts[0] == texts[1]
    timings = json.loads(texts[0])
    assert "wall_seconds" not in timings and "seconds" not in timings["epochs"][0]


def test_another_seed_gives_other_weights(small_digits: DataSplit) -> None:
    assert _run(small_digits, seed=1)["weights_sha256"] != _run(small_digits, seed=2)["weights_sha256"]


@pytest.mark.parametrize("algo", ["fp", "sgd"])
def test_interrupted_run_resumes_to_the_same_result(
    small_digits: DataSplit, tmp_path: Path, algo: str
) -> None:
    config = resolve_train_config(sets=[f"algo={algo}", "epochs=3", "device.kind=soft-bounds"])
    straight = train(config, data=small_digits)
    folder = tmp_path / "checkpoints"
    partial = train(config, data=small_digits, checkpoint_dir=folder, stop_after_epoch=1)
    assert partial["completed_epochs"] == 1 and (folder / "checkpoint.npz").is_file()
    resumed = train(config, data=small_digits, checkpoint_dir=folder, resume=True)
    assert resumed["completed_epochs"] == 3
    assert without_timing(resumed) == without_timing(straight)


def test_resume_with_another_config_is_refused(small_digits: DataSplit, tmp_path: Path) -> None:
    config = resolve_train_config(sets=["epochs=2"])
    train(config, data=small_digits, checkpoint_dir=tmp_path, stop_after_epoch=1)
    other = resolve_train_config(sets=["epochs=2", "lr=0.01"])
    with pytest.raises(ConfigError, match="another config"):
        train(other, data=small_digits, checkpoint_dir=tmp_path, resume=True)


def test_batches_larger_than_one_train(small_digits: DataSplit) -> None:
    results = _run(small_digits, batch_size=10, epochs=2, algo="fp", lr=0.5)
    assert results["test_accuracy"] > 0.8  # chance is 0.1; measured 0.90


def test_per_device_pulse_counts_are_reported(small_digits: DataSplit) -> None:
    results = _run(small_digits)
    assert results["max_device_pulses"]["layer1"]["W"] > 0
    assert results["pulses_per_sample"] == pytest.approx(
        sum(v["W"] for v in results["pulses"].values()) / 300
    )


# -------------------------------------------------------------------------------- learning, short
# Short runs that still must learn (chance is 10 %); the full must-show numbers are the slow tests in
# test_model_accuracy.py.


@pytest.mark.parametrize(
    ("algo", "device", "floor"),
    [("fp", "ideal", 0.90), ("sgd", "constant-step", 0.88), ("sgd", "soft-bounds", 0.75)],
    ids=["fp", "sgd-constant-step", "sgd-soft-bounds"],
)
def test_two_epochs_learn_the_digits(digits: DataSplit, algo: str, device: str, floor: float) -> None:
    config = resolve_train_config(options={"algo": algo, "device": device, "epochs": 2})
    assert train(config, data=digits)["test_accuracy"] >= floor


def test_mnist_format_files_train(tmp_path: Path) -> None:
    from test_model_data import write_mnist  # tests/ is on sys.path under pytest

    write_mnist(tmp_path)
    config = resolve_train_config(options={"dataset": "mnist", "data_dir": str(tmp_path), "epochs": 1})
    results = train(config)
    assert results["completed_epochs"] == 1 and 0.0 <= results["test_accuracy"] <= 1.0


def test_weights_stay_finite_under_a_huge_learning_rate(small_digits: DataSplit) -> None:
    results = _run(small_digits, lr=50.0)
    assert np.isfinite(results["epochs"][0]["loss"])
