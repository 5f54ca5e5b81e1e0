"""Studies of the learning algorithms: ``pulsetrain experiment {offset-sweep,bp-vs-dfa,sbe-batch,defaults}``.

Each study is a list of independent, pure runs (a plain-data spec in, a plain-data result out), so that
they can go to local processes or a Dask cluster through :class:`pulsetrain.executor.Executor` and be
cached:

* :func:`plan` ``(study, quick, seeds) -> list[spec]``: the runs of a study (``--quick``: a few minutes
  on one core; otherwise the real study);
* :func:`run_one` ``(spec) -> dict``: one run (module-level, picklable);
* :func:`summarize` ``(study, results) -> dict``: the study's table and claims, checked;
* :func:`plot` ``(study, summary, path)``: one PNG (matplotlib, Agg backend).

Studies (claims from ALGORITHMS.md §2 and issue 3):

``offset-sweep``
    Rasch et al. 2023 (arXiv 2303.04721): soft-bounds devices with few states, reference offset σ_r
    from 0 to 0.5 of the weight range. For TTv2, c-TTv2 and AGAD: final test accuracy on digits and the
    *weight error* ``|W - W*| / |W*|`` of one layer learning a known linear map ``y = W* x`` (the task on
    which the paper measures weight errors; digits has no known target weights). Expected: TTv2 degrades
    as σ_r grows, c-TTv2 holds longer, AGAD is nearly flat.
``bp-vs-dfa``
    Wolters et al. 2023 (arXiv 2212.14337): accuracy of backpropagation (analog SGD) and DFA along a
    ladder of growing periphery and device non-idealities (DAC/ADC bits, output noise, up/down
    asymmetry, number of states), on 64-32-10 and 64-32-32-32-10; and the per-sample latency in
    periphery cycles of both schedules for depth N = 2..6 (:func:`pulsetrain.model.schedule.
    latency_by_depth`): DFA/BP speed-up approaching N. The full study also runs each non-ideality of
    the harshest level alone on the deep network (:data:`FACTORS`): which one costs BP its lead.
``sbe-batch``
    Hoskins et al. 2019 (arXiv 1903.01635): mini-batch analog SGD (one rank-1 array update per sample)
    versus SBE of rank 1, 2, 4 (rank updates per batch) at batch sizes 1..1024: rank-1 array updates
    needed to reach a target training accuracy, and the final test accuracy. The paper reports ~20x
    fewer updates at batch 128 on MNIST.
``defaults``
    Each algorithm at its default settings on digits, 64-32-10, 30 epochs, soft-bounds devices with
    default non-idealities (batch 1; SBE at batch 16).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import click
import numpy as np

from pulsetrain import catalogue
from pulsetrain.config import ConfigError, apply_overrides, check_choice, parse_set_options
from pulsetrain.results import write_json

STUDIES = ("offset-sweep", "bp-vs-dfa", "sbe-batch", "defaults")

Spec = dict[str, Any]

# --------------------------------------------------------------------------------------------------
# Study parameters (one place; the quick size is a scaled-down copy of the real one)
# --------------------------------------------------------------------------------------------------

#: The three offset-corrected family members compared in the offset sweep.
TIKI_TAKA_FAMILY = catalogue.algorithm_names(family=catalogue.AlgorithmFamily.TIKI_TAKA)
#: σ_r values of the sweep (fraction of the device's nominal w_max), as in Rasch et al. 2023 (0 .. 0.5).
OFFSETS_FULL = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
OFFSETS_QUICK = (0.0, 0.3)
#: Number of device states of the offset sweep ("few states": Rasch et al. use ~20-100).
OFFSET_STATES = 50
#: Transfer rate of the whole family in the full sweep (``tiki_taka.transfer_lr``; the quick sweep keeps
#: the default 0.3). c-TTv2 cancels a reference offset only where its chopper flips several times before
#: the offset alone fills H to the threshold: the fill per half chopper period, ``lr * transfer_lr *
#: σ_r * w_max / (in_chop_prob * dw_min)`` pulses, must stay well below 1. With the defaults it is 1.1 at
#: σ_r = 0.3 on the sweep's 50-state devices, so the offset reaches C as a ±1-pulse jitter every half
#: period, and c-TTv2's accuracy is no better than TTv2's (digits, σ_r = 0.3, 30 epochs, seeds 0-2:
#: TTv2 85.8 %, c-TTv2 86.1 %). At 0.1 (fill 0.375; 30 epochs, seeds 0-2, TTv2 / c-TTv2 / AGAD):
#: σ_r = 0: 93.1 / 94.8 / 96.0 %, σ_r = 0.3: 86.9 / 90.6 / 95.0 %, σ_r = 0.5: 78.5 / 87.2 / 95.3 %;
#: weight error (12000 samples) 0.13 / 0.16 / 0.13, 0.80 / 0.22 / 0.13, 1.59 / 0.32 / 0.13. A faster
#: chopper (in_chop_prob 0.3, c-TTv2 89.5 %) works too but discards more of A's gradient at each flip.
#: The slower transfer needs more than the quick sweep's 8 epochs (at epoch 8 c-TTv2 84.1 %, TTv2
#: 87.7 %), hence the quick sweep's default rate.
OFFSET_TRANSFER_LR_FULL = 0.1
#: The linear-regression task of the weight-error measurement: layer size, training samples.
REGRESSION_SIZE = 16
REGRESSION_STEPS_FULL = 12_000
REGRESSION_STEPS_QUICK = 4_000

#: The non-ideality ladder of the BP-versus-DFA study: level -> (DAC bits, ADC bits, output noise,
#: up/down asymmetry, device states); level 0 is an ideal periphery on a fine device, level 2 is about
#: the default periphery. Measured limits that shaped it (analog SGD, 3 epochs, constant-step devices):
#: an up/down asymmetry of 0.3 alone drops accuracy to ~26 % (the drift of unbalanced steps), while a
#: 7-bit ADC, a 5-bit DAC or output noise 0.1 alone each keep ~91-94 %; all together with asymmetry
#: 0.15 and 60 states leave ~25 % for both. The ladder grows all knobs together and stops where BP still
#: learns (level 4: ~80 % for BP after 4 epochs).
NONIDEALITY_LADDER: tuple[tuple[int | None, int | None, float, float, int], ...] = (
    (None, None, 0.0, 0.0, 2000),
    (8, 10, 0.02, 0.02, 600),
    (7, 9, 0.06, 0.05, 200),
    (6, 8, 0.08, 0.1, 100),
    (5, 8, 0.1, 0.12, 80),
)
#: Each non-ideality of the harshest ladder level alone, the others at level 0 (full study, deep network
#: only): which one costs BP its lead over DFA. ``periphery``: the DAC, ADC and output noise of both read
#: directions; ``asymmetry``: the up/down asymmetry; ``states``: the number of device states.
#: Measured (the factor runs, 64-32-32-32-10, 20 epochs, seeds 0-2; BP / DFA): periphery 95.3 / 95.3 %,
#: asymmetry 92.5 / 90.6 %, states 15.6 / 89.3 %. The coarse states alone break deep BP, not the backward
#: periphery: with 80 states every pulse moves a weight by 0.075 (output scale 3), the pulse noise makes
#: the weights diffuse (rms 0.3 -> 1, 79 % of the first layer's pre-activations beyond |4|), the saturated
#: sigmoids zero BP's error through three layers, and the lower layers stop being pulled back. The same
#: devices on 64-32-10: BP 95.3 %, DFA 86.4 %.
FACTORS = ("periphery", "asymmetry", "states")
#: the network on which the factors are separated
FACTOR_NETWORK = "64-32-32-32-10"
NETWORKS = {"64-32-10": (32,), "64-32-32-32-10": (32, 32, 32)}
DEPTHS = (2, 3, 4, 5, 6)

#: Batch sizes of the SBE study and the learning rate used at each (scaled with the batch: the loss is
#: the batch mean, so the change per sample shrinks as 1/batch at a fixed lr).
SBE_BATCHES_FULL = (1, 4, 16, 64, 128, 256, 1024)
SBE_BATCHES_QUICK = (16, 128)
SBE_RANKS_FULL = (1, 2, 4)
SBE_RANKS_QUICK = (1,)
#: target training accuracy for the "array updates to target" count
SBE_TARGET_ACCURACY = 0.90


def sbe_learning_rate(batch: int) -> float:
    """Learning rate at ``batch``: 0.1 at batch 1, growing as sqrt(batch), at most 3."""
    return float(min(0.1 * np.sqrt(batch), 3.0))


def sbe_epochs(batch: int, quick: bool) -> int:
    """Epochs at ``batch``: larger batches take more passes (fewer steps per pass)."""
    if quick:
        return 12 if batch <= 16 else 25
    return min(20 + 5 * round(np.log2(max(batch, 1))), 80)


#: Per-algorithm settings of the ``defaults`` study beyond the TrainConfig defaults.
DEFAULTS_OVERRIDES: dict[str, tuple[str, ...]] = {
    "ttv2": (),
    "c-ttv2": (),
    "agad": (),
    "dfa": (),
    "sbe": ("batch_size=16", f"lr={sbe_learning_rate(16)}"),
    "sgd": (),
}


# --------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------


def _train_spec(study: str, label: str, sets: Sequence[str], seed: int, **info: Any) -> Spec:
    return {
        "study": study,
        "kind": "train",
        "label": label,
        "sets": [*sets, f"seed={seed}"],
        "seed": seed,
        **info,
    }


def plan(study: str, quick: bool = False, seeds: Sequence[int] = (0, 1, 2)) -> list[Spec]:
    """The independent runs of ``study`` (``quick``: a few minutes in total on one core)."""
    check_choice("study", study, STUDIES)
    if not seeds:
        raise ConfigError("seeds must name at least one seed")
    specs: list[Spec] = []
    if study == "offset-sweep":
        offsets = OFFSETS_QUICK if quick else OFFSETS_FULL
        epochs = 8 if quick else 30
        device = ("device.kind=soft-bounds", f"device.dw_min={2.0 / OFFSET_STATES!r}")
        family = () if quick else (f"tiki_taka.transfer_lr={OFFSET_TRANSFER_LR_FULL!r}",)
        for algo in TIKI_TAKA_FAMILY:
            for offset in offsets:
                for seed in seeds:
                    sets: tuple[str, ...] = (
                        f"algo={algo}",
                        *device,
                        f"device.reference_offset_std={offset!r}",
                        f"epochs={epochs}",
                        *family,
                    )
                    specs.append(
                        _train_spec(study, f"{algo} σr={offset}", sets, seed, algo=algo, offset=offset)
                    )
                    specs.append(
                        {
                            "study": study,
                            "kind": "regression",
                            "label": f"{algo} σr={offset} regression",
                            "algo": algo,
                            "offset": offset,
                            "states": OFFSET_STATES,
                            "steps": REGRESSION_STEPS_QUICK if quick else REGRESSION_STEPS_FULL,
                            "seed": seed,
                            "sets": list(family),
                        }
                    )
    elif study == "bp-vs-dfa":
        levels = (0, 2, 4) if quick else tuple(range(len(NONIDEALITY_LADDER)))
        networks = ("64-32-10",) if quick else tuple(NETWORKS)
        epochs = 4 if quick else 20

        def bp_and_dfa(network: str, label: str, extra: Sequence[str], **info: Any) -> list[Spec]:
            """One run per algorithm (BP as analog SGD, DFA) and seed on ``network`` with ``extra`` sets."""
            hidden = ",".join(str(h) for h in NETWORKS[network])
            return [
                _train_spec(
                    study,
                    f"{algo} {network} {label}",
                    (f"algo={algo}", f"network.hidden={hidden}", f"epochs={epochs}", *extra),
                    seed,
                    algo=algo,
                    network=network,
                    **info,
                )
                for algo in ("sgd", "dfa")
                for seed in seeds
            ]

        for network in networks:
            for level in levels:
                specs += bp_and_dfa(network, f"level{level}", ladder_sets(level), level=level)
        if not quick:
            for factor in FACTORS:
                factor_runs = bp_and_dfa(
                    FACTOR_NETWORK, f"{factor} alone", factor_sets(factor), factor=factor
                )
                specs += [{**spec, "kind": "factor"} for spec in factor_runs]
        specs.append({"study": study, "kind": "latency", "label": "latency by depth", "depths": list(DEPTHS)})
    elif study == "sbe-batch":
        batches = SBE_BATCHES_QUICK if quick else SBE_BATCHES_FULL
        ranks = SBE_RANKS_QUICK if quick else SBE_RANKS_FULL
        for batch in batches:
            common = (
                f"batch_size={batch}",
                f"lr={sbe_learning_rate(batch)!r}",
                f"epochs={sbe_epochs(batch, quick)}",
            )
            for seed in seeds:
                specs.append(
                    _train_spec(
                        study,
                        f"sgd batch{batch}",
                        ("algo=sgd", *common),
                        seed,
                        algo="sgd",
                        batch=batch,
                        rank=0,
                    )
                )
                for rank in ranks:
                    sets = ("algo=sbe", f"sbe.rank={rank}", *common)
                    specs.append(
                        _train_spec(
                            study, f"sbe{rank} batch{batch}", sets, seed, algo="sbe", batch=batch, rank=rank
                        )
                    )
    else:  # defaults
        epochs = 5 if quick else 30
        for algo, extra in DEFAULTS_OVERRIDES.items():
            for seed in seeds:
                sets = (f"algo={algo}", "device.kind=soft-bounds", f"epochs={epochs}", *extra)
                specs.append(_train_spec(study, f"{algo} defaults", sets, seed, algo=algo))
    return specs


def ladder_sets(level: int) -> tuple[str, ...]:
    """``--set`` overrides of non-ideality level ``level`` (forward and backward periphery alike)."""
    return _nonideality_sets(*NONIDEALITY_LADDER[level])


def factor_sets(factor: str) -> tuple[str, ...]:
    """``--set`` overrides of one non-ideality of the harshest ladder level alone (others at level 0)."""
    check_choice("factor", factor, FACTORS)
    dac, adc, noise, asymmetry, states = NONIDEALITY_LADDER[0]
    h_dac, h_adc, h_noise, h_asymmetry, h_states = NONIDEALITY_LADDER[-1]
    if factor == "periphery":
        dac, adc, noise = h_dac, h_adc, h_noise
    elif factor == "asymmetry":
        asymmetry = h_asymmetry
    else:
        states = h_states
    return _nonideality_sets(dac, adc, noise, asymmetry, states)


def _nonideality_sets(
    dac: int | None, adc: int | None, noise: float, asymmetry: float, states: int
) -> tuple[str, ...]:
    sets = ["device.kind=constant-step", f"device.dw_min={2.0 / states!r}", f"device.up_down={asymmetry!r}"]
    for io in ("io", "backward_io"):
        sets += [f"{io}.dac_bits={dac}", f"{io}.adc_bits={adc}", f"{io}.out_noise={noise!r}"]
    return tuple(sets)


# --------------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _digits() -> Any:
    from pulsetrain.model.data import Dataset, load_dataset

    return load_dataset(Dataset.DIGITS, None)


def run_one(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run one planned spec and return its plain-data result (a pure function of the spec)."""
    kind = spec["kind"]
    started = time.perf_counter()
    if kind in ("train", "factor"):
        result = _run_training(spec)
    elif kind == "regression":
        result = regression_weight_error(
            str(spec["algo"]),
            float(spec["offset"]),
            int(spec["states"]),
            int(spec["steps"]),
            int(spec["seed"]),
            sets=[str(item) for item in spec.get("sets", ())],
        )
    elif kind == "latency":
        from pulsetrain.model.schedule import latency_by_depth

        result = {"rows": latency_by_depth(tuple(int(d) for d in spec["depths"]))}
    else:
        raise ConfigError(f"spec kind must be train, factor, regression or latency; not {kind!r}")
    result["seconds"] = time.perf_counter() - started
    return {"spec": dict(spec), **result}


