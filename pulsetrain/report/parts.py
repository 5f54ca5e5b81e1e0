"""The parts of ``pulsetrain report``: each turns its config into independent runs, then into a page section.

A part is planned (:func:`plan_parts`) into a :class:`PartPlan`: a list of :class:`~pulsetrain.executor.Run`
(module-level run functions below, plain-data specs) and an ``assemble`` function that turns their
results into a :class:`~pulsetrain.report.page.Section`, plain data for ``results.json`` and per-algorithm
numbers for the summary table. A part whose code is missing (a module or function another engineer has
not delivered, a tool that is not installed) is planned as *unavailable* with the reason, and the page
says so; nothing is made up.

The run functions import the heavy packages (the model, Amaranth, cocotb, Yosys) inside, so that they
load in the worker that runs them, not in the process that draws the progress display.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulsetrain.config import ConfigError
from pulsetrain.executor import Run, RunFailure
from pulsetrain.report.config import ReportConfig
from pulsetrain.report.page import Plot, Section, Table, colour, figure_png

#: digits data: 8x8 pixels in, 10 classes out (sklearn's embedded set)
DIGITS_INPUTS = 64
DIGITS_CLASSES = 10


class Unavailable(Exception):
    """A part cannot run here; the message says why (shown as "not available: ...")."""


@dataclass
class PartOutcome:
    """What one part contributes to the report."""

    section: Section
    #: plain data for results.json (``sections -> key``)
    data: dict[str, Any] = field(default_factory=dict)
    #: per-algorithm numbers for the summary table (merged across parts)
    algorithms: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class PartPlan:
    """A planned part: its runs and how to assemble their results."""

    key: str
    title: str
    runs: list[Run]
    assemble: Callable[[list[Any]], PartOutcome]
    #: when set, the part does not run and its section says why
    unavailable: str | None = None
    #: a part whose runs depend on another part's results: that part's key ...
    after: str | None = None
    #: ... and the function that plans this part's runs from those results (``runs`` is then ignored)
    plan_after: Callable[[list[Any]], list[Run]] | None = None


def _require(module: str, *names: str) -> Any:
    """Import ``module`` and check it has ``names``; raise :class:`Unavailable` naming what is missing."""
    try:
        loaded = importlib.import_module(module)
    except ImportError as error:
        raise Unavailable(f"{module} cannot be imported ({error})") from None
    missing = [name for name in names if not hasattr(loaded, name)]
    if missing:
        raise Unavailable(f"{module} has no {', '.join(missing)} yet")
    return loaded


def _failures(results: Sequence[Any]) -> list[RunFailure]:
    return [result for result in results if isinstance(result, RunFailure)]


def _failure_text(failures: Sequence[RunFailure]) -> str:
    first = failures[0]
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return f"run '{first.label}' failed: {first.error}{more}"


def unavailable_section(key: str, title: str, reason: str) -> PartOutcome:
    """The outcome of a part that did not run."""
    return PartOutcome(Section(key, title, unavailable=reason), {"status": "not available", "reason": reason})


# ==================================================================================================
# Training every algorithm on the behavioral model
# ==================================================================================================


def layer_weight_counts(hidden: Sequence[int], bias: bool) -> list[int]:
    """Devices per layer array (``out * (in + bias)``) of the digits MLP with ``hidden`` widths."""
    sizes = [DIGITS_INPUTS, *hidden, DIGITS_CLASSES]
    extra = 1 if bias else 0
    return [sizes[i + 1] * (sizes[i] + extra) for i in range(len(sizes) - 1)]


def pulses_per_weight(pulses: Mapping[str, Mapping[str, int]], weights: Sequence[int]) -> dict[str, float]:
    """Mean pulses per device of each array kind (``A``, ``C``, ``W``, ...) over the whole training run.

    ``pulses`` is the model's ``{"layer0": {"A": n, ...}, ...}``; ``weights`` the devices per layer.
    """
    totals: dict[str, float] = {}
    devices: dict[str, int] = {}
    for layer, arrays in pulses.items():
        index = int(layer.removeprefix("layer"))
        for name, count in arrays.items():
            totals[name] = totals.get(name, 0.0) + float(count)
            devices[name] = devices.get(name, 0) + weights[index]
    return {name: totals[name] / devices[name] for name in totals if devices[name]}


def train_run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Train one algorithm with one seed on the digits data (a pure function of ``spec``).

    ``spec``: ``algo``, ``seed``, ``epochs``, ``hidden`` (list of widths), ``sets`` (TrainConfig overrides
    ``key=value``: the algorithm's defaults first, the user's last). Returns the model's results without
    the per-device detail.
    """
    from pulsetrain.model.data import Dataset, load_dataset
    from pulsetrain.model.training import resolve_train_config, train

    options = {
        "algo": spec["algo"],
        "seed": spec["seed"],
        "epochs": spec["epochs"],
        "network.hidden": ",".join(str(width) for width in spec["hidden"]),
    }
    config = resolve_train_config(options=options, sets=list(spec.get("sets", ())))
    data = load_dataset(Dataset.DIGITS, None)
    results = train(config, data=data)
    weights = layer_weight_counts(config.network.hidden, config.network.bias)
    return {
        "algo": spec["algo"],
        "seed": spec["seed"],
        "config": results["config"],
        "epochs": [
            {k: record[k] for k in ("epoch", "train_accuracy", "test_accuracy", "loss", "seconds")}
            for record in results["epochs"]
        ],
        "test_accuracy": results["test_accuracy"],
        "train_accuracy": results["train_accuracy"],
        "pulses": results["pulses"],
        "pulses_per_sample": results["pulses_per_sample"],
        "pulses_per_weight": pulses_per_weight(results["pulses"], weights),
        "samples_seen": int(results["completed_epochs"] * data.x_train.shape[0]),
        "max_device_pulses": results["max_device_pulses"],
        "weights_sha256": results["weights_sha256"],
        "algorithm": results.get("algorithm", {}),
        "wall_seconds": results["wall_seconds"],
    }


