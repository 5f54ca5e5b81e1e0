"""bp-vs-dfa's factor runs run what their text says; the study's network, activation and data set axes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from pulsetrain.model import study_settings, study_tuning
from pulsetrain.model.experiments import plan
from pulsetrain.model.training import config_summary, resolve_train_config

from pulsetrain.cli import main
from pulsetrain.config import ConfigError

#: the words of :func:`study_settings.factor_text`, read back as numbers
_TEXT = re.compile(
    r"^(?P<factor>.+): DAC (?P<dac>ideal|\d+-bit), ADC (?P<adc>ideal|\d+-bit), output noise (?P<noise>\S+), "
    r"up_down_dtod (?P<dtod>\S+), (?P<states>\d+) states, non-linearity (?P<nonlinearity>\S+), "
    r"(?P<mapping>.+)$"
)
_MAPPINGS = {
    "weight range ±1 (NeuroSim)": ("weight-range", "weight_range", 1.0),
    "output scale 3 (old mapping)": ("output-scale", "output_scale", 3.0),
}


def _bits(word: str) -> int | None:
    return None if word == "ideal" else int(word.removesuffix("-bit"))


def _factor_configs(factor: str) -> list[dict[str, Any]]:
    specs = [s for s in plan("bp-vs-dfa", False, seeds=(0, 1)) if s.get("factor") == factor]
    return [{"spec": s, "config": config_summary(resolve_train_config(sets=list(s["sets"])))} for s in specs]


@pytest.mark.parametrize("factor", list(study_settings.FACTORS), ids=str)
def test_every_factor_run_runs_the_configuration_its_text_names(factor: str) -> None:
    text = study_settings.factor_text(factor)
    words = _TEXT.match(text)
    assert words is not None and words["factor"] == factor, text
    runs = _factor_configs(factor)
    # both algorithms, every activation of the full study and both seeds, on the factor network
    assert {(r["spec"]["algo"], r["spec"]["activation"], r["spec"]["seed"]) for r in runs} == {
        (algo, activation, seed)
        for algo in ("sgd", "dfa")
        for activation in study_settings.ACTIVATIONS
        for seed in (0, 1)
    }
    mode, field, value = _MAPPINGS[words["mapping"]]
    for run in runs:
        config, spec = run["config"], run["spec"]
        for io in ("io", "backward_io"):
            assert config[io]["dac_bits"] == _bits(words["dac"])
            assert config[io]["adc_bits"] == _bits(words["adc"])
            assert config[io]["out_noise"] == pytest.approx(float(words["noise"]))
        device = config["device"]
        assert device["kind"] == "linear-step"
        assert (device["w_max"] - device["w_min"]) / device["dw_min"] == pytest.approx(int(words["states"]))
        assert device["up_down_dtod"] == pytest.approx(float(words["dtod"]))
        assert device["up_down"] == 0.0
        assert device["gamma_up"] == device["gamma_down"] == pytest.approx(float(words["nonlinearity"]))
        assert config["mapping"]["mode"] == mode and config["mapping"][field] == value
        hidden = list(study_settings.NETWORKS[study_settings.FACTOR_NETWORK])
        assert config["network"]["hidden"] == hidden
        assert config["network"]["activation"] == spec["activation"]
        assert config["algo"] == spec["algo"] and config["seed"] == spec["seed"]


def test_bp_vs_dfa_axes_choose_networks_and_activations() -> None:
    specs = plan("bp-vs-dfa", False, seeds=(0,), networks=("64-128-10",), activations=("tanh",))
    trained = [s for s in specs if s["kind"] in ("train", "factor")]
    assert trained and {(s["network"], s["activation"]) for s in trained} == {("64-128-10", "tanh")}
    # no factor runs: they belong to the deep network, which was not chosen
    assert not [s for s in specs if s["kind"] == "factor"]
    full = plan("bp-vs-dfa", False, seeds=(0,), activations=("sigmoid", "tanh"))
    assert {s["network"] for s in full if "network" in s} == set(study_settings.DATASET_NETWORKS["digits"])
    assert {s["activation"] for s in full if "activation" in s} == {"sigmoid", "tanh"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["bp-vs-dfa", "--activations", "sigmoid,swish"], "activation must be one of"),
        (["bp-vs-dfa", "--networks", "64-10"], "network must be one of"),
        (["sbe-batch", "--networks", "64-32-10"], "bp-vs-dfa's runs only"),
    ],
    ids=["activation", "network", "other-study"],
)
def test_a_bad_axis_is_one_line_and_exit_2(arguments: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["experiment", *arguments, "--quick"])
    assert result.exit_code == 2 and message in result.output, result.output


def test_bp_vs_dfa_on_fashion_mnist_runs_784_800_10_on_a_training_subset_at_the_quick_size() -> None:
    specs = [s for s in plan("bp-vs-dfa", True, seeds=(0,), dataset="fashion-mnist") if "network" in s]
    assert specs and {s["network"] for s in specs} == {"784-800-10"}
    assert all(s["dataset"] == "fashion-mnist" and "dataset=fashion-mnist" in s["sets"] for s in specs)
    assert {s["train_samples"] for s in specs} == {study_settings.MNIST_TRAIN_SAMPLES_QUICK}
    config = resolve_train_config(sets=list(specs[0]["sets"]))
    assert config.network.hidden == (800,) and config.dataset.value == "fashion-mnist"
    full = [s for s in plan("bp-vs-dfa", False, seeds=(0,), dataset="fashion-mnist") if "network" in s]
    assert full and not [s for s in full if "train_samples" in s]
    # digits plans are unchanged: no data set keys in their specs (their cache keys stay the same)
    assert not [s for s in plan("bp-vs-dfa", True, seeds=(0,)) if "dataset" in s]


def test_a_network_must_take_the_data_sets_input_width() -> None:
    with pytest.raises(ConfigError, match="network 64-32-10 takes 64 inputs; dataset fashion-mnist has 784"):
        plan("bp-vs-dfa", True, seeds=(0,), networks=("64-32-10",), dataset="fashion-mnist")
    with pytest.raises(ConfigError, match="dataset must be one of"):
        plan("bp-vs-dfa", True, seeds=(0,), dataset="cifar10")


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz").is_file(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_the_quick_training_subset_is_stratified_and_the_test_set_whole() -> None:
    data = study_tuning.study_data("fashion-mnist", 2000)
    assert data.x_train.shape == (2000, 784) and data.x_test.shape[0] == 10_000
    assert np.bincount(data.y_train, minlength=10).tolist() == [200] * 10
    split = study_tuning.validation_split("fashion-mnist", 2000)
    assert split.x_train.shape[0] == 1600 and split.x_test.shape[0] == 400
