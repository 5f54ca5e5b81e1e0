"""Training with the periphery RTL in the loop, and the pure-model run it is held against.

The seam is the model's :class:`~pulsetrain.model.periphery.PulseSource`: every tile asks its source for
the pulse trains of each rank-1 update. Two sources are registered in the model's registry
(:data:`pulsetrain.model.pulses.PULSE_SOURCES`) by this module:

``cosim-twin``
    the bit-exact twin (:class:`~pulsetrain.model.twins.pulse.TwinPulseGenerator`) with the per-tile
    generator config of :func:`pulse_config_for`: the pure-model run.
``rtl``
    (inside the simulator only) the simulated Verilog of the same generator, driven one transaction per
    update by :class:`~pulsetrain.cosim.transactors.PulseGeneratorTransactor`; a twin shadows it and
    every decision (each line's pulse in each slot, each sign line) is compared before the trains reach
    the tile. The first difference stops the run with its update, tile, slot, line and both values.

The analog arrays are the model's tiles in both runs (same code, same generators), so identical
decisions give identical weights: the host compares the SHA-256 of all weights of the two runs.

The host (:func:`run_training_cosim`) first runs the pure model, which also records the generator config
of every tile that issued updates; it then builds one RTL top holding one generator per such tile
(:class:`TrainingPeriphery`), runs the cocotb test :mod:`pulsetrain.cosim.bench_training`, and merges
both results.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.twins.pulse import TwinPulseSource

from pulsetrain.config import ConfigError, check_int, to_plain
from pulsetrain.periphery.lfsr import LfsrConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig

#: the algorithms whose updates run through pulse sources (all the tile-based ones)
COSIM_ALGORITHMS = ("sgd", "ttv2", "c-ttv2", "agad", "dfa")


def pulse_config_for(
    seed: np.random.SeedSequence, in_size: int, out_size: int, bl_max: int = 31
) -> PulseGeneratorConfig:
    """The pulse generator config of one tile: its line counts, and LFSR seeds drawn from the tile's seed.

    Each tile gets its own base seed (from the tile's pulse :class:`~numpy.random.SeedSequence`), so
    the generators of different layers do not repeat each other's streams.
    """
    # 16 bits: 65 535 distinct line seeds and draws of 8 bits; wider LFSRs only cost build time here
    width = 16
    base = int(seed.generate_state(1, dtype=np.uint32)[0]) & ((1 << width) - 1)
    return PulseGeneratorConfig(
        x_lines=in_size,
        d_lines=out_size,
        bl_counter_bits=max(1, bl_max.bit_length()),
        bl_max=bl_max,
        probability_bits=8,
        lfsr=LfsrConfig(width=width, seed=base or 1, steps_per_advance=8),
    )


@dataclass
class SourceLedger:
    """The pulse sources one training run created, in creation (tile) order, and which were used."""

    configs: list[PulseGeneratorConfig] = field(default_factory=list)
    updates: list[int] = field(default_factory=list)

    def used(self) -> list[int]:
        """Indices of the sources that served at least one update."""
        return [i for i, n in enumerate(self.updates) if n > 0]


class TwinSource(TwinPulseSource):
    """The twin as a PulseSource, counting its updates in a :class:`SourceLedger`."""

    def __init__(self, config: PulseGeneratorConfig, ledger: SourceLedger, index: int) -> None:
        super().__init__(config)
        self.ledger = ledger
        self.index = index

    def trains(
        self,
        x_probability: NDArray[np.float64],
        x_negative: NDArray[np.bool_],
        d_probability: NDArray[np.float64],
        d_negative: NDArray[np.bool_],
        bl: int,
    ) -> PulseTrains:
        """Pulse trains of one update (see :class:`~pulsetrain.model.periphery.PulseSource`)."""
        self.ledger.updates[self.index] += 1
        return super().trains(x_probability, x_negative, d_probability, d_negative, bl)


def register_twin_source(ledger: SourceLedger, bl_max: int) -> None:
    """Register ``cosim-twin`` in the model's pulse-source registry, recording into ``ledger``."""
    from pulsetrain.model.pulses import PULSE_SOURCES

    def factory(seed: np.random.SeedSequence, in_size: int, out_size: int) -> TwinSource:
        config = pulse_config_for(seed, in_size, out_size, bl_max)
        ledger.configs.append(config)
        ledger.updates.append(0)
        return TwinSource(config, ledger, len(ledger.configs) - 1)

    PULSE_SOURCES["cosim-twin"] = factory  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------------
# the RTL top: one pulse generator per updating tile
# --------------------------------------------------------------------------------------------------


def training_periphery(configs: list[PulseGeneratorConfig], generator_class: Any = None) -> Any:
    """An Amaranth top with one :class:`~pulsetrain.rtl.pulse_generator.PulseGenerator` per config.

    Ports of generator ``k`` are prefixed ``tile{k}__`` in the Verilog (``tile0__codes__payload``...).
    ``generator_class`` replaces the generator (a deliberately broken variant in tests).
    """
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import Out
    from pulsetrain.rtl.pulse_generator import PulseGenerator

    class TrainingPeriphery(wiring.Component):
        """The update pulse generators of every tile of a network, side by side."""

        def __init__(self) -> None:
            cls = generator_class or PulseGenerator
            self._generators = [cls(config) for config in configs]
            super().__init__({f"tile{k}": Out(g.signature) for k, g in enumerate(self._generators)})

        def elaborate(self, platform: object) -> Module:
            m = Module()
            for k, generator in enumerate(self._generators):
                m.submodules[f"generator{k}"] = generator
                wiring.connect(m, wiring.flipped(getattr(self, f"tile{k}")), generator)
            return m

    return TrainingPeriphery()


# --------------------------------------------------------------------------------------------------
# decisions compared
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The first periphery decision where RTL and model differ."""

    #: update index of that tile (0-based): the training step at batch 1 with one update per step
    update: int
    #: tile index in the algorithm's creation order (e.g. A and C of each layer for TTv2)
    tile: int
    #: which decision: ``x_fire[slot, line]``, ``d_negative[line]``...
    what: str
    rtl: Any
    model: Any
    #: layer: index among the tiles that issue updates (the RTL generator ``tile{layer}``), input first
    layer: int = -1

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.update,
            "layer": self.layer,
            "tile": self.tile,
            "what": self.what,
            "rtl": self.rtl,
            "model": self.model,
        }


def first_difference(
    update: int, tile: int, design: PulseTrains, model: PulseTrains, layer: int = -1
) -> Decision | None:
    """The first differing decision of two pulse-train transactions, or None when they agree."""
    for name in ("x_fire", "d_fire", "x_negative", "d_negative"):
        a, b = np.asarray(getattr(design, name)), np.asarray(getattr(model, name))
        if a.shape != b.shape:
            return Decision(update, tile, f"{name} shape", list(a.shape), list(b.shape), layer)
        differ = np.argwhere(a != b)
        if differ.size:
            index = tuple(int(i) for i in differ[0])
            label = f"{name}[slot {index[0]}, line {index[1]}]" if a.ndim == 2 else f"{name}[line {index[0]}]"
            return Decision(update, tile, label, bool(a[index]), bool(b[index]), layer)
    return None


def decisions_in(trains: PulseTrains) -> int:
    """Number of individual decisions in one transaction (each slot of each line, each sign line)."""
    return int(trains.x_fire.size + trains.d_fire.size + trains.x_negative.size + trains.d_negative.size)


# --------------------------------------------------------------------------------------------------
# host side
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CosimRequest:
    """One ``pulsetrain cosim --algo`` run."""

    #: training options as the ``train`` command takes them (``algo``, ``seed``, ``network.hidden``...)
    options: Mapping[str, Any]
    #: ``--set`` overrides
    sets: tuple[str, ...] = ()
    #: training samples (the first N of the shuffled training set); None: whole epochs
    samples: int | None = None
    #: epochs (when ``samples`` is None)
    epochs: int = 1
    #: simulator name
    simulator: str = "verilator"
    #: record waveforms of the whole run (large)
    waves: bool = False
    #: pulse generator class of the RTL (None: the real one; tests pass broken variants)
    generator_class: Any = None


def resolve(request: CosimRequest) -> Any:
    """The TrainConfig of a request (validated; ConfigError before any work)."""
    from pulsetrain.model.training import resolve_train_config

    options = dict(request.options)
    if request.samples is not None:
        check_int("samples", request.samples, 1, 10_000_000)
        options["epochs"] = 1
    else:
        check_int("epochs", request.epochs, 1, 1000)
        options["epochs"] = request.epochs
    register_twin_source(SourceLedger(), 31)
    options["pulse_source"] = "cosim-twin"
    config = resolve_train_config(options=options, sets=request.sets)
    if config.algo not in COSIM_ALGORITHMS:
        raise ConfigError(f"algo must be one of {', '.join(COSIM_ALGORITHMS)} for cosim; not {config.algo!r}")
    if config.batch_size != 1:
        raise ConfigError(
            f"batch_size must be 1 for cosim (one rank-1 update per sample), not {config.batch_size}"
        )
    return config


def data_for(config: Any, samples: int | None) -> Any:
    """The data split of a run; with ``samples`` the first N training samples only."""
    from pulsetrain.model.data import load_dataset

    data = load_dataset(config.dataset, config.data_dir)
    if samples is not None:
        if samples > data.x_train.shape[0]:
            raise ConfigError(f"samples must be at most {data.x_train.shape[0]}, not {samples}")
        data = dataclasses.replace(data, x_train=data.x_train[:samples], y_train=data.y_train[:samples])
    return data


def save_data(data: Any, folder: Any) -> str:
    """Write a data split to ``folder/data.npz`` for the simulator process; returns the path.

    The simulator's embedded Python should not import scikit-learn to load the digits again (measured:
    31 s inside the simulator against 4 s outside on the shared 2-core machine).
    """
    from pathlib import Path

    path = Path(folder) / "data.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        x_train=data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        n_classes=np.int64(data.n_classes),
    )
    return str(path)


def load_data(path: str) -> Any:
    """The data split written by :func:`save_data`."""
    from pulsetrain.model.data import DataSplit

    with np.load(path) as arrays:
        return DataSplit(
            x_train=arrays["x_train"],
            y_train=arrays["y_train"],
            x_test=arrays["x_test"],
            y_test=arrays["y_test"],
            n_classes=int(arrays["n_classes"]),
        )


def run_pure_model(config: Any, data: Any) -> tuple[dict[str, Any], SourceLedger]:
    """The pure-model run (twin pulse sources) and the ledger of its generators."""
    from pulsetrain.model.training import train

    ledger = SourceLedger()
    register_twin_source(ledger, config.update.desired_bl)
    results = train(dataclasses.replace(config, pulse_source="cosim-twin"), data=data)
    return results, ledger


def run_training_cosim(request: CosimRequest) -> dict[str, Any]:
    """Pure model, then the same run with the RTL serving every update; both compared. JSON-ready."""
    from pulsetrain.cosim import runner

    config = resolve(request)
    simulator = runner.parse_simulator(request.simulator)
    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        raise ConfigError(f"sim {simulator.value} is not available: {reason}")
    data = data_for(config, request.samples)
    started = time.perf_counter()
    model_results, ledger = run_pure_model(config, data)
    model_seconds = time.perf_counter() - started
    used = ledger.used()
    if not used:
        raise ConfigError(
            f"algo {config.algo} issued no pulsed updates with these settings: nothing to co-simulate"
        )
    configs = [ledger.configs[i] for i in used]
    build_start = time.perf_counter()
    top = training_periphery(configs, request.generator_class)
    built = runner.build(runner.verilog_of(top, "training_periphery"), "training_periphery", simulator)
    if request.waves:
        built = runner.build(built.verilog, built.toplevel, simulator, waves=True, root=built.folder.parent)
    build_seconds = time.perf_counter() - build_start
    data_file = save_data(data, built.folder / "data" / f"{config.algo}-{config.seed}-{request.samples}")
    parameters = {
        "data_file": data_file,
        "options": {**to_plain(dict(request.options)), "epochs": config.epochs},
        "sets": list(request.sets),
        "samples": request.samples,
        "bl_max": config.update.desired_bl,
        "used_sources": used,
        "source_configs": [to_plain(c) for c in configs],
    }
    result = runner.run_bench(
        built,
        "pulsetrain.cosim.bench_training",
        parameters,
        name=f"{config.algo}-{config.seed}-{request.samples}",
        waves_on_failure=True,
    )
    rtl = result.measurements
    rtl_results = rtl.get("results") or {}
    mismatch = rtl.get("first_mismatch")
    matches = bool(
        result.passed
        and mismatch is None
        and rtl_results.get("weights_sha256") == model_results["weights_sha256"]
        and rtl_results.get("test_accuracy") == model_results["test_accuracy"]
    )
    samples_run = int(rtl.get("samples") or 0)
    return {
        "config": model_results["config"],
        "simulator": simulator.value,
        "samples": samples_run,
        "epochs": config.epochs if request.samples is None else None,
        "cycles": int(rtl.get("cycles") or 0),
        "wall_seconds": result.run_seconds,
        "build_seconds": build_seconds,
        "model_wall_seconds": model_seconds,
        "decisions_compared": int(rtl.get("decisions_compared", 0)),
        "transactions_compared": int(rtl.get("transactions", 0)),
        # a differing decision stops the run (1); without one, differing weights or accuracy count as 1
        "mismatches": int(rtl.get("mismatches", 0)) or (0 if matches else 1),
        "first_mismatch": mismatch,
        "matches_model": matches,
        "test_accuracy": rtl_results.get("test_accuracy"),
        "model_test_accuracy": model_results["test_accuracy"],
        "weights_sha256": rtl_results.get("weights_sha256"),
        "model_weights_sha256": model_results["weights_sha256"],
        "time_split": rtl.get("time_split", {}),
        "samples_per_second": rtl.get("samples_per_second"),
        "waveform": str(result.waveform) if result.waveform else None,
        "log": str(result.log),
        "bench_failures": result.messages,
        "tiles_in_rtl": used,
    }