def algorithm_sets(algo: str, device: str) -> list[str]:
    """TrainConfig overrides of ``algo``'s default settings: the device kind, then the algorithms module's
    per-algorithm defaults (``pulsetrain.model.experiments.DEFAULTS_OVERRIDES``, e.g. SBE's batch 16)."""
    sets = [f"device.kind={device}"]
    try:
        experiments = importlib.import_module("pulsetrain.model.experiments")
    except ImportError:
        return sets
    return [*sets, *getattr(experiments, "DEFAULTS_OVERRIDES", {}).get(algo, ())]


def _plan_training(config: ReportConfig) -> PartPlan:
    part = config.training
    key, title = "training", "Training on the behavioral model"
    _require("pulsetrain.model.training", "train", "resolve_train_config", "TrainConfig")
    registry = _require("pulsetrain.model.algorithms", "ALGORITHMS")
    missing = [name for name in part.algorithms if name not in registry.ALGORITHMS]
    runnable = [name for name in part.algorithms if name in registry.ALGORITHMS]
    # The TrainConfig overrides are checked here, before any work, so that a bad key fails the command.
    from pulsetrain.model.training import resolve_train_config

    for algo in runnable:
        resolve_train_config(
            options={"algo": algo}, sets=[*algorithm_sets(algo, part.device), *part.train_set]
        )
    runs = [
        Run(
            train_run,
            {
                "algo": algo,
                "seed": seed,
                "epochs": part.epochs,
                "hidden": list(part.hidden),
                "sets": [*algorithm_sets(algo, part.device), *part.train_set],
            },
            f"train {algo} seed={seed}",
        )
        for algo in runnable
        for seed in part.seeds
    ]

    def assemble(results: list[Any]) -> PartOutcome:
        return _assemble_training(config, runnable, missing, results)

    return PartPlan(key, title, runs, assemble)


def _mean(values: Sequence[float]) -> float:
    return float(sum(values) / len(values))


def _assemble_training(
    config: ReportConfig, algorithms: list[str], missing: list[str], results: list[Any]
) -> PartOutcome:
    part = config.training
    section = Section(
        "training",
        "Training on the behavioral model",
        intro=(
            f"Digits (8x8, sklearn), network 64-{'-'.join(map(str, part.hidden))}-10, {part.epochs} epochs, "
            f"seeds {', '.join(map(str, part.seeds))}, {part.device} devices; every algorithm at its default "
            "settings (pulsetrain train --algo NAME; SBE at batch 16, as in pulsetrain experiment defaults)."
        ),
    )
    per_algorithm: dict[str, dict[str, Any]] = {}
    data: dict[str, Any] = {"status": "ok", "runs": []}
    notes: list[str] = []
    by_algo: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        if isinstance(result, RunFailure):
            notes.append(f"not available: {result.label}: {result.error}")
            continue
        by_algo.setdefault(result["algo"], []).append(result)
        data["runs"].append(result)
    for name in missing:
        notes.append(
            f"not available: algorithm {name!r} is not registered in pulsetrain.model.algorithms yet"
        )
    rows = []
    for algo in algorithms:
        runs = by_algo.get(algo, [])
        if not runs:
            continue
        accuracies = [run["test_accuracy"] for run in runs]
        ppw: dict[str, float] = {}
        for array in sorted({name for run in runs for name in run["pulses_per_weight"]}):
            ppw[array] = _mean([run["pulses_per_weight"].get(array, 0.0) for run in runs])
        per_algorithm[algo] = {
            "test_accuracy": _mean(accuracies),
            "test_accuracy_per_seed": accuracies,
            "pulses_per_weight": ppw,
            "pulses_per_sample": _mean([run["pulses_per_sample"] for run in runs]),
            "training_seconds": _mean([run["wall_seconds"] for run in runs]),
        }
        rows.append(
            [
                algo,
                f"{100 * _mean(accuracies):.1f}",
                " / ".join(f"{100 * a:.1f}" for a in accuracies),
                ", ".join(f"{k}: {v:.3g}" for k, v in ppw.items()) or "-",
                f"{per_algorithm[algo]['pulses_per_sample']:.3g}",
                f"{per_algorithm[algo]['training_seconds']:.1f}",
            ]
        )
    if rows:
        section.tables.append(
            Table(
                [
                    "algorithm",
                    "test accuracy %",
                    "per seed %",
                    "pulses per weight",
                    "pulses per sample",
                    "seconds per run",
                ],
                rows,
                "Pulses per weight: total pulses on each array kind over training divided by its devices "
                "(W: the single weight array; A / C: the fast and slow arrays of the Tiki-Taka family).",
            )
        )
        section.plots.append(_accuracy_plot(algorithms, by_algo))
    else:
        section.unavailable = "no training run finished" + (f" ({notes[0]})" if notes else "")
    section.notes.extend(notes)
    return PartOutcome(section, data, per_algorithm)


