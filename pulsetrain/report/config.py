"""``pulsetrain report``: the default study end to end, as a terminal table and a self-contained HTML page.

What it does, in order (every step is a set of independent runs sent through one
:class:`~pulsetrain.executor.Executor`, so they share the worker pool, the Dask cluster and the cache):

1. trains the default network (digits, 64-32-10) with every algorithm on the behavioral model;
2. runs one algorithm's periphery with the RTL in the loop (Verilator) and compares every digital
   decision with the model's twin;
3. synthesizes the periphery blocks and runs the area / energy / latency estimator per algorithm;
4. runs the three studies (reference-offset sweep, BP versus DFA, SBE versus batch size).

A part whose code is not available (not installed, or not written yet) is shown as
"not available: <reason>"; nothing is ever filled in with invented numbers.

Configuration: :class:`ReportConfig` holds the defaults; ``--quick`` picks the small preset; a TOML file
(``--config``) and ``--set key=value`` override any field by dotted path, and everything is validated
before any work starts.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from pulsetrain.config import ConfigError, check_choice, check_int, resolve, to_plain

#: every algorithm the report trains by default, in the order of its table
ALL_ALGORITHMS: tuple[str, ...] = ("fp", "sgd", "dfa", "ttv2", "c-ttv2", "agad", "sbe")
#: the three studies of the algorithms issue, by their ``pulsetrain experiment`` names
ALL_STUDIES: tuple[str, ...] = ("offset-sweep", "bp-vs-dfa", "sbe-batch")
#: algorithms whose periphery can run with the RTL in the loop (``pulsetrain cosim --algo``)
COSIM_ALGORITHMS: tuple[str, ...] = ("sgd", "ttv2", "c-ttv2", "agad", "dfa")
#: simulators for the RTL-in-the-loop run
SIMULATORS: tuple[str, ...] = ("verilator", "icarus")
#: device models of the behavioral model (``pulsetrain train --device``)
DEVICE_KINDS: tuple[str, ...] = ("ideal", "constant-step", "soft-bounds", "pow-step")
#: synthesis targets (``pulsetrain synth --target``)
SYNTH_TARGETS: tuple[str, ...] = ("generic", "ice40", "ecp5", "nangate45", "sky130")


def _check_names(name: str, values: tuple[str, ...], allowed: tuple[str, ...], *, empty_ok: bool) -> None:
    if not isinstance(values, tuple):
        raise ConfigError(f"{name} must be a list of names, not {values!r}")
    if not values and not empty_ok:
        raise ConfigError(f"{name} must name at least one of {', '.join(allowed)}")
    for value in values:
        check_choice(name, value, allowed)
    if len(set(values)) != len(values):
        raise ConfigError(f"{name} must not repeat a name, not {values!r}")


@dataclass(frozen=True, kw_only=True)
class TrainingPart:
    """Training the default network with each algorithm on the behavioral model."""

    #: Run this part at all.
    enabled: bool = True
    #: Algorithms to train (``pulsetrain train --algo`` names).
    algorithms: tuple[str, ...] = ALL_ALGORITHMS
    #: Seeds per algorithm; the table shows the mean over seeds, the curves each seed.
    seeds: tuple[int, ...] = (0,)
    #: Training epochs over the digits training split.
    epochs: int = 30
    #: Hidden layer widths of the MLP (64 inputs and 10 classes are fixed by the digits data).
    hidden: tuple[int, ...] = (32,)
    #: Device model of the arrays (``pulsetrain train --device``): the defaults study uses soft bounds.
    device: str = "soft-bounds"
    #: Overrides of the model's TrainConfig by dotted path, as ``key=value`` strings
    #: (e.g. ``("device.dw_min=0.002",)``), applied to every algorithm.
    train_set: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_names("training.algorithms", self.algorithms, ALL_ALGORITHMS, empty_ok=True)
        if not self.seeds:
            raise ConfigError("training.seeds must hold at least one seed")
        for seed in self.seeds:
            check_int("training.seeds", seed, 0, 2**32 - 1)
        check_int("training.epochs", self.epochs, 1, 10_000)
        if not self.hidden:
            raise ConfigError("training.hidden must hold at least one hidden layer width")
        for width in self.hidden:
            check_int("training.hidden", width, 1, 4096)
        check_choice("training.device", self.device, DEVICE_KINDS)
        for item in self.train_set:
            if "=" not in item:
                raise ConfigError(f"training.train_set entries must be key=value, not {item!r}")


@dataclass(frozen=True, kw_only=True)
class CosimPart:
    """One algorithm's periphery with the RTL in the loop, compared decision by decision with the model."""

    #: Run this part at all.
    enabled: bool = True
    #: The algorithm whose periphery decisions the simulated RTL serves.
    algorithm: str = "c-ttv2"
    #: Training samples run with the RTL in the loop.
    samples: int = 300
    #: HDL simulator.
    simulator: str = "verilator"
    #: Seed of the run (the pure-model run it is compared with uses the same).
    seed: int = 0
    #: Hidden layer widths of the co-simulated network (empty: the same as ``training.hidden``). The
    #: Verilator build grows with the number of pulsed lines, so the quick preset uses a narrow one.
    hidden: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for width in self.hidden:
            check_int("cosim.hidden", width, 1, 4096)
        check_choice("cosim.algorithm", self.algorithm, COSIM_ALGORITHMS)
        check_int("cosim.samples", self.samples, 1, 1_000_000)
        check_choice("cosim.simulator", self.simulator, SIMULATORS)
        check_int("cosim.seed", self.seed, 0, 2**32 - 1)


