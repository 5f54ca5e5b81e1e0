"""The claims table of docs/studies/README.md, regenerated from study documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulsetrain.model import study_table


def _bp_dfa_document(gap_deep: float) -> dict:
    gaps = [
        {
            "network": "64-32-32-32-10",
            "activation": act,
            "level": level,
            "bp_minus_dfa": gap,
            "bp_ahead_seeds": 4,
            "seeds": 5,
        }
        for act, gap in (("sigmoid", gap_deep), ("tanh", -0.3))
        for level in (0, 4)
    ]
    ahead = {"64-32-32-32-10 sigmoid": gap_deep > 0, "64-32-32-32-10 tanh": False}
    claims = {
        "bp_minus_dfa": gaps,
        "bp_ahead_at_every_nonideal_level": ahead,
        "training_speedup_by_depth": {"2": 1.3, "6": 5.2},
        "bp_minus_dfa_by_factor": [],
    }
    return {"quick": True, "seeds": [0, 1], "commit": "abcdef1234567890", "summary": {"claims": claims}}


def test_bp_dfa_verdict_is_partly_when_only_some_activations_hold() -> None:
    rows = study_table.claims_table({"bp-vs-dfa": _bp_dfa_document(0.05)})
    assert rows[0]["verdict"].startswith("partly") and "sigmoid" in rows[0]["verdict"]
    assert "commit abcdef123456" in rows[0]["ours"] and "quick, 2 seeds" in rows[0]["ours"]
    assert rows[1]["verdict"] == "reproduced"  # 1.3 > 0.6 * 2 and 5.2 > 0.6 * 6
    none = study_table.claims_table({"bp-vs-dfa": _bp_dfa_document(-0.05)})
    assert none[0]["verdict"].startswith("not reproduced")


def test_every_paper_cell_names_its_source_or_says_not_verified() -> None:
    rows = study_table.claims_table({"bp-vs-dfa": _bp_dfa_document(0.05)})
    assert all("arXiv" in row["paper"] or "no " in row["paper"] for row in rows)


def test_readme_table_is_rewritten_between_the_markers_only(tmp_path: Path) -> None:
    (tmp_path / "bp-vs-dfa.json").write_text(json.dumps(_bp_dfa_document(0.05)))
    readme = tmp_path / "README.md"
    readme.write_text(f"# Studies\n\nbefore\n\n{study_table.BEGIN}\nstale\n{study_table.END}\n\nafter\n")
    study_table.update_readme(tmp_path)
    text = readme.read_text()
    assert "stale" not in text and "before" in text and "after" in text
    assert "| claim | paper (source) | ours | verdict |" in text
    study_table.update_readme(tmp_path)
    assert readme.read_text() == text  # regenerating is idempotent


def test_merged_documents_pool_results_and_keep_every_commit() -> None:
    def document(network: str, commit: str, gap: float) -> dict:
        results = [
            {
                "spec": {
                    "kind": "train",
                    "algo": algo,
                    "network": network,
                    "activation": "tanh",
                    "level": 4,
                    "seed": 0,
                },
                "test_accuracy": 0.8 + (gap if algo == "sgd" else 0.0),
            }
            for algo in ("sgd", "dfa")
        ]
        summary = {"tuning": {f"sgd {network} tanh": {"lr": 0.03}}}
        return {
            "study": "bp-vs-dfa",
            "quick": True,
            "seeds": [0],
            "commit": commit,
            "summary": summary,
            "results": results,
        }

    merged = study_table.merge_documents([document("a", "c1", 0.1), document("b", "c2", -0.1)])
    assert merged["commits"] == ["c1", "c2"] and len(merged["results"]) == 4
    gaps = {g["network"]: g["bp_minus_dfa"] for g in merged["summary"]["claims"]["bp_minus_dfa"]}
    assert gaps["a"] == pytest.approx(0.1) and gaps["b"] == pytest.approx(-0.1)
    assert set(merged["summary"]["tuning"]) == {"sgd a tanh", "sgd b tanh"}


def test_offset_rows_skip_missing_weight_errors_and_call_small_margins_level() -> None:
    claims = {
        "weight_error_at_0.3": {"ttv2": None, "c-ttv2": None, "agad": None},  # no regression runs
        "c_ttv2_minus_ttv2_accuracy_at_sigma_ge_0.2": {"0.2": 0.0, "0.5": 0.013},
        "c_ttv2_at_least_ttv2_at_sigma_ge_0.2": True,
        "agad_accuracy_span": 0.017,
    }
    document = {
        "quick": False,
        "seeds": [0, 1, 2],
        "commit": "c",
        "note": "partial",
        "summary": {"claims": claims},
    }
    rows = study_table.claims_table({"offset-sweep": [document]})
    assert [row["claim"][:8] for row in rows] == ["c-TTv2 a", "AGAD nea"]
    assert rows[0]["verdict"].startswith("level") and "partial" in rows[0]["ours"]
    assert rows[1]["verdict"] == "reproduced"  # accuracy span under 3 points when no weight error exists


def _sbe_document(sbe_reached: int) -> dict:
    def row(algo: str, batch: int, reached: int, updates: float | None) -> dict:
        return {
            "algo": algo,
            "batch": batch,
            "rank": 1 if algo == "sbe" else 0,
            "reached_target": reached,
            "seeds": 3,
            "updates_to_target": {"mean": updates, "n": reached, "std": None},
        }

    rows = [row("sgd", 1, 3, 1800.0), row("sgd", 1024, 3, 37000.0), row("sbe", 1024, sbe_reached, 300.0)]
    if sbe_reached == 0:
        rows[-1]["updates_to_target"]["mean"] = None
    entry = {"batch": 1024, "rank": 1, "sbe_test_accuracy": 0.86, "sgd_test_accuracy": 0.96}
    if sbe_reached:
        entry |= {
            "update_ratio_to_target_vs_minibatch": 37000 / 300,
            "update_ratio_to_target_vs_per_sample": 6.0,
        }
    results = [
        {"spec": {"kind": "train", "algo": r["algo"], "batch": r["batch"]}, "config": {"epochs": 70}}
        for r in rows
    ]
    summary = {"rows": rows, "target_train_accuracy": 0.9, "claims": {"savings": [entry]}}
    return {"quick": False, "seeds": [0, 1, 2], "commit": "c", "summary": summary, "results": results}


def test_sbe_row_says_which_run_never_reached_the_target_instead_of_nan() -> None:
    (row,) = study_table.claims_table({"sbe-batch": _sbe_document(0)})
    assert "nan" not in row["ours"], row["ours"]
    assert "SBE rank 1 did not reach the target in 70 epochs (0/3 seeds)" in row["ours"], row["ours"]
    assert "90 % train accuracy" in row["ours"] and row["verdict"].startswith("not measured")


def test_sbe_row_gives_both_ratios_and_flags_a_mean_over_some_seeds() -> None:
    (row,) = study_table.claims_table({"sbe-batch": _sbe_document(2)})
    assert "123.3x fewer than mini-batch SGD, 6.0x fewer than per-sample SGD" in row["ours"], row["ours"]
    assert "SBE reached it on 2/3 seeds" in row["ours"]


def test_c_ttv2_ahead_beyond_the_spread_at_some_sigma_only_is_partly() -> None:
    claims = {
        "c_ttv2_minus_ttv2_accuracy_at_sigma_ge_0.2": {"0.2": 0.0, "0.4": 0.043, "0.5": 0.013},
        "c_ttv2_at_least_ttv2_at_sigma_ge_0.2": True,
    }
    document = {"quick": False, "seeds": [0], "commit": "c", "summary": {"claims": claims}}
    (row,) = study_table.claims_table({"offset-sweep": document})
    assert row["verdict"].startswith("partly") and "σ_r 0.4 (+4.3 points)" in row["verdict"], row
