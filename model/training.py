"""The training loop: one config in, a results dictionary out; checkpoints per epoch and resume.

:class:`TrainConfig` holds every setting of a run (algorithm, device, periphery, update, mapping,
network, data, schedule, seed). Algorithm-specific sections are fields of it too; an algorithm module
adds its section here with one field line and registers itself in
:data:`pulsetrain.model.algorithms.ALGORITHMS`.

Reproducibility: ``SeedSequence(seed)`` spawns two children, one for the data order and one owned by
the algorithm (which spawns everything it needs from it in a fixed order). The same config therefore
gives the same results bit for bit; only the ``seconds`` / ``wall_seconds`` fields differ between runs.
A checkpoint (the algorithm object, the data-order generator and the history so far, as NumPy arrays
plus JSON with a checksum and the code version, see :mod:`pulsetrain.model.checkpoint`; written
atomically after every epoch) lets an interrupted run resume and end exactly as an uninterrupted one.
Loading one runs no code from the file, unlike the pickles of earlier versions.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pulsetrain.model import checkpoint
from pulsetrain.model.algorithms import ALGORITHMS, create_algorithm
from pulsetrain.model.algorithms.base import Algorithm
from pulsetrain.model.algorithms.configs import DfaSettings, SbeSettings, TikiTakaSettings
from pulsetrain.model.data import Dataset, DataSplit, check_available, load_dataset
from pulsetrain.model.devices import DEVICES, ConstantStepDevice, DeviceConfig, device_from_name
from pulsetrain.model.network import NAMED_NETWORK_DEFAULTS, NetworkConfig, layer_sizes
from pulsetrain.model.pulses import PULSE_SOURCES, _register_optional_sources
from pulsetrain.model.tile import IOConfig, MappingConfig, UpdateConfig

from pulsetrain import catalogue
from pulsetrain.config import (
    ConfigError,
    apply_overrides,
    check_choice,
    check_int,
    check_range,
    load_toml,
    parse_set_options,
    to_plain,
)
from pulsetrain.validate import check_batch_fits, check_network_fits

#: the checkpoint file in ``--checkpoint-dir``
CHECKPOINT_NAME = "checkpoint.npz"
#: the pickled checkpoint of earlier versions, never loaded (it could run code)
LEGACY_CHECKPOINT_NAME = "checkpoint.pkl"


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything a training run needs. Override any field by dotted path (``--set io.adc_bits=6``)."""

    #: Learning algorithm, a key of :data:`pulsetrain.model.algorithms.ALGORITHMS` (``fp``, ``sgd``, ...).
    algo: str = "sgd"
    #: Device model of the analog arrays (``--device`` picks its kind; fields by ``device.<name>``).
    device: DeviceConfig = field(default_factory=ConstantStepDevice)
    #: Periphery of the forward reads (``W x``).
    io: IOConfig = field(default_factory=IOConfig)
    #: Periphery of the backward reads (``Wᵀ d``).
    backward_io: IOConfig = field(default_factory=IOConfig)
    #: Pulsed update settings (mode, BL, update management).
    update: UpdateConfig = field(default_factory=UpdateConfig)
    #: Weight mapping (digital output scale).
    mapping: MappingConfig = field(default_factory=MappingConfig)
    #: Network shape (hidden sizes, activation, bias).
    network: NetworkConfig = field(default_factory=NetworkConfig)
    #: Data set.
    dataset: Dataset = Dataset.DIGITS
    #: Folder of the MNIST idx files (needed for ``dataset = mnist``).
    data_dir: str | None = None
    #: Passes over the training set.
    epochs: int = 10
    #: Samples per training step (>= 1).
    batch_size: int = 1
    #: Learning rate (of the mean loss over a batch).
    lr: float = 0.05
    #: Seed of every random number in the run.
    seed: int = 0
    #: Source of the stochastic pulse trains, a key of :data:`pulsetrain.model.pulses.PULSE_SOURCES`
    #: (``float``; ``twin`` for the bit-exact LFSR twin where it is installed).
    pulse_source: str = "float"
    #: TTv2 / c-TTv2 / AGAD settings (algorithms engineer's section).
    tiki_taka: TikiTakaSettings = field(default_factory=TikiTakaSettings)
    #: DFA settings.
    dfa: DfaSettings = field(default_factory=DfaSettings)
    #: SBE settings.
    sbe: SbeSettings = field(default_factory=SbeSettings)

    def __post_init__(self) -> None:
        check_choice("algo", self.algo, ALGORITHMS)
        check_choice("dataset", self.dataset, list(Dataset))
        if self.dataset is Dataset.DIGITS and self.data_dir is not None:
            raise ConfigError(
                f"data_dir is only read for dataset mnist (digits is embedded), not {self.data_dir!r}"
            )
        if self.network.name and catalogue.get_algorithm(self.algo).named_network is None:
            supported = ", ".join(catalogue.algorithm_names(named_network=True))
            raise ConfigError(
                f"network {self.network.name!r} trains with algo {supported}; not {self.algo!r}"
            )
        check_int("epochs", self.epochs, 1, 1_000_000)
        check_int("batch_size", self.batch_size, 1, 1_000_000)
        check_range("lr", self.lr, 0.0, None, low_open=True)
        check_int("seed", self.seed, 0, 2**63 - 1)
        if self.pulse_source not in PULSE_SOURCES:
            _register_optional_sources()
        check_choice("pulse_source", self.pulse_source, PULSE_SOURCES)


