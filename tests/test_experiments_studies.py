"""The study machinery: plans of pure runs, run_one, summaries and claims, plots, the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.model import experiments
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
    train_seeds = {spec["seed"] for spec in specs if spec["kind"] == "train"}
    assert train_seeds == {0, 1, 2}


def test_quick_plans_are_smaller_than_full_ones() -> None:
    for study in STUDIES:
        assert len(plan(study, True)) < len(plan(study, False)) or study == "defaults"


def test_full_offset_sweep_covers_zero_to_half_for_the_family() -> None:
    specs = plan("offset-sweep", False, seeds=(0,))
    offsets = sorted({spec["offset"] for spec in specs})
    assert offsets == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert {spec["algo"] for spec in specs} == {"ttv2", "c-ttv2", "agad"}


def test_full_offset_sweep_shares_one_transfer_rate_across_the_family() -> None:
    rate = f"tiki_taka.transfer_lr={experiments.OFFSET_TRANSFER_LR_FULL!r}"
    full = [s for s in plan("offset-sweep", False, seeds=(0,)) if s["kind"] in ("train", "regression")]
    assert full and all(rate in s["sets"] for s in full)
    quick = plan("offset-sweep", True, seeds=(0,))
    assert not any(item.startswith("tiki_taka.") for s in quick for item in s.get("sets", []))


def test_regression_spec_applies_its_overrides() -> None:
    spec = {"study": "offset-sweep", "kind": "regression", "label": "r", "algo": "c-ttv2", "offset": 0.3}
    spec |= {"states": 50, "steps": 200, "seed": 0}
    default = run_one(spec)
    slower = run_one({**spec, "sets": ["tiki_taka.transfer_lr=0.1"]})
    # a third of the transfer rate gives fewer pulses on C over the same 200 samples
    assert slower["pulses_per_sample_per_device_C"] < default["pulses_per_sample_per_device_C"]


def test_full_bp_vs_dfa_covers_both_networks_and_the_ladder() -> None:
    specs = [s for s in plan("bp-vs-dfa", False, seeds=(0,)) if s["kind"] == "train"]
    assert {s["network"] for s in specs} == {"64-32-10", "64-32-32-32-10"}
    assert {s["level"] for s in specs} == set(range(len(experiments.NONIDEALITY_LADDER)))


def test_full_bp_vs_dfa_separates_the_harshest_factors_on_the_deep_network() -> None:
    specs = [s for s in plan("bp-vs-dfa", False, seeds=(0,)) if s["kind"] == "factor"]
    assert {(s["factor"], s["algo"]) for s in specs} == {
        (f, a) for f in experiments.FACTORS for a in ("sgd", "dfa")
    }
    assert {s["network"] for s in specs} == {experiments.FACTOR_NETWORK}
    assert not [s for s in plan("bp-vs-dfa", True, seeds=(0,)) if s["kind"] == "factor"]


@pytest.mark.parametrize("factor", experiments.FACTORS, ids=str)
def test_each_factor_changes_one_knob_of_level_zero(factor: str) -> None:
    level0 = set(experiments.ladder_sets(0))
    harshest = set(experiments.ladder_sets(len(experiments.NONIDEALITY_LADDER) - 1))
    changed = set(experiments.factor_sets(factor)) - level0
    assert changed and changed <= harshest
    knobs = {
        "periphery": ("io.", "backward_io."),
        "asymmetry": ("device.up_down",),
        "states": ("device.dw_min",),
    }
    assert all(item.startswith(knobs[factor]) for item in changed), changed


def test_factor_summary_gives_bp_minus_dfa_per_factor() -> None:
    results = []
    for factor, bp, dfa in (("periphery", 0.95, 0.94), ("states", 0.25, 0.87)):
        for algo, accuracy in (("sgd", bp), ("dfa", dfa)):
            spec = {"kind": "factor", "algo": algo, "network": "64-32-32-32-10", "factor": factor, "seed": 0}
            results.append({"spec": spec, "test_accuracy": accuracy})
    gaps = summarize("bp-vs-dfa", results)["claims"]["bp_minus_dfa_by_factor"]
    assert gaps == pytest.approx({"periphery": 0.01, "states": -0.62})


def test_latency_run_speedup_approaches_depth() -> None:
    result = run_one({"study": "bp-vs-dfa", "kind": "latency", "label": "latency", "depths": [2, 3, 4, 5, 6]})
    rows = result["rows"]
    speedups = [row["training_speedup"] for row in rows]
    assert speedups == sorted(speedups), "the speed-up grows with depth"
    for row in rows:
        # after the forward pass DFA is between 1x and Nx faster, and within 40 % of N
        assert 0.6 * row["depth"] < row["training_speedup"] <= row["depth"]


def test_training_run_reports_counts() -> None:
    spec = {
        "study": "sbe-batch",
        "kind": "train",
        "label": "sbe",
        "sets": ["algo=sbe", "batch_size=64", "epochs=1", "sbe.rank=2", "seed=0"],
        "seed": 0,
        "algo": "sbe",
        "batch": 64,
        "rank": 2,
    }
    result = run_one(spec)
    # 1437 training samples in batches of 64 -> 23 batches, 2 updates per layer, 2 layers
    assert result["array_updates"] == 23 * 2 * 2
    assert len(result["train_curve"]) == 1
    assert 0.0 <= result["test_accuracy"] <= 1.0


def test_regression_run_gives_a_weight_error() -> None:
    spec = {
        "study": "offset-sweep",
        "kind": "regression",
        "label": "r",
        "algo": "agad",
        "offset": 0.0,
        "states": 50,
        "steps": 500,
        "seed": 0,
    }
    result = run_one(spec)
    assert len(result["weight_error_curve"]) == 10
    # learning: the error falls from its start (|W*| itself at W = 0)
    assert result["weight_error_curve"][-1] < result["weight_error_curve"][0]
    assert result["pulses_per_sample_per_device_A"] > result["pulses_per_sample_per_device_C"] > 0


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


def test_offset_summary_checks_the_ordering() -> None:
    summary = summarize("offset-sweep", _fake_offset_results())
    assert summary["claims"]["ordering_holds"] is True
    assert summary["claims"]["agad_weight_error_span"] == pytest.approx(0.0)


def test_sbe_summary_counts_updates_to_target() -> None:
    results = []
    for algo, rank, per_epoch, curve in (("sgd", 0, 2874.0, [0.5, 0.95]), ("sbe", 1, 24.0, [0.3, 0.6, 0.92])):
        spec = {"kind": "train", "algo": algo, "batch": 128, "rank": rank, "seed": 0}
        results.append(
            {"spec": spec, "train_curve": curve, "test_accuracy": 0.9, "array_updates_per_epoch": per_epoch}
        )
    claims = summarize("sbe-batch", results)["claims"]["savings"][0]
    assert claims["update_ratio_to_target"] == pytest.approx(2 * 2874.0 / (3 * 24.0))
    assert claims["update_ratio_per_epoch"] == pytest.approx(2874.0 / 24.0)


@pytest.mark.parametrize("study", STUDIES, ids=str)
def test_plot_writes_a_png(study: str, tmp_path: Path) -> None:
    if study == "offset-sweep":
        summary = summarize(study, _fake_offset_results())
    elif study == "bp-vs-dfa":
        latency = run_one({"kind": "latency", "depths": [2, 3]})
        results = [
            {"spec": {"kind": "train", "algo": a, "network": "64-32-10", "level": lv}, "test_accuracy": 0.8}
            for a in ("sgd", "dfa")
            for lv in (0, 2)
        ] + [latency]
        summary = summarize(study, results)
    elif study == "sbe-batch":
        results = [
            {
                "spec": {"kind": "train", "algo": a, "batch": b, "rank": k},
                "train_curve": [0.95],
                "test_accuracy": 0.9,
                "array_updates_per_epoch": 10.0,
            }
            for a, k in (("sgd", 0), ("sbe", 1))
            for b in (16, 128)
        ]
        summary = summarize(study, results)
    else:
        results = [
            {"spec": {"kind": "train", "algo": a}, "test_accuracy": 0.93, "epoch_seconds": [1.0]}
            for a in ("ttv2", "dfa")
        ]
        summary = summarize(study, results)
    path = experiments.plot(study, summary, tmp_path / f"{study}.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_command_writes_json_and_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The latency part of bp-vs-dfa only: the command path end to end without minutes of training.
    def latency_only(study: str, quick: bool = False, seeds: tuple[int, ...] = (0,)) -> list[dict]:
        return [{"study": study, "kind": "latency", "label": "latency", "depths": [2, 3, 4]}]

    monkeypatch.setattr(experiments, "plan", latency_only)
    out = tmp_path / "out.json"
    figure = tmp_path / "out.png"
    result = CliRunner().invoke(
        main, ["experiment", "bp-vs-dfa", "--quick", "--json", str(out), "--plot", str(figure)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["summary"]["claims"]["training_speedup_by_depth"]["4"] > 2.0
    assert figure.stat().st_size > 1000


def test_bad_seeds_are_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["experiment", "sbe-batch", "--seeds", "one"])
    assert result.exit_code == 2
    assert "--seeds" in result.output
