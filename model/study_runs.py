"""One run of a study: a plain-data spec in, a plain-data result out (module-level, picklable).

Kinds of spec: ``train`` and ``factor`` (train on digits, report the test accuracy), ``tune`` (train on
four fifths of the training set, report the accuracy on the held-out fifth: see
:mod:`pulsetrain.model.study_tuning`), ``regression`` (the weight error of one TTv2-family layer on a
known linear map) and ``latency`` (BP and DFA schedules by depth).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pulsetrain.model.study_settings import REGRESSION_SIZE
from pulsetrain.model.study_tuning import study_data, validation_split

from pulsetrain.config import ConfigError, apply_overrides, parse_set_options


def run_one(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run one planned spec and return its plain-data result (a pure function of the spec)."""
    kind = spec["kind"]
    started = time.perf_counter()
    if kind in ("train", "factor", "tune"):
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
        raise ConfigError(f"spec kind must be train, factor, tune, regression or latency; not {kind!r}")
    result["seconds"] = time.perf_counter() - started
    return {"spec": dict(spec), **result}


def _run_training(spec: Mapping[str, Any]) -> dict[str, Any]:
    from pulsetrain.model.training import config_summary, resolve_train_config

    config = resolve_train_config(sets=list(spec["sets"]))
    source = (str(spec.get("dataset", "digits")), spec.get("train_samples"))
    data = validation_split(*source) if spec["kind"] == "tune" else study_data(*source)
    target = spec.get("target_train_accuracy")
    run = train_counting_updates(config, data, None if target is None else float(target))
    history = run["epochs"]
    result: dict[str, Any] = {
        "config": config_summary(config),
        "train_accuracy": history[-1]["train_accuracy"],
        "train_curve": [e["train_accuracy"] for e in history],
        "epoch_seconds": [e["seconds"] for e in history],
        "pulses": run["pulses"],
        "pulses_per_sample": run["pulses_per_sample"],
        "algorithm": run["algorithm"],
        "array_updates": run["array_updates"],
        "array_updates_per_epoch": run["array_updates"] / max(len(history), 1),
        "updates_to_target": run["updates_to_target"],
    }
    if spec["kind"] == "tune":
        # the held-out fifth of the training set: never called a test accuracy
        result["validation_accuracy"] = history[-1]["test_accuracy"]
        result["validation_curve"] = [e["test_accuracy"] for e in history]
    else:
        result["test_accuracy"] = history[-1]["test_accuracy"]
        result["test_curve"] = [e["test_accuracy"] for e in history]
    return result


def _array_updates(algorithm: Any, samples: int, n_layers: int) -> int:
    """Rank-1 array updates so far: SBE counts its own; the others write one per sample and layer."""
    counted = getattr(algorithm, "array_updates", None)
    return int(counted) if counted is not None else samples * n_layers


def train_counting_updates(config: Any, data: Any, target: float | None) -> dict[str, Any]:
    """Train like :func:`pulsetrain.model.training.train` (same seeds, order and evaluations, so the same
    results) and count the rank-1 array updates until the training accuracy first reaches ``target``.

    The count is resolved to the training step: the first epoch whose end-of-epoch training accuracy
    reaches the target is replayed from a copy taken at its start, and after every step of it the
    accuracy is measured on a copy of the network (the copy's read noise does not touch the run). For
    analog SGD a step at batch B is B rank-1 updates per layer; for SBE it is ``min(rank, B)`` per layer.
    """
    from pulsetrain.model.algorithms import create_algorithm
    from pulsetrain.model.network import layer_sizes
    from pulsetrain.model.training import accuracy

    order_seed, algorithm_seed = np.random.SeedSequence(config.seed).spawn(2)
    sizes = layer_sizes(data.n_features, config.network.hidden, data.n_classes)
    algorithm = create_algorithm(config, sizes, algorithm_seed)
    order_rng = np.random.default_rng(order_seed)
    n_train, batch, n_layers = data.x_train.shape[0], config.batch_size, len(sizes) - 1
    steps = -(-n_train // batch)
    history: list[dict[str, Any]] = []
    to_target: float | None = None
    samples = 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        replay = None if (target is None or to_target is not None) else copy.deepcopy((algorithm, order_rng))
        order = order_rng.permutation(n_train)
        for step in range(steps):
            index = order[step * batch : (step + 1) * batch]
            algorithm.train_batch(data.x_train[index], data.y_train[index])
        train_acc = accuracy(algorithm, data.x_train, data.y_train)
        test_acc = accuracy(algorithm, data.x_test, data.y_test)
        if replay is not None and train_acc >= target:  # type: ignore[operator]
            to_target = _first_step_at_target(replay, data, batch, steps, samples, n_layers, target)  # type: ignore[arg-type]
        samples += n_train
        history.append(
            {
                "epoch": epoch,
                "train_accuracy": train_acc,
                "test_accuracy": test_acc,
                "seconds": time.perf_counter() - started,
            }
        )
    pulses = algorithm.pulse_counts()
    total = sum(sum(arrays.values()) for arrays in pulses.values())
    return {
        "epochs": history,
        "pulses": pulses,
        "pulses_per_sample": total / samples if samples else 0.0,
        "algorithm": algorithm.extra_results(),
        "array_updates": _array_updates(algorithm, samples, n_layers),
        "updates_to_target": to_target,
    }


def _first_step_at_target(
    replay: tuple[Any, np.random.Generator],
    data: Any,
    batch: int,
    steps: int,
    samples_before: int,
    n_layers: int,
    target: float,
) -> float:
    """Replay one epoch from ``replay`` and return the array updates after its first step at ``target``."""
    from pulsetrain.model.training import accuracy

    algorithm, order_rng = replay
    n_train = data.x_train.shape[0]
    order = order_rng.permutation(n_train)
    samples = samples_before
    for step in range(steps):
        index = order[step * batch : (step + 1) * batch]
        algorithm.train_batch(data.x_train[index], data.y_train[index])
        samples += index.size
        if accuracy(copy.deepcopy(algorithm), data.x_train, data.y_train) >= target:
            return float(_array_updates(algorithm, samples, n_layers))
    # the last step's check reads the same noise as the epoch's own evaluation, so it cannot miss
    raise RuntimeError("the replayed epoch did not reach the target it reached when first run")


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
    offset ``offset`` (σ_r), weight range ±1 (logical weight = device units). Targets ``W*`` uniform in
    ``±0.5`` (half the device range); inputs uniform in ``±1``; the error of each sample, ``W x - W* x``
    read through the forward periphery, is the layer's ``d``; ``lr`` 0.05 (the run default), the
    TTv2-family settings at their shared defaults unless ``sets`` says otherwise. Returns the relative
    weight error ``|W - W*|_F / |W*|_F`` at ten points of training and pulses per sample per device on A
    and C.
    """
    from pulsetrain.model.algorithms import create_algorithm
    from pulsetrain.model.algorithms.tiki_taka import TikiTakaFamily
    from pulsetrain.model.devices import SoftBoundsDevice
    from pulsetrain.model.network import NetworkConfig
    from pulsetrain.model.tile import MappingConfig, WeightMapping
    from pulsetrain.model.training import TrainConfig

    config = TrainConfig(
        algo=algo,
        device=SoftBoundsDevice(dw_min=2.0 / states, reference_offset_std=offset),
        network=NetworkConfig(hidden=(), bias=False),
        mapping=MappingConfig(mode=WeightMapping.WEIGHT_RANGE, weight_range=1.0),
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
