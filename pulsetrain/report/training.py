"""Report part ``training``: the default network trained with every algorithm on the behavioral model."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulsetrain.config import to_plain
from pulsetrain.executor import RunFailure
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
    mean,
    require,
    spec_from_plain,
    typed_run,
)

KEY = "training"
TITLE = "Training on the behavioral model"


@dataclass(frozen=True, kw_only=True)
class TrainSpec:
    """One training run: an algorithm, a seed and the network, as ``pulsetrain train`` takes them."""

    #: algorithm name (``pulsetrain train --algo``)
    algo: str
    #: seed of every random generator of the run
    seed: int
    #: epochs over the training split
    epochs: int
    #: hidden layer widths (of the MLP; unused with ``network``)
    hidden: tuple[int, ...]
    #: TrainConfig overrides ``key=value``: the algorithm's defaults first, the user's last
    sets: tuple[str, ...]
    #: a network by name (empty: the MLP of ``hidden``)
    network: str = ""
    #: data set name
    dataset: str = "digits"
    #: folder of its files (empty: the data set's default place)
    data_dir: str = ""
    #: the first N training samples only (0: all)
    train_samples: int = 0
    #: the first N test samples only (0: all)
    test_samples: int = 0


@dataclass(frozen=True, kw_only=True)
class EpochRecord:
    """One epoch of a training run."""

    #: epoch number, from 1
    epoch: int
    #: accuracy on the training split after the epoch, 0..1
    train_accuracy: float
    #: accuracy on the test split after the epoch, 0..1
    test_accuracy: float
    #: mean training loss over the epoch
    loss: float
    #: wall seconds of the epoch
    seconds: float


@dataclass(frozen=True, kw_only=True)
class TrainingRun:
    """What one training run returns (:func:`train_run`; the run cache holds it as plain JSON)."""

    #: algorithm name
    algo: str
    #: seed of the run
    seed: int
    #: the resolved TrainConfig, as plain data
    config: dict[str, Any]
    #: every epoch's record
    epochs: tuple[EpochRecord, ...]
    #: test accuracy after the last epoch, 0..1
    test_accuracy: float
    #: training accuracy after the last epoch, 0..1
    train_accuracy: float
    #: device pulses per layer and array kind, ``{"layer0": {"A": n, ...}, ...}``
    pulses: dict[str, dict[str, int]]
    #: device pulses per training sample
    pulses_per_sample: float
    #: mean pulses per device of each array kind
    pulses_per_weight: dict[str, float]
    #: training samples the run went through
    samples_seen: int
    #: the most pulses any one device received, per layer and array kind
    max_device_pulses: dict[str, Any]
    #: SHA-256 of the final weights (the model's reproducibility fingerprint)
    weights_sha256: str
    #: the algorithm's own counters (transfers, column reads, ...)
    algorithm: dict[str, Any]
    #: wall seconds of the run
    wall_seconds: float

    @classmethod
    def from_plain(cls, plain: Mapping[str, Any]) -> TrainingRun:
        """Rebuild from the plain data the executor returns."""
        epochs = tuple(EpochRecord(**record) for record in plain["epochs"])
        return cls(**{**plain, "epochs": epochs})


@dataclass(frozen=True, kw_only=True)
class TrainingNumbers(AlgorithmNumbers):
    """What training adds to an algorithm's row of the summary (means over seeds)."""

    #: test accuracy after the last epoch, 0..1
    test_accuracy: float
    #: the same for each seed
    test_accuracy_per_seed: list[float]
    #: mean pulses per device of each array kind (``A``, ``C``, ``W``) over the whole run
    pulses_per_weight: dict[str, float]
    #: device pulses per training sample
    pulses_per_sample: float
    #: wall seconds of one training run
    training_seconds: float


@dataclass(frozen=True, kw_only=True)
class TrainingData(PartData):
    """results.json's ``training`` entry: every finished run as the model returned it."""

    #: every finished run
    runs: list[TrainingRun]


