"""cocotb test: training with every pulsed update, transfer decision and ADC code served by the RTL.

Runs inside the simulator. The training loop is the model's own (:func:`pulsetrain.model.training.train`)
in a bridge thread; each tile's ``rtl`` pulse source hands one update transaction to the simulator
(:func:`cocotb.task.resume`), where :class:`~pulsetrain.cosim.transactors.PulseGeneratorTransactor`
writes the codes and collects the slots. In ``ttv2`` / ``c-ttv2`` / ``agad`` runs each layer's transfer
periphery is :class:`RtlTransferPeriphery`: its protocol calls (chopper signs, one A-update strobe, one
column transfer) are transactions of :class:`~pulsetrain.cosim.transactors.TransferControllerTransactor`
on that layer's transfer controller, and the ADC codes of each column read of A are converted by that
layer's ADC readout (:class:`RtlColumnAdc`, the layer's ``column_adc``); the codes of every forward and
backward read of the network come from one ADC readout per tile direction (:class:`RtlTileReads`, the
tile's ``read_adc``). The simulator does not advance between transactions. A twin shadows every
transaction; the first differing decision stops the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cocotb
import numpy as np
from cocotb.task import bridge, resume
from cocotb.triggers import Timer
from pulsetrain.cosim.decisions import Decision, decisions_in, first_difference
from pulsetrain.cosim.kit import bench_parameters, config_from_plain, report, start_clock_and_reset
from pulsetrain.cosim.training import (
    SourceLedger,
    adc_config_for,
    check_transfer_server,
    cosim_options,
    observing_tiles,
    pulse_config_for,
    register_twin_source,
)
from pulsetrain.cosim.training_data import load_data
from pulsetrain.cosim.transactors import (
    AdcReadoutTransactor,
    ColumnTransfer,
    PulseGeneratorTransactor,
    TransferControllerTransactor,
)
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.transfer import ChopperSigns, TransferRequest, TransferResult
from pulsetrain.model.twins.pulse import TwinPulseSource

from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig, quantize
from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode

CLOCK_NS = 10


class DecisionMismatch(Exception):
    """The RTL made a decision the twin did not."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(str(decision.as_dict()))
        self.decision = decision


class RunStatistics:
    """Counts and times of the run (one per bench), in total and per RTL block."""

    def __init__(self) -> None:
        self.transactions = 0
        self.decisions = 0
        self.transaction_seconds = 0.0
        self.first_mismatch: Decision | None = None
        self.transactions_by_block: dict[str, int] = {}
        self.decisions_by_block: dict[str, int] = {}
        self.seconds_by_block: dict[str, float] = {}
        #: what the transfer controllers did: columns read, pulses to C (sum of |n|), input and output
        #: chopper flips, AGAD reads held off (tests use it to show the decisions were exercised)
        self.transfer_activity = {"columns": 0, "pulses_to_c": 0, "in_flips": 0, "out_flips": 0, "held": 0}

    def count(self, block: str, decisions: int, seconds: float) -> None:
        """One transaction of ``block`` with ``decisions`` decisions compared, ``seconds`` in the RTL."""
        self.transactions += 1
        self.decisions += decisions
        self.transaction_seconds += seconds
        self.transactions_by_block[block] = self.transactions_by_block.get(block, 0) + 1
        self.decisions_by_block[block] = self.decisions_by_block.get(block, 0) + decisions
        self.seconds_by_block[block] = self.seconds_by_block.get(block, 0.0) + seconds

    def stop(self, decision: Decision) -> None:
        """Record the first differing decision and stop the run."""
        self.first_mismatch = decision
        raise DecisionMismatch(decision)


