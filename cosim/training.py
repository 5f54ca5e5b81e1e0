"""Training with the periphery RTL in the loop, and the pure-model run it is held against.

Two seams of the model carry every digital periphery decision of a training run:

1. the :class:`~pulsetrain.model.periphery.PulseSource` of each tile (the pulse trains of each rank-1
   update), and
2. for ``ttv2``, ``c-ttv2`` and ``agad``, the :class:`~pulsetrain.model.transfer.TransferPeriphery` of
   each layer (chopper signs, which column is transferred when, H, pulses to C, AGAD references).

Pulse sources: two are registered in the model's registry (:data:`pulsetrain.model.pulses.PULSE_SOURCES`)
by this module:

``cosim-twin``
    the bit-exact twin (:class:`~pulsetrain.model.twins.pulse.TwinPulseGenerator`) with the per-tile
    generator config of :func:`pulse_config_for`: the pure-model run.
``rtl``
    (inside the simulator only) the simulated Verilog of the same generator, driven one transaction per
    update by :class:`~pulsetrain.cosim.transactors.PulseGeneratorTransactor`; a twin shadows it and
    every decision (each line's pulse in each slot, each sign line) is compared before the trains reach
    the tile. The first difference stops the run with its update, tile, slot, line and both values.

Transfer peripheries: the pure-model run uses the bit-exact twin
(:class:`~pulsetrain.model.twins.transfer.TwinTransferPeriphery`, ``tiki_taka.periphery=twin``, forced by
:func:`resolve`); inside the simulator every layer's periphery is the simulated Verilog of
:class:`~pulsetrain.rtl.transfer_controller.TransferController`, driven one transaction per protocol call
(signs / step / transfer of one column) by :class:`~pulsetrain.cosim.transactors.
TransferControllerTransactor` and shadowed by a twin; the first differing decision (transfer due, column,
a row's pulses to C, H, AGAD reference, hold-off, chopper flips and signs) stops the run. The model
builds each layer's periphery from its registry ``pulsetrain.model.algorithms.tiki_taka.TRANSFER_SERVERS``;
``tiki_taka.serving_transfer_periphery`` serves the twin's kind with the RTL for the duration of one run.

The ADC codes of those column reads of A come from the simulated :class:`~pulsetrain.rtl.adc_readout.
AdcReadout` of the layer (one per layer, config from :func:`adc_config_for`): the model's read (the analog
values with the model's read noise and saturation) is held, the RTL's comparator trials are answered from
it, and the codes it produces are compared with the model's ADC (``rint(value / lsb)``) before the
transfer controller gets them. The seam is the model's :class:`~pulsetrain.model.periphery.ColumnAdc`:
the RTL transfer periphery carries its layer's ADC as ``column_adc``, and the layer hands it to tile A.

The network's own forward and backward reads (every tile, both directions, in training and in the
end-of-epoch accuracy passes) are converted by ADC readouts too: one per tile direction the pure run
read through an ADC (:class:`ReadAdcUse`), each code checked against ``rint(value / lsb)``. The seam is
the model's :class:`~pulsetrain.model.periphery.ReadAdc` (``Tile.read_adc``), attached to each tile as
it is created (``pulsetrain.model.tile.TILE_OBSERVERS``, :func:`observing_tiles`). The input DACs of
those reads stay the model's (the RTL has no DAC block).

The analog arrays are the model's tiles in both runs (same code, same generators), so identical
decisions give identical weights: the host compares the SHA-256 of all weights of the two runs.

The host (:func:`run_training_cosim`) first runs the pure model, which also records the generator config
of every tile that issued updates, the transfer controller config of every TTv2-family layer and the
tile directions read through an ADC; it then builds one RTL top holding one generator per such tile, one
transfer controller and ADC readout per such layer and one ADC readout per such tile direction
(:func:`training_periphery`), runs the cocotb test :mod:`pulsetrain.cosim.bench_training`, and merges
both results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.twins.pulse import TwinPulseSource

from pulsetrain import catalogue
from pulsetrain.config import ConfigError, check_int, to_plain
from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.lfsr import LfsrConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig
from pulsetrain.periphery.transfer import TransferControllerConfig

#: the algorithms whose updates run through pulse sources (the catalogue's cosim-capable ones)
COSIM_ALGORITHMS = catalogue.algorithm_names(cosim=True)
#: the algorithms whose layers also have a transfer periphery (served by the transfer controller RTL)
TRANSFER_ALGORITHMS = catalogue.algorithm_names(cosim=True, block="transfer-controller")


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


def recording_twin_factory(configs: list[TransferControllerConfig]) -> Any:
    """A factory of twin transfer peripheries that appends each layer's config to ``configs``."""
    from pulsetrain.model.twins.transfer import TwinTransferPeriphery

    def factory(config: TransferControllerConfig, rng: np.random.Generator) -> Any:
        configs.append(config)
        return TwinTransferPeriphery(config)

    return factory


