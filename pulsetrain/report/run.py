"""Running ``pulsetrain report``: plan every part, run all their runs through one executor, write the page.

The progress display is one rich :class:`~rich.progress.Progress` for the whole report (one bar per
part, advanced as runs finish anywhere: in this process, on local workers or on a Dask cluster). Runs
print nothing (their stdout is swallowed by the executor), so the display is never torn. After the runs,
each part assembles its section; the page, ``results.json`` and the terminal summary (the algorithm
table and where the time went) follow.
"""

from __future__ import annotations

import datetime
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from pulsetrain import __version__
from pulsetrain.executor import Executor, Run, RunFailure, RunRecord
from pulsetrain.report.config import ALL_ALGORITHMS, ReportConfig, config_document
from pulsetrain.report.page import Section, render_page
from pulsetrain.report.page import Table as HtmlTable
from pulsetrain.report.parts import PartOutcome, PartPlan, plan_parts, unavailable_section
from pulsetrain.results import write_atomic, write_json

#: the per-algorithm fields results.json always carries (None where a part could not compute them)
ALGORITHM_FIELDS: tuple[str, ...] = (
    "test_accuracy",
    "pulses_per_weight",
    "area_um2",
    "energy_per_sample_j",
    "latency_per_sample_s",
)


@dataclass
class PartTiming:
    """Where one part's time went."""

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


def _merge_algorithms(config: ReportConfig, outcomes: list[PartOutcome]) -> dict[str, dict[str, Any]]:
    names = [name for name in ALL_ALGORITHMS if name in config.training.algorithms]
    for outcome in outcomes:
        for name in outcome.algorithms:
            if name not in names:
                names.append(name)
    merged: dict[str, dict[str, Any]] = {name: dict.fromkeys(ALGORITHM_FIELDS) for name in names}
    for outcome in outcomes:
        for name, values in outcome.algorithms.items():
            merged[name].update(values)
    return merged


def _format(value: Any, pattern: str, scale: float = 1.0) -> str:
    if value is None:
        return "n/a"
    return pattern.format(float(value) * scale)


def algorithm_table(algorithms: dict[str, dict[str, Any]]) -> RichTable:
    """The terminal summary: one row per algorithm."""
    table = RichTable(title="pulsetrain report: algorithms", title_style="bold")
    for header in (
        "algorithm",
        "test acc %",
        "pulses/wt A|W",
        "pulses/wt C",
        "periph. µm²",
        "J/sample",
        "s/sample",
    ):
        table.add_column(header, justify="left" if header == "algorithm" else "right")
    for name, values in algorithms.items():
        ppw = values.get("pulses_per_weight") or {}
        fast = ppw.get("A", ppw.get("W"))
        table.add_row(
            name,
            _format(values.get("test_accuracy"), "{:.1f}", 100.0),
            _format(fast, "{:.3g}"),
            _format(ppw.get("C"), "{:.3g}"),
            _format(values.get("area_um2"), "{:.4g}"),
            _format(values.get("energy_per_sample_j"), "{:.3g}"),
            _format(values.get("latency_per_sample_s"), "{:.3g}"),
        )
    return table


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


def _html_algorithm_rows(algorithms: dict[str, dict[str, Any]]) -> list[list[str]]:
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