@dataclass(frozen=True, kw_only=True)
class CostPart:
    """Synthesis of the periphery blocks and the area / energy / latency estimator."""

    #: Run this part at all.
    enabled: bool = True
    #: Synthesis targets for the periphery blocks.
    targets: tuple[str, ...] = ("generic", "nangate45")
    #: Technology point of the estimator (a name from the estimator's technology table; empty: its default).
    technology: str = ""
    #: Cost the digital periphery from the Nangate45 synthesis reports of the RTL blocks (slow the first
    #: time: every block is synthesized; cached after).
    use_synthesis: bool = True

    def __post_init__(self) -> None:
        _check_names("cost.targets", self.targets, SYNTH_TARGETS, empty_ok=True)


@dataclass(frozen=True, kw_only=True)
class StudiesPart:
    """The three studies of the algorithms (``pulsetrain experiment NAME``)."""

    #: Run this part at all.
    enabled: bool = True
    #: Which studies to run.
    studies: tuple[str, ...] = ALL_STUDIES
    #: Use each study's ``--quick`` size instead of its full size.
    quick: bool = False
    #: Seeds of every study setting (the studies' own default is 0,1,2; one seed keeps the default report
    #: within about 15 minutes on 2 cores).
    seeds: tuple[int, ...] = (0,)
    #: Cap on the training epochs of every study run (0: the study's own number).
    max_epochs: int = 0

    def __post_init__(self) -> None:
        _check_names("studies.studies", self.studies, ALL_STUDIES, empty_ok=True)
        if not self.seeds:
            raise ConfigError("studies.seeds must hold at least one seed")
        for seed in self.seeds:
            check_int("studies.seeds", seed, 0, 2**32 - 1)
        check_int("studies.max_epochs", self.max_epochs, 0, 10_000)


@dataclass(frozen=True, kw_only=True)
class ReportConfig:
    """Everything ``pulsetrain report`` computes, as one validated, frozen config.

    Override any field by dotted path: ``--set training.epochs=5``, ``--set cosim.samples=100``,
    ``--set studies.studies=offset-sweep,sbe-batch``, or the same keys as TOML tables.
    """

    #: Title of the HTML page.
    title: str = "pulsetrain report"
    #: Training every algorithm on the model.
    training: TrainingPart = field(default_factory=TrainingPart)
    #: The RTL-in-the-loop comparison.
    cosim: CosimPart = field(default_factory=CosimPart)
    #: Synthesis and the cost estimator.
    cost: CostPart = field(default_factory=CostPart)
    #: The three studies.
    studies: StudiesPart = field(default_factory=StudiesPart)

    def __post_init__(self) -> None:
        if not isinstance(self.title, str):
            raise ConfigError(f"title must be text, not {self.title!r}")

    @classmethod
    def preset(cls, *, quick: bool) -> ReportConfig:
        """The default (full) size, or the ``--quick`` size that fits about two minutes on two cores."""
        if not quick:
            return cls()
        return cls(
            title="pulsetrain report (quick)",
            training=TrainingPart(epochs=3),
            cosim=CosimPart(samples=100, hidden=(8,)),
            cost=CostPart(targets=("generic",), use_synthesis=False),
            studies=StudiesPart(quick=True, max_epochs=3),
        )