#: columns multiplexed onto one ADC in the training loop's ADC readouts (the periphery default)
ADC_COLUMNS_PER_ADC = AdcReadoutConfig().columns_per_adc


def adc_config_for(transfer: TransferControllerConfig) -> AdcReadoutConfig:
    """The ADC readout of one TTv2-family layer's column reads of A: one column per output line of A.

    SAR conversion with the transfer controller's ADC width (the model's ``io.adc_bits``), the periphery's
    default multiplexing (``ADC_COLUMNS_PER_ADC`` columns per ADC) and settle / compare timing.
    """
    return AdcReadoutConfig(
        columns=transfer.out_size,
        columns_per_adc=min(ADC_COLUMNS_PER_ADC, transfer.out_size),
        adc_bits=transfer.adc_bits,
    )


@dataclass(frozen=True)
class ReadAdcUse:
    """One direction of one tile whose reads go through an ADC: which tile, which direction, its config."""

    #: creation index of the tile in the run (the order the algorithm builds its tiles)
    tile: int
    #: False: forward reads (``W x``, ``out_size`` lines); True: backward reads (``Wᵀ d``, ``in_size``)
    transpose: bool
    #: the ADC readout that converts them
    config: AdcReadoutConfig


def read_adc_config(lines: int, adc_bits: int) -> AdcReadoutConfig:
    """The ADC readout of one tile direction: one column per output line, SAR, default multiplexing."""
    return AdcReadoutConfig(columns=lines, columns_per_adc=min(ADC_COLUMNS_PER_ADC, lines), adc_bits=adc_bits)


class RecordingReads:
    """The pure run's :class:`~pulsetrain.model.periphery.ReadAdc`: the model's codes (``rint(v / lsb)``,
    as the RTL run checks them), recording which tile directions were read."""

    def __init__(self, tile: Any, index: int, uses: dict[tuple[int, bool], ReadAdcUse]) -> None:
        self.tile = tile
        self.index = index
        self.uses = uses

    def convert(self, transpose: bool, values: NDArray[np.float64], lsb: float) -> NDArray[np.float64]:
        """Model codes of a (batch, lines) read, as floats; the first read of a direction is recorded."""
        from pulsetrain.model.tile import adc_codes

        key = (self.index, transpose)
        if key not in self.uses:
            io = self.tile.backward_io if transpose else self.tile.forward_io
            self.uses[key] = ReadAdcUse(self.index, transpose, read_adc_config(values.shape[1], io.adc_bits))
        return adc_codes(values, lsb).astype(np.float64)


@contextlib.contextmanager
def observing_tiles(attach: Callable[[Any, int], None]) -> Iterator[None]:
    """Call ``attach(tile, creation index)`` for every tile created while the block runs."""
    from pulsetrain.model.tile import TILE_OBSERVERS

    created = [0]

    def observer(tile: Any) -> None:
        attach(tile, created[0])
        created[0] += 1

    TILE_OBSERVERS.append(observer)
    try:
        yield
    finally:
        TILE_OBSERVERS.remove(observer)


# --------------------------------------------------------------------------------------------------
# the RTL top: one pulse generator per updating tile
# --------------------------------------------------------------------------------------------------


