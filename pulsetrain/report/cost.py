"""Report part ``cost``: area, energy and latency per algorithm from the estimator
(:mod:`pulsetrain.synth.estimator`), fed with the pulse counts each algorithm's training run measured, and
the BP-versus-DFA latency by depth."""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulsetrain import catalogue
from pulsetrain.config import ConfigError
from pulsetrain.executor import Run, RunFailure
from pulsetrain.report.config import ReportConfig
from pulsetrain.report.page import Plot, Section, Table, colour, figure_png
from pulsetrain.report.part import (
    DIGITS_CLASSES,
    DIGITS_INPUTS,
    AlgorithmNumbers,
    Part,
    PartData,
    PartOutcome,
    PartPlan,
    Unavailable,
    failure_text,
    failures,
    require,
    spec_from_plain,
    typed_run,
)
from pulsetrain.report.training import TrainingRun

KEY = "cost"
TITLE = "Area, energy and latency per algorithm (estimator)"
#: network depths (weight layers) of the BP-versus-DFA latency study
DEPTHS: tuple[int, ...] = (2, 3, 4, 5, 6)
#: the estimator's technology point when ``cost.technology`` is empty
DEFAULT_TECHNOLOGY = "rpu_45nm"


@dataclass(frozen=True, kw_only=True)
class EstimateSpec:
    """One estimate (``pulsetrain estimate``), with the coincidences measured by a training run if any."""

    #: algorithm name
    algorithm: str
    #: layer sizes, inputs first
    network: tuple[int, ...]
    #: technology point of the estimator
    technology: str
    #: SBE batch size (the training run's)
    sbe_batch: int
    #: samples between transfers of the Tiki-Taka family (the training run's)
    transfer_every: int
    #: cost the digital periphery from synthesis reports
    use_synthesis: bool
    #: device coincidences per training sample on the fast (or only) array, per layer (None: estimated)
    coincidences: tuple[float, ...] | None = None
    #: the same on the slow array C, per layer (None: no C array)
    c_coincidences: tuple[float, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class DepthSpec:
    """BP versus DFA latency per sample for several depths."""

    #: weight layers of each MLP
    depths: tuple[int, ...]
    #: technology point of the estimator
    technology: str


@dataclass(frozen=True, kw_only=True)
class CostNumbers(AlgorithmNumbers):
    """What the estimator adds to an algorithm's row of the summary."""

    #: area of everything but the arrays (ADCs, drivers, digital periphery, buffers), µm²
    area_um2: float
    #: area including the arrays, µm²
    total_area_um2: float
    #: energy per training sample, J
    energy_per_sample_j: float
    #: latency per training sample, s
    latency_per_sample_s: float
    #: where the latency's cycle count came from
    latency_source: str


@dataclass(frozen=True, kw_only=True)
class CostData(PartData):
    """results.json's ``cost`` entry."""

    #: the estimator's result per algorithm (its ``as_dict()`` plus the algorithm name)
    estimates: list[dict[str, Any]]
    #: the depth study's rows (None when it did not run)
    depth: dict[str, Any] | None


def estimate_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """The estimator for one algorithm, fed with the pulse counts its training run measured."""
    from pulsetrain.synth.estimator import Algorithm, EstimateConfig, PulseCounts, estimate

    spec = spec_from_plain(EstimateSpec, plain)
    config = EstimateConfig(
        network=spec.network,
        algorithm=Algorithm(spec.algorithm),
        technology=spec.technology,
        sbe_batch=spec.sbe_batch,
        transfer_every=spec.transfer_every,
        use_synthesis=spec.use_synthesis,
    )
    counts = None
    if spec.coincidences is not None:
        # Coincidences (device steps) per sample are the training run's; the estimator needs line pulses
        # too, which the model does not count: those use the estimator's own expectation for a
        # stochastic update (BL slots, firing probability per line and slot), said in the source.
        p, bl = config.firing_probability, config.bl
        updates = 1.0 / config.sbe_batch if config.algorithm is Algorithm.SBE else 1.0
        lines = tuple(bl * (fan_in + fan_out) * p * updates for fan_in, fan_out in config.layers)
        counts = PulseCounts(
            tuple(float(v) for v in spec.coincidences),
            lines,
            tuple(float(v) for v in spec.c_coincidences or ()),
            source=(
                f"coincidences measured by the training run of {spec.algorithm}; line pulses expected "
                f"for BL={bl}, firing probability {p}"
            ),
        )
    result: dict[str, Any] = estimate(config, counts).as_dict()
    result["algorithm"] = spec.algorithm
    return result


def depth_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """BP versus DFA latency per sample for depths N (cycles from the schedule controller RTL)."""
    from pulsetrain.synth.estimator import depth_study

    spec = spec_from_plain(DepthSpec, plain)
    return {"rows": depth_study(list(spec.depths), technology=spec.technology)}


def train_pulse_inputs(run: TrainingRun, hidden: Sequence[int]) -> dict[str, Any]:
    """Per-layer coincidences per training sample on the fast (or only) array and on C."""
    pulses = run.pulses
    layers = sorted(pulses, key=lambda name: int(name.removeprefix("layer")))
    samples = run.samples_seen
    if not samples:
        return {}
    fast = [float(pulses[layer].get("A", pulses[layer].get("W", 0))) / samples for layer in layers]
    slow = [float(pulses[layer]["C"]) / samples for layer in layers if "C" in pulses[layer]]
    if len(fast) != len(hidden) + 1:
        return {}
    return {"coincidences": tuple(fast), "c_coincidences": tuple(slow) or None}


def _technology(config: ReportConfig) -> str:
    """The technology point, refused here (before any run starts) if the estimator does not know it."""
    technology = config.cost.technology or DEFAULT_TECHNOLOGY
    try:
        importlib.import_module("pulsetrain.synth.technology").load_technology(technology)
    except ImportError as error:
        raise Unavailable(f"pulsetrain.synth.technology cannot be imported ({error})") from None
    except ConfigError as error:
        raise ConfigError(f"cost.technology: {error}") from None
    return technology


def plan(config: ReportConfig) -> list[PartPlan]:
    """The depth study, and one estimate per algorithm planned after training (its pulse counts)."""
    require("pulsetrain.synth.estimator", "estimate", "EstimateConfig", "depth_study")
    technology = _technology(config)
    hidden = config.training.hidden
    network = (DIGITS_INPUTS, *hidden, DIGITS_CLASSES)
    costed = catalogue.algorithm_names(estimator=True)
    algorithms = [a for a in config.training.algorithms if a in costed]
    skipped = [a for a in config.training.algorithms if a not in costed]
    depth = typed_run(depth_run, DepthSpec(depths=DEPTHS, technology=technology), "cost depth study")

    def runs_after(training: list[Any]) -> list[Run]:
        finished = [TrainingRun.from_plain(r) for r in training if not isinstance(r, RunFailure)]
        runs = [depth]
        for algo in algorithms:
            trained = [run for run in finished if run.algo == algo]
            first = trained[0] if trained else None
            spec = EstimateSpec(
                algorithm=algo,
                network=network,
                technology=technology,
                sbe_batch=int(first.config["batch_size"]) if first else 128,
                transfer_every=int(first.config["tiki_taka"]["transfer_every"]) if first else 1,
                use_synthesis=config.cost.use_synthesis,
                **(train_pulse_inputs(first, hidden) if first is not None else {}),
            )
            runs.append(typed_run(estimate_run, spec, f"estimate {algo}"))
        return runs

    def assemble(results: list[Any]) -> PartOutcome:
        return assemble_cost(algorithms, skipped, technology, results)

    after = "training" if config.training.enabled else None
    return [PartPlan(key=KEY, title=TITLE, assemble=assemble, after=after, plan_after=runs_after)]


#: pJ -> J and ns -> s: the summary's SI units from the estimator's.
JOULES_PER_PICOJOULE = 1e-12
SECONDS_PER_NANOSECOND = 1e-9


def _scaled(value: float | None, factor: float) -> float:
    """``value * factor``; an unavailable figure (``None`` in the estimator's JSON) stays NaN, never 0."""
    return math.nan if value is None else value * factor


def _numbers(result: Mapping[str, Any]) -> CostNumbers:
    periphery = [v for k, v in result["area_um2"].items() if k != "arrays"]
    return CostNumbers(
        area_um2=math.nan if None in periphery else sum(periphery),
        total_area_um2=_scaled(result["total_area_um2"], 1.0),
        energy_per_sample_j=_scaled(result["total_energy_per_sample_pJ"], JOULES_PER_PICOJOULE),
        latency_per_sample_s=_scaled(result["total_latency_per_sample_ns"], SECONDS_PER_NANOSECOND),
        latency_source=result["latency_source"],
    )


def _figure(value: float | None) -> str:
    """A table cell: the figure, or ``unavailable`` where the estimator could not measure it."""
    return "unavailable" if value is None or math.isnan(value) else f"{value:.4g}"


def _energy_range(result: Mapping[str, Any]) -> str:
    """The per-sample energy range over the estimator's uncertain inputs (activity, converter FoM)."""
    ranges = result.get("energy_range_pJ") or {}
    if not ranges or any(lo is None or hi is None for lo, hi in ranges.values()):
        return "unavailable"
    low = sum(lo for lo, _ in ranges.values())
    high = sum(hi for _, hi in ranges.values())
    return f"{low:.4g}..{high:.4g}"


def _digital_bound(result: Mapping[str, Any]) -> str:
    """The digital energy with every counted block at random-input activity: a bound, not the estimate."""
    counted = [row for row in (result.get("digital_blocks") or {}).values() if row.get("counted") == "yes"]
    if not counted:
        return "-"
    return _figure(sum(row["leakage_pJ"] + row["random_activity_dynamic_pJ"] for row in counted))


def _tables(estimates: list[dict[str, Any]], numbers: Mapping[str, CostNumbers]) -> list[Table]:
    costs = Table(
        [
            "algorithm",
            "periphery µm²",
            "arrays µm²",
            "energy / sample pJ",
            "energy range pJ",
            "digital pJ (recorded activity)",
            "digital pJ (random-activity bound)",
            "latency / sample ns",
            "cycles / sample",
            "latency from",
        ],
        [
            [
                r["algorithm"],
                _figure(numbers[r["algorithm"]].area_um2),
                _figure(r["area_um2"]["arrays"]),
                _figure(r["total_energy_per_sample_pJ"]),
                _energy_range(r),
                _figure(r["energy_per_sample_pJ"]["digital"]),
                _digital_bound(r),
                _figure(r["total_latency_per_sample_ns"]),
                str(r["cycles_per_sample"]),
                r["latency_source"],
            ]
            for r in estimates
        ],
    )
    notes = Table(
        ["algorithm", "estimator notes (assumptions and sources)"],
        [[r["algorithm"], "; ".join(r.get("notes", ())) or "-"] for r in estimates],
    )
    return [costs, notes, _not_costed_table(estimates), _unverified_table(estimates)]


def _not_costed_table(estimates: list[dict[str, Any]]) -> Table:
    """What the estimates leave out on purpose, and why: a 0 on this page is never a silent one."""
    rows: dict[tuple[str, str], list[str]] = {}
    for r in estimates:
        for what, why in (r.get("not_costed") or {}).items():
            rows.setdefault((what, why), []).append(r["algorithm"])
    return Table(
        ["not costed", "why", "algorithms"],
        [[what, why, ", ".join(algorithms)] for (what, why), algorithms in rows.items()]
        or [["-", "every part of the periphery is costed", "-"]],
    )


def _unverified_table(estimates: list[dict[str, Any]]) -> Table:
    """Every technology figure the estimates rest on whose source is an assumption: "not verified here"."""
    entries = sorted({entry for r in estimates for entry in r.get("unverified") or ()})
    technologies = sorted({str(r.get("technology", "")) for r in estimates})
    return Table(
        ["technology figure", "status"],
        [
            [entry, f"not verified here (an assumption of the {', '.join(technologies)} table)"]
            for entry in entries
        ]
        or [["-", "every figure cites a checked source"]],
    )


def assemble_cost(
    algorithms: list[str], skipped: list[str], technology: str, results: list[Any]
) -> PartOutcome:
    """The breakdown plot and tables per algorithm, and the depth plot."""
    section = Section(
        KEY,
        TITLE,
        intro=(
            f"pulsetrain estimate --network 64-...-10 --algo NAME --tech {technology}, with the coincidences "
            "per sample measured by each algorithm's training run above. Periphery area: everything but "
            "the arrays (ADCs, drivers, digital periphery, buffers). Figures whose source is an assumption "
            "are listed below as not verified here."
        ),
    )
    estimates = [r for r in results if not isinstance(r, RunFailure) and "algorithm" in r]
    depth = next((r for r in results if not isinstance(r, RunFailure) and "rows" in r), None)
    failed = failures(results)
    section.notes.extend(f"not available: {failure.label}: {failure.error}" for failure in failed)
    section.notes.extend(
        f"{name}: not costed (the estimator models analog tiles; {name} has none)" for name in skipped
    )
    section.notes.extend(
        f"{r['algorithm']}: {category} unavailable ({reason}); the totals that need it are unavailable too"
        for r in estimates
        for category, reason in (r.get("unavailable") or {}).items()
    )
    numbers = {result["algorithm"]: _numbers(result) for result in estimates}
    if estimates:
        section.plots.append(_breakdown_plot(estimates))
        section.tables.extend(_tables(estimates, numbers))
    if depth is not None:
        section.plots.append(_depth_plot(depth["rows"]))
    if not estimates and depth is None:
        section.unavailable = failure_text(failed) if failed else "no estimate ran"
    data = CostData(status="ok" if estimates else "not available", estimates=estimates, depth=depth)
    return PartOutcome(section=section, data=data, algorithms=numbers)


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
                # an unavailable figure is left out of the bar (the notes and tables say so), not drawn as 0
                values = [float(r[key][category] or 0.0) for r in estimates]
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


PART = Part(key=KEY, title=TITLE, switch="cost", plan=plan)