# --------------------------------------------------------------------------------------------------
# Resolution: defaults -> TOML file -> explicit options -> --set
# --------------------------------------------------------------------------------------------------


def resolve_train_config(
    *,
    options: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
    sets: Iterable[str] = (),
    base: TrainConfig | None = None,
) -> TrainConfig:
    """The run's config: defaults, then the TOML file, then ``options`` (CLI flags), then ``--set``.

    A named network's defaults (:data:`~pulsetrain.model.network.NAMED_NETWORK_DEFAULTS`) replace the
    code's defaults when the run names it and starts from them (no ``base``).

    The device *kind* (``device.kind`` in TOML or ``--set``, ``device`` in ``options``) selects the
    device class first, since the other ``device.*`` keys depend on it; the last source that names it wins.
    """
    file_values: dict[str, Any] = load_toml(config_file) if config_file is not None else {}
    set_values: dict[str, Any] = parse_set_options(sets)
    option_values = dict(options or {})
    kind = None
    for source in (file_values, option_values, set_values):
        for key in ("device.kind", "device"):
            if key in source and not isinstance(source[key], Mapping):
                kind = str(source.pop(key))
    if kind is not None and kind not in DEVICES:
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}; not {kind!r}")

    def build(start: TrainConfig) -> TrainConfig:
        config = start if kind is None else dataclasses.replace(start, device=device_from_name(kind))
        for values in (file_values, option_values, set_values):
            config = apply_overrides(config, values)
        return config

    config = build(base if base is not None else TrainConfig())
    preset = NAMED_NETWORK_DEFAULTS.get(config.network.name)
    if base is None and preset:
        # a named network's own defaults sit between the code's and every source the user gave
        config = build(apply_overrides(TrainConfig(), preset))
    if not config.network.hidden:
        # every command trains an MLP (DFA and the studies need a hidden layer); a linear model is
        # built in code only (the regression task of the studies)
        raise ConfigError("network.hidden must name at least one hidden layer width, not an empty list")
    return config


def config_summary(config: TrainConfig) -> dict[str, Any]:
    """The fully resolved config as plain data, the device kind included."""
    plain: dict[str, Any] = to_plain(config)
    plain["device"] = {"kind": config.device.kind, **plain["device"]}
    return plain


# --------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------


def accuracy(algorithm: Algorithm, x: np.ndarray, y: np.ndarray, chunk: int = 4096) -> float:
    """Fraction of ``x`` classified as ``y`` by ``algorithm.predict`` (batched)."""
    correct = 0
    for start in range(0, x.shape[0], chunk):
        logits = algorithm.predict(x[start : start + chunk])
        correct += int(np.sum(np.argmax(logits, axis=1) == y[start : start + chunk]))
    return correct / x.shape[0]


@dataclass
class _RunState:
    """What a checkpoint holds."""

    config: dict[str, Any]
    epoch: int
    algorithm: Algorithm
    order_rng: np.random.Generator
    history: list[dict[str, Any]]
    losses: list[float]


@functools.cache
def _code_version() -> str:
    from pulsetrain.executor import code_version

    return code_version()


