"""The report's summary: one row per algorithm (merged from every part) and where the time went, both as
terminal tables (rich) and as page sections."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table as RichTable

from pulsetrain.report.config import ALL_ALGORITHMS, ReportConfig
from pulsetrain.report.page import Section, Table
from pulsetrain.report.part import PartOutcome

#: the per-algorithm fields results.json always carries (None where a part could not compute them)
ALGORITHM_FIELDS: tuple[str, ...] = (
    "test_accuracy",
    "pulses_per_weight",
    "area_um2",
    "energy_per_sample_j",
    "latency_per_sample_s",
)

#: the summary's columns: terminal header, page header
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("algorithm", "algorithm"),
    ("test acc %", "test accuracy %"),
    ("pulses/wt A|W", "pulses per weight A (or W)"),
    ("pulses/wt C", "pulses per weight C"),
    ("periph. µm²", "periphery area µm²"),
    ("J/sample", "energy per sample J"),
    ("s/sample", "latency per sample s"),
)


@dataclass
class PartTiming:
    """Where one part's time went (filled while its runs finish)."""

    runs: int = 0
    computed: int = 0
    cached: int = 0
    failed: int = 0
    #: seconds of the runs computed now, summed over workers
    compute_seconds: float = 0.0
    #: seconds the cached runs took when they were computed
    cached_seconds: float = 0.0
    #: seconds spent turning results into tables and plots
    assemble_seconds: float = 0.0


@dataclass
class ReportTiming:
    """Where the whole report's time went."""

    parts: dict[str, PartTiming] = field(default_factory=dict)
    plan_seconds: float = 0.0
    runs_seconds: float = 0.0
    write_seconds: float = 0.0
    total_seconds: float = 0.0

    def document(self) -> dict[str, Any]:
        """Plain data for results.json."""
        return {
            "plan_seconds": self.plan_seconds,
            "runs_elapsed_seconds": self.runs_seconds,
            "write_seconds": self.write_seconds,
            "total_seconds": self.total_seconds,
            "parts": {key: vars(timing) for key, timing in self.parts.items()},
        }


def merge_algorithms(config: ReportConfig, outcomes: Sequence[PartOutcome]) -> dict[str, dict[str, Any]]:
    """One entry per algorithm: :data:`ALGORITHM_FIELDS` (None until a part fills them) and every part's
    numbers, in the default order of the algorithms, then any others the parts reported."""
    names = [name for name in ALL_ALGORITHMS if name in config.training.algorithms]
    for outcome in outcomes:
        names.extend(name for name in outcome.algorithms if name not in names)
    merged: dict[str, dict[str, Any]] = {name: dict.fromkeys(ALGORITHM_FIELDS) for name in names}
    for outcome in outcomes:
        for name, numbers in outcome.algorithms.items():
            merged[name].update(numbers.document())
    return merged


def _format(value: Any, pattern: str, scale: float = 1.0) -> str:
    if value is None:
        return "n/a"
    return pattern.format(float(value) * scale)


def _algorithm_rows(algorithms: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows = []
    for name, values in algorithms.items():
        ppw = values.get("pulses_per_weight") or {}
        rows.append(
            [
                name,
                _format(values.get("test_accuracy"), "{:.1f}", 100.0),
                _format(ppw.get("A", ppw.get("W")), "{:.3g}"),
                _format(ppw.get("C"), "{:.3g}"),
                _format(values.get("area_um2"), "{:.4g}"),
                _format(values.get("energy_per_sample_j"), "{:.3g}"),
                _format(values.get("latency_per_sample_s"), "{:.3g}"),
            ]
        )
    return rows


def algorithm_table(algorithms: dict[str, dict[str, Any]]) -> RichTable:
    """The terminal summary: one row per algorithm."""
    table = RichTable(title="pulsetrain report: algorithms", title_style="bold")
    for header, _ in _COLUMNS:
        table.add_column(header, justify="left" if header == "algorithm" else "right")
    for row in _algorithm_rows(algorithms):
        table.add_row(*row)
    return table


def summary_section(algorithms: dict[str, dict[str, Any]]) -> Section:
    """The page's first section: the same table the terminal shows."""
    section = Section("summary", "Summary")
    if not algorithms:
        section.unavailable = "no algorithm was trained (training.algorithms is empty or training is off)"
        return section
    section.tables.append(
        Table(
            [header for _, header in _COLUMNS],
            _algorithm_rows(algorithms),
            "n/a: the part that computes this number did not run or is not available (see its section).",
        )
    )
    return section


def timing_table(timing: ReportTiming, where: str) -> RichTable:
    """Where the time went: per part and per phase."""
    table = RichTable(title=f"where the time went (runs on {where})", title_style="bold")
    for header in ("part", "runs", "new", "cached", "failed", "run s", "assemble s"):
        table.add_column(header, justify="left" if header == "part" else "right")
    for key, part in timing.parts.items():
        table.add_row(
            key,
            str(part.runs),
            str(part.computed),
            str(part.cached),
            str(part.failed),
            f"{part.compute_seconds:.1f}" + (f" (+{part.cached_seconds:.1f} cached)" if part.cached else ""),
            f"{part.assemble_seconds:.1f}",
        )
    table.add_section()
    table.add_row("planning", "", "", "", "", f"{timing.plan_seconds:.1f}", "")
    table.add_row("runs, elapsed", "", "", "", "", f"{timing.runs_seconds:.1f}", "")
    table.add_row("writing", "", "", "", "", f"{timing.write_seconds:.1f}", "")
    table.add_row("total", "", "", "", "", f"{timing.total_seconds:.1f}", "")
    return table


def timing_section(timing: ReportTiming, where: str) -> Section:
    """Where the time went, as a page section."""
    rows = [
        [
            key,
            str(part.runs),
            str(part.computed),
            str(part.cached),
            str(part.failed),
            f"{part.compute_seconds:.1f}",
            f"{part.cached_seconds:.1f}",
            f"{part.assemble_seconds:.2f}",
        ]
        for key, part in timing.parts.items()
    ]
    section = Section("timing", "Where the time went", intro=f"Runs on {where}.")
    section.tables.append(
        Table(
            [
                "part",
                "runs",
                "computed",
                "cached",
                "failed",
                "run seconds",
                "cached run seconds",
                "assemble s",
            ],
            rows,
            "Run seconds add up the wall time of every run on its worker; runs in parallel overlap.",
        )
    )
    section.tables.append(
        Table(
            ["phase", "seconds"],
            [
                ["planning", f"{timing.plan_seconds:.1f}"],
                ["runs (elapsed)", f"{timing.runs_seconds:.1f}"],
                ["total before writing", f"{timing.total_seconds:.1f}"],
            ],
        )
    )
    return section