class RtlPulseSource:
    """PulseSource served by one simulated pulse generator, shadowed by the twin."""

    def __init__(
        self,
        index: int,
        config: PulseGeneratorConfig,
        transactor: PulseGeneratorTransactor | None,
        statistics: RunStatistics,
        layer: int = -1,
    ) -> None:
        from pulsetrain.model.twins.pulse import TwinPulseGenerator

        self.index = index
        self.layer = layer
        self.config = config
        self.transactor = transactor
        self.twin = TwinPulseGenerator(config)
        self.statistics = statistics
        self.updates = 0
        self._fire = resume(transactor.fire) if transactor is not None else None

    def trains(
        self,
        x_probability: np.ndarray,
        x_negative: np.ndarray,
        d_probability: np.ndarray,
        d_negative: np.ndarray,
        bl: int,
    ) -> PulseTrains:
        if self._fire is None:
            raise RuntimeError(f"tile {self.index} issued an update, but the pure run said it never does")
        x_codes = quantize(self.config, x_probability, bl)
        d_codes = quantize(self.config, d_probability, bl)
        start = time.perf_counter()
        design = self._fire(x_codes, x_negative, d_codes, d_negative, bl)
        seconds = time.perf_counter() - start
        model = self.twin.fire(x_codes, x_negative, d_codes, d_negative, bl)
        self.statistics.count("pulse-generator", decisions_in(model), seconds)
        difference = first_difference(self.updates, self.index, design, model, self.layer)
        self.updates += 1
        if difference is not None:
            self.statistics.stop(difference)
        return design


class RtlColumnAdc:
    """The ADC codes of one layer's column reads of A, converted by the simulated ADC readout.

    ``convert`` holds the model's analog read of the column (values in device units, with the model's
    read noise and saturation), lets the RTL convert it (comparator trials answered from the held values)
    and compares every code with the model's own ADC, ``rint(value / lsb)``: one decision per row.
    """

    BLOCK = "adc-readout"

    def __init__(
        self,
        layer: int,
        config: AdcReadoutConfig,
        transactor: AdcReadoutTransactor,
        statistics: RunStatistics,
        block: str = BLOCK,
    ) -> None:
        self.layer = layer
        self.block = block
        self.config = config
        self.statistics = statistics
        self._convert = resume(transactor.convert)
        self._mid = 1 << (config.adc_bits - 1)
        #: the update of A (0-based) whose transfer reads now (set by the layer's transfer periphery)
        self.step = 0

    def convert(self, column: int, values: np.ndarray, lsb: float) -> np.ndarray:
        """Signed ADC codes of one column read (row order), served by the RTL and checked."""
        return self.convert_labelled(f"column {column}", values, lsb)

    def convert_labelled(self, what: str, values: np.ndarray, lsb: float) -> np.ndarray:
        """Signed ADC codes of one read of every line; a differing code is reported as ``what``."""
        from pulsetrain.model.tile import adc_codes

        model = adc_codes(np.array(values, dtype=np.float64), lsb)
        start = time.perf_counter()
        design = self._convert(np.asarray(values, dtype=np.float64), lsb) - self._mid
        self.statistics.count(self.block, int(design.size), time.perf_counter() - start)
        differ = np.flatnonzero(design != model)
        if differ.size:
            row = int(differ[0])
            self.statistics.stop(
                Decision(
                    self.step,
                    -1,
                    f"{what}: ADC code[row {row}]",
                    int(design[row]),
                    int(model[row]),
                    self.layer,
                    self.block,
                )
            )
        return design


class RtlTileReads:
    """:class:`~pulsetrain.model.periphery.ReadAdc` of one tile: its forward and backward reads' ADC codes
    converted row by row by the simulated ADC readout of that direction, each code checked."""

    #: the decisions' block name (the same ADC readout RTL as the transfer path's, other reads)
    BLOCK = "read-adc"

    def __init__(self, tile: int, readouts: dict[bool, RtlColumnAdc]) -> None:
        self.tile = tile
        self.readouts = readouts
        #: reads converted so far (the step of a differing code)
        self.reads = 0

    def convert(self, transpose: bool, values: np.ndarray, lsb: float) -> np.ndarray:
        """Codes (as floats) of a (batch, lines) read; a direction without a readout raises."""
        adc = self.readouts.get(transpose)
        direction = "backward" if transpose else "forward"
        if adc is None:
            raise RuntimeError(f"tile {self.tile}: {direction} read, but the pure run made none")
        codes = np.empty(values.shape, dtype=np.float64)
        for row, line_values in enumerate(values):
            adc.step = self.reads
            codes[row] = adc.convert_labelled(f"tile {self.tile} {direction} read", line_values, lsb)
            self.reads += 1
        return codes


