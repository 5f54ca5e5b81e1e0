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