def _run_training(spec: Mapping[str, Any]) -> dict[str, Any]:
    from pulsetrain.model.training import resolve_train_config, train

    config = resolve_train_config(sets=list(spec["sets"]))
    results = train(config, data=_digits())
    data = _digits()
    n_layers = len(config.network.hidden) + 1
    samples = results["completed_epochs"] * data.x_train.shape[0]
    extras = results["algorithm"]
    if config.algo == "sbe":
        array_updates = int(extras["array_updates"])
    else:  # one rank-1 update per sample and layer
        array_updates = samples * n_layers
    return {
        "test_accuracy": results["test_accuracy"],
        "train_accuracy": results["train_accuracy"],
        "test_curve": [e["test_accuracy"] for e in results["epochs"]],
        "train_curve": [e["train_accuracy"] for e in results["epochs"]],
        "epoch_seconds": [e["seconds"] for e in results["epochs"]],
        "pulses": results["pulses"],
        "pulses_per_sample": results["pulses_per_sample"],
        "algorithm": extras,
        "array_updates": array_updates,
        "array_updates_per_epoch": array_updates / max(results["completed_epochs"], 1),
    }


def regression_weight_error(
    algo: str,
    offset: float,
    states: int,
    steps: int,
    seed: int,
    *,
    size: int = REGRESSION_SIZE,
    sets: Sequence[str] = (),
) -> dict[str, Any]:
    """Weight error of one TTv2-family layer learning a known linear map ``y = W* x``.

    One ``size x size`` layer (no bias) on soft-bounds devices with ``states`` states and reference
    offset ``offset`` (σ_r), output scale 1 (logical weight = device units). Targets ``W*`` uniform in
    ``±0.5`` (half the device range); inputs uniform in ``±1``; the error of each sample, ``W x - W* x``
    read through the forward periphery, is the layer's ``d``; ``lr`` 0.05 (the run default); ``sets``:
    further ``--set`` overrides (the full sweep's transfer rate). Returns the relative weight
    error ``|W - W*|_F / |W*|_F`` at ten points of training and pulses per sample per device on A, C.
    """
    from pulsetrain.model.algorithms import create_algorithm
    from pulsetrain.model.algorithms.tiki_taka import TikiTakaFamily
    from pulsetrain.model.devices import SoftBoundsDevice
    from pulsetrain.model.network import NetworkConfig
    from pulsetrain.model.tile import MappingConfig
    from pulsetrain.model.training import TrainConfig

    config = TrainConfig(
        algo=algo,
        device=SoftBoundsDevice(dw_min=2.0 / states, reference_offset_std=offset),
        network=NetworkConfig(hidden=(), bias=False),
        mapping=MappingConfig(output_scale=1.0),
        seed=seed,
    )
    config = apply_overrides(config, parse_set_options(sets))
    algorithm = create_algorithm(config, (size, size), np.random.SeedSequence(seed))
    if not isinstance(algorithm, TikiTakaFamily):
        raise ConfigError(f"the regression task needs ttv2, c-ttv2 or agad, not {algo!r}")
    layer = algorithm.layers[0]
    rng = np.random.default_rng([seed, 7])
    target = rng.uniform(-0.5, 0.5, size=(size, size))
    norm = float(np.linalg.norm(target))
    checkpoints = max(steps // 10, 1)
    errors: list[float] = []
    for step in range(1, steps + 1):
        x = rng.uniform(-1.0, 1.0, size=(1, size))
        d = layer.forward(x) - x @ target.T
        layer.update(x, d, config.lr)
        if step % checkpoints == 0:
            errors.append(float(np.linalg.norm(layer.weights() - target)) / norm)
    devices = size * size
    return {
        "weight_error": float(np.mean(errors[-3:])),
        "weight_error_curve": errors,
        "pulses_per_sample_per_device_A": layer.fast.total_pulses / steps / devices,
        "pulses_per_sample_per_device_C": layer.slow.total_pulses / steps / devices,
    }


# --------------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------------


def _mean_std(values: Sequence[float]) -> dict[str, float]:
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if array.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "n": 0}
    return {"mean": float(array.mean()), "std": float(array.std()), "n": int(array.size)}