def _signs_of(negative: np.ndarray) -> np.ndarray:
    """Sign lines (True: -1) as the protocol's int8 +1 / -1 signs."""
    return np.where(negative, -1, 1).astype(np.int8)


class RtlTransferPeriphery:
    """:class:`~pulsetrain.model.transfer.TransferPeriphery` served by one simulated transfer controller.

    Every protocol call is one transaction on the RTL, and the same call on a shadowing
    :class:`~pulsetrain.model.twins.transfer.TwinTransferPeriphery`; the RTL's answer is compared field
    by field with the twin's and returned to the training loop (so C receives the pulses the RTL decided).

    Decisions compared: each chopper sign line handed to the update path (``signs``); whether a transfer
    is due and which column (``step``); per column read, the column, per row the record's row, column,
    pulses to C, H after, AGAD reference used and hold-off, the input chopper flip, and each output
    chopper flip (``transfer``).
    """

    BLOCK = "transfer-controller"

    def __init__(
        self,
        layer: int,
        config: TransferControllerConfig,
        transactor: TransferControllerTransactor,
        statistics: RunStatistics,
        adc: RtlColumnAdc | None = None,
    ) -> None:
        from pulsetrain.model.twins.transfer import TwinTransferPeriphery

        self.layer = layer
        self._config = config
        self.transactor = transactor
        self.twin = TwinTransferPeriphery(config)
        self.statistics = statistics
        #: updates of A counted so far (the step of a differing decision)
        self.steps = 0
        self._signs = resume(transactor.signs)
        self._step = resume(transactor.step)
        self._transfer = resume(transactor.transfer)
        #: this layer's ADC readout: the layer reads the columns of A through it (None: the model's ADC)
        self.column_adc = adc

    @property
    def config(self) -> TransferControllerConfig:
        """The config the RTL was built from."""
        return self._config

    def h_buffer(self) -> np.ndarray:
        """H of the twin (equal to the RTL's memory as long as no decision differed)."""
        return self.twin.h_buffer()

    def _stop(self, step: int, what: str, rtl: Any, model: Any) -> None:
        self.statistics.stop(Decision(step, -1, what, rtl, model, self.layer, self.BLOCK))

    def _compare_lines(self, what: str, rtl: np.ndarray, model: np.ndarray, label: str) -> None:
        differ = np.flatnonzero(np.asarray(rtl) != np.asarray(model))
        if differ.size:
            index = int(differ[0])
            self._stop(self.steps, f"{what}[{label} {index}]", int(rtl[index]), int(model[index]))

    def signs(self) -> ChopperSigns:
        start = time.perf_counter()
        in_negative, out_negative = self._signs()
        seconds = time.perf_counter() - start
        design = ChopperSigns(in_signs=_signs_of(in_negative), out_signs=_signs_of(out_negative))
        model = self.twin.signs()
        self.statistics.count(self.BLOCK, design.in_signs.size + design.out_signs.size, seconds)
        self._compare_lines("in_signs", design.in_signs, model.in_signs, "column")
        self._compare_lines("out_signs", design.out_signs, model.out_signs, "row")
        return design

    def step(self) -> TransferRequest | None:
        start = time.perf_counter()
        column = self._step()
        seconds = time.perf_counter() - start
        model = self.twin.step()
        self.statistics.count(self.BLOCK, 1 if model is None or column is None else 2, seconds)
        step = self.steps
        self.steps += 1
        if (column is None) != (model is None):
            self._stop(step, "transfer due", column is not None, model is not None)
        if model is None or column is None:
            return None
        if column != model.columns[0]:
            self._stop(step, "column", column, model.columns[0])
        if self.column_adc is not None:
            self.column_adc.step = step  # the column reads of this transfer report this step
        # the later columns of one event are compared when the RTL asks for each (``transfer``)
        return TransferRequest(columns=(column, *model.columns[1:]))

    def transfer_pulses(self, column: int, readout: Any) -> tuple[np.ndarray | None, bool]:
        """:meth:`transfer` with the model servers' lean answer: pulses (None when none) and whether a
        chopper flipped (for a training loop that asks for that instead of the full result)."""
        result = self.transfer(column, readout)
        pulses = result.pulses if result.pulses.any() else None
        return pulses, bool(result.in_flipped or result.out_flipped.any())

    def transfer(self, column: int, readout: Any) -> TransferResult:
        config = self._config
        # the twin first: it refuses codes outside the ADC range before the RTL sees them
        model = self.twin.transfer(column, readout)
        codes = np.asarray(readout).astype(np.int64)
        start = time.perf_counter()
        done: ColumnTransfer = self._transfer(codes)
        seconds = time.perf_counter() - start
        step = self.steps - 1
        agad = config.mode is TransferMode.AGAD
        frac = config.reference_frac_bits
        h_codes = self.twin.h_codes()[:, column]
        reference_codes = self.twin.reference_codes()[:, column] if agad else None
        compared = 0

        def check(what: str, rtl: Any, expected: Any) -> None:
            nonlocal compared
            compared += 1
            if rtl != expected:
                self.statistics.count(self.BLOCK, compared, seconds)
                self._stop(step, f"column {column}: {what}", rtl, expected)

        check("column read", done.column, column)
        check("records", len(done.records), config.out_size)
        for row, record in enumerate(done.records):
            check(f"row {row}: row", record["row"], row)
            check(f"row {row}: column", record["column"], column)
            check(f"row {row}: pulses to C", record["pulses"], int(model.pulses[row]))
            check(f"row {row}: H", record["h"], int(h_codes[row]))
            check(f"row {row}: accumulated", bool(record["accumulated"]), model.accumulated)
            if reference_codes is not None:
                check(f"row {row}: reference", record["reference"], int(reference_codes[row]))
        check("in_sign", -1 if done.in_negative_before[column] else 1, model.in_sign)
        check("in_flipped", done.in_flipped, model.in_flipped)
        out_flipped = done.out_negative_after != done.out_negative_before
        for row in range(config.out_size):
            check(f"out_flipped[row {row}]", bool(out_flipped[row]), bool(model.out_flipped[row]))
        self.statistics.count(self.BLOCK, compared, seconds)
        records = done.records
        pulses = np.array([r["pulses"] for r in records], dtype=np.int64)
        activity = self.statistics.transfer_activity
        activity["columns"] += 1
        activity["pulses_to_c"] += int(np.abs(pulses).sum())
        activity["in_flips"] += int(done.in_flipped)
        activity["out_flips"] += int(out_flipped.sum())
        activity["held"] += int(not records[0]["accumulated"])
        return TransferResult(
            column=done.column,
            pulses=pulses,
            h_column=np.array([r["h"] for r in records], dtype=np.float64) / float(config.h_one),
            in_sign=-1 if done.in_negative_before[column] else 1,
            out_signs=_signs_of(done.out_negative_before),
            in_flipped=done.in_flipped,
            out_flipped=out_flipped,
            reference=(
                np.array([r["reference"] for r in records], dtype=np.float64) / float(1 << frac)
                if agad
                else None
            ),
            accumulated=bool(records[0]["accumulated"]),
        )