def _accuracy_plot(algorithms: list[str], by_algo: Mapping[str, list[dict[str, Any]]]) -> Plot:
    def draw(figure: Any) -> None:
        axes = figure.add_subplot(1, 1, 1)
        for algo in algorithms:
            for seed_index, run in enumerate(by_algo.get(algo, [])):
                epochs = [record["epoch"] for record in run["epochs"]]
                accuracy = [100 * record["test_accuracy"] for record in run["epochs"]]
                axes.plot(
                    epochs,
                    accuracy,
                    color=colour(algo),
                    marker="o" if len(epochs) < 12 else None,
                    markersize=3,
                    linewidth=1.5 if seed_index == 0 else 0.8,
                    alpha=1.0 if seed_index == 0 else 0.5,
                    label=algo if seed_index == 0 else None,
                )
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("epoch")
        axes.set_ylabel("test accuracy (%)")
        axes.set_title("Test accuracy per epoch (digits)")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", ncol=2, fontsize=8)

    return Plot(
        "accuracy curves",
        figure_png(draw),
        "Test accuracy after every epoch, one colour per algorithm (thin lines: further seeds).",
    )


# ==================================================================================================
# Synthesis of the periphery blocks
# ==================================================================================================


def synth_run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Synthesize one registry block at its default config for one target; the report's headline row."""
    from pulsetrain.synth.blocks import block_design
    from pulsetrain.synth.flows import FlowOptions, Target, synthesize

    report = synthesize(block_design(str(spec["block"])), FlowOptions(target=Target(spec["target"])))
    return {"block": spec["block"], "target": spec["target"], "summary": report.summary()}


def _plan_synthesis(config: ReportConfig) -> PartPlan:
    key, title = "synthesis", "Synthesis of the periphery blocks"
    blocks_module = _require("pulsetrain.synth.blocks", "block_names", "block_design")
    _require("pulsetrain.synth.flows", "synthesize", "FlowOptions", "Target")
    names = blocks_module.block_names()
    if not names:
        raise Unavailable("the RTL block registry (pulsetrain.rtl.blocks) is empty")
    targets = config.cost.targets
    if not targets:
        raise Unavailable("no synthesis target chosen (cost.targets is empty)")
    runs = [
        Run(synth_run, {"block": block, "target": target}, f"synth {block} {target}")
        for block in names
        for target in targets
    ]

    def assemble(results: list[Any]) -> PartOutcome:
        return _assemble_synthesis(names, list(targets), results)

    return PartPlan(key, title, runs, assemble)


_SYNTH_COLUMNS = (
    ("cells", "cells", "{:d}"),
    ("flip_flops", "flip-flops", "{:d}"),
    ("memory_bits", "memory bits", "{:d}"),
    ("luts", "LUTs", "{:d}"),
    ("fmax_MHz", "Fmax MHz", "{:.0f}"),
    ("area_um2", "area µm²", "{:.0f}"),
    ("sram_area_um2", "SRAM µm²", "{:.0f}"),
    ("critical_path_ns", "critical path ns", "{:.2f}"),
    ("power_W", "power µW", "{:.1f}"),
)


def _format_cell(key: str, value: Any, pattern: str) -> str:
    if value is None:
        return "-"
    if key == "power_W":
        value = value * 1e6
    if pattern == "{:d}":
        return str(int(value))
    return pattern.format(float(value))


def _assemble_synthesis(blocks: list[str], targets: list[str], results: list[Any]) -> PartOutcome:
    section = Section(
        "synthesis",
        "Synthesis of the periphery blocks",
        intro=(
            "Every block of the RTL registry at its default config "
            "(pulsetrain synth --block NAME --target T)."
        ),
    )
    failures = _failures(results)
    rows_data = [result for result in results if not isinstance(result, RunFailure)]
    for failure in failures:
        section.notes.append(f"not available: {failure.label}: {failure.error}")
    if not rows_data:
        section.unavailable = _failure_text(failures) if failures else "no synthesis run finished"
        return PartOutcome(section, {"status": "not available", "reason": section.unavailable})
    for target in targets:
        rows = [result["summary"] for result in rows_data if result["target"] == target]
        if not rows:
            continue
        columns = [column for column in _SYNTH_COLUMNS if any(column[0] in row for row in rows)]
        section.tables.append(
            Table(
                ["block", *(label for _, label, _ in columns)],
                [[row["block"], *(_format_cell(k, row.get(k), p) for k, _, p in columns)] for row in rows],
                f"target {target}",
            )
        )
    asic = [r["summary"] for r in rows_data if r["summary"].get("area_um2") is not None]
    if asic:
        section.plots.append(_synth_area_plot(asic))
    return PartOutcome(section, {"status": "ok", "reports": rows_data})


def _synth_area_plot(rows: list[dict[str, Any]]) -> Plot:
    def draw(figure: Any) -> None:
        axes = figure.add_subplot(1, 1, 1)
        targets = sorted({row["target"] for row in rows})
        blocks = sorted({row["block"] for row in rows})
        width = 0.8 / max(1, len(targets))
        for t_index, target in enumerate(targets):
            values = []
            for block in blocks:
                match = [r for r in rows if r["block"] == block and r["target"] == target]
                values.append(
                    (match[0]["area_um2"] + match[0].get("sram_area_um2", 0.0)) if match else math.nan
                )
            positions = [b + (t_index - (len(targets) - 1) / 2) * width for b in range(len(blocks))]
            axes.bar(positions, values, width=width, label=target)
        axes.set_xticks(range(len(blocks)))
        axes.set_xticklabels(blocks, rotation=30, ha="right", fontsize=8)
        axes.set_ylabel("area (µm²)")
        axes.set_yscale("log")
        axes.set_title("Periphery block area (cells + SRAM model)")
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3, axis="y")

    return Plot("synthesis area", figure_png(draw, height_in=4.2), "Area of each block per ASIC target.")


