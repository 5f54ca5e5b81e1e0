"""The papers' claims on the full studies (``--long`` only: hours on one core).

Each test runs a study through :func:`pulsetrain.model.experiments.run_study` (learning rates chosen on
the validation split where the study tunes) and checks a claim on its summary, with the tolerance
stated next to it. docs/studies/README.md holds the measured numbers and, where a claim does not hold in
this model, the measured cause (the full studies there pass every test here).
"""

from __future__ import annotations

import pytest
from pulsetrain.model.experiments import run_study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def offset_sweep() -> dict:
    return run_study("offset-sweep", quick=False, seeds=(0, 1, 2))["summary"]["claims"]


def test_weight_error_orders_ttv2_above_c_ttv2_above_agad(offset_sweep: dict) -> None:
    assert offset_sweep["ordering_holds"], offset_sweep


def test_agad_is_nearly_flat_over_the_offset_sweep(offset_sweep: dict) -> None:
    # weight error within 0.1 over sigma_r 0 .. 0.5 (its seed spread is ~0.02)
    assert offset_sweep["agad_weight_error_span"] < 0.10, offset_sweep


def test_c_ttv2_at_least_ttv2_for_sigma_from_0_2(offset_sweep: dict) -> None:
    # at the shared defaults; 2 points of tolerance (the seed spread on 360 test images is 1-2.5 points)
    margins = offset_sweep["c_ttv2_minus_ttv2_accuracy_at_sigma_ge_0.2"]
    assert margins and all(m > -0.02 for m in margins.values()), margins


@pytest.fixture(scope="module")
def bp_versus_dfa() -> dict:
    # the activations docs/studies/bp-vs-dfa.json ran (the full default adds ReLU, where DFA does not train)
    return run_study("bp-vs-dfa", quick=False, seeds=(0, 1, 2, 3, 4), activations=("sigmoid", "tanh"))[
        "summary"
    ]


def test_bp_stays_ahead_of_dfa_at_the_harshest_level_on_most_seeds(bp_versus_dfa: dict) -> None:
    # Wolters et al.: BP more accurate under non-idealities. Checked per network and activation where
    # BP trains at level 0 (above 80 %): at the harshest level BP ahead on at least 4 of 5 seeds
    rows = bp_versus_dfa["rows"]
    trained = {
        (r["network"], r["activation"])
        for r in rows
        if r["algo"] == "sgd" and r["level"] == 0 and r["test_accuracy"]["mean"] > 0.8
    }
    harshest = max(r["level"] for r in rows)
    gaps = [
        g
        for g in bp_versus_dfa["claims"]["bp_minus_dfa"]
        if g["level"] == harshest and (g["network"], g["activation"]) in trained
    ]
    assert gaps and all(g["bp_ahead_seeds"] >= 4 for g in gaps), gaps


def test_bp_ahead_at_every_nonideal_level_with_sigmoid_on_the_shallow_networks(bp_versus_dfa: dict) -> None:
    # measured (docs/studies): BP ahead on 4-5 of 5 seeds at every level 1-4 for 64-32-10 and 64-128-10
    every = bp_versus_dfa["claims"]["bp_ahead_at_every_nonideal_level"]
    assert every["64-32-10 sigmoid"] and every["64-128-10 sigmoid"], every


def test_dfa_speedup_approaches_depth(bp_versus_dfa: dict) -> None:
    speedups = bp_versus_dfa["claims"]["training_speedup_by_depth"]
    assert all(speedups[n] > 0.6 * n for n in (2, 3, 4, 5, 6)), speedups


def test_sbe_needs_ten_times_fewer_array_updates_at_batch_128() -> None:
    summary = run_study("sbe-batch", quick=False, seeds=(0, 1, 2))["summary"]
    savings = [s for s in summary["claims"]["savings"] if s["batch"] == 128]
    assert savings, summary
    for entry in savings:
        # comparable accuracy: within 3 points of mini-batch SGD at the same batch
        assert entry["sbe_test_accuracy"] >= entry["sgd_test_accuracy"] - 0.03, entry
    rank_one = next(s for s in savings if s["rank"] == 1)
    assert rank_one.get("update_ratio_to_target_vs_minibatch", 0.0) >= 10.0, rank_one
    assert rank_one.get("update_ratio_to_target_vs_per_sample", 0.0) >= 5.0, rank_one


def test_defaults_reach_their_accuracy_floors() -> None:
    summary = run_study("defaults", quick=False, seeds=(0,))["summary"]
    failed = {algo: c for algo, c in summary["claims"].items() if not c["meets_floor"]}
    assert not failed, failed