def training_periphery(
    configs: list[PulseGeneratorConfig],
    generator_class: Any = None,
    transfer_configs: list[TransferControllerConfig] | None = None,
    transfer_class: Any = None,
    adc_configs: list[AdcReadoutConfig] | None = None,
    adc_class: Any = None,
) -> Any:
    """An Amaranth top with one pulse generator per config, one transfer controller and one ADC readout
    per TTv2-family layer.

    Ports of generator ``k`` are prefixed ``tile{k}__`` in the Verilog (``tile0__codes__payload``...),
    those of layer ``k``'s :class:`~pulsetrain.rtl.transfer_controller.TransferController`
    ``transfer{k}__`` (``transfer0__readout__payload``...), those of its
    :class:`~pulsetrain.rtl.adc_readout.AdcReadout` ``adc{k}__``. ``generator_class``,
    ``transfer_class`` and ``adc_class`` (callables taking the block's config) replace the blocks with
    deliberately broken variants in tests.
    """
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import Out
    from pulsetrain.rtl.adc_readout import AdcReadout
    from pulsetrain.rtl.pulse_generator import PulseGenerator
    from pulsetrain.rtl.transfer_controller import TransferController

    class TrainingPeriphery(wiring.Component):
        """The update pulse generators of every tile and the transfer controllers of every layer."""

        def __init__(self) -> None:
            cls = generator_class or PulseGenerator
            self._generators = [cls(config) for config in configs]
            controller = transfer_class or TransferController
            self._controllers = [controller(config) for config in transfer_configs or []]
            readout = adc_class or AdcReadout
            self._readouts = [readout(config) for config in adc_configs or []]
            ports = {f"tile{k}": Out(g.signature) for k, g in enumerate(self._generators)}
            ports.update({f"transfer{k}": Out(c.signature) for k, c in enumerate(self._controllers)})
            ports.update({f"adc{k}": Out(a.signature) for k, a in enumerate(self._readouts)})
            super().__init__(ports)

        def elaborate(self, platform: object) -> Module:
            m = Module()
            for k, generator in enumerate(self._generators):
                m.submodules[f"generator{k}"] = generator
                wiring.connect(m, wiring.flipped(getattr(self, f"tile{k}")), generator)
            for k, controller in enumerate(self._controllers):
                m.submodules[f"transfer_controller{k}"] = controller
                wiring.connect(m, wiring.flipped(getattr(self, f"transfer{k}")), controller)
            for k, readout in enumerate(self._readouts):
                m.submodules[f"adc_readout{k}"] = readout
                wiring.connect(m, wiring.flipped(getattr(self, f"adc{k}")), readout)
            return m

    return TrainingPeriphery()


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
    #: test samples of the end-of-epoch accuracy pass (the first N of the test set); None: the whole
    #: test set when it holds at most :data:`WHOLE_TEST_SET_UP_TO` images, else :data:`DEFAULT_TEST_SAMPLES`
    test_samples: int | None = None
    #: simulator name
    simulator: str = "verilator"
    #: record waveforms of the whole run (large)
    waves: bool = False
    #: pulse generator class of the RTL (None: the real one; tests pass broken variants)
    generator_class: Any = None
    #: transfer controller class (or factory of a config) of the RTL (None: the real one)
    transfer_class: Any = None
    #: convert the TTv2 family's column reads of A with the ADC readout RTL (False: the model's ADC)
    adc_in_loop: bool = True
    #: ADC readout class (or factory of a config) of the RTL (None: the real one)
    adc_class: Any = None
    #: tiles (creation order: input side first) whose pulse generator and read ADCs are RTL; the others
    #: keep the bit-exact twin and the model's ADC, as in the pure run. None: every tile. Keeps the
    #: Verilator build of a large network (LeNet-5: 1255 pulsed lines) small where a test needs it.
    rtl_tiles: tuple[int, ...] | None = None


