"""Studies of the learning algorithms: ``pulsetrain experiment {offset-sweep,bp-vs-dfa,sbe-batch,defaults}``.

Each study is a list of independent, pure runs (a plain-data spec in, a plain-data result out), so that
they can go to local processes or a Dask cluster through :class:`pulsetrain.executor.Executor` and be
cached:

* :func:`plan` ``(study, quick, seeds) -> list[spec]``: the final runs of a study (``--quick``: minutes on
  one core; otherwise the real study); a spec with a ``tune_group`` gets its learning rate from the
  validation runs (:mod:`pulsetrain.model.study_tuning`: chosen on a fifth of the *training* set, never
  on the test set), which :func:`run_study` runs first;
* :func:`run_one` ``(spec) -> dict``: one run (:mod:`pulsetrain.model.study_runs`);
* :func:`summarize` ``(study, results) -> dict``: the study's table and claims
  (:mod:`pulsetrain.model.study_summaries`);
* :func:`plot` ``(study, summary, path)``: one PNG (:mod:`pulsetrain.model.study_plots`).

Parameters of every study: :mod:`pulsetrain.model.study_settings`. Every study names its weight mapping
(:class:`pulsetrain.model.tile.WeightMapping`) in its runs' settings.

``offset-sweep``
    Rasch et al. (arXiv 2303.04721): soft-bounds devices with 50 states, reference offset σ_r from 0 to
    0.5 of w_max, TTv2 / c-TTv2 / AGAD at their one shared default (``TikiTakaSettings``, the same that
    ``pulsetrain train`` and the defaults study use; no per-study override): digits test accuracy and
    the weight error ``|W - W*| / |W*|`` of one layer learning a known linear map.
``bp-vs-dfa``
    Wolters et al. (arXiv 2212.14337): BP (analog SGD) and DFA along a ladder of growing periphery and
    device non-idealities (DAC/ADC bits, output noise, device-to-device up/down asymmetry, states,
    soft-bounds non-linearity) on NeuroSim's weight mapping, with the hidden activation an explicit axis,
    the learning rate chosen per algorithm, network and activation on the validation split; each
    non-ideality of the harshest level alone on the deep network (:data:`FACTORS`), and the per-sample
    latency of both schedules by depth.
``sbe-batch``
    Hoskins et al. (arXiv 1903.01635): analog SGD (one rank-1 array update per sample) against SBE of
    rank 1, 2, 4 at batch sizes 1..1024, lr chosen per (algorithm, batch, rank) on the validation split:
    rank-1 array updates to a target training accuracy (resolved to the training step) against
    mini-batch SGD at the same batch and against per-sample SGD (batch 1), and the test accuracy.
``defaults``
    Each algorithm at its defaults on digits, 64-32-10, 30 epochs, soft-bounds devices (batch 1; SBE at
    batch 16): a study of the defaults, so nothing is tuned.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from pulsetrain.model.study_plots import plot
from pulsetrain.model.study_runs import regression_weight_error, run_one
from pulsetrain.model.study_settings import (
    ACTIVATIONS,
    ACTIVATIONS_QUICK,
    DATASET_FEATURES,
    DATASET_NETWORKS,
    DEFAULTS_OVERRIDES,
    DEPTHS,
    FACTOR_NETWORK,
    FACTORS,
    LR_GRID,
    LR_GRID_QUICK,
    MNIST_TRAIN_SAMPLES_QUICK,
    NETWORKS,
    NETWORKS_QUICK,
    NONIDEALITY_LADDER,
    OFFSET_STATES,
    OFFSETS_FULL,
    OFFSETS_QUICK,
    REFERENCE_LR,
    REGRESSION_STEPS_FULL,
    REGRESSION_STEPS_QUICK,
    SBE_BATCHES_FULL,
    SBE_BATCHES_QUICK,
    SBE_LR_FACTORS,
    SBE_RANKS_FULL,
    SBE_RANKS_QUICK,
    SBE_TARGET_ACCURACY,
    SOFT_BOUNDS_MAPPING,
    STUDIES,
    TIKI_TAKA_FAMILY,
    TUNE_LEVEL,
    factor_sets,
    ladder_sets,
    sbe_epochs,
    sbe_learning_rate,
)
from pulsetrain.model.study_summaries import summarize
from pulsetrain.model.study_tuning import choose, tuning_specs, with_chosen

from pulsetrain.config import ConfigError, check_choice
from pulsetrain.results import write_json

Spec = dict[str, Any]


def _train_spec(study: str, label: str, sets: Sequence[str], seed: int, **info: Any) -> Spec:
    return {
        "study": study,
        "kind": "train",
        "label": label,
        "sets": [*sets, f"seed={seed}"],
        "seed": seed,
        **info,
    }


def plan(
    study: str,
    quick: bool = False,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    networks: Sequence[str] | None = None,
    activations: Sequence[str] | None = None,
    dataset: str | None = None,
) -> list[Spec]:
    """The final runs of ``study`` (``quick``: minutes in total on one core), before tuning.

    ``networks``, ``activations`` and ``dataset`` (bp-vs-dfa only) replace the size's lists
    (:data:`DATASET_NETWORKS` or :data:`NETWORKS_QUICK`, :data:`ACTIVATIONS` or
    :data:`ACTIVATIONS_QUICK`) and digits; None keeps them.
    """
    check_choice("study", study, STUDIES)
    if not seeds:
        raise ConfigError("seeds must name at least one seed")
    if study != "bp-vs-dfa" and (networks, activations, dataset) != (None, None, None):
        raise ConfigError(f"networks, activations and dataset choose bp-vs-dfa's runs only, not {study!r}'s")
    if study == "bp-vs-dfa":
        return _plan_bp_vs_dfa(quick, tuple(seeds), *_bp_vs_dfa_axes(quick, networks, activations, dataset))
    planners = {"offset-sweep": _plan_offset_sweep, "sbe-batch": _plan_sbe, "defaults": _plan_defaults}
    return planners[study](quick, tuple(seeds))


def _plan_offset_sweep(quick: bool, seeds: tuple[int, ...]) -> list[Spec]:
    study = "offset-sweep"
    epochs = 8 if quick else 30
    device = ("device.kind=soft-bounds", f"device.dw_min={2.0 / OFFSET_STATES!r}")
    specs: list[Spec] = []
    for algo in TIKI_TAKA_FAMILY:
        for offset in OFFSETS_QUICK if quick else OFFSETS_FULL:
            for seed in seeds:
                sets = (
                    f"algo={algo}",
                    *device,
                    f"device.reference_offset_std={offset!r}",
                    f"epochs={epochs}",
                )
                info = {"algo": algo, "offset": offset}
                specs.append(
                    _train_spec(study, f"{algo} σr={offset}", (*sets, *SOFT_BOUNDS_MAPPING), seed, **info)
                )
                specs.append(
                    {
                        "study": study,
                        "kind": "regression",
                        "label": f"{algo} σr={offset} regression",
                        **info,
                        "states": OFFSET_STATES,
                        "steps": REGRESSION_STEPS_QUICK if quick else REGRESSION_STEPS_FULL,
                        "seed": seed,
                        "sets": [],
                    }
                )
    return specs


def _bp_and_dfa(
    network: str,
    activation: str,
    label: str,
    extra: Sequence[str],
    *,
    epochs: int,
    seeds: tuple[int, ...],
    grid: Sequence[float],
    tune: bool,
    data: tuple[str, int | None] | None = None,
    **info: Any,
) -> list[Spec]:
    """One run per algorithm (BP as analog SGD, DFA) and seed, lr from the group's validation choice;
    ``data``: (data set, training samples or None) where not digits."""
    hidden = ",".join(str(h) for h in NETWORKS[network])
    if data is not None:
        extra = (*extra, f"dataset={data[0]}")
        info |= {"dataset": data[0]} | ({} if data[1] is None else {"train_samples": data[1]})
    specs = []
    for algo in ("sgd", "dfa"):
        for seed in seeds:
            sets = (
                f"algo={algo}",
                f"network.hidden={hidden}",
                f"network.activation={activation}",
                f"epochs={epochs}",
                f"lr={REFERENCE_LR!r}",  # replaced by the group's validation choice in run_study
            )
            spec = _train_spec(
                "bp-vs-dfa",
                f"{algo} {network} {activation} {label}",
                (*sets, *extra),
                seed,
                algo=algo,
                network=network,
                activation=activation,
                **info,
            )
            spec |= {"tune_group": f"{algo} {network} {activation}", "lr_grid": list(grid)}
            spec["tune_on"] = tune and seed == seeds[0]
            specs.append(spec)
    return specs


def _bp_vs_dfa_axes(
    quick: bool, networks: Sequence[str] | None, activations: Sequence[str] | None, dataset: str | None
) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """bp-vs-dfa's networks, activations and data set, checked (the networks' input against the data)."""
    data = dataset or "digits"
    check_choice("dataset", data, tuple(DATASET_NETWORKS))
    default = NETWORKS_QUICK if quick and data == "digits" else DATASET_NETWORKS[data]
    nets = tuple(networks) if networks is not None else default
    acts = tuple(activations) if activations is not None else ACTIVATIONS_QUICK if quick else ACTIVATIONS
    for name, chosen, allowed in (("network", nets, tuple(NETWORKS)), ("activation", acts, ACTIVATIONS)):
        if not chosen:
            raise ConfigError(f"{name}s must name at least one of {', '.join(allowed)}")
        for item in chosen:
            check_choice(name, item, allowed)
    for net in nets:
        if int(net.split("-")[0]) != DATASET_FEATURES[data]:
            raise ConfigError(
                f"network {net} takes {net.split('-')[0]} inputs; dataset {data} has {DATASET_FEATURES[data]}"
                f" (its networks: {', '.join(DATASET_NETWORKS[data])})"
            )
    return nets, acts, data


def _plan_bp_vs_dfa(
    quick: bool,
    seeds: tuple[int, ...],
    networks: tuple[str, ...],
    activations: tuple[str, ...],
    dataset: str = "digits",
) -> list[Spec]:
    levels = (0, TUNE_LEVEL, len(NONIDEALITY_LADDER) - 1) if quick else tuple(range(len(NONIDEALITY_LADDER)))
    common: dict[str, Any] = {
        "epochs": 8 if quick else 20,
        "seeds": seeds,
        "grid": LR_GRID_QUICK if quick else LR_GRID,
    }
    if dataset != "digits":
        # MNIST-class data: the dataset in every run's settings; the quick size on a training subset
        common["data"] = (dataset, MNIST_TRAIN_SAMPLES_QUICK if quick else None)
    specs: list[Spec] = []
    for network in networks:
        for activation in activations:
            for level in levels:
                specs += _bp_and_dfa(
                    network,
                    activation,
                    f"level{level}",
                    ladder_sets(level),
                    tune=level == TUNE_LEVEL,
                    level=level,
                    **common,  # type: ignore[arg-type]
                )
            if quick or network != FACTOR_NETWORK:
                continue
            for factor in FACTORS:
                runs = _bp_and_dfa(
                    network,
                    activation,
                    f"{factor} alone",
                    factor_sets(factor),
                    tune=False,
                    factor=factor,
                    **common,  # type: ignore[arg-type]
                )
                specs += [{**spec, "kind": "factor"} for spec in runs]
    specs.append(
        {"study": "bp-vs-dfa", "kind": "latency", "label": "latency by depth", "depths": list(DEPTHS)}
    )
    return specs


def _plan_sbe(quick: bool, seeds: tuple[int, ...]) -> list[Spec]:
    batches = SBE_BATCHES_QUICK if quick else SBE_BATCHES_FULL
    # per-sample analog SGD (batch 1) is the second reference of every batch
    sgd_batches = sorted({1, *batches})
    specs: list[Spec] = []
    for batch in sgd_batches:
        algos = [("sgd", 0)] + (
            [("sbe", k) for k in (SBE_RANKS_QUICK if quick else SBE_RANKS_FULL)] if batch in batches else []
        )
        for algo, rank in algos:
            if algo == "sbe" and batch == 1:
                continue  # at batch 1 SBE is analog SGD
            grid = [sbe_learning_rate(batch) * factor for factor in SBE_LR_FACTORS]
            for seed in seeds:
                sets = [
                    f"algo={algo}",
                    f"batch_size={batch}",
                    f"epochs={sbe_epochs(batch, quick)}",
                    f"lr={sbe_learning_rate(batch)!r}",  # replaced by the validation choice in run_study
                    *SOFT_BOUNDS_MAPPING,
                ]
                if algo == "sbe":
                    sets.append(f"sbe.rank={rank}")
                label = f"{algo}{rank or ''} batch{batch}"
                spec = _train_spec("sbe-batch", label, sets, seed, algo=algo, batch=batch, rank=rank)
                spec |= {"tune_group": label, "lr_grid": grid, "tune_on": seed == seeds[0]}
                spec["target_train_accuracy"] = SBE_TARGET_ACCURACY
                specs.append(spec)
    return specs


def _plan_defaults(quick: bool, seeds: tuple[int, ...]) -> list[Spec]:
    epochs = 5 if quick else 30
    return [
        _train_spec(
            "defaults",
            f"{algo} defaults",
            (f"algo={algo}", "device.kind=soft-bounds", f"epochs={epochs}", *SOFT_BOUNDS_MAPPING, *extra),
            seed,
            algo=algo,
        )
        for algo, extra in DEFAULTS_OVERRIDES.items()
        for seed in seeds
    ]


# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------


def source_commit() -> str:
    """The git commit of this checkout (``+dirty`` when tracked files differ), or ``unknown``."""
    folder = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def run_study(
    study: str,
    *,
    quick: bool = False,
    seeds: Sequence[int] = (0, 1, 2),
    workers: int = 1,
    scheduler: str | None = None,
    cache_dir: str | Path | None = None,
    on_result: Callable[[Any], None] | None = None,
    networks: Sequence[str] | None = None,
    activations: Sequence[str] | None = None,
    dataset: str | None = None,
) -> dict[str, Any]:
    """Plan, tune on the validation split, run (through :class:`pulsetrain.executor.Executor`) and
    summarize ``study``; the document records the commit it ran on and every tuning choice.

    ``networks``, ``activations``, ``dataset``: bp-vs-dfa's axes, as in :func:`plan` (recorded in the
    document when given).
    """
    from pulsetrain.executor import Executor, Run

    commit = source_commit()  # before the runs: the code they run, even if the tree changes meanwhile
    given = {"networks": networks, "activations": activations, "dataset": dataset}
    axes: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    specs = plan(study, quick, seeds, **axes)
    with Executor(workers=workers, scheduler=scheduler, cache_dir=cache_dir) as executor:
        tuning = tuning_specs(specs)
        tuning_results = executor.map([Run(run_one, s, label=str(s["label"])) for s in tuning], on_result)
        chosen = choose(tuning_results)
        final = with_chosen(specs, chosen)
        results = executor.map([Run(run_one, s, label=str(s["label"])) for s in final], on_result)
    summary = summarize(study, results)
    summary["tuning"] = chosen or "none: this study runs fixed settings by design"
    return {
        "study": study,
        "quick": quick,
        "seeds": list(seeds),
        **{name: value if isinstance(value, str) else list(value) for name, value in axes.items()},
        "commit": commit,
        "summary": summary,
        "tuning_results": tuning_results,
        "results": results,
    }


def _parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.replace(" ", ",").split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"--seeds must be integers separated by commas, not {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise ConfigError(f"--seeds must name at least one non-negative seed, not {text!r}")
    return seeds


def _parse_names(text: str | None) -> tuple[str, ...] | None:
    """A comma-separated list of names (checked by :func:`plan`), or None."""
    return None if text is None else tuple(part.strip() for part in text.split(","))


@click.command("experiment")
@click.argument("study", type=click.Choice(STUDIES))
@click.option("--quick", is_flag=True, help="A scaled-down version that finishes in minutes.")
@click.option("--seeds", default="0,1,2", show_default=True, help="Seeds, comma separated.")
@click.option(
    "--json", "json_path", default=None, help="Write summary and all run results to this JSON file."
)
@click.option("--plot", "plot_path", default=None, help="Write the study's figure to this PNG file.")
@click.option("--workers", default=1, show_default=True, help="Local worker processes.")
@click.option(
    "--scheduler", default=None, help="Dask scheduler address (tcp://host:port) instead of local workers."
)
@click.option("--cache-dir", default=None, help="Cache finished runs here (a rerun only reads them).")
@click.option(
    "--networks",
    default=None,
    help=f"bp-vs-dfa only: networks, comma separated, of {', '.join(NETWORKS)} (default: the size's list).",
)
@click.option(
    "--activations",
    default=None,
    help=f"bp-vs-dfa only: activations, comma separated, of {', '.join(ACTIVATIONS)} (default: the size's).",
)
@click.option(
    "--dataset",
    default=None,
    help=f"bp-vs-dfa only: the data set, one of {', '.join(DATASET_NETWORKS)} (default: digits).",
)
def experiment(
    study: str,
    quick: bool,
    seeds: str,
    json_path: str | None,
    plot_path: str | None,
    workers: int,
    scheduler: str | None,
    cache_dir: str | None,
    networks: str | None,
    activations: str | None,
    dataset: str | None,
) -> None:
    """Run a study of the learning algorithms and print its claims."""
    seed_list = _parse_seeds(seeds)
    given = {"networks": _parse_names(networks), "activations": _parse_names(activations), "dataset": dataset}
    axes: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    specs = plan(study, quick, seed_list, **axes)
    total = len(specs) + len(tuning_specs(specs))
    done = [0]

    def progress(record: Any) -> None:
        done[0] += 1
        cached = ", cached" if record.cached else ""
        click.echo(f"[{done[0]}/{total}] {record.label} ({record.seconds:.1f} s{cached})", err=True)

    document = run_study(
        study,
        quick=quick,
        seeds=seed_list,
        workers=workers,
        scheduler=scheduler,
        cache_dir=cache_dir,
        on_result=progress,
        **axes,
    )
    summary = document["summary"]
    click.echo(json.dumps(summary["claims"], indent=2, default=float))
    if json_path is not None:
        write_json(json_path, document)
    if plot_path is not None:
        plot(study, summary, plot_path)


__all__ = [
    "FACTORS",
    "STUDIES",
    "experiment",
    "factor_sets",
    "ladder_sets",
    "plan",
    "plot",
    "regression_weight_error",
    "run_one",
    "run_study",
    "source_commit",
    "summarize",
]
