"""The study machinery: plans of pure runs, tuning on a validation split, run_one, summaries, plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pulsetrain.model import experiments, study_settings, study_tuning
from pulsetrain.model.experiments import STUDIES, plan, run_one, summarize

from pulsetrain.cli import main


@pytest.mark.parametrize("study", STUDIES, ids=str)
@pytest.mark.parametrize("quick", [True, False], ids=["quick", "full"])
def test_plans_are_plain_json_specs(study: str, quick: bool) -> None:
    specs = plan(study, quick, seeds=(0, 1, 2))
    assert specs
    assert json.loads(json.dumps(specs)) == specs  # plain data: picklable, hashable for the cache
    assert all(
        spec["study"] == study and spec["kind"] in ("train", "factor", "regression", "latency")
        for spec in specs
    )
    assert {spec["seed"] for spec in specs if spec["kind"] == "train"} == {0, 1, 2}


@pytest.mark.parametrize("study", STUDIES, ids=str)
def test_every_training_run_names_its_weight_mapping(study: str) -> None:
    runs = [s for s in plan(study, False, seeds=(0,)) if s["kind"] in ("train", "factor")]
    assert runs and all(any(item.startswith("mapping.mode=") for item in s["sets"]) for s in runs)


def test_quick_plans_are_smaller_than_full_ones() -> None:
    for study in STUDIES:
        assert len(plan(study, True)) < len(plan(study, False)) or study == "defaults"


def test_full_offset_sweep_covers_zero_to_half_for_the_family() -> None:
    specs = plan("offset-sweep", False, seeds=(0,))
    assert sorted({spec["offset"] for spec in specs}) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert {spec["algo"] for spec in specs} == {"ttv2", "c-ttv2", "agad"}


@pytest.mark.parametrize("study", ["offset-sweep", "defaults"])
def test_tiki_taka_studies_run_the_one_shared_default(study: str) -> None:
    # the offset sweep, the defaults study and `pulsetrain train` share TikiTakaSettings' defaults
    for quick in (True, False):
        sets = [item for s in plan(study, quick, seeds=(0,)) for item in s.get("sets", [])]
        assert not [item for item in sets if item.startswith("tiki_taka.")]


def test_regression_spec_applies_its_overrides() -> None:
    spec = {"study": "offset-sweep", "kind": "regression", "label": "r", "algo": "c-ttv2", "offset": 0.3}
    spec |= {"states": 50, "steps": 200, "seed": 0}
    faster = run_one({**spec, "sets": ["tiki_taka.transfer_lr=0.3"]})
    slower = run_one({**spec, "sets": ["tiki_taka.transfer_lr=0.1"]})
    # a third of the transfer rate gives fewer pulses on C over the same 200 samples
    assert slower["pulses_per_sample_per_device_C"] < faster["pulses_per_sample_per_device_C"]


def test_full_bp_vs_dfa_covers_networks_activations_and_the_ladder() -> None:
    specs = [s for s in plan("bp-vs-dfa", False, seeds=(0,)) if s["kind"] == "train"]
    assert {s["network"] for s in specs} == {"64-32-10", "64-32-32-32-10", "64-128-10"}
    assert {s["activation"] for s in specs} == {"sigmoid", "tanh", "relu"}
    assert {s["level"] for s in specs} == set(range(len(study_settings.NONIDEALITY_LADDER)))
    assert all(f"network.activation={s['activation']}" in s["sets"] for s in specs)


def test_full_bp_vs_dfa_separates_the_factors_on_the_deep_network() -> None:
    specs = [s for s in plan("bp-vs-dfa", False, seeds=(0,)) if s["kind"] == "factor"]
    assert {(s["factor"], s["algo"]) for s in specs} == {
        (f, a) for f in study_settings.FACTORS for a in ("sgd", "dfa")
    }
    assert {s["network"] for s in specs} == {study_settings.FACTOR_NETWORK}
    assert not [s for s in plan("bp-vs-dfa", True, seeds=(0,)) if s["kind"] == "factor"]


_KNOBS = {
    "periphery": ("io.", "backward_io."),
    "asymmetry": ("device.up_down_dtod",),
    "nonlinearity": ("device.gamma_up=", "device.gamma_down="),
    "states": ("device.dw_min=",),
    "states, old mapping": ("device.dw_min=", "mapping."),
}


@pytest.mark.parametrize("factor", list(study_settings.FACTORS), ids=str)
def test_each_factor_changes_only_its_knobs_of_level_zero(factor: str) -> None:
    level0 = set(study_settings.ladder_sets(0))
    changed = set(study_settings.factor_sets(factor)) - level0
    assert changed and all(item.startswith(_KNOBS[factor]) for item in changed), changed


def test_a_factor_run_runs_exactly_the_configuration_its_text_names() -> None:
    # the states factor on the deep network: 80 states, everything else at level 0, NeuroSim mapping
    spec = next(
        s for s in plan("bp-vs-dfa", False, seeds=(0,)) if s["kind"] == "factor" and s["factor"] == "states"
    )
    spec = {**spec, "sets": [*spec["sets"], "epochs=1", "lr=0.1"]}
    config = run_one(spec)["config"]
    text = study_settings.factor_text("states")
    assert "80 states" in text and "DAC ideal" in text and "weight range ±1" in text
    assert config["device"]["kind"] == "linear-step"
    assert config["device"]["dw_min"] == pytest.approx(2.0 / 80)
    assert config["device"]["gamma_up"] == 0.0 and config["device"]["up_down_dtod"] == 0.0
    assert config["io"]["dac_bits"] is None and config["backward_io"]["adc_bits"] is None
    assert config["io"]["out_noise"] == 0.0
    assert config["mapping"]["mode"] == "weight-range" and config["mapping"]["weight_range"] == 1.0
    assert (
        config["network"]["hidden"] == [32, 32, 32] and config["network"]["activation"] == spec["activation"]
    )


def test_factor_summary_gives_bp_minus_dfa_per_factor_seed_by_seed() -> None:
    results = []
    for factor, bp, dfa in (("periphery", (0.95, 0.93), (0.94, 0.94)), ("states", (0.25, 0.3), (0.87, 0.8))):
        for algo, accuracies in (("sgd", bp), ("dfa", dfa)):
            for seed, accuracy in enumerate(accuracies):
                spec = {
                    "kind": "factor",
                    "algo": algo,
                    "network": "n",
                    "activation": "tanh",
                    "factor": factor,
                }
                results.append({"spec": {**spec, "seed": seed}, "test_accuracy": accuracy})
    gaps = {g["factor"]: g for g in summarize("bp-vs-dfa", results)["claims"]["bp_minus_dfa_by_factor"]}
    assert gaps["periphery"]["bp_minus_dfa"] == pytest.approx(0.0)
    assert gaps["periphery"]["bp_ahead_seeds"] == 1 and gaps["states"]["bp_ahead_seeds"] == 0
    assert gaps["states"]["bp_minus_dfa"] == pytest.approx(-0.56)


def test_latency_run_speedup_approaches_depth() -> None:
    result = run_one({"study": "bp-vs-dfa", "kind": "latency", "label": "latency", "depths": [2, 3, 4, 5, 6]})
    speedups = [row["training_speedup"] for row in result["rows"]]
    assert speedups == sorted(speedups), "the speed-up grows with depth"
    for row in result["rows"]:
        # after the forward pass DFA is between 1x and Nx faster, and within 40 % of N
        assert 0.6 * row["depth"] < row["training_speedup"] <= row["depth"]


def _sbe_spec(batch: int, rank: int, epochs: int, target: float | None = None) -> dict:
    sets = ["algo=sbe", f"batch_size={batch}", f"epochs={epochs}", f"sbe.rank={rank}", "seed=0", "lr=1.0"]
    spec = {"study": "sbe-batch", "kind": "train", "label": "s", "sets": sets, "seed": 0, "algo": "sbe"}
    return spec | {"batch": batch, "rank": rank, "target_train_accuracy": target}


def test_sbe_counts_rank_k_updates_as_min_of_rank_and_batch() -> None:
    # 1437 samples: at batch 64, 23 steps x rank 2 x 2 layers; at batch 2, 718 full steps write
    # min(4, 2) = 2 pairs per layer and the last single sample min(4, 1) = 1
    assert run_one(_sbe_spec(64, 2, 1))["array_updates"] == 23 * 2 * 2
    assert run_one(_sbe_spec(2, 4, 1))["array_updates"] == 718 * 2 * 2 + 1 * 2


def test_updates_to_target_is_resolved_to_the_training_step() -> None:
    result = run_one(_sbe_spec(128, 1, 4, target=0.6))
    per_epoch = 12 * 2  # 12 steps of batch 128 (the last one short), one rank-1 update per layer
    first_epoch = next(i for i, a in enumerate(result["train_curve"], start=1) if a >= 0.6)
    updates = result["updates_to_target"]
    assert (first_epoch - 1) * per_epoch < updates <= first_epoch * per_epoch
    assert updates % 2 == 0  # whole steps: one update on each of the two layers


def test_counting_updates_does_not_change_the_run() -> None:
    from pulsetrain.model.study_runs import train_counting_updates
    from pulsetrain.model.training import resolve_train_config, train

    config = resolve_train_config(sets=["algo=sgd", "epochs=2", "seed=3"])
    data = study_tuning.digits()
    counted = train_counting_updates(config, data, 0.5)
    plain = train(config, data=data)
    assert [e["test_accuracy"] for e in counted["epochs"]] == [e["test_accuracy"] for e in plain["epochs"]]
    assert counted["updates_to_target"] is not None


def test_validation_split_is_carved_from_the_training_set_only() -> None:
    data, split = study_tuning.digits(), study_tuning.validation_split()
    assert split.x_train.shape[0] + split.x_test.shape[0] == data.x_train.shape[0]
    test_rows = {row.tobytes() for row in data.x_test}
    assert not any(row.tobytes() in test_rows for row in split.x_test)
    assert set(np.bincount(split.y_test)) <= {28, 29, 30}  # stratified: ~29 of each of 10 classes


def test_choose_takes_the_best_mean_validation_accuracy_per_group() -> None:
    results = [
        {"spec": {"tune_group": "g", "lr": lr}, "validation_accuracy": acc}
        for lr, acc in ((0.1, 0.8), (0.3, 0.9), (0.3, 0.7), (0.03, 0.85))
    ]
    chosen = study_tuning.choose(results)
    assert chosen["g"]["lr"] == 0.03  # means: 0.03 -> 0.85, 0.1 -> 0.8, 0.3 -> 0.8
    final = study_tuning.with_chosen([{"tune_group": "g", "sets": ["algo=sgd"]}, {"sets": []}], chosen)
    assert final[0]["sets"] == ["algo=sgd", "lr=0.03"] and final[0]["lr"] == 0.03 and final[1] == {"sets": []}


def test_tuning_runs_report_validation_never_test_accuracy() -> None:
    spec = {
        "study": "x",
        "kind": "train",
        "label": "t",
        "sets": ["algo=sgd", "epochs=1", "seed=0"],
        "seed": 0,
    }
    runs = study_tuning.tuning_specs([{**spec, "tune_group": "g", "lr_grid": [0.05], "tune_on": True}])
    result = run_one(runs[0])
    assert "test_accuracy" not in result and 0.0 < result["validation_accuracy"] <= 1.0
    assert runs[0]["sets"][-1] == "lr=0.05"


def _fake_offset_results() -> list[dict]:
    errors = {"ttv2": 0.9, "c-ttv2": 0.4, "agad": 0.2}
    results = []
    for algo, error in errors.items():
        for offset in (0.0, 0.3):
            spec = {"kind": "train", "algo": algo, "offset": offset, "seed": 0}
            results.append({"spec": spec, "test_accuracy": 0.9, "algorithm": {"layers": {}}})
            spec = {"kind": "regression", "algo": algo, "offset": offset, "seed": 0}
            results.append({"spec": spec, "weight_error": error if offset else 0.2})
    return results


def test_offset_summary_checks_the_ordering_and_c_ttv2_against_ttv2() -> None:
    claims = summarize("offset-sweep", _fake_offset_results())["claims"]
    assert claims["ordering_holds"] is True
    assert claims["agad_weight_error_span"] == pytest.approx(0.0)
    assert claims["c_ttv2_minus_ttv2_accuracy_at_sigma_ge_0.2"] == {"0.3": pytest.approx(0.0)}
    assert claims["c_ttv2_at_least_ttv2_at_sigma_ge_0.2"] is True


def _fake_sbe_results() -> list[dict]:
    results = []
    for algo, batch, rank, per_epoch, to_target in (
        ("sgd", 1, 0, 2874.0, 2000.0),
        ("sgd", 128, 0, 2874.0, 4000.0),
        ("sbe", 128, 1, 24.0, 100.0),
    ):
        spec = {"kind": "train", "algo": algo, "batch": batch, "rank": rank, "seed": 0}
        results.append(
            {
                "spec": spec,
                "updates_to_target": to_target,
                "test_accuracy": 0.9,
                "array_updates_per_epoch": per_epoch,
                "train_curve": [0.95],
            }
        )
    return results


def test_sbe_summary_gives_savings_against_both_baselines() -> None:
    claims = summarize("sbe-batch", _fake_sbe_results())["claims"]["savings"][0]
    assert claims["update_ratio_to_target_vs_minibatch"] == pytest.approx(40.0)
    assert claims["update_ratio_to_target_vs_per_sample"] == pytest.approx(20.0)
    assert claims["update_ratio_per_epoch"] == pytest.approx(2874.0 / 24.0)


@pytest.mark.parametrize("study", STUDIES, ids=str)
def test_plot_writes_a_png(study: str, tmp_path: Path) -> None:
    if study == "offset-sweep":
        summary = summarize(study, _fake_offset_results())
    elif study == "bp-vs-dfa":
        latency = run_one({"kind": "latency", "depths": [2, 3]})
        results = [
            {
                "spec": {
                    "kind": "train",
                    "algo": a,
                    "network": "64-32-10",
                    "activation": "tanh",
                    "level": lv,
                    "seed": 0,
                },
                "test_accuracy": 0.8,
            }
            for a in ("sgd", "dfa")
            for lv in (0, 2)
        ] + [latency]
        summary = summarize(study, results)
    elif study == "sbe-batch":
        summary = summarize(study, _fake_sbe_results())
    else:
        results = [
            {"spec": {"kind": "train", "algo": a}, "test_accuracy": 0.93, "epoch_seconds": [1.0]}
            for a in ("ttv2", "dfa")
        ]
        summary = summarize(study, results)
    path = experiments.plot(study, summary, tmp_path / f"{study}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_writes_json_with_commit_and_tuning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the latency part of bp-vs-dfa and one tuned one-epoch run: the command path end to end
    def small(study: str, quick: bool = False, seeds: tuple[int, ...] = (0,)) -> list[dict]:
        train = {
            "study": study,
            "kind": "train",
            "label": "t",
            "sets": ["algo=sgd", "epochs=1", "seed=0"],
            "seed": 0,
        }
        train |= {"algo": "sgd", "network": "64-32-10", "activation": "tanh", "level": 0}
        train |= {"tune_group": "sgd", "lr_grid": [0.02, 0.05], "tune_on": True}
        return [train, {"study": study, "kind": "latency", "label": "latency", "depths": [2, 3, 4]}]

    monkeypatch.setattr(experiments, "plan", small)
    out, figure = tmp_path / "out.json", tmp_path / "out.png"
    result = CliRunner().invoke(
        main, ["experiment", "bp-vs-dfa", "--quick", "--json", str(out), "--plot", str(figure)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["summary"]["claims"]["training_speedup_by_depth"]["4"] > 2.0
    assert document["commit"] and len(document["tuning_results"]) == 2
    chosen = document["summary"]["tuning"]["sgd"]["lr"]
    assert chosen in (0.02, 0.05) and document["results"][0]["spec"]["lr"] == chosen
    assert figure.stat().st_size > 1000


def test_bad_seeds_are_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["experiment", "sbe-batch", "--seeds", "one"])
    assert result.exit_code == 2
    assert "--seeds" in result.output