def cosim_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Training options of both runs: twin pulse sources, and the twin transfer server (TTv2 family).

    The float transfer server draws NumPy random numbers, so only the twin can be compared with the RTL
    decision for decision.
    """
    plain = dict(options)
    plain["pulse_source"] = "cosim-twin"
    if plain.get("algo") in TRANSFER_ALGORITHMS:
        plain.setdefault("tiki_taka.periphery", "twin")
    return plain


def check_transfer_server(config: Any) -> None:
    """A ConfigError when a TTv2-family run would not use the twin transfer server (``--set`` can)."""
    from pulsetrain.model.algorithms.configs import TransferServerKind

    if config.algo in TRANSFER_ALGORITHMS and config.tiki_taka.periphery is not TransferServerKind.TWIN:
        raise ConfigError(
            f"tiki_taka.periphery must be twin for cosim (the RTL is compared with the bit-exact twin), "
            f"not {config.tiki_taka.periphery.value!r}"
        )


def resolve(request: CosimRequest) -> Any:
    """The TrainConfig of a request (validated; ConfigError before any work)."""
    from pulsetrain.model.training import resolve_train_config

    options = dict(request.options)
    if request.test_samples is not None:
        check_int("test_samples", request.test_samples, 1, 10_000_000)
    if request.rtl_tiles is not None:
        if not request.rtl_tiles:
            raise ConfigError("rtl_tiles must name at least one tile, not an empty list")
        for tile in request.rtl_tiles:
            check_int("rtl_tiles", tile, 0, 1023)
    if request.samples is not None:
        check_int("samples", request.samples, 1, 10_000_000)
        options["epochs"] = 1
    else:
        check_int("epochs", request.epochs, 1, 1000)
        options["epochs"] = request.epochs
    register_twin_source(SourceLedger(), 31)
    config = resolve_train_config(options=cosim_options(options), sets=request.sets)
    if config.algo not in COSIM_ALGORITHMS:
        raise ConfigError(f"algo must be one of {', '.join(COSIM_ALGORITHMS)} for cosim; not {config.algo!r}")
    check_transfer_server(config)
    if config.batch_size != 1:
        raise ConfigError(
            f"batch_size must be 1 for cosim (one rank-1 update per sample), not {config.batch_size}"
        )
    return config


def run_pure_model(
    config: Any, data: Any, reads: dict[tuple[int, bool], ReadAdcUse] | None = None
) -> tuple[dict[str, Any], SourceLedger, list[TransferControllerConfig]]:
    """The pure-model run (twin pulse sources and transfer peripheries), the ledger of its generators and
    the transfer controller config of each TTv2-family layer (empty for other algorithms).

    With ``reads`` (a dict to fill) every tile's forward and backward ADC codes go through
    :class:`RecordingReads`, which records the tile directions that were read."""
    from pulsetrain.model.algorithms.configs import TransferServerKind
    from pulsetrain.model.algorithms.tiki_taka import serving_transfer_periphery
    from pulsetrain.model.training import train

    ledger = SourceLedger()
    register_twin_source(ledger, config.update.desired_bl)
    transfer_configs: list[TransferControllerConfig] = []

    def attach(tile: Any, index: int) -> None:
        if reads is not None:
            tile.read_adc = RecordingReads(tile, index, reads)

    with (
        serving_transfer_periphery(TransferServerKind.TWIN, recording_twin_factory(transfer_configs)),
        observing_tiles(attach),
    ):
        results = train(dataclasses.replace(config, pulse_source="cosim-twin"), data=data)
    return results, ledger, transfer_configs


def run_training_cosim(request: CosimRequest) -> dict[str, Any]:
    """Pure model, then the same run with the RTL serving every update; both compared. JSON-ready."""
    from pulsetrain.cosim import runner
    from pulsetrain.cosim.training_data import data_for, save_data

    config = resolve(request)
    simulator = runner.parse_simulator(request.simulator)
    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        raise ConfigError(f"sim {simulator.value} is not available: {reason}")
    data = data_for(config, request.samples, request.test_samples)
    started = time.perf_counter()
    reads: dict[tuple[int, bool], ReadAdcUse] = {}
    model_results, ledger, transfer_configs = run_pure_model(
        config, data, reads if request.adc_in_loop else None
    )
    in_rtl = _tiles_in_rtl(request.rtl_tiles, len(ledger.configs))
    plan = _RtlPlan(
        used=[i for i in ledger.used() if i in in_rtl],
        twins=[i for i in ledger.used() if i not in in_rtl],
        pulse_configs=[],
        transfer_configs=transfer_configs,
        adc_configs=[adc_config_for(c) for c in transfer_configs] if request.adc_in_loop else [],
        read_uses=[reads[key] for key in sorted(reads) if key[0] in in_rtl],
    )
    model_seconds = time.perf_counter() - started
    if not plan.used:
        raise ConfigError(
            f"algo {config.algo} issued no pulsed updates with these settings: nothing to co-simulate"
        )
    plan.pulse_configs.extend(ledger.configs[i] for i in plan.used)
    # after the transfer path's readouts, one per tile direction the network reads through an ADC
    plan.adc_configs.extend(use.config for use in plan.read_uses)
    build_start = time.perf_counter()
    top = training_periphery(
        plan.pulse_configs,
        request.generator_class,
        plan.transfer_configs,
        request.transfer_class,
        plan.adc_configs,
        request.adc_class,
    )
    built = runner.build(runner.verilog_of(top, "training_periphery"), "training_periphery", simulator)
    if request.waves:
        built = runner.build(built.verilog, built.toplevel, simulator, waves=True, root=built.folder.parent)
    build_seconds = time.perf_counter() - build_start
    data_file = save_data(data, built.folder / "data" / f"{config.algo}-{config.seed}-{request.samples}")
    result = runner.run_bench(
        built,
        "pulsetrain.cosim.bench_training",
        plan.bench_parameters(request, config, data_file),
        name=f"{config.algo}-{config.seed}-{request.samples}",
        waves_on_failure=True,
    )
    document = _compare(result, model_results, plan)
    return {
        "config": model_results["config"],
        "simulator": simulator.value,
        "samples": document.pop("samples"),
        "test_samples": int(data.x_test.shape[0]),
        "epochs": config.epochs if request.samples is None else None,
        "cycles": document.pop("cycles"),
        "wall_seconds": result.run_seconds,
        "build_seconds": build_seconds,
        "model_wall_seconds": model_seconds,
        **document,
    }


def _tiles_in_rtl(rtl_tiles: tuple[int, ...] | None, tiles: int) -> set[int]:
    """The tile indices the RTL serves (``rtl_tiles`` checked against the ``tiles`` the run created)."""
    if rtl_tiles is None:
        return set(range(tiles))
    outside = [tile for tile in rtl_tiles if tile >= tiles]
    if outside:
        raise ConfigError(f"rtl_tiles must lie in 0..{tiles - 1} (the run's tiles), not {outside[0]}")
    return set(rtl_tiles)


@dataclass
class _RtlPlan:
    """What the RTL top of one run holds: which tiles' generators, transfer controllers, ADC readouts."""

    #: indices of the pulse sources (tiles) that issued updates in the pure run and are served by the RTL
    used: list[int]
    #: those that issued updates but stay the twin (outside ``rtl_tiles``)
    twins: list[int]
    pulse_configs: list[PulseGeneratorConfig]
    transfer_configs: list[TransferControllerConfig]
    #: the transfer path's readouts (one per TTv2-family layer), then one per read tile direction
    adc_configs: list[AdcReadoutConfig]
    read_uses: list[ReadAdcUse]

    def bench_parameters(self, request: CosimRequest, config: Any, data_file: str) -> dict[str, Any]:
        """The parameters of :mod:`pulsetrain.cosim.bench_training` for this plan."""
        return {
            "data_file": data_file,
            "options": {**to_plain(dict(request.options)), "epochs": config.epochs},
            "sets": list(request.sets),
            "samples": request.samples,
            "bl_max": config.update.desired_bl,
            "used_sources": self.used,
            "twin_sources": self.twins,
            "source_configs": [to_plain(c) for c in self.pulse_configs],
            "transfer_configs": [to_plain(c) for c in self.transfer_configs],
            "adc_configs": [to_plain(c) for c in self.adc_configs],
            "read_adcs": [
                {"tile": use.tile, "transpose": use.transpose, "adc": len(self.transfer_configs) + k}
                for k, use in enumerate(self.read_uses)
            ],
        }