def layer_weight_counts(
    hidden: Sequence[int],
    bias: bool,
    *,
    network: str = "",
    inputs: int = DIGITS_INPUTS,
    classes: int = DIGITS_CLASSES,
) -> list[int]:
    """Devices per layer array (``out * (in + bias)``): the MLP with ``hidden`` widths, or the named
    ``network`` (its arrays as :func:`pulsetrain.model.conv.network_shapes` lays them out)."""
    extra = 1 if bias else 0
    if network:
        from pulsetrain.model.algorithms.conv_backprop import square_image_shape
        from pulsetrain.model.conv import network_shapes

        shapes = network_shapes(network, square_image_shape(inputs), classes, bias)
        arrays = [(out, in_ch * kernel * kernel + extra) for in_ch, out, kernel, _, _ in shapes["convs"]]
        return [out * size for out, size in [*arrays, *shapes["dense"]]]
    sizes = [inputs, *hidden, classes]
    return [sizes[i + 1] * (sizes[i] + extra) for i in range(len(sizes) - 1)]


def spec_options(spec: TrainSpec) -> dict[str, Any]:
    """The ``pulsetrain train`` options of a run (before its ``--set`` overrides)."""
    options: dict[str, Any] = {"algo": spec.algo, "seed": spec.seed, "epochs": spec.epochs}
    if spec.network:
        options["network.name"] = spec.network
    else:
        options["network.hidden"] = ",".join(str(width) for width in spec.hidden)
    options["dataset"] = spec.dataset
    if spec.data_dir:
        options["data_dir"] = spec.data_dir
    return options


def spec_data(spec: TrainSpec, config: Any) -> Any:
    """The data split of a run: the config's data set, cut to the spec's sample counts."""
    import dataclasses

    from pulsetrain.model.data import load_dataset

    data = load_dataset(config.dataset, config.data_dir)
    if spec.train_samples:
        data = dataclasses.replace(
            data, x_train=data.x_train[: spec.train_samples], y_train=data.y_train[: spec.train_samples]
        )
    if spec.test_samples:
        data = dataclasses.replace(
            data, x_test=data.x_test[: spec.test_samples], y_test=data.y_test[: spec.test_samples]
        )
    return data


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