# ==================================================================================================
# The three studies of the algorithms (model/experiments.py)
# ==================================================================================================

STUDY_TITLES: dict[str, str] = {
    "offset-sweep": "Reference-offset sweep: TTv2, c-TTv2, AGAD (Rasch et al. 2023)",
    "bp-vs-dfa": "BP versus DFA under non-idealities, and latency versus depth (Wolters et al. 2023)",
    "sbe-batch": "SBE versus mini-batch SGD: array updates versus batch size (Hoskins et al. 2019)",
}


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


def _plan_studies(config: ReportConfig) -> list[PartPlan]:
    part = config.studies
    experiments = _require("pulsetrain.model.experiments", "plan", "run_one", "summarize", "plot")
    plans = []
    for study in part.studies:
        title = STUDY_TITLES[study]
        specs = [
            limit_epochs(spec, part.max_epochs) for spec in experiments.plan(study, part.quick, part.seeds)
        ]
        runs = [Run(experiments.run_one, spec, f"{study} {spec.get('label', '')}") for spec in specs]

        def assemble(results: list[Any], study: str = study, title: str = title) -> PartOutcome:
            return _assemble_study(config, study, title, results)

        plans.append(PartPlan(f"study-{study}", title, runs, assemble))
    return plans


def _claims_table(claims: Mapping[str, Any]) -> Table:
    rows = []
    for name, value in claims.items():
        if isinstance(value, Mapping):
            text = ", ".join(f"{k}: {_short(v)}" for k, v in value.items())
        else:
            text = _short(value)
        rows.append([name, text])
    return Table(
        ["claim", "measured"], rows, "Each claim as computed by pulsetrain.model.experiments.summarize."
    )


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def _study_rows_table(study: str, summary: Mapping[str, Any]) -> Table | None:
    rows = summary.get("rows") or []
    if not rows:
        return None
    header = list(rows[0].keys())
    body = [[_short(_mean_of(row[key])) for key in header] for row in rows]
    return Table(header, body, "Means over seeds (± standard deviation in results.json).")


def _mean_of(value: Any) -> Any:
    if isinstance(value, Mapping) and "mean" in value:
        return value["mean"]
    return value


def _assemble_study(config: ReportConfig, study: str, title: str, results: list[Any]) -> PartOutcome:
    import tempfile
    from pathlib import Path

    experiments = importlib.import_module("pulsetrain.model.experiments")
    key = f"study-{study}"
    section = Section(
        key,
        title,
        intro=(
            f"pulsetrain experiment {study}{' --quick' if config.studies.quick else ''}, seeds "
            f"{', '.join(map(str, config.studies.seeds))}"
            + (
                f", training capped at {config.studies.max_epochs} epochs"
                if config.studies.max_epochs
                else ""
            )
            + "."
        ),
    )
    failures = _failures(results)
    if failures:
        section.unavailable = _failure_text(failures)
        return PartOutcome(section, {"status": "failed", "reason": section.unavailable})
    summary = experiments.summarize(study, results)
    with tempfile.TemporaryDirectory() as folder:
        png = Path(experiments.plot(study, summary, Path(folder) / f"{study}.png")).read_bytes()
    section.plots.append(Plot(title, png, f"Drawn by pulsetrain.model.experiments.plot('{study}', ...)."))
    table = _study_rows_table(study, summary)
    if table is not None:
        section.tables.append(table)
    if summary.get("claims"):
        section.tables.append(_claims_table(summary["claims"]))
    if study == "bp-vs-dfa" and summary.get("latency"):
        section.tables.append(
            Table(
                list(summary["latency"][0].keys()),
                [[_short(v) for v in row.values()] for row in summary["latency"]],
                "Per-sample latency of the BP and DFA schedules in periphery cycles (the model's schedule).",
            )
        )
    return PartOutcome(section, {"status": "ok", "summary": summary, "results": results})


# ==================================================================================================
# Cost: area / energy / latency estimate per algorithm (synth/estimator.py)
# ==================================================================================================