@dataclass
class _RtlPeriphery:
    """The transactors of every RTL block one training run drives, by block kind."""

    pulses: list[PulseGeneratorTransactor] = field(default_factory=list)
    transfers: list[TransferControllerTransactor] = field(default_factory=list)
    adcs: list[AdcReadoutTransactor] = field(default_factory=list)

    def cycles_by_block(self) -> dict[str, int]:
        """Clock cycles each kind of block was driven for."""
        return {
            "pulse-generator": sum(t.cycles for t in self.pulses),
            "transfer-controller": sum(t.cycles for t in self.transfers),
            "adc-readout": sum(t.cycles for t in self.adcs),
        }


async def _free_running_seconds_per_cycle(cycles: int = 2_000) -> float:
    """What one free-running cycle costs the simulator (no Python per cycle): the floor of any bench."""
    start = time.perf_counter()
    await Timer(cycles * CLOCK_NS, unit="ns")
    return (time.perf_counter() - start) / cycles


def _serve_pulses_from_rtl(
    dut: Any, parameters: dict[str, Any], periphery: _RtlPeriphery, statistics: RunStatistics
) -> None:
    """Register the ``rtl`` pulse source: each tile the pure run used is served by its generator RTL."""
    from pulsetrain.model.pulses import PULSE_SOURCES

    used: list[int] = list(parameters["used_sources"])
    twins: list[int] = list(parameters.get("twin_sources", []))
    expected = [config_from_plain(PulseGeneratorConfig, c) for c in parameters["source_configs"]]
    bl_max = int(parameters["bl_max"])
    created: list[int] = []

    def factory(seed: np.random.SeedSequence, in_size: int, out_size: int) -> Any:
        index = len(created)
        created.append(index)
        config = pulse_config_for(seed, in_size, out_size, bl_max)
        if index in twins:
            # outside the request's rtl_tiles: the pure run's own source (the same twin, the same config)
            return TwinPulseSource(config)
        transactor = None
        position = -1
        if index in used:
            position = used.index(index)
            if config != expected[position]:
                raise RuntimeError(
                    f"tile {index}: generator config differs from the one the RTL was built from"
                )
            transactor = PulseGeneratorTransactor(dut, config, prefix=f"tile{position}__")
            periphery.pulses.append(transactor)
        return RtlPulseSource(index, config, transactor, statistics, position)

    PULSE_SOURCES["rtl"] = factory  # type: ignore[assignment]
    register_twin_source(SourceLedger(), bl_max)


