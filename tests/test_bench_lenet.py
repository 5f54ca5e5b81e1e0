"""benchmarks/bench_lenet.py's training loop: the configuration that ran is the one its results name, and
a checkpoint of one configuration never resumes another."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from pulsetrain.model.data import DataSplit
from pulsetrain.model.training import config_summary, resolve_train_config

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_lenet.py"
#: aihwkit's ConstantStep parameters, as the 10-epoch comparison runs them
AIHWKIT_DEVICE = ("device.dw_min=0.001", "device.w_max=0.6", "device.w_min=-0.6")


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_lenet", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split(n_train: int, n_test: int) -> DataSplit:
    rng = np.random.default_rng(5)
    return DataSplit(
        x_train=rng.uniform(0, 1, (n_train, 784)),
        y_train=rng.integers(0, 10, n_train),
        x_test=rng.uniform(0, 1, (n_test, 784)),
        y_test=rng.integers(0, 10, n_test),
        n_classes=10,
        image_shape=(1, 28, 28),
    )


def _config(lr: float, epochs: int, *sets: str):  # type: ignore[no-untyped-def]
    options = {"network.name": "lenet5", "algo": "sgd", "lr": str(lr), "epochs": str(epochs), "seed": "0"}
    return resolve_train_config(options=options, sets=list(sets))


def test_results_name_the_config_that_ran_and_resume_refuses_another(tmp_path: Path) -> None:
    bench = _bench()
    data = _split(6, 4)
    config = _config(0.01, 1, *AIHWKIT_DEVICE)
    first = bench.run(config, data, data, tmp_path)
    assert first["config"] == config_summary(config)
    assert first["config"]["device"]["dw_min"] == 0.001 and first["config"]["device"]["w_max"] == 0.6
    assert [record["epoch"] for record in first["history"]] == [1]

    longer = _config(0.01, 2, *AIHWKIT_DEVICE)
    with pytest.raises(SystemExit, match="written by another configuration"):
        bench.run(_config(0.01, 1), data, data, tmp_path)  # same folder, pulsetrain's default device
    with pytest.raises(SystemExit, match="written by another configuration"):
        bench.run(_config(0.003, 2, *AIHWKIT_DEVICE), data, data, tmp_path)  # another rate
    resumed = bench.run(longer, data, data, tmp_path)  # more epochs of the same run resume it
    assert [record["epoch"] for record in resumed["history"]] == [1, 2]
    assert resumed["history"][0] == first["history"][0]


def test_ablation_rows_ran_the_configuration_they_name() -> None:
    bench = _bench()
    data = _split(4, 4)
    args = argparse.Namespace(epochs=1, seed=0, sets=[])
    rows = {row["label"]: row["config"] for row in bench.print_ablation(data, data, args, 0.003)}
    assert rows["fp (reference)"]["algo"] == "fp" and rows["as configured"]["algo"] == "sgd"
    configured = rows["as configured"]
    assert configured["io"]["out_noise"] == 0.06 and configured["update"]["mode"] == "stochastic"
    backward = rows["perfect backward reads"]
    assert backward["backward_io"]["out_noise"] == 0 and backward["backward_io"]["adc_bits"] == 24
    assert backward["io"] == configured["io"]
    both = rows["perfect forward and backward reads"]
    assert (
        both["io"]["out_noise"] == 0
        and both["io"]["dac_bits"] == 24
        and both["backward_io"]["adc_bits"] == 24
    )
    assert rows["ideal device, pulsed update"]["device"]["kind"] == "ideal"
    assert rows["ideal device, pulsed update"]["update"]["mode"] == "stochastic"
    assert rows["exact update (no pulses)"]["update"]["mode"] == "ideal"
    assert rows["exact update (no pulses)"]["device"] == configured["device"]