def estimate_run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The estimator for one algorithm, fed with the pulse counts its training run measured."""
    from pulsetrain.synth.estimator import Algorithm, EstimateConfig, PulseCounts, estimate

    config = EstimateConfig(
        network=tuple(int(n) for n in spec["network"]),
        algorithm=Algorithm(spec["algorithm"]),
        technology=str(spec["technology"]),
        sbe_batch=int(spec["sbe_batch"]),
        transfer_every=int(spec["transfer_every"]),
        use_synthesis=bool(spec["use_synthesis"]),
    )
    counts = None
    if spec.get("coincidences") is not None:
        # Coincidences (device steps) per sample are the training run's; the estimator needs line pulses
        # too, which the model does not count: those use the estimator's own expectation for a
        # stochastic update (BL slots, firing probability per line and slot), said in the source.
        p, bl = config.firing_probability, config.bl
        updates = 1.0 / config.sbe_batch if config.algorithm is Algorithm.SBE else 1.0
        lines = tuple(bl * (fan_in + fan_out) * p * updates for fan_in, fan_out in config.layers)
        counts = PulseCounts(
            tuple(float(v) for v in spec["coincidences"]),
            lines,
            tuple(float(v) for v in spec.get("c_coincidences") or ()),
            source=(
                f"coincidences measured by the training run of {spec['algorithm']}; line pulses expected "
                f"for BL={bl}, firing probability {p}"
            ),
        )
    result = estimate(config, counts).as_dict()
    result["algorithm"] = spec["algorithm"]
    return result


def depth_run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """BP versus DFA latency per sample for depths N (cycles from the schedule controller RTL)."""
    from pulsetrain.synth.estimator import depth_study

    rows = depth_study(list(spec["depths"]), technology=str(spec["technology"]))
    return {"rows": rows}


def _train_pulse_inputs(run: Mapping[str, Any], hidden: Sequence[int]) -> dict[str, Any]:
    """Per-layer coincidences per training sample on the fast (or only) array and on C."""
    layers = sorted(run["pulses"], key=lambda name: int(name.removeprefix("layer")))
    samples = run.get("samples_seen") or 0
    if not samples:
        return {}
    fast = [
        float(run["pulses"][layer].get("A", run["pulses"][layer].get("W", 0))) / samples for layer in layers
    ]
    slow = [float(run["pulses"][layer]["C"]) / samples for layer in layers if "C" in run["pulses"][layer]]
    if len(fast) != len(hidden) + 1:
        return {}
    return {"coincidences": fast, "c_coincidences": slow or None}


def _plan_cost(config: ReportConfig) -> PartPlan:
    key, title = "cost", "Area, energy and latency per algorithm (estimator)"
    estimator = _require("pulsetrain.synth.estimator", "estimate", "EstimateConfig", "ESTIMATE_ALGORITHMS")
    technology = config.cost.technology or "rpu_45nm"
    try:
        # an unknown technology is the user's error: refused here, before any run starts
        importlib.import_module("pulsetrain.synth.technology").load_technology(technology)
    except ImportError as error:
        raise Unavailable(f"pulsetrain.synth.technology cannot be imported ({error})") from None
    except ConfigError as error:
        raise ConfigError(f"cost.technology: {error}") from None
    hidden = config.training.hidden
    network = [DIGITS_INPUTS, *hidden, DIGITS_CLASSES]
    algorithms = [a for a in config.training.algorithms if a in estimator.ESTIMATE_ALGORITHMS]
    skipped = [a for a in config.training.algorithms if a not in estimator.ESTIMATE_ALGORITHMS]
    depth = Run(depth_run, {"depths": [2, 3, 4, 5, 6], "technology": technology}, "cost depth study")

    def runs_after(training: list[Any]) -> list[Run]:
        runs = [depth]
        for algo in algorithms:
            trained = [r for r in training if not isinstance(r, RunFailure) and r["algo"] == algo]
            first = trained[0] if trained else None
            spec: dict[str, Any] = {
                "algorithm": algo,
                "network": network,
                "technology": technology,
                "sbe_batch": int(first["config"]["batch_size"]) if first else 128,
                "transfer_every": int(first["config"]["tiki_taka"]["transfer_every"]) if first else 1,
                "use_synthesis": config.cost.use_synthesis,
            }
            if first is not None:
                spec.update(_train_pulse_inputs(first, hidden))
            runs.append(Run(estimate_run, spec, f"estimate {algo}"))
        return runs

    def assemble(results: list[Any]) -> PartOutcome:
        return _assemble_cost(algorithms, skipped, technology, results)

    after = "training" if config.training.enabled else None
    return PartPlan(key, title, [], assemble, after=after, plan_after=runs_after)


def _assemble_cost(
    algorithms: list[str], skipped: list[str], technology: str, results: list[Any]
) -> PartOutcome:
    section = Section(
        "cost",
        "Area, energy and latency per algorithm (estimator)",
        intro=(
            f"pulsetrain estimate --network 64-...-10 --algo NAME --tech {technology}, with the coincidences "
            "per sample measured by each algorithm's training run above. Periphery area: everything but "
            "the arrays (ADCs, drivers, digital periphery, buffers)."
        ),
    )
    estimates = [r for r in results if not isinstance(r, RunFailure) and "algorithm" in r]
    depth = next((r for r in results if not isinstance(r, RunFailure) and "rows" in r), None)
    for failure in _failures(results):
        section.notes.append(f"not available: {failure.label}: {failure.error}")
    for name in skipped:
        section.notes.append(f"{name}: not costed (the estimator models analog tiles; {name} has none)")
    per_algorithm: dict[str, dict[str, Any]] = {}
    for result in estimates:
        area = result["area_um2"]
        per_algorithm[result["algorithm"]] = {
            "area_um2": sum(v for k, v in area.items() if k != "arrays"),
            "total_area_um2": result["total_area_um2"],
            "energy_per_sample_j": result["total_energy_per_sample_pJ"] * 1e-12,
            "latency_per_sample_s": result["total_latency_per_sample_ns"] * 1e-9,
            "latency_source": result["latency_source"],
        }
    if estimates:
        section.plots.append(_breakdown_plot(estimates))
        section.tables.append(
            Table(
                [
                    "algorithm",
                    "periphery µm²",
                    "arrays µm²",
                    "energy / sample pJ",
                    "latency / sample ns",
                    "cycles / sample",
                    "latency from",
                ],
                [
                    [
                        r["algorithm"],
                        f"{per_algorithm[r['algorithm']]['area_um2']:.4g}",
                        f"{r['area_um2']['arrays']:.4g}",
                        f"{r['total_energy_per_sample_pJ']:.4g}",
                        f"{r['total_latency_per_sample_ns']:.4g}",
                        str(r["cycles_per_sample"]),
                        r["latency_source"],
                    ]
                    for r in estimates
                ],
            )
        )
        section.tables.append(
            Table(
                ["algorithm", "estimator notes (assumptions and sources)"],
                [[r["algorithm"], "; ".join(r.get("notes", ())) or "-"] for r in estimates],
            )
        )
    if depth is not None:
        section.plots.append(_depth_plot(depth["rows"]))
    if not estimates and depth is None:
        section.unavailable = _failure_text(_failures(results)) if _failures(results) else "no estimate ran"
    data = {"status": "ok" if estimates else "not available", "estimates": estimates, "depth": depth}
    return PartOutcome(section, data, per_algorithm)


def _breakdown_plot(estimates: list[dict[str, Any]]) -> Plot:
    categories = [c for c in estimates[0]["area_um2"] if c != "arrays"]

    def draw(figure: Any) -> None:
        left, right = figure.subplots(1, 2)
        names = [r["algorithm"] for r in estimates]
        for axes, key, unit, skip in (
            (left, "area_um2", "periphery area (µm²)", "arrays"),
            (right, "energy_per_sample_pJ", "energy per training sample (pJ)", None),
        ):
            bottom = [0.0] * len(names)
            for category in (c for c in estimates[0][key] if c != skip):
                values = [float(r[key][category]) for r in estimates]
                if not any(values):
                    continue
                axes.bar(names, values, bottom=bottom, label=category)
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
            axes.set_ylabel(unit)
            axes.tick_params(axis="x", rotation=30)
            axes.grid(alpha=0.3, axis="y")
            axes.legend(fontsize=7)
        left.set_title("periphery area by part")
        right.set_title("energy per sample by part")

    return Plot(
        "area and energy breakdown",
        figure_png(draw, width_in=10.0, height_in=4.2),
        f"Estimator breakdown per algorithm ({', '.join(categories)}; arrays excluded from the area).",
    )


def _depth_plot(rows: list[dict[str, Any]]) -> Plot:
    def draw(figure: Any) -> None:
        left, right = figure.subplots(1, 2)
        depths = [r["depth"] for r in rows]
        left.plot(depths, [r["bp_latency_ns"] for r in rows], marker="o", label="BP", color=colour("sgd"))
        left.plot(depths, [r["dfa_latency_ns"] for r in rows], marker="s", label="DFA", color=colour("dfa"))
        left.set(xlabel="depth N (weight layers)", ylabel="latency per sample (ns)", title="latency")
        left.legend(fontsize=8)
        source = rows[0].get("latency_source", "")
        right.plot(depths, [r["speedup"] for r in rows], marker="o", label=f"whole sample ({source})")
        right.plot(
            depths, [r["training_speedup"] for r in rows], marker="s", label="after the forward pass (model)"
        )
        right.plot(depths, depths, color="grey", linestyle=":", label="N")
        right.set(xlabel="depth N", ylabel="BP / DFA", title="DFA speed-up")
        right.legend(fontsize=8)
        for axes in (left, right):
            axes.grid(alpha=0.3)

    return Plot(
        "BP versus DFA latency versus depth",
        figure_png(draw, width_in=10.0, height_in=4.0),
        "Per-sample training latency of BP and DFA for MLPs 64-32x(N-1)-10 (estimator; schedule cycles "
        "from simulating the schedule controller RTL where it exists), and the speed-up.",
    )


# ==================================================================================================
# The RTL in the loop (cosim/training.py)
# ==================================================================================================


def cosim_run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Train with every periphery decision served by the simulated RTL, against the pure-model run."""
    from pulsetrain.cosim.training import CosimRequest, run_training_cosim

    request = CosimRequest(
        options={
            "algo": spec["algo"],
            "seed": spec["seed"],
            "network.hidden": ",".join(str(width) for width in spec["hidden"]),
        },
        sets=tuple(spec["sets"]),
        samples=int(spec["samples"]),
        simulator=str(spec["simulator"]),
    )
    result = run_training_cosim(request)
    # paths into this machine's build folder mean nothing in a cache shared with other machines
    return {k: v for k, v in result.items() if k not in ("log",)}


