"""Report part ``studies``: each study of the algorithms (``pulsetrain experiment NAME``) as a section.

The studies' runs, summaries and plots are :mod:`pulsetrain.model.experiments`'; this part sends the runs
through the report's executor (training epochs capped at ``studies.max_epochs``) and lays the summary out.
Each study is a :class:`Study` in its own module (``study_<name>.py``: its title and any tables of its
own), registered in :data:`STUDIES`; its name is also one of :data:`pulsetrain.report.config.ALL_STUDIES`
(the config validates ``studies.studies`` against those names without importing the parts).
"""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulsetrain.executor import Run
from pulsetrain.report.config import ReportConfig
from pulsetrain.report.page import Plot, Section, Table
from pulsetrain.report.part import (
    Part,
    PartData,
    PartOutcome,
    PartPlan,
    failed_outcome,
    failures,
    require,
    short,
)
from pulsetrain.report.study_bp_vs_dfa import STUDY as BP_VS_DFA
from pulsetrain.report.study_kind import Study
from pulsetrain.report.study_offset_sweep import STUDY as OFFSET_SWEEP
from pulsetrain.report.study_sbe_batch import STUDY as SBE_BATCH

#: every study the report can show, by its ``pulsetrain experiment`` name
STUDIES: Mapping[str, Study] = {study.name: study for study in (OFFSET_SWEEP, BP_VS_DFA, SBE_BATCH)}


@dataclass(frozen=True, kw_only=True)
class StudyData(PartData):
    """results.json's ``study-NAME`` entry."""

    #: :func:`pulsetrain.model.experiments.summarize`'s summary (rows, claims, study extras)
    summary: dict[str, Any]
    #: every run's result
    results: list[Any]


def limit_epochs(spec: Mapping[str, Any], max_epochs: int) -> dict[str, Any]:
    """``spec`` with its training epochs capped at ``max_epochs`` (0: unchanged); other runs untouched."""
    if max_epochs <= 0 or spec.get("kind") != "train":
        return dict(spec)
    sets = list(spec["sets"])
    epochs = [int(item.split("=", 1)[1]) for item in sets if item.startswith("epochs=")]
    if epochs and epochs[-1] <= max_epochs:
        return dict(spec)
    # a later --set of the same key wins (pulsetrain.config.parse_set_options keeps the last)
    return {**spec, "sets": [*sets, f"epochs={max_epochs}"]}


def plan(config: ReportConfig) -> list[PartPlan]:
    """One plan (and section) per study chosen in ``studies.studies``, in that order."""
    part = config.studies
    experiments = require("pulsetrain.model.experiments", "plan", "run_one", "summarize", "plot")
    plans = []
    for name in part.studies:
        study = STUDIES[name]
        specs = [
            limit_epochs(spec, part.max_epochs) for spec in experiments.plan(name, part.quick, part.seeds)
        ]
        runs = tuple(Run(experiments.run_one, spec, f"{name} {spec.get('label', '')}") for spec in specs)
        plans.append(
            PartPlan(key=study.key, title=study.title, runs=runs, assemble=_assembler(config, study))
        )
    return plans


def _assembler(config: ReportConfig, study: Study) -> Callable[[list[Any]], PartOutcome]:
    def assemble(results: list[Any]) -> PartOutcome:
        return assemble_study(config, study, results)

    return assemble


def _claims_table(claims: Mapping[str, Any]) -> Table:
    rows = []
    for name, value in claims.items():
        if isinstance(value, Mapping):
            text = ", ".join(f"{k}: {short(v)}" for k, v in value.items())
        else:
            text = short(value)
        rows.append([name, text])
    return Table(
        ["claim", "measured"], rows, "Each claim as computed by pulsetrain.model.experiments.summarize."
    )


def _mean_of(value: Any) -> Any:
    if isinstance(value, Mapping) and "mean" in value:
        return value["mean"]
    return value


def _rows_table(summary: Mapping[str, Any]) -> Table | None:
    rows = summary.get("rows") or []
    if not rows:
        return None
    header = list(rows[0].keys())
    body = [[short(_mean_of(row[key])) for key in header] for row in rows]
    return Table(header, body, "Means over seeds (± standard deviation in results.json).")


def _intro(config: ReportConfig, name: str) -> str:
    part = config.studies
    cap = f", training capped at {part.max_epochs} epochs" if part.max_epochs else ""
    quick = " --quick" if part.quick else ""
    return f"pulsetrain experiment {name}{quick}, seeds {', '.join(map(str, part.seeds))}{cap}."


def assemble_study(config: ReportConfig, study: Study, results: list[Any]) -> PartOutcome:
    """The study's own plot, its rows (means over seeds), its claims and its own extra tables."""
    experiments = importlib.import_module("pulsetrain.model.experiments")
    section = Section(study.key, study.title, intro=_intro(config, study.name))
    failed = failures(results)
    if failed:
        return failed_outcome(section, failed)
    summary = experiments.summarize(study.name, results)
    with tempfile.TemporaryDirectory() as folder:
        png = Path(experiments.plot(study.name, summary, Path(folder) / f"{study.name}.png")).read_bytes()
    section.plots.append(
        Plot(study.title, png, f"Drawn by pulsetrain.model.experiments.plot('{study.name}', ...).")
    )
    table = _rows_table(summary)
    if table is not None:
        section.tables.append(table)
    if summary.get("claims"):
        section.tables.append(_claims_table(summary["claims"]))
    section.tables.extend(study.extra_tables(summary))
    return PartOutcome(section=section, data=StudyData(status="ok", summary=summary, results=results))


PART = Part(key="studies", title="Studies of the algorithms", switch="studies", plan=plan)