def resolve_report_config(
    *, quick: bool, config_file: str | Path | None = None, sets: tuple[str, ...] = ()
) -> ReportConfig:
    """Preset, then the TOML file, then ``--set``: the resolved, validated config (ConfigError if bad)."""
    return resolve(ReportConfig.preset(quick=quick), config_file=config_file, sets=sets)


def default_workers() -> int:
    """Local worker processes when ``--workers`` is not given: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------------


@click.command("report")
@click.option(
    "--quick", is_flag=True, help="The small preset (~2 minutes on 2 cores): CI and `make demo` use it."
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
def report(
    quick: bool,
    out_dir: str,
    config_file: str | None,
    sets: tuple[str, ...],
    scheduler: str | None,
    workers: int | None,
    cache_dir: str | None,
    no_cache: bool,
    json_path: str | None,
) -> None:
    """Train every algorithm, run the RTL in the loop, synthesize, estimate and run the studies;
    print a summary table and write OUT/index.html and OUT/results.json.

    \b
    Configuration keys (override with --set or TOML tables of the same names):
      title                      page title
      training.enabled           train the algorithms (true/false)
      training.algorithms        fp,sgd,dfa,ttv2,c-ttv2,agad,sbe
      training.seeds             seeds per algorithm, e.g. 0,1,2
      training.epochs            epochs over the digits training split
      training.hidden            hidden widths, e.g. 32 or 32,32
      training.train_set         TrainConfig overrides, e.g. device.dw_min=0.002
      training.device            ideal, constant-step, soft-bounds, pow-step
      cosim.enabled              run the RTL in the loop (true/false)
      cosim.algorithm            sgd, ttv2, c-ttv2, agad or dfa
      cosim.samples              training samples with the RTL in the loop
      cosim.simulator            verilator or icarus
      cosim.seed / cosim.hidden  seed; hidden widths (empty: training.hidden)
      cost.enabled               synthesis, estimator and BP/DFA cycles (true/false)
      cost.targets               generic, ice40, ecp5, nangate45, sky130
      cost.technology            estimator technology table (empty: rpu_45nm)
      cost.use_synthesis         cost the digital periphery from Nangate45 synthesis
      studies.enabled            run the studies (true/false)
      studies.studies            offset-sweep, bp-vs-dfa, sbe-batch
      studies.quick              each study's --quick size
      studies.seeds              seeds of every study setting, e.g. 0,1,2
      studies.max_epochs         cap on each study run's epochs (0: none)
    """
    from pulsetrain.report.run import run_report

    config = resolve_report_config(quick=quick, config_file=config_file, sets=sets)
    worker_count = default_workers() if workers is None else workers
    check_int("--workers", worker_count, 1, 1024)
    if scheduler is not None and not scheduler.strip():
        raise ConfigError("--scheduler must be an address such as tcp://127.0.0.1:8786, not ''")
    out = Path(out_dir)
    cache: Path | None = None if no_cache else Path(cache_dir) if cache_dir else out / "cache"
    run_report(
        config,
        out_dir=out,
        workers=worker_count,
        scheduler=scheduler,
        cache_dir=cache,
        json_path=Path(json_path) if json_path else None,
    )


def config_document(config: ReportConfig) -> dict[str, Any]:
    """The config as plain data (for results.json and the page)."""
    document: dict[str, Any] = to_plain(config)
    return document


def replace(config: ReportConfig, **changes: Any) -> ReportConfig:
    """A copy of ``config`` with top-level fields replaced (validated again)."""
    return dataclasses.replace(config, **changes)


def now() -> float:
    """Monotonic seconds (one place, so that timing is measured the same everywhere)."""
    return time.perf_counter()
