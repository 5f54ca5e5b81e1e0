"""Running ``pulsetrain report``: plan every part, run all their runs through one executor, write the page.

The progress display is one rich :class:`~rich.progress.Progress` for the whole report (one bar per
part, advanced as runs finish anywhere: in this process, on local workers or on a Dask cluster). Runs
print nothing (their stdout is swallowed by the executor), so the display is never torn. After the runs,
each part assembles its section; the page, ``results.json`` and the terminal summary (the algorithm
table and where the time went) follow. Every run that failed is named in :class:`ReportResult`, so that
the command can exit non-zero.
"""

from __future__ import annotations

import datetime
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from pulsetrain import __version__
from pulsetrain.executor import Executor, Run, RunFailure, RunRecord
from pulsetrain.report.config import ReportConfig, config_document
from pulsetrain.report.page import Section, render_page
from pulsetrain.report.part import Part, PartOutcome, PartPlan, unavailable_outcome
from pulsetrain.report.parts import PARTS, plan_parts
from pulsetrain.report.summary import (
    ALGORITHM_FIELDS,
    PartTiming,
    ReportTiming,
    algorithm_table,
    merge_algorithms,
    summary_section,
    timing_section,
    timing_table,
)
from pulsetrain.results import write_atomic, write_json


@dataclass(frozen=True, kw_only=True)
class FailedRun:
    """A run (or a part's assembly) that failed: the report shows the gap, the command exits non-zero."""

    #: the section key of the part it belongs to
    part: str
    #: the run's label (e.g. ``train sgd seed=0``), or ``assembling`` for a part's assembly
    label: str
    #: the error, one line
    error: str

    def __str__(self) -> str:
        return f"{self.part}: {self.label}: {self.error}"


@dataclass(frozen=True, kw_only=True)
class ReportResult:
    """What :func:`run_report` computed."""

    #: the content of results.json
    document: dict[str, Any]
    #: every run that failed, in the order they finished (empty when all succeeded)
    failed_runs: tuple[FailedRun, ...] = ()