def checkpoint_path(folder: str | Path) -> Path:
    """The checkpoint file a run with ``checkpoint_dir=folder`` writes and resumes from."""
    return Path(folder) / CHECKPOINT_NAME


def has_checkpoint(folder: str | Path) -> bool:
    """True when ``folder`` holds a checkpoint (of this format or the refused pickle one) to resume from."""
    return checkpoint_path(folder).is_file() or (Path(folder) / LEGACY_CHECKPOINT_NAME).is_file()


def _save_checkpoint(folder: Path, state: _RunState) -> None:
    checkpoint.save(
        checkpoint_path(folder),
        {
            "epoch": state.epoch,
            "algorithm": state.algorithm,
            "order_rng": state.order_rng,
            "history": state.history,
            "losses": state.losses,
        },
        code_version=_code_version(),
        metadata={"config": state.config},
    )


def _load_checkpoint(folder: Path, config: TrainConfig) -> _RunState | None:
    path = checkpoint_path(folder)
    if not path.is_file():
        legacy = folder / LEGACY_CHECKPOINT_NAME
        if legacy.is_file():
            raise ConfigError(
                f"checkpoint {str(legacy)!r} is a pickle of an earlier version, which could run code when "
                "loaded and is not read; remove it to start fresh"
            )
        return None
    value, metadata = checkpoint.load(path, code_version=_code_version())
    if not isinstance(metadata, dict) or metadata.get("config") != json_plain(config_summary(config)):
        raise ConfigError(
            f"checkpoint {str(path)!r} was written by a run with another config; "
            "remove it or resume with the same settings"
        )
    expected = {
        "epoch": int,
        "algorithm": Algorithm,
        "order_rng": np.random.Generator,
        "history": list,
        "losses": list,
    }
    if not isinstance(value, dict) or set(value) != set(expected):
        raise ConfigError(f"checkpoint {str(path)!r} holds no training state; remove it to start fresh")
    for name, kind in expected.items():
        if not isinstance(value[name], kind):
            raise ConfigError(f"checkpoint {str(path)!r} holds a {type(value[name]).__name__} as {name}")
    return _RunState(config=config_summary(config), **value)