def _plan_cosim(config: ReportConfig) -> PartPlan:
    part = config.cosim
    key, title = "cosim", "RTL in the loop: the periphery's decisions against the model"
    _require("pulsetrain.cosim.training", "run_training_cosim", "CosimRequest")
    runner = _require("pulsetrain.cosim.runner", "unavailable_reason", "parse_simulator")
    reason = runner.unavailable_reason(runner.parse_simulator(part.simulator))
    if reason is not None:
        raise Unavailable(f"simulator {part.simulator}: {reason}")
    spec = {
        "algo": part.algorithm,
        "seed": part.seed,
        "hidden": list(part.hidden or config.training.hidden),
        "sets": [*algorithm_sets(part.algorithm, config.training.device), *config.training.train_set],
        "samples": part.samples,
        "simulator": part.simulator,
    }
    run = Run(cosim_run, spec, f"cosim {part.algorithm} {part.samples} samples")

    def assemble(results: list[Any]) -> PartOutcome:
        return _assemble_cosim(config, results)

    return PartPlan(key, title, [run], assemble)


def _assemble_cosim(config: ReportConfig, results: list[Any]) -> PartOutcome:
    part = config.cosim
    section = Section(
        "cosim",
        "RTL in the loop: the periphery's decisions against the model",
        intro=(
            f"pulsetrain cosim --algo {part.algorithm} --sim {part.simulator} --samples {part.samples} "
            f"--seed {part.seed}, network 64-{'-'.join(map(str, part.hidden or config.training.hidden))}-10: "
            "the pure model runs first with the bit-exact twins of the periphery; then the same training "
            "runs with every digital decision served by the simulated Verilog: the pulse generators (each "
            "line's pulse in each slot, each sign line), and for the TTv2 family one transfer controller "
            "(column, chopper signs, H, pulses to C, AGAD reference) and one ADC readout (the codes of "
            "each column read of A) per layer, and one ADC readout per tile and direction for the "
            "network's forward and backward reads. A twin checks each decision before it reaches the "
            "analog tiles, which are the model's in both runs."
        ),
    )
    failures = _failures(results)
    if failures:
        section.unavailable = _failure_text(failures)
        return PartOutcome(section, {"status": "failed", "reason": section.unavailable})
    (result,) = results
    same_weights = result.get("weights_sha256") is not None and (
        result.get("weights_sha256") == result.get("model_weights_sha256")
    )
    rows = [
        ["algorithm", part.algorithm],
        ["simulator", str(result.get("simulator"))],
        ["training samples with the RTL in the loop", str(result.get("samples"))],
        ["digital decisions compared", f"{result.get('decisions_compared', 0):,}"],
        ["RTL transactions compared", f"{result.get('transactions_compared', 0):,}"],
        *(
            [f"decisions of the {block}s", f"{count:,}"]
            for block, count in sorted((result.get("decisions_by_block") or {}).items())
        ),
        ["mismatches", str(result.get("mismatches"))],
        ["first mismatch", str(result.get("first_mismatch") or "none")],
        ["RTL run matches the model", "yes" if result.get("matches_model") else "NO"],
        ["weights identical (SHA-256)", "yes" if same_weights else "no"],
        ["test accuracy after these samples, RTL in the loop", _short(result.get("test_accuracy"))],
        ["test accuracy after these samples, pure model", _short(result.get("model_test_accuracy"))],
        ["simulated clock cycles", f"{result.get('cycles', 0):,}"],
        ["simulation wall seconds", _short(result.get("wall_seconds"))],
        ["Verilog build seconds", _short(result.get("build_seconds"))],
    ]
    section.tables.append(Table(["", "value"], rows))
    section.plots.append(_agreement_plot(result))
    return PartOutcome(section, {"status": "ok", "result": result})


