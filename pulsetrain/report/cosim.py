"""Report part ``cosim``: one algorithm's periphery with the RTL in the loop, decision by decision against
the model (:mod:`pulsetrain.cosim.training`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulsetrain.report.config import ReportConfig
from pulsetrain.report.page import Plot, Section, Table, figure_png
from pulsetrain.report.part import (
    Part,
    PartData,
    PartOutcome,
    PartPlan,
    Unavailable,
    failed_outcome,
    failures,
    require,
    short,
    spec_from_plain,
    typed_run,
)
from pulsetrain.report.training import algorithm_sets

KEY = "cosim"
TITLE = "RTL in the loop: the periphery's decisions against the model"


@dataclass(frozen=True, kw_only=True)
class CosimSpec:
    """One RTL-in-the-loop training run (``pulsetrain cosim``)."""

    #: algorithm whose periphery decisions the simulated RTL serves
    algo: str
    #: seed of the run and of the pure-model run it is compared with
    seed: int
    #: hidden layer widths
    hidden: tuple[int, ...]
    #: TrainConfig overrides ``key=value``
    sets: tuple[str, ...]
    #: training samples with the RTL in the loop
    samples: int
    #: HDL simulator
    simulator: str


@dataclass(frozen=True, kw_only=True)
class CosimData(PartData):
    """results.json's ``cosim`` entry: the run's result as :func:`run_training_cosim` returned it."""

    #: decision counts, mismatches, accuracies, cycles and timings of the run
    result: dict[str, Any]


def cosim_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Train with every periphery decision served by the simulated RTL, against the pure-model run."""
    from pulsetrain.cosim.training import CosimRequest, run_training_cosim

    spec = spec_from_plain(CosimSpec, plain)
    request = CosimRequest(
        options={
            "algo": spec.algo,
            "seed": spec.seed,
            "network.hidden": ",".join(str(width) for width in spec.hidden),
        },
        sets=spec.sets,
        samples=spec.samples,
        simulator=spec.simulator,
    )
    result = run_training_cosim(request)
    # paths into this machine's build folder mean nothing in a cache shared with other machines
    return {k: v for k, v in result.items() if k not in ("log",)}


def plan(config: ReportConfig) -> list[PartPlan]:
    """One run, if the simulator is installed."""
    part = config.cosim
    require("pulsetrain.cosim.training", "run_training_cosim", "CosimRequest")
    runner = require("pulsetrain.cosim.runner", "unavailable_reason", "parse_simulator")
    reason = runner.unavailable_reason(runner.parse_simulator(part.simulator))
    if reason is not None:
        raise Unavailable(f"simulator {part.simulator}: {reason}")
    spec = CosimSpec(
        algo=part.algorithm,
        seed=part.seed,
        hidden=part.hidden or config.training.hidden,
        sets=(*algorithm_sets(part.algorithm, config.training.device), *config.training.train_set),
        samples=part.samples,
        simulator=part.simulator,
    )
    run = typed_run(cosim_run, spec, f"cosim {part.algorithm} {part.samples} samples")

    def assemble(results: list[Any]) -> PartOutcome:
        return assemble_cosim(config, results)

    return [PartPlan(key=KEY, title=TITLE, runs=(run,), assemble=assemble)]


def _rows(algorithm: str, result: Mapping[str, Any]) -> list[list[str]]:
    same_weights = result.get("weights_sha256") is not None and (
        result.get("weights_sha256") == result.get("model_weights_sha256")
    )
    return [
        ["algorithm", algorithm],
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
        ["test accuracy after these samples, RTL in the loop", short(result.get("test_accuracy"))],
        ["test accuracy after these samples, pure model", short(result.get("model_test_accuracy"))],
        ["simulated clock cycles", f"{result.get('cycles', 0):,}"],
        ["simulation wall seconds", short(result.get("wall_seconds"))],
        ["Verilog build seconds", short(result.get("build_seconds"))],
    ]


def assemble_cosim(config: ReportConfig, results: list[Any]) -> PartOutcome:
    """The comparison table and the agreement plot."""
    part = config.cosim
    section = Section(
        KEY,
        TITLE,
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
    failed = failures(results)
    if failed:
        return failed_outcome(section, failed)
    (result,) = results
    section.tables.append(Table(["", "value"], _rows(part.algorithm, result)))
    section.plots.append(_agreement_plot(result))
    return PartOutcome(section=section, data=CosimData(status="ok", result=result))


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


PART = Part(key=KEY, title=TITLE, switch="cosim", plan=plan)
