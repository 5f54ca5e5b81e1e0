"""The parts of ``pulsetrain report``: each turns its config into independent runs, then into a page section.

A part is planned (:func:`plan_parts`) into a :class:`PartPlan`: a list of :class:`~pulsetrain.executor.Run`
(module-level run functions below, plain-data specs) and an ``assemble`` function that turns their
results into a :class:`~pulsetrain.report_html.Section`, plain data for ``results.json`` and per-algorithm
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

from pulsetrain.executor import Run, RunFailure
from pulsetrain.report import ReportConfig
from pulsetrain.report_html import Plot, Section, Table, colour, figure_png

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
    ``key=value``, applied last). Returns the model's results without the per-device detail.
    """
    from pulsetrain.model.training import resolve_train_config, train

    base = _algorithm_defaults(str(spec["algo"]))
    options = {
        "algo": spec["algo"],
        "seed": spec["seed"],
        "epochs": spec["epochs"],
        "network.hidden": ",".join(str(width) for width in spec["hidden"]),
    }
    config = resolve_train_config(options=options, sets=list(spec.get("sets", ())), base=base)
    results = train(config)
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
        "max_device_pulses": results["max_device_pulses"],
        "weights_sha256": results["weights_sha256"],
        "algorithm": results.get("algorithm", {}),
        "wall_seconds": results["wall_seconds"],
    }


def _algorithm_defaults(algo: str) -> Any:
    """The algorithm's own default TrainConfig where the algorithms module publishes one, else None."""
    try:
        experiments = importlib.import_module("pulsetrain.model.experiments")
    except ImportError:
        return None
    defaults = getattr(experiments, "default_train_config", None)
    if defaults is None:
        return None
    return defaults(algo)


def _plan_training(config: ReportConfig) -> PartPlan:
    part = config.training
    key, title = "training", "Training on the behavioral model"
    _require("pulsetrain.model.training", "train", "resolve_train_config", "TrainConfig")
    registry = _require("pulsetrain.model.algorithms", "ALGORITHMS")
    missing = [name for name in part.algorithms if name not in registry.ALGORITHMS]
    runnable = [name for name in part.algorithms if name in registry.ALGORITHMS]
    runs = [
        Run(
            train_run,
            {
                "algo": algo,
                "seed": seed,
                "epochs": part.epochs,
                "hidden": list(part.hidden),
                "sets": list(part.train_set),
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
            f"seeds {', '.join(map(str, part.seeds))}; every algorithm at its default settings "
            "(pulsetrain train --algo NAME)."
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
# Planning all parts
# ==================================================================================================

PLANNERS: tuple[tuple[str, str, str, Callable[[ReportConfig], PartPlan]], ...] = (
    ("training", "Training on the behavioral model", "training", _plan_training),
    ("synthesis", "Synthesis of the periphery blocks", "cost", _plan_synthesis),
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
            plans.append(planner(config))
        except Unavailable as error:
            plans.append(_unavailable_plan(key, title, str(error)))
    return plans