def _compare(result: Any, model_results: dict[str, Any], plan: _RtlPlan) -> dict[str, Any]:
    """The RTL run's measurements next to the pure model's, and whether they match."""
    rtl = result.measurements
    rtl_results = rtl.get("results") or {}
    mismatch = rtl.get("first_mismatch")
    matches = bool(
        result.passed
        and mismatch is None
        and rtl_results.get("weights_sha256") == model_results["weights_sha256"]
        and rtl_results.get("test_accuracy") == model_results["test_accuracy"]
    )
    return {
        "samples": int(rtl.get("samples") or 0),
        "cycles": int(rtl.get("cycles") or 0),
        "decisions_compared": int(rtl.get("decisions_compared", 0)),
        "transactions_compared": int(rtl.get("transactions", 0)),
        "decisions_by_block": rtl.get("decisions_by_block", {}),
        "transactions_by_block": rtl.get("transactions_by_block", {}),
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
        "tiles_in_rtl": plan.used,
        "tiles_on_twin": plan.twins,
        "transfer_controllers_in_rtl": len(plan.transfer_configs),
        "adc_readouts_in_rtl": len(plan.adc_configs) - len(plan.read_uses),
        "read_adcs_in_rtl": [{"tile": use.tile, "transpose": use.transpose} for use in plan.read_uses],
        "transfer_activity": rtl.get("transfer_activity"),
        "pulses": rtl_results.get("pulses"),
        "model_pulses": model_results["pulses"],
    }