def _transfer_factory(
    dut: Any, parameters: dict[str, Any], periphery: _RtlPeriphery, statistics: RunStatistics
) -> Callable[[TransferControllerConfig, np.random.Generator], Any]:
    """The transfer server of the TTv2 family: each layer's controller RTL, with its ADC readout RTL."""
    expected_transfer = [
        config_from_plain(TransferControllerConfig, c) for c in parameters.get("transfer_configs", [])
    ]
    expected_adc = [config_from_plain(AdcReadoutConfig, c) for c in parameters.get("adc_configs", [])]

    def transfer_factory(config: TransferControllerConfig, rng: np.random.Generator) -> Any:
        layer = len(periphery.transfers)
        if layer >= len(expected_transfer) or config != expected_transfer[layer]:
            raise RuntimeError(
                f"layer {layer}: transfer controller config differs from the one the RTL was built from"
            )
        transactor = TransferControllerTransactor(dut, config, prefix=f"transfer{layer}__")
        periphery.transfers.append(transactor)
        adc = None
        if expected_adc:
            if expected_adc[layer] != adc_config_for(config):
                raise RuntimeError(
                    f"layer {layer}: ADC readout config differs from the one the RTL was built from"
                )
            readout = AdcReadoutTransactor(dut, expected_adc[layer], prefix=f"adc{layer}__")
            periphery.adcs.append(readout)
            adc = RtlColumnAdc(layer, expected_adc[layer], readout, statistics)
        return RtlTransferPeriphery(layer, config, transactor, statistics, adc)

    return transfer_factory


def _tile_reads(
    dut: Any, parameters: dict[str, Any], periphery: _RtlPeriphery, statistics: RunStatistics
) -> dict[int, RtlTileReads]:
    """The network's forward and backward reads: one ADC readout per tile direction the pure run read."""
    expected_adc = [config_from_plain(AdcReadoutConfig, c) for c in parameters.get("adc_configs", [])]
    tile_reads: dict[int, RtlTileReads] = {}
    for entry in parameters.get("read_adcs", []):
        index = int(entry["adc"])
        readout = AdcReadoutTransactor(dut, expected_adc[index], prefix=f"adc{index}__")
        periphery.adcs.append(readout)
        reads = tile_reads.setdefault(int(entry["tile"]), RtlTileReads(int(entry["tile"]), {}))
        reads.readouts[bool(entry["transpose"])] = RtlColumnAdc(
            int(entry["tile"]), expected_adc[index], readout, statistics, RtlTileReads.BLOCK
        )
    return tile_reads