def summary_section(algorithms: dict[str, dict[str, Any]]) -> Section:
    """The page's first section: the same table the terminal shows."""
    section = Section("summary", "Summary")
    if not algorithms:
        section.unavailable = "no algorithm was trained (training.algorithms is empty or training is off)"
        return section
    section.tables.append(
        HtmlTable(
            [
                "algorithm",
                "test accuracy %",
                "pulses per weight A (or W)",
                "pulses per weight C",
                "periphery area µm²",
                "energy per sample J",
                "latency per sample s",
            ],
            _html_algorithm_rows(algorithms),
            "n/a: the part that computes this number did not run or is not available (see its section).",
        )
    )
    return section


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
        HtmlTable(
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
        HtmlTable(
            ["phase", "seconds"],
            [
                ["planning", f"{timing.plan_seconds:.1f}"],
                ["runs (elapsed)", f"{timing.runs_seconds:.1f}"],
                ["total before writing", f"{timing.total_seconds:.1f}"],
            ],
        )
    )
    return section


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
) -> dict[str, Any]:
    """Compute the whole report for ``config``; write ``out_dir/index.html`` and ``results.json``.

    ``code_version`` replaces the hash of the source files in the cache keys (tests pin it so that
    edits elsewhere in a working tree do not invalidate their cache). Returns the results document
    (the content of results.json).
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
    plans = plan_parts(config)
    timing.plan_seconds = time.perf_counter() - started

    available = {plan.key for plan in plans if plan.unavailable is None}
    # Parts whose runs need another part's results run in a second phase (e.g. the estimator needs the
    # pulse counts of the training runs); if that part is not available they are planned without them.
    second = [
        index
        for index, plan in enumerate(plans)
        if plan.unavailable is None and plan.plan_after is not None and plan.after in available
    ]
    part_runs: dict[int, list[Run]] = {}
    for index, plan in enumerate(plans):
        if plan.unavailable is not None or index in second:
            continue
        part_runs[index] = plan.plan_after([]) if plan.plan_after is not None else list(plan.runs)
    for index, plan in enumerate(plans):
        timing.parts[plan.key] = PartTiming(runs=len(part_runs.get(index, [])))
    part_results: dict[int, list[Any]] = {index: [] for index in range(len(plans))}

    runs_started = time.perf_counter()
    with (
        executor,
        Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress,
    ):
        tasks = []
        for index, plan in enumerate(plans):
            if plan.unavailable is not None:
                tasks.append(progress.add_task(f"{plan.key} (not available)", total=1, completed=1))
            elif index in second:
                tasks.append(progress.add_task(f"{plan.key} (after {plan.after})", total=None))
            else:
                count = len(part_runs[index])
                tasks.append(progress.add_task(plan.key, total=max(1, count), completed=0 if count else 1))

        def run_phase(indices: list[int]) -> None:
            runs: list[Run] = []
            owner: list[int] = []
            for index in indices:
                runs.extend(part_runs[index])
                owner.extend([index] * len(part_runs[index]))
            if not runs:
                return

            def on_result(record: RunRecord) -> None:
                index = owner[record.index]
                part = timing.parts[plans[index].key]
                if isinstance(record.result, RunFailure):
                    part.failed += 1
                    part.compute_seconds += record.seconds
                elif record.cached:
                    part.cached += 1
                    part.cached_seconds += record.seconds
                else:
                    part.computed += 1
                    part.compute_seconds += record.seconds
                progress.advance(tasks[index])

            results = executor.map(runs, on_result=on_result, return_failures=True)
            for result, index in zip(results, owner, strict=True):
                part_results[index].append(result)

        run_phase(sorted(part_runs))
        key_index = {plan.key: index for index, plan in enumerate(plans)}
        for index in second:
            plan = plans[index]
            assert plan.plan_after is not None and plan.after is not None
            part_runs[index] = plan.plan_after(part_results[key_index[plan.after]])
            timing.parts[plan.key].runs = len(part_runs[index])
            progress.update(tasks[index], total=max(1, len(part_runs[index])), description=plan.key)
        run_phase(second)
    timing.runs_seconds = time.perf_counter() - runs_started

    outcomes: list[PartOutcome] = []
    for part_index, plan in enumerate(plans):
        assemble_started = time.perf_counter()
        if plan.unavailable is not None:
            outcome = unavailable_section(plan.key, plan.title, plan.unavailable)
        else:
            try:
                outcome = plan.assemble(part_results[part_index])
            except Exception as error:  # a part's assembly must not sink the others' results
                reason = f"assembling the results failed: {type(error).__name__}: {error}"
                outcome = unavailable_section(plan.key, plan.title, reason)
        timing.parts[plan.key].assemble_seconds = time.perf_counter() - assemble_started
        outcomes.append(outcome)

    algorithms = _merge_algorithms(config, outcomes)
    write_started = time.perf_counter()
    configuration = {
        "report": config_document(config),
        "execution": {"where": executor.where, "cache_dir": str(cache_dir) if cache_dir else None},
        "code_version": executor.version,
        "pulsetrain_version": __version__,
    }
    document: dict[str, Any] = {
        "configuration": configuration,
        "algorithms": algorithms,
        "sections": {plan.key: outcome.data for plan, outcome in zip(plans, outcomes, strict=True)},
        "timing": {},
    }
    timing.total_seconds = time.perf_counter() - started
    sections: list[Section] = [
        summary_section(algorithms),
        *(outcome.section for outcome in outcomes),
        timing_section(timing, executor.where),
    ]
    subtitle = (
        f"pulsetrain {__version__}, code {executor.version[:12]}, "
        f"{datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}, runs on {executor.where}"
    )
    page = render_page(title=config.title, subtitle=subtitle, sections=sections, configuration=configuration)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(out_dir / "index.html", page)
    timing.write_seconds = time.perf_counter() - write_started
    timing.total_seconds = time.perf_counter() - started
    document["timing"] = timing.document()
    write_json(out_dir / "results.json", document)
    if json_path is not None:
        write_json(json_path, document)

    console.print(algorithm_table(algorithms))
    console.print(timing_table(timing, executor.where))
    for plan in plans:
        if plan.unavailable is not None:
            console.print(
                f"[yellow]{plan.title}: not available: {plan.unavailable}[/yellow]", highlight=False
            )
    console.print(f"report: {out_dir / 'index.html'}  results: {out_dir / 'results.json'}")
    return document


__all__ = ["PartPlan", "ReportTiming", "algorithm_table", "run_report", "timing_table"]