@dataclass
class _Runs:
    """Every part's runs and results while they run (the parts are indexed as in ``plans``)."""

    plans: list[PartPlan]
    timing: ReportTiming
    #: parts whose runs are planned from another part's results, run in a second phase
    second: list[int] = field(default_factory=list)
    runs: dict[int, list[Run]] = field(default_factory=dict)
    results: dict[int, list[Any]] = field(default_factory=dict)
    failed: list[FailedRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        available = {plan.key for plan in self.plans if plan.unavailable is None}
        # Parts whose runs need another part's results run in a second phase (e.g. the estimator needs
        # the pulse counts of the training runs); if that part is not available they are planned without.
        self.second = [
            index
            for index, plan in enumerate(self.plans)
            if plan.unavailable is None and plan.plan_after is not None and plan.after in available
        ]
        for index, plan in enumerate(self.plans):
            if plan.unavailable is None and index not in self.second:
                self.runs[index] = plan.plan_after([]) if plan.plan_after is not None else list(plan.runs)
            self.timing.parts[plan.key] = PartTiming(runs=len(self.runs.get(index, [])))
            self.results[index] = []

    def record(self, index: int, record: RunRecord) -> None:
        """Count one finished run into its part's timing (and the failures)."""
        part = self.timing.parts[self.plans[index].key]
        if isinstance(record.result, RunFailure):
            part.failed += 1
            part.compute_seconds += record.seconds
            self.failed.append(
                FailedRun(part=self.plans[index].key, label=record.label, error=record.result.error)
            )
        elif record.cached:
            part.cached += 1
            part.cached_seconds += record.seconds
        else:
            part.computed += 1
            part.compute_seconds += record.seconds

    def plan_second_phase(self) -> None:
        """Plan the dependent parts from the results of the parts they wait for."""
        key_index = {plan.key: index for index, plan in enumerate(self.plans)}
        for index in self.second:
            plan = self.plans[index]
            assert plan.plan_after is not None and plan.after is not None
            self.runs[index] = plan.plan_after(self.results[key_index[plan.after]])
            self.timing.parts[plan.key].runs = len(self.runs[index])


def _progress_tasks(progress: Progress, runs: _Runs) -> list[TaskID]:
    tasks = []
    for index, plan in enumerate(runs.plans):
        if plan.unavailable is not None:
            tasks.append(progress.add_task(f"{plan.key} (not available)", total=1, completed=1))
        elif index in runs.second:
            tasks.append(progress.add_task(f"{plan.key} (after {plan.after})", total=None))
        else:
            count = len(runs.runs[index])
            tasks.append(progress.add_task(plan.key, total=max(1, count), completed=0 if count else 1))
    return tasks


def _run_phase(executor: Executor, runs: _Runs, indices: list[int], on_done: Callable[[int], None]) -> None:
    """Run the parts ``indices`` together; ``on_done(part index)`` after each run finishes."""
    batch: list[Run] = []
    owner: list[int] = []
    for index in indices:
        batch.extend(runs.runs[index])
        owner.extend([index] * len(runs.runs[index]))
    if not batch:
        return

    def on_result(record: RunRecord) -> None:
        runs.record(owner[record.index], record)
        on_done(owner[record.index])

    results = executor.map(batch, on_result=on_result, return_failures=True)
    for result, index in zip(results, owner, strict=True):
        runs.results[index].append(result)


def _run_all(executor: Executor, runs: _Runs, console: Console) -> None:
    """Both phases of runs under one progress display."""
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with executor, Progress(*columns, console=console, transient=False) as progress:
        tasks = _progress_tasks(progress, runs)

        def advance(index: int) -> None:
            progress.advance(tasks[index])

        _run_phase(executor, runs, sorted(runs.runs), advance)
        runs.plan_second_phase()
        for index in runs.second:
            total = max(1, len(runs.runs[index]))
            progress.update(tasks[index], total=total, description=runs.plans[index].key)
        _run_phase(executor, runs, runs.second, advance)


def _assemble(runs: _Runs) -> list[PartOutcome]:
    outcomes: list[PartOutcome] = []
    for index, plan in enumerate(runs.plans):
        started = time.perf_counter()
        if plan.unavailable is not None or plan.assemble is None:
            outcome = unavailable_outcome(plan.key, plan.title, plan.unavailable or "nothing to assemble")
        else:
            try:
                outcome = plan.assemble(runs.results[index])
            except Exception as error:  # a part's assembly must not sink the others' results
                reason = f"assembling the results failed: {type(error).__name__}: {error}"
                outcome = unavailable_outcome(plan.key, plan.title, reason)
                runs.failed.append(FailedRun(part=plan.key, label="assembling", error=reason))
        runs.timing.parts[plan.key].assemble_seconds = time.perf_counter() - started
        outcomes.append(outcome)
    return outcomes


def _write(
    config: ReportConfig,
    executor: Executor,
    cache_dir: Path | None,
    outcomes: list[PartOutcome],
    runs: _Runs,
    started: float,
) -> tuple[dict[str, Any], str]:
    """results.json's document (timing still empty) and the page."""
    algorithms = merge_algorithms(config, outcomes)
    configuration = {
        "report": config_document(config),
        "execution": {"where": executor.where, "cache_dir": str(cache_dir) if cache_dir else None},
        "code_version": executor.version,
        "pulsetrain_version": __version__,
    }
    document: dict[str, Any] = {
        "configuration": configuration,
        "algorithms": algorithms,
        "sections": {plan.key: o.data.document() for plan, o in zip(runs.plans, outcomes, strict=True)},
        "timing": {},
    }
    runs.timing.total_seconds = time.perf_counter() - started
    sections: list[Section] = [
        summary_section(algorithms),
        *(outcome.section for outcome in outcomes),
        timing_section(runs.timing, executor.where),
    ]
    subtitle = (
        f"pulsetrain {__version__}, code {executor.version[:12]}, "
        f"{datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}, runs on {executor.where}"
    )
    page = render_page(title=config.title, subtitle=subtitle, sections=sections, configuration=configuration)
    return document, page


def _print_summary(
    console: Console, document: dict[str, Any], runs: _Runs, out_dir: Path, where: str
) -> None:
    console.print(algorithm_table(document["algorithms"]))
    console.print(timing_table(runs.timing, where))
    for plan in runs.plans:
        if plan.unavailable is not None:
            console.print(
                f"[yellow]{plan.title}: not available: {plan.unavailable}[/yellow]", highlight=False
            )
    console.print(f"report: {out_dir / 'index.html'}  results: {out_dir / 'results.json'}")


def run_report(
    config: ReportConfig,
    *,
    out_dir: Path,
    workers: int = 1,
    scheduler: str | None = None,
    cache_dir: Path | None = None,
    json_path: Path | None = None,
    console: Console | None = None,
    code_version: str | None = None,
    parts: tuple[Part, ...] = PARTS,
) -> ReportResult:
    """Compute the whole report for ``config``; write ``out_dir/index.html`` and ``results.json``.

    ``code_version`` replaces the hash of the source files in the cache keys (tests pin it so that
    edits elsewhere in a working tree do not invalidate their cache); ``parts`` replaces the registry
    (:data:`~pulsetrain.report.parts.PARTS`). Returns the results document (the content of
    results.json) and the runs that failed.
    """
    if console is None:
        # bound to the current stdout now: runs in this process swallow sys.stdout while they work
        console = Console(file=sys.stdout)
        if not console.is_terminal:
            console = Console(file=sys.stdout, width=120)
    started = time.perf_counter()
    timing = ReportTiming()
    # The executor checks its arguments and computes the code version before any work.
    executor = Executor(workers=workers, scheduler=scheduler, cache_dir=cache_dir, version=code_version)
    runs = _Runs(plan_parts(config, parts), timing)
    timing.plan_seconds = time.perf_counter() - started
    runs_started = time.perf_counter()
    _run_all(executor, runs, console)
    timing.runs_seconds = time.perf_counter() - runs_started
    outcomes = _assemble(runs)
    write_started = time.perf_counter()
    document, page = _write(config, executor, cache_dir, outcomes, runs, started)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "index.html", page)
    timing.write_seconds = time.perf_counter() - write_started
    timing.total_seconds = time.perf_counter() - started
    document["timing"] = timing.document()
    write_json(out_dir / "results.json", document)
    if json_path is not None:
        write_json(json_path, document)
    _print_summary(console, document, runs, out_dir, executor.where)
    return ReportResult(document=document, failed_runs=tuple(runs.failed))


__all__ = ["ALGORITHM_FIELDS", "FailedRun", "ReportResult", "run_report"]
