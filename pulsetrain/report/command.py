"""The ``pulsetrain report`` command: options, the config resolved and checked before any work, the run,
and the exit status (non-zero when a run failed, unless ``--keep-going``)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from pulsetrain.config import ConfigError, check_int
from pulsetrain.report.config import (
    ALL_ALGORITHMS,
    ALL_STUDIES,
    COSIM_ALGORITHMS,
    DEVICE_KINDS,
    SIMULATORS,
    SIZES,
    SYNTH_TARGETS,
    resolve_report_config,
)

#: exit status of a report in which at least one run failed (2 stays reserved for bad input)
FAILED_RUNS_EXIT = 1


def default_workers() -> int:
    """Local worker processes when ``--workers`` is not given: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _keys_help() -> str:
    """The configuration keys and what they take; the allowed names come from the config's lists."""
    keys = (
        ("title", "page title"),
        ("training.enabled", "train the algorithms (true/false)"),
        ("training.algorithms", ",".join(ALL_ALGORITHMS)),
        ("training.seeds", "seeds per algorithm, e.g. 0,1,2"),
        ("training.epochs", "epochs over the training split"),
        ("training.hidden", "hidden widths, e.g. 32 or 32,32"),
        ("training.network", "lenet5 or mlp784 (empty: the MLP of training.hidden)"),
        ("training.dataset / data_dir", "digits, mnist, fashion-mnist or cifar10; its folder"),
        ("training.train_samples", "first N training samples only (0: all)"),
        ("training.test_samples", "first N test samples only (0: all)"),
        ("training.algorithm_devices", "per algorithm, e.g. c-ttv2=soft-bounds"),
        ("training.train_set", "TrainConfig overrides, e.g. device.dw_min=0.002"),
        ("training.device", ", ".join(DEVICE_KINDS)),
        ("cosim.enabled", "run the RTL in the loop (true/false)"),
        ("cosim.algorithm", f"{', '.join(COSIM_ALGORITHMS[:-1])} or {COSIM_ALGORITHMS[-1]}"),
        ("cosim.samples", "training samples with the RTL in the loop"),
        ("cosim.simulator", " or ".join(SIMULATORS)),
        ("cosim.seed / cosim.hidden", "seed; hidden widths (empty: training.hidden)"),
        ("cost.enabled", "synthesis, estimator and BP/DFA cycles (true/false)"),
        ("cost.targets", ", ".join(SYNTH_TARGETS)),
        ("cost.technology", "estimator technology table (empty: rpu_45nm)"),
        ("cost.use_synthesis", "cost the digital periphery from Nangate45 synthesis"),
        ("studies.enabled", "run the studies (true/false)"),
        ("studies.studies", ", ".join(ALL_STUDIES)),
        ("studies.quick", "each study's --quick size"),
        ("studies.seeds", "seeds of every study setting, e.g. 0,1,2"),
        ("studies.max_epochs", "cap on each study run's epochs (0: none)"),
    )
    return "\n".join(f"  {key:<26} {text}" for key, text in keys)


#: the command's help: what it does, the exit status, every configuration key
HELP = f"""Train every algorithm, run the RTL in the loop, synthesize, estimate and run the studies;
print a summary table and write OUT/index.html and OUT/results.json. Exits 1 when a run failed
(after writing both, which show the gaps), naming every failed run, unless --keep-going.

\b
Configuration keys (override with --set or TOML tables of the same names):
{_keys_help()}
"""


@click.command("report", help=HELP)
@click.option(
    "--quick", is_flag=True, help="The small preset (~2 minutes on 2 cores): CI and `make demo` use it."
)
@click.option(
    "--size",
    # not ``size``: the validation layer checks options by name, and other commands' ``--size`` is a number
    "report_size",
    default=None,
    help=f"A named size: {', '.join(SIZES)} (lenet: LeNet-5 on Fashion-MNIST, every algorithm, 10 epochs).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="report",
    show_default=True,
    help="Folder for index.html, results.json and the run cache.",
)
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="TOML file overriding the preset."
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override one field by dotted path, e.g. --set training.epochs=5 (repeatable; after --config).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="Send the runs to a Dask distributed scheduler (tcp://host:port) instead of local processes.",
)
@click.option(
    "--workers",
    type=int,
    default=None,
    help="Local worker processes (default: one per available core; 1 runs everything in this process).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Run cache folder (default: OUT/cache). Finished runs are never computed twice.",
)
@click.option("--no-cache", is_flag=True, help="Compute every run again and store nothing.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write results.json here.")
@click.option(
    "--keep-going",
    is_flag=True,
    help="Exit 0 even when runs failed (their sections say so); by default a failed run exits 1.",
)
def report(
    quick: bool,
    report_size: str | None,
    out_dir: str,
    config_file: str | None,
    sets: tuple[str, ...],
    scheduler: str | None,
    workers: int | None,
    cache_dir: str | None,
    no_cache: bool,
    json_path: str | None,
    keep_going: bool,
) -> None:
    """Run the report (the help text is :data:`HELP`, built from the config's name lists)."""
    from pulsetrain.report.run import run_report

    config = resolve_report_config(quick=quick, size=report_size, config_file=config_file, sets=sets)
    worker_count = default_workers() if workers is None else workers
    check_int("--workers", worker_count, 1, 1024)
    if scheduler is not None and not scheduler.strip():
        raise ConfigError("--scheduler must be an address such as tcp://127.0.0.1:8786, not ''")
    out = Path(out_dir)
    cache: Path | None = None if no_cache else Path(cache_dir) if cache_dir else out / "cache"
    result = run_report(
        config,
        out_dir=out,
        workers=worker_count,
        scheduler=scheduler,
        cache_dir=cache,
        json_path=Path(json_path) if json_path else None,
    )
    if result.failed_runs:
        count = len(result.failed_runs)
        click.echo(f"report: {count} run{'s' if count > 1 else ''} failed:", err=True)
        for failed in result.failed_runs:
            click.echo(f"  {failed}", err=True)
        if not keep_going:
            click.echo("report: the page and results.json show the gaps; --keep-going exits 0", err=True)
            raise SystemExit(FAILED_RUNS_EXIT)