def _agreement_plot(result: Mapping[str, Any]) -> Plot:
    compared = int(result.get("decisions_compared", 0))
    mismatches = int(result.get("mismatches", 0))

    def draw(figure: Any) -> None:
        axes = figure.add_subplot(1, 1, 1)
        labels = ["decisions compared", "agreeing", "mismatching"]
        values = [compared, compared - mismatches, mismatches]
        bars = axes.bar(labels, values, color=["#1f77b4", "#2ca02c", "#d62728"])
        for bar, value in zip(bars, values, strict=True):
            axes.annotate(
                f"{value:,}",
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=9,
            )
        axes.set_ylabel("periphery decisions")
        verdict = "matches the model" if result.get("matches_model") else "DOES NOT match the model"
        axes.set_title(f"RTL ({result.get('simulator')}) versus twin: {verdict}")
        axes.grid(alpha=0.3, axis="y")

    return Plot(
        "RTL versus model agreement",
        figure_png(draw, width_in=6.5, height_in=3.6),
        "Every periphery decision of the simulated RTL compared with the model's twin, same seed.",
    )


# ==================================================================================================
# BP versus DFA: cycles per sample from the model's schedule and from the schedule controller RTL
# ==================================================================================================


def _rtl_cycles(config: Any) -> int:
    """Simulate the ScheduleController RTL (Amaranth simulator) for one sample; its cycle counter."""
    from amaranth.sim import Simulator

    from pulsetrain.rtl.schedule_controller import ScheduleController

    dut = ScheduleController(config)
    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    measured: list[int] = []
    # a generous bound: every phase at its full cost, sequentially, plus slack
    limit = 4 * sum(config.phase_cycles()) + 100

    async def bench(ctx: Any) -> None:
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(limit):
            if ctx.get(dut.done):
                measured.append(int(ctx.get(dut.cycles)))
                return
            await ctx.tick()

    simulator.add_testbench(bench)
    simulator.run()
    if not measured:
        raise RuntimeError(f"the schedule controller did not finish within {limit} cycles")
    return measured[0]


