"""Study ``bp-vs-dfa``: BP versus DFA under non-idealities, and their latency versus depth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulsetrain.report.page import Table
from pulsetrain.report.part import short
from pulsetrain.report.study_kind import Study


def latency_table(summary: Mapping[str, Any]) -> list[Table]:
    """The per-sample latency of both schedules by depth (the model's schedule)."""
    latency = summary.get("latency")
    if not latency:
        return []
    return [
        Table(
            list(latency[0].keys()),
            [[short(v) for v in row.values()] for row in latency],
            "Per-sample latency of the BP and DFA schedules in periphery cycles (the model's schedule).",
        )
    ]


STUDY = Study(
    name="bp-vs-dfa",
    title="BP versus DFA under non-idealities, and latency versus depth (Wolters et al. 2023)",
    extra_tables=latency_table,
)