def train_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Train one algorithm with one seed (a pure function of the :class:`TrainSpec`).

    Returns a :class:`TrainingRun` as plain data: the model's results without the per-device detail.
    """
    from pulsetrain.model.training import resolve_train_config, train

    spec = spec_from_plain(TrainSpec, plain)
    config = resolve_train_config(options=spec_options(spec), sets=list(spec.sets))
    data = spec_data(spec, config)
    results = train(config, data=data)
    weights = layer_weight_counts(
        config.network.hidden,
        config.network.bias,
        network=spec.network,
        inputs=data.n_features,
        classes=data.n_classes,
    )
    run = TrainingRun(
        algo=spec.algo,
        seed=spec.seed,
        config=results["config"],
        epochs=tuple(
            EpochRecord(
                **{k: record[k] for k in ("epoch", "train_accuracy", "test_accuracy", "loss", "seconds")}
            )
            for record in results["epochs"]
        ),
        test_accuracy=results["test_accuracy"],
        train_accuracy=results["train_accuracy"],
        pulses=results["pulses"],
        pulses_per_sample=results["pulses_per_sample"],
        pulses_per_weight=pulses_per_weight(results["pulses"], weights),
        samples_seen=int(results["completed_epochs"] * data.x_train.shape[0]),
        max_device_pulses=results["max_device_pulses"],
        weights_sha256=results["weights_sha256"],
        algorithm=results.get("algorithm", {}),
        wall_seconds=results["wall_seconds"],
    )
    document: dict[str, Any] = to_plain(run)
    return document


def algorithm_sets(algo: str, device: str) -> list[str]:
    """TrainConfig overrides of ``algo``'s default settings: the device kind, then the algorithms module's
    per-algorithm defaults (``pulsetrain.model.experiments.DEFAULTS_OVERRIDES``, e.g. SBE's batch 16)."""
    sets = [f"device.kind={device}"]
    try:
        experiments = importlib.import_module("pulsetrain.model.experiments")
    except ImportError:
        return sets
    return [*sets, *getattr(experiments, "DEFAULTS_OVERRIDES", {}).get(algo, ())]


def part_sets(algo: str, part: Any) -> list[str]:
    """Every TrainConfig override of ``algo`` in the part: its device (``algorithm_devices`` first, else
    ``device``) and default settings, then the user's ``train_set``."""
    devices = dict(item.partition("=")[::2] for item in part.algorithm_devices)
    return [*algorithm_sets(algo, devices.get(algo, part.device)), *part.train_set]


def _spec(algo: str, seed: int, part: Any) -> TrainSpec:
    return TrainSpec(
        algo=algo,
        seed=seed,
        epochs=part.epochs,
        hidden=part.hidden,
        sets=tuple(part_sets(algo, part)),
        network=part.network,
        dataset=part.dataset,
        data_dir=part.data_dir,
        train_samples=part.train_samples,
        test_samples=part.test_samples,
    )


def refused_on_network(algo: str, part: Any) -> str | None:
    """Why the model does not train ``algo`` on the part's network and data (None: it does).

    A ConfigError that the digits MLP does not raise too is the model's refusal of this network (e.g. an
    algorithm not written for convolutions yet): the algorithm is shown as not available. One that the
    MLP raises as well is bad input and propagates.
    """
    from pulsetrain.config import ConfigError
    from pulsetrain.model.training import resolve_train_config

    spec = _spec(algo, part.seeds[0], part)
    try:
        resolve_train_config(options=spec_options(spec), sets=list(spec.sets))
    except ConfigError as error:
        plain = {"algo": algo, "network.hidden": ",".join(map(str, part.hidden))}
        resolve_train_config(options=plain, sets=list(spec.sets))
        return str(error)
    return None


def _check_data(part: Any) -> None:
    """Unavailable when the part's data set cannot be read here (e.g. Debian's fashion-mnist absent)."""
    from pulsetrain.config import ConfigError
    from pulsetrain.model.data import Dataset, check_available

    try:
        dataset = Dataset(part.dataset)
    except ValueError:
        allowed = ", ".join(d.value for d in Dataset)
        raise ConfigError(f"training.dataset must be one of {allowed}, not {part.dataset!r}") from None
    try:
        check_available(dataset, part.data_dir or None)
    except ConfigError as error:
        if part.data_dir:
            raise  # a folder the user named: bad input, exit 2
        raise Unavailable(f"data set {part.dataset} cannot be read here: {error}") from None


def plan(config: ReportConfig) -> list[PartPlan]:
    """One run per algorithm and seed; every TrainConfig override checked before any work."""
    part = config.training
    require("pulsetrain.model.training", "train", "resolve_train_config", "TrainConfig")
    registry = require("pulsetrain.model.algorithms", "ALGORITHMS")
    missing = [
        f"algorithm {name!r} is not registered in pulsetrain.model.algorithms yet"
        for name in part.algorithms
        if name not in registry.ALGORITHMS
    ]
    registered = [name for name in part.algorithms if name in registry.ALGORITHMS]
    if part.dataset != "digits":
        _check_data(part)
    # The TrainConfig overrides are checked here, before any work, so that a bad key fails the command.
    refusals = {algo: refused_on_network(algo, part) for algo in registered}
    runnable = [algo for algo in registered if refusals[algo] is None]
    missing.extend(f"algorithm {algo!r}: {reason}" for algo, reason in refusals.items() if reason)
    runs = tuple(
        typed_run(train_run, _spec(algo, seed, part), f"train {algo} seed={seed}")
        for algo in runnable
        for seed in part.seeds
    )

    def assemble(results: list[Any]) -> PartOutcome:
        return assemble_training(config, runnable, missing, results)

    return [PartPlan(key=KEY, title=TITLE, runs=runs, assemble=assemble)]


def _numbers(runs: Sequence[TrainingRun]) -> TrainingNumbers:
    accuracies = [run.test_accuracy for run in runs]
    ppw: dict[str, float] = {}
    for array in sorted({name for run in runs for name in run.pulses_per_weight}):
        ppw[array] = mean([run.pulses_per_weight.get(array, 0.0) for run in runs])
    return TrainingNumbers(
        test_accuracy=mean(accuracies),
        test_accuracy_per_seed=accuracies,
        pulses_per_weight=ppw,
        pulses_per_sample=mean([run.pulses_per_sample for run in runs]),
        training_seconds=mean([run.wall_seconds for run in runs]),
    )


def _row(algo: str, numbers: TrainingNumbers) -> list[str]:
    return [
        algo,
        f"{100 * numbers.test_accuracy:.1f}",
        " / ".join(f"{100 * a:.1f}" for a in numbers.test_accuracy_per_seed),
        ", ".join(f"{k}: {v:.3g}" for k, v in numbers.pulses_per_weight.items()) or "-",
        f"{numbers.pulses_per_sample:.3g}",
        f"{numbers.training_seconds:.1f}",
    ]


def _intro(part: Any) -> str:
    """What the section trained: data, network, epochs, seeds, devices, defaults."""
    if part.dataset == "digits" and not part.network:
        data = f"Digits (8x8, sklearn), network 64-{'-'.join(map(str, part.hidden))}-10"
    else:
        data = f"{part.dataset}, network {part.network or 'MLP ' + '-'.join(map(str, part.hidden))}"
    cut = [
        f"the first {count} {name} samples"
        for count, name in ((part.train_samples, "training"), (part.test_samples, "test"))
        if count
    ]
    devices = ", ".join([f"{part.device} devices", *(d.replace("=", " on ") for d in part.algorithm_devices)])
    return (
        f"{data}, {part.epochs} epochs{' on ' + ' and '.join(cut) if cut else ''}, "
        f"seeds {', '.join(map(str, part.seeds))}, {devices}; every algorithm at its default "
        "settings (pulsetrain train --algo NAME; SBE at batch 16, as in pulsetrain experiment defaults)."
    )


def assemble_training(
    config: ReportConfig, algorithms: list[str], missing: list[str], results: list[Any]
) -> PartOutcome:
    """The training section: a table per algorithm (means over seeds) and the accuracy curves."""
    part = config.training
    section = Section(
        KEY,
        TITLE,
        intro=_intro(part),
    )
    finished: list[TrainingRun] = []
    notes: list[str] = []
    by_algo: dict[str, list[TrainingRun]] = {}
    for result in results:
        if isinstance(result, RunFailure):
            notes.append(f"not available: {result.label}: {result.error}")
            continue
        run = TrainingRun.from_plain(result)
        by_algo.setdefault(run.algo, []).append(run)
        finished.append(run)
    notes.extend(f"not available: {reason}" for reason in missing)
    numbers = {algo: _numbers(by_algo[algo]) for algo in algorithms if by_algo.get(algo)}
    if numbers:
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
                [_row(algo, values) for algo, values in numbers.items()],
                "Pulses per weight: total pulses on each array kind over training divided by its devices "
                "(W: the single weight array; A / C: the fast and slow arrays of the Tiki-Taka family).",
            )
        )
        section.plots.append(_accuracy_plot(algorithms, by_algo, part.dataset))
    else:
        section.unavailable = "no training run finished" + (f" ({notes[0]})" if notes else "")
    section.notes.extend(notes)
    return PartOutcome(section=section, data=TrainingData(status="ok", runs=finished), algorithms=numbers)


def _accuracy_plot(
    algorithms: list[str], by_algo: Mapping[str, list[TrainingRun]], dataset: str = "digits"
) -> Plot:
    def draw(figure: Any) -> None:
        from matplotlib.ticker import MaxNLocator

        axes = figure.add_subplot(1, 1, 1)
        for algo in algorithms:
            for seed_index, run in enumerate(by_algo.get(algo, [])):
                epochs = [record.epoch for record in run.epochs]
                accuracy = [100 * record.test_accuracy for record in run.epochs]
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
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("epoch")
        axes.set_ylabel("test accuracy (%)")
        axes.set_title(f"Test accuracy per epoch ({dataset})")
        axes.grid(alpha=0.3)
        axes.legend(loc="lower right", ncol=2, fontsize=8)

    return Plot(
        "accuracy curves",
        figure_png(draw),
        "Test accuracy after every epoch, one colour per algorithm (thin lines: further seeds).",
    )


PART = Part(key=KEY, title=TITLE, switch="training", plan=plan)