def schedule_cycles_run(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Cycles per training sample of BP and DFA for each depth: the model's schedule and the RTL's count."""
    from pulsetrain.model.schedule import mlp_sizes, training_schedule
    from pulsetrain.model.twins.schedule import ScheduleControllerTwin
    from pulsetrain.periphery.schedule import ScheduleConfig, ScheduleMode

    rows = []
    for depth in spec["depths"]:
        row: dict[str, Any] = {"depth": int(depth)}
        for mode in (ScheduleMode.BP, ScheduleMode.DFA):
            config = ScheduleConfig(mode=mode, layer_sizes=mlp_sizes(int(depth)))
            row[f"{mode.value}_model_cycles"] = int(training_schedule(config).total_cycles)
            row[f"{mode.value}_twin_cycles"] = int(ScheduleControllerTwin(config).run_sample().cycles)
            row[f"{mode.value}_rtl_cycles"] = _rtl_cycles(config)
        row["model_speedup"] = row["bp_model_cycles"] / row["dfa_model_cycles"]
        row["rtl_speedup"] = row["bp_rtl_cycles"] / row["dfa_rtl_cycles"]
        rows.append(row)
    return {"rows": rows}


def _plan_schedule(config: ReportConfig) -> PartPlan:
    key, title = "schedule", "BP versus DFA: cycles per sample versus depth (model and RTL)"
    _require("pulsetrain.rtl.schedule_controller", "ScheduleController")
    _require("pulsetrain.model.schedule", "training_schedule", "mlp_sizes")
    run = Run(schedule_cycles_run, {"depths": [2, 3, 4, 5, 6]}, "schedule cycles by depth")

    def assemble(results: list[Any]) -> PartOutcome:
        section = Section(
            key,
            title,
            intro=(
                "Per-sample cycles of the BP and DFA schedules for MLPs 64-32x(N-1)-10: the model's schedule "
                "(pulsetrain.model.schedule) and the cycle counter of the ScheduleController RTL simulated "
                "with the Amaranth simulator, from the same ScheduleConfig."
            ),
        )
        failures = _failures(results)
        if failures:
            section.unavailable = _failure_text(failures)
            return PartOutcome(section, {"status": "failed", "reason": section.unavailable})
        rows = results[0]["rows"]
        header = list(rows[0].keys())
        section.tables.append(Table(header, [[_short(row[k]) for k in header] for row in rows]))
        agree = all(row[f"{m}_model_cycles"] == row[f"{m}_rtl_cycles"] for row in rows for m in ("bp", "dfa"))
        twin = all(row[f"{m}_twin_cycles"] == row[f"{m}_rtl_cycles"] for row in rows for m in ("bp", "dfa"))
        section.notes.append(
            "RTL and twin cycle counts agree at every depth."
            if twin
            else "RTL and twin cycle counts DIFFER (see the table)."
        )
        section.notes.append(
            "The model's schedule (used for the studies' latency) agrees with the RTL at every depth."
            if agree
            else "The model's schedule (pulsetrain.model.schedule, which the studies' latency uses) and the "
            "RTL's cycle counter DIFFER (see the table); the speed-ups are compared side by side above."
        )
        section.plots.append(_schedule_plot(rows))
        return PartOutcome(
            section, {"status": "ok", "rows": rows, "rtl_matches_model": agree, "rtl_matches_twin": twin}
        )

    return PartPlan(key, title, [run], assemble)


def _schedule_plot(rows: list[dict[str, Any]]) -> Plot:
    def draw(figure: Any) -> None:
        left, right = figure.subplots(1, 2)
        depths = [r["depth"] for r in rows]
        for mode, name, algo in (("bp", "BP", "sgd"), ("dfa", "DFA", "dfa")):
            left.plot(
                depths, [r[f"{mode}_model_cycles"] for r in rows], color=colour(algo), label=f"{name} model"
            )
            left.plot(
                depths,
                [r[f"{mode}_rtl_cycles"] for r in rows],
                color=colour(algo),
                linestyle="none",
                marker="x",
                markersize=9,
                label=f"{name} RTL",
            )
        left.set(xlabel="depth N (weight layers)", ylabel="cycles per sample", title="cycles per sample")
        left.legend(fontsize=8)
        right.plot(depths, [r["model_speedup"] for r in rows], marker="o", label="model")
        right.plot(
            depths, [r["rtl_speedup"] for r in rows], linestyle="none", marker="x", markersize=9, label="RTL"
        )
        right.plot(depths, depths, color="grey", linestyle=":", label="N")
        right.set(xlabel="depth N", ylabel="BP / DFA cycles", title="DFA speed-up (whole sample)")
        right.legend(fontsize=8)
        for axes in (left, right):
            axes.grid(alpha=0.3)

    return Plot(
        "BP versus DFA cycles versus depth",
        figure_png(draw, width_in=10.0, height_in=4.0),
        "Lines: the model's schedule; crosses: the simulated schedule controller RTL.",
    )


# ==================================================================================================
# Planning all parts
# ==================================================================================================


def _one(planner: Callable[[ReportConfig], PartPlan]) -> Callable[[ReportConfig], list[PartPlan]]:
    def plan_list(config: ReportConfig) -> list[PartPlan]:
        return [planner(config)]

    return plan_list


PLANNERS: tuple[tuple[str, str, str, Callable[[ReportConfig], list[PartPlan]]], ...] = (
    ("training", "Training on the behavioral model", "training", _one(_plan_training)),
    ("cosim", "RTL in the loop: the periphery's decisions against the model", "cosim", _one(_plan_cosim)),
    ("cost", "Area, energy and latency per algorithm (estimator)", "cost", _one(_plan_cost)),
    (
        "schedule",
        "BP versus DFA: cycles per sample versus depth (model and RTL)",
        "cost",
        _one(_plan_schedule),
    ),
    ("synthesis", "Synthesis of the periphery blocks", "cost", _one(_plan_synthesis)),
    ("studies", "Studies of the algorithms", "studies", _plan_studies),
)


def _unavailable_plan(key: str, title: str, reason: str) -> PartPlan:
    def assemble(_results: list[Any]) -> PartOutcome:
        return unavailable_section(key, title, reason)

    return PartPlan(key, title, [], assemble, reason)


def plan_parts(config: ReportConfig) -> list[PartPlan]:
    """Plan every part the config enables; a part that cannot run is planned as unavailable."""
    plans: list[PartPlan] = []
    for key, title, switch, planner in PLANNERS:
        if not getattr(config, switch).enabled:
            plans.append(_unavailable_plan(key, title, f"switched off ({switch}.enabled = false)"))
            continue
        try:
            plans.extend(planner(config))
        except Unavailable as error:
            plans.append(_unavailable_plan(key, title, str(error)))
    return plans