def json_plain(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), for comparisons with stored copies."""
    import json

    return json.loads(json.dumps(to_plain(value), allow_nan=True))


ProgressCallback = Callable[[dict[str, Any]], None]


def train(
    config: TrainConfig,
    *,
    data: DataSplit | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    progress: bool = False,
    stop_after_epoch: int | None = None,
    on_epoch: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Train ``config.algo`` on ``config.dataset`` and return the results dictionary.

    Parameters
    ----------
    config:
        The resolved run config.
    data:
        Use this split instead of loading ``config.dataset`` (tests, sweeps that share one load).
    checkpoint_dir:
        Folder for the per-epoch checkpoint (written atomically after each epoch).
    resume:
        Continue from the checkpoint in ``checkpoint_dir`` when there is one.
    progress:
        Show a rich progress bar (one bar over all training steps, with per-epoch accuracies).
    stop_after_epoch:
        Return after this epoch as if interrupted (tests of resume); the results are partial.
    on_epoch:
        Called with each epoch's record.

    Returns
    -------
    dict
        ``config`` (resolved), ``epochs`` (``{epoch, train_accuracy, test_accuracy, loss, seconds,
        evaluation_seconds}``), ``test_accuracy``, ``train_accuracy``, ``pulses`` (per layer and array),
        ``pulses_per_sample``, ``max_device_pulses``, ``weights_sha256``, ``algorithm`` (algorithm extras),
        ``wall_seconds``.
    """
    started = time.perf_counter()
    if data is None:
        check_available(config.dataset, config.data_dir)
        data = load_dataset(config.dataset, config.data_dir)
    if resume and checkpoint_dir is None:
        raise ConfigError("--resume needs --checkpoint-dir")
    check_batch_fits(config.batch_size, data.x_train.shape[0])
    sizes = layer_sizes(data.n_features, config.network.hidden, data.n_classes)
    check_network_fits(config.algo, sizes)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    summary = config_summary(config)
    state = _load_checkpoint(folder, config) if (folder is not None and resume) else None
    if state is None:
        state = _fresh_state(config, sizes, summary)
    n_train = data.x_train.shape[0]
    batch = config.batch_size
    steps_per_epoch = -(-n_train // batch)

    bar = _ProgressBar(config.epochs * steps_per_epoch, enabled=progress)
    bar.advance(state.epoch * steps_per_epoch, f"epoch {state.epoch}/{config.epochs}")
    try:
        while state.epoch < config.epochs:
            record = _train_epoch(state, data, batch, steps_per_epoch, bar)
            bar.describe(f"epoch {state.epoch}/{config.epochs} test {100 * record['test_accuracy']:.1f} %")
            if on_epoch is not None:
                on_epoch(record)
            if folder is not None:
                _save_checkpoint(folder, state)
            if stop_after_epoch is not None and state.epoch >= stop_after_epoch:
                break
    finally:
        bar.close()

    return _results(state, summary, samples_seen=state.epoch * n_train, started=started)


def _fresh_state(config: TrainConfig, sizes: list[int], summary: dict[str, Any]) -> _RunState:
    """A run from epoch 0: the algorithm and the data-order generator from two children of the seed."""
    order_seed, algorithm_seed = np.random.SeedSequence(config.seed).spawn(2)
    return _RunState(
        config=summary,
        epoch=0,
        algorithm=create_algorithm(config, sizes, algorithm_seed),
        order_rng=np.random.default_rng(order_seed),
        history=[],
        losses=[],
    )


def _train_epoch(
    state: _RunState, data: DataSplit, batch: int, steps: int, bar: _ProgressBar
) -> dict[str, Any]:
    """One pass over the training set in the state's order, then the accuracy passes; the epoch record."""
    epoch_start = time.perf_counter()
    n_train = data.x_train.shape[0]
    order = state.order_rng.permutation(n_train)
    loss_sum = 0.0
    for step in range(steps):
        index = order[step * batch : (step + 1) * batch]
        loss_sum += state.algorithm.train_batch(data.x_train[index], data.y_train[index])
        bar.advance(1)
    evaluation_start = time.perf_counter()
    train_acc = accuracy(state.algorithm, data.x_train, data.y_train)
    test_acc = accuracy(state.algorithm, data.x_test, data.y_test)
    evaluation_seconds = time.perf_counter() - evaluation_start
    state.epoch += 1
    record = {
        "epoch": state.epoch,
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
        "loss": loss_sum / steps,
        "seconds": time.perf_counter() - epoch_start,
        # the accuracy passes over the training and test sets at the end of the epoch
        "evaluation_seconds": evaluation_seconds,
    }
    state.history.append(record)
    return record


def _results(
    state: _RunState, summary: dict[str, Any], *, samples_seen: int, started: float
) -> dict[str, Any]:
    """The results dictionary of :func:`train` (see there) from the run's final state."""
    algorithm = state.algorithm
    pulses = algorithm.pulse_counts()
    total_pulses = sum(sum(arrays.values()) for arrays in pulses.values())
    device_counts = algorithm.device_pulse_counts()
    max_device = {
        layer: {name: int(matrix.max(initial=0)) for name, matrix in arrays.items()}
        for layer, arrays in device_counts.items()
    }
    last = state.history[-1] if state.history else {"train_accuracy": None, "test_accuracy": None}
    return {
        "config": summary,
        "epochs": state.history,
        "test_accuracy": last["test_accuracy"],
        "train_accuracy": last["train_accuracy"],
        "pulses": pulses,
        "pulses_per_sample": total_pulses / samples_seen if samples_seen else 0.0,
        "max_device_pulses": max_device,
        "weights_sha256": algorithm.weights_digest(),
        "algorithm": algorithm.extra_results(),
        "completed_epochs": state.epoch,
        "wall_seconds": time.perf_counter() - started,
    }


#: result fields that hold wall-clock times (everything else is reproducible bit for bit)
TIMING_FIELDS = ("seconds", "evaluation_seconds", "wall_seconds")


def without_timing(results: Any) -> Any:
    """``results`` with every timing field removed (for reproducibility comparisons)."""
    if isinstance(results, dict):
        return {k: without_timing(v) for k, v in results.items() if k not in TIMING_FIELDS}
    if isinstance(results, list):
        return [without_timing(v) for v in results]
    return results


class _ProgressBar:
    """A rich progress bar over all training steps (silent when disabled)."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self._progress: Any = None
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("training", total=total)

    def advance(self, steps: int, description: str | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=steps, description=description)

    def describe(self, description: str) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=description)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