@cocotb.test()
async def train_with_rtl_periphery(dut: Any) -> None:
    """Train; compare every decision with the twin; report results, cycles and where the time went."""
    from pulsetrain.model.algorithms.configs import TransferServerKind
    from pulsetrain.model.algorithms.tiki_taka import serving_transfer_periphery
    from pulsetrain.model.training import resolve_train_config, train

    test_start = time.perf_counter()
    parameters = bench_parameters()
    await start_clock_and_reset(dut, period_ns=CLOCK_NS)
    free_running_seconds_per_cycle = await _free_running_seconds_per_cycle()

    statistics = RunStatistics()
    periphery = _RtlPeriphery()
    _serve_pulses_from_rtl(dut, parameters, periphery, statistics)
    transfer_factory = _transfer_factory(dut, parameters, periphery, statistics)
    tile_reads = _tile_reads(dut, parameters, periphery, statistics)

    def attach_reads(tile: Any, index: int) -> None:
        if index in tile_reads:
            tile.read_adc = tile_reads[index]

    options = cosim_options(parameters["options"])
    options["pulse_source"] = "rtl"
    config = resolve_train_config(options=options, sets=parameters.get("sets", ()))
    check_transfer_server(config)
    data = load_data(parameters["data_file"])
    cycle_start = time.perf_counter()
    results: dict[str, Any] | None = None
    error: str | None = None
    try:
        with (
            serving_transfer_periphery(TransferServerKind.TWIN, transfer_factory),
            observing_tiles(attach_reads),
        ):
            results = await bridge(train)(config, data=data)
    except DecisionMismatch as mismatch:
        error = f"first differing decision: {mismatch.decision.as_dict()}"
    wall = time.perf_counter() - cycle_start
    samples = data.x_train.shape[0] * config.epochs if results is not None else None
    report(
        results=results,
        samples=samples,
        cycles=sum(periphery.cycles_by_block().values()),
        transactions=statistics.transactions,
        decisions_compared=statistics.decisions,
        transactions_by_block=statistics.transactions_by_block,
        decisions_by_block=statistics.decisions_by_block,
        transfer_controllers=len(periphery.transfers),
        transfer_activity=statistics.transfer_activity if periphery.transfers else None,
        adc_readouts=len(periphery.adcs),
        mismatches=0 if statistics.first_mismatch is None else 1,
        first_mismatch=statistics.first_mismatch.as_dict() if statistics.first_mismatch else None,
        samples_per_second=(samples / wall) if samples else None,
        time_split=_time_split(
            periphery,
            statistics,
            results,
            data,
            samples=samples,
            wall=wall,
            setup_seconds=cycle_start - test_start,
            free_running_seconds_per_cycle=free_running_seconds_per_cycle,
        ),
    )
    if error is not None:
        raise AssertionError(error)


def _time_split(
    periphery: _RtlPeriphery,
    statistics: RunStatistics,
    results: dict[str, Any] | None,
    data: Any,
    *,
    samples: int | None,
    wall: float,
    setup_seconds: float,
    free_running_seconds_per_cycle: float,
) -> dict[str, Any]:
    """Where the run's time went: simulator cycles, per-cycle Python, the model's own Python."""
    cycles_by_block = periphery.cycles_by_block()
    cycles = sum(cycles_by_block.values())
    simulator_floor = cycles * free_running_seconds_per_cycle
    return {
        "total_seconds": wall,
        "setup_seconds": setup_seconds,
        # the end-of-epoch accuracy passes: pure model reads, no RTL
        "accuracy_seconds": sum(e["evaluation_seconds"] for e in results["epochs"]) if results else 0.0,
        "accuracy_samples": (
            (data.x_train.shape[0] + data.x_test.shape[0]) * len(results["epochs"]) if results else 0
        ),
        "transactions_seconds": statistics.transaction_seconds,
        "transactions_seconds_by_block": statistics.seconds_by_block,
        "cycles_by_block": cycles_by_block,
        "simulator_cycles_seconds_estimate": simulator_floor,
        "per_cycle_python_seconds_estimate": max(0.0, statistics.transaction_seconds - simulator_floor),
        "model_python_seconds": wall - statistics.transaction_seconds,
        "free_running_seconds_per_cycle": free_running_seconds_per_cycle,
        "cycles_per_sample": (cycles / samples) if samples else None,
    }