def _group(
    results: Sequence[Mapping[str, Any]], kind: str, keys: Sequence[str]
) -> dict[tuple[Any, ...], list[Mapping[str, Any]]]:
    groups: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for result in results:
        spec = result["spec"]
        if spec["kind"] != kind:
            continue
        groups.setdefault(tuple(spec[k] for k in keys), []).append(result)
    return groups


def summarize(study: str, results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The study's table (means and standard deviations over seeds) and its claims, each checked."""
    check_choice("study", study, STUDIES)
    summary: dict[str, Any] = {"study": study, "runs": len(results)}
    if study == "offset-sweep":
        rows = []
        for (algo, offset), group in sorted(_group(results, "train", ("algo", "offset")).items()):
            regression = _group(results, "regression", ("algo", "offset")).get((algo, offset), [])
            rows.append(
                {
                    "algo": algo,
                    "offset": offset,
                    "test_accuracy": _mean_std([r["test_accuracy"] for r in group]),
                    "weight_error": _mean_std([r["weight_error"] for r in regression]),
                    "pulses_per_sample_per_device_A": _mean_std(
                        [_layer_mean(r, "pulses_per_sample_per_device_A") for r in group]
                    ),
                    "pulses_per_sample_per_device_C": _mean_std(
                        [_layer_mean(r, "pulses_per_sample_per_device_C") for r in group]
                    ),
                }
            )
        summary["rows"] = rows
        summary["claims"] = offset_claims(rows)
    elif study == "bp-vs-dfa":
        rows = []
        for (algo, network, level), group in sorted(
            _group(results, "train", ("algo", "network", "level")).items()
        ):
            rows.append(
                {
                    "algo": algo,
                    "network": network,
                    "level": level,
                    "test_accuracy": _mean_std([r["test_accuracy"] for r in group]),
                }
            )
        summary["rows"] = rows
        latency = [r for r in results if r["spec"]["kind"] == "latency"]
        summary["latency"] = latency[0]["rows"] if latency else []
        summary["ladder"] = [
            {
                "level": i,
                "dac_bits": l[0],
                "adc_bits": l[1],
                "out_noise": l[2],
                "up_down": l[3],
                "states": l[4],
            }
            for i, l in enumerate(NONIDEALITY_LADDER)
        ]
        factor_rows = [
            {
                "algo": algo,
                "network": network,
                "factor": factor,
                "test_accuracy": _mean_std([r["test_accuracy"] for r in group]),
            }
            for (algo, network, factor), group in sorted(
                _group(results, "factor", ("algo", "network", "factor")).items()
            )
        ]
        summary["factor_rows"] = factor_rows
        summary["claims"] = dfa_claims(rows, summary["latency"])
        summary["claims"]["bp_minus_dfa_by_factor"] = factor_gaps(factor_rows)
    elif study == "sbe-batch":
        rows = []
        for (algo, batch, rank), group in sorted(_group(results, "train", ("algo", "batch", "rank")).items()):
            to_target = [updates_to_target(r, SBE_TARGET_ACCURACY) for r in group]
            rows.append(
                {
                    "algo": algo,
                    "batch": batch,
                    "rank": rank,
                    "test_accuracy": _mean_std([r["test_accuracy"] for r in group]),
                    "array_updates_per_epoch": float(np.mean([r["array_updates_per_epoch"] for r in group])),
                    "updates_to_target": _mean_std([u for u in to_target if u is not None]),
                    "reached_target": sum(u is not None for u in to_target),
                    "seeds": len(group),
                }
            )
        summary["rows"] = rows
        summary["target_train_accuracy"] = SBE_TARGET_ACCURACY
        summary["claims"] = sbe_claims(rows)
    else:
        rows = []
        for (algo,), group in sorted(_group(results, "train", ("algo",)).items()):
            epoch_seconds = [float(np.mean(r["epoch_seconds"])) for r in group]
            rows.append(
                {
                    "algo": algo,
                    "test_accuracy": _mean_std([r["test_accuracy"] for r in group]),
                    "epoch_seconds": _mean_std(epoch_seconds),
                }
            )
        summary["rows"] = rows
        summary["claims"] = defaults_claims(rows)
    return summary


def _layer_mean(result: Mapping[str, Any], key: str) -> float:
    layers = result["algorithm"].get("layers", {})
    values = [layer[key] for layer in layers.values()]
    return float(np.mean(values)) if values else float("nan")


def updates_to_target(result: Mapping[str, Any], target: float) -> float | None:
    """Rank-1 array updates until the training accuracy first reached ``target`` (None: never)."""
    for epoch, accuracy in enumerate(result["train_curve"], start=1):
        if accuracy >= target:
            return float(epoch * result["array_updates_per_epoch"])
    return None


def _row(rows: Sequence[Mapping[str, Any]], **match: Any) -> Mapping[str, Any] | None:
    for row in rows:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def offset_claims(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Ordering at σ_r = 0.3 (weight error: ttv2 > c-ttv2 > agad) and AGAD's flatness over the sweep."""
    claims: dict[str, Any] = {}
    at = {algo: _row(rows, algo=algo, offset=0.3) for algo in TIKI_TAKA_FAMILY}
    if all(at.values()):
        errors = {algo: row["weight_error"]["mean"] for algo, row in at.items() if row}
        accuracy = {algo: row["test_accuracy"]["mean"] for algo, row in at.items() if row}
        claims["weight_error_at_0.3"] = errors
        claims["test_accuracy_at_0.3"] = accuracy
        claims["ordering_holds"] = bool(errors["ttv2"] > errors["c-ttv2"] > errors["agad"] - 0.02)
    agad = [row for row in rows if row["algo"] == "agad"]
    if len(agad) >= 2:
        errors_agad = [row["weight_error"]["mean"] for row in agad]
        claims["agad_weight_error_span"] = float(max(errors_agad) - min(errors_agad))
    return claims


def dfa_claims(rows: Sequence[Mapping[str, Any]], latency: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """BP minus DFA accuracy per level and network; DFA speed-up per depth."""
    gaps = []
    for row in rows:
        if row["algo"] != "sgd":
            continue
        dfa = _row(rows, algo="dfa", network=row["network"], level=row["level"])
        if dfa:
            gaps.append(
                {
                    "network": row["network"],
                    "level": row["level"],
                    "bp_minus_dfa": row["test_accuracy"]["mean"] - dfa["test_accuracy"]["mean"],
                }
            )
    return {
        "bp_minus_dfa": gaps,
        # the claim is about growing non-idealities: with an ideal periphery (level 0) the two tie
        "bp_ahead_at_every_nonideal_level": bool(gaps)
        and all(g["bp_minus_dfa"] > 0 for g in gaps if g["level"] > 0),
        "speedup_by_depth": {int(r["depth"]): r["speedup"] for r in latency},
        "training_speedup_by_depth": {int(r["depth"]): r["training_speedup"] for r in latency},
    }


def factor_gaps(factor_rows: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """BP minus DFA mean test accuracy per non-ideality alone (where both ran)."""
    gaps = {}
    for row in factor_rows:
        if row["algo"] != "sgd":
            continue
        dfa = _row(factor_rows, algo="dfa", network=row["network"], factor=row["factor"])
        if dfa:
            gaps[row["factor"]] = row["test_accuracy"]["mean"] - dfa["test_accuracy"]["mean"]
    return gaps


def sbe_claims(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Update savings of SBE over mini-batch SGD at every batch (needs both to reach the target)."""
    savings = []
    for row in rows:
        if row["algo"] != "sbe":
            continue
        sgd = _row(rows, algo="sgd", batch=row["batch"])
        if not sgd:
            continue
        entry = {
            "batch": row["batch"],
            "rank": row["rank"],
            "sbe_test_accuracy": row["test_accuracy"]["mean"],
            "sgd_test_accuracy": sgd["test_accuracy"]["mean"],
            "update_ratio_per_epoch": sgd["array_updates_per_epoch"] / row["array_updates_per_epoch"],
        }
        if row["updates_to_target"]["n"] and sgd["updates_to_target"]["n"]:
            entry["update_ratio_to_target"] = (
                sgd["updates_to_target"]["mean"] / row["updates_to_target"]["mean"]
            )
        savings.append(entry)
    return {"savings": savings}


#: accuracy floors of the defaults study (issue 3)
DEFAULT_FLOORS = {"ttv2": 0.92, "c-ttv2": 0.92, "agad": 0.92, "dfa": 0.90, "sbe": 0.90}


def defaults_claims(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each algorithm's mean test accuracy against its floor."""
    return {
        row["algo"]: {
            "test_accuracy": row["test_accuracy"]["mean"],
            "floor": DEFAULT_FLOORS.get(row["algo"]),
            "meets_floor": DEFAULT_FLOORS.get(row["algo"]) is None
            or row["test_accuracy"]["mean"] >= DEFAULT_FLOORS[row["algo"]],
        }
        for row in rows
    }


# --------------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------------


def plot(study: str, summary: Mapping[str, Any], path: str | Path) -> Path:
    """Draw the study's figure into ``path`` (PNG) with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = summary["rows"]
    if study == "offset-sweep":
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for algo in TIKI_TAKA_FAMILY:
            mine = [r for r in rows if r["algo"] == algo]
            offsets = [r["offset"] for r in mine]
            left.errorbar(
                offsets,
                [100 * r["test_accuracy"]["mean"] for r in mine],
                yerr=[100 * r["test_accuracy"]["std"] for r in mine],
                marker="o",
                label=algo,
                capsize=3,
            )
            right.errorbar(
                offsets,
                [100 * r["weight_error"]["mean"] for r in mine],
                yerr=[100 * r["weight_error"]["std"] for r in mine],
                marker="o",
                label=algo,
                capsize=3,
            )
        left.set(
            xlabel="reference offset σ_r (of w_max)", ylabel="digits test accuracy (%)", title="accuracy"
        )
        right.set(
            xlabel="reference offset σ_r (of w_max)",
            ylabel="weight error (%)",
            title="linear-map weight error",
        )
        left.legend()
        right.legend()
    elif study == "bp-vs-dfa":
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for network in sorted({r["network"] for r in rows}):
            for algo, style in (("sgd", "-"), ("dfa", "--")):
                mine = [r for r in rows if r["algo"] == algo and r["network"] == network]
                left.errorbar(
                    [r["level"] for r in mine],
                    [100 * r["test_accuracy"]["mean"] for r in mine],
                    yerr=[100 * r["test_accuracy"]["std"] for r in mine],
                    linestyle=style,
                    marker="o",
                    label=f"{'BP' if algo == 'sgd' else 'DFA'} {network}",
                    capsize=3,
                )
        left.set(xlabel="non-ideality level", ylabel="digits test accuracy (%)", title="accuracy")
        if rows:
            left.legend(fontsize=8)
        latency = summary.get("latency", [])
        depths = [r["depth"] for r in latency]
        right.plot(depths, [r["speedup"] for r in latency], marker="o", label="whole sample")
        right.plot(
            depths, [r["training_speedup"] for r in latency], marker="s", label="after the forward pass"
        )
        right.plot(depths, depths, color="grey", linestyle=":", label="N")
        right.set(xlabel="depth N (weight layers)", ylabel="BP / DFA cycles per sample", title="DFA speed-up")
        right.legend(fontsize=8)
    elif study == "sbe-batch":
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for label, match in [("SGD", {"algo": "sgd"})] + [
            (f"SBE rank {k}", {"algo": "sbe", "rank": k})
            for k in sorted({r["rank"] for r in rows if r["algo"] == "sbe"})
        ]:
            mine = [r for r in rows if all(r[k] == v for k, v in match.items())]
            batches = [r["batch"] for r in mine]
            left.plot(batches, [r["updates_to_target"]["mean"] for r in mine], marker="o", label=label)
            right.plot(batches, [100 * r["test_accuracy"]["mean"] for r in mine], marker="o", label=label)
        left.set(
            xscale="log",
            yscale="log",
            xlabel="batch size",
            ylabel="array updates to target",
            title=f"updates to {100 * SBE_TARGET_ACCURACY:.0f} % train accuracy",
        )
        right.set(xscale="log", xlabel="batch size", ylabel="test accuracy (%)", title="final accuracy")
        left.legend(fontsize=8)
        right.legend(fontsize=8)
    else:
        figure, axis = plt.subplots(figsize=(6, 4))
        names = [r["algo"] for r in rows]
        axis.bar(
            names,
            [100 * r["test_accuracy"]["mean"] for r in rows],
            yerr=[100 * r["test_accuracy"]["std"] for r in rows],
            capsize=3,
        )
        for name, floor in DEFAULT_FLOORS.items():
            if name in names:
                index = names.index(name)
                axis.hlines(100 * floor, index - 0.4, index + 0.4, colors="red")
        axis.set(ylabel="digits test accuracy (%)", title="defaults (red: required floor)", ylim=(0, 100))
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target


# --------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------


def run_study(
    study: str,
    *,
    quick: bool = False,
    seeds: Sequence[int] = (0, 1, 2),
    workers: int = 1,
    scheduler: str | None = None,
    cache_dir: str | Path | None = None,
    on_result: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Plan, run (through :class:`pulsetrain.executor.Executor`) and summarize ``study``."""
    from pulsetrain.executor import Executor, Run

    specs = plan(study, quick, seeds)
    runs = [Run(run_one, spec, label=str(spec["label"])) for spec in specs]
    with Executor(workers=workers, scheduler=scheduler, cache_dir=cache_dir) as executor:
        results = executor.map(runs, on_result)
    summary = summarize(study, results)
    return {"study": study, "quick": quick, "seeds": list(seeds), "summary": summary, "results": results}


def _parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.replace(" ", ",").split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"--seeds must be integers separated by commas, not {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise ConfigError(f"--seeds must name at least one non-negative seed, not {text!r}")
    return seeds


@click.command("experiment")
@click.argument("study", type=click.Choice(STUDIES))
@click.option("--quick", is_flag=True, help="A scaled-down version that finishes in a few minutes.")
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
def experiment(
    study: str,
    quick: bool,
    seeds: str,
    json_path: str | None,
    plot_path: str | None,
    workers: int,
    scheduler: str | None,
    cache_dir: str | None,
) -> None:
    """Run a study of the learning algorithms and print its claims."""
    seed_list = _parse_seeds(seeds)
    total = len(plan(study, quick, seed_list))
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
    )
    summary = document["summary"]
    import json

    click.echo(json.dumps(summary["claims"], indent=2, default=float))
    if json_path is not None:
        write_json(json_path, document)
    if plot_path is not None:
        plot(study, summary, plot_path)


__all__ = [
    "STUDIES",
    "experiment",
    "plan",
    "plot",
    "regression_weight_error",
    "run_one",
    "run_study",
    "summarize",
]
