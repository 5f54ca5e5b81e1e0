"""cocotb test: training with every pulsed update served by the simulated pulse generators.

Runs inside the simulator. The training loop is the model's own (:func:`pulsetrain.model.training.train`)
in a bridge thread; each tile's ``rtl`` pulse source hands one update transaction to the simulator
(:func:`cocotb.task.resume`), where :class:`~pulsetrain.cosim.transactors.PulseGeneratorTransactor`
writes the codes and collects the slots, and the RTL runs free in between. A twin shadows every
transaction; the first differing decision stops the run.
"""

from __future__ import annotations

import time
from typing import Any

import cocotb
import numpy as np
from cocotb.task import bridge, resume
from cocotb.triggers import Timer
from pulsetrain.cosim.kit import bench_parameters, config_from_plain, report, start_clock_and_reset
from pulsetrain.cosim.training import (
    Decision,
    SourceLedger,
    decisions_in,
    first_difference,
    load_data,
    pulse_config_for,
    register_twin_source,
)
from pulsetrain.cosim.transactors import PulseGeneratorTransactor
from pulsetrain.model.periphery import PulseTrains

from pulsetrain.periphery.pulse import PulseGeneratorConfig, quantize

CLOCK_NS = 10


class DecisionMismatch(Exception):
    """The RTL made a decision the twin did not."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(str(decision.as_dict()))
        self.decision = decision


class RunStatistics:
    """Counts and times of the run (one per bench)."""

    def __init__(self) -> None:
        self.transactions = 0
        self.decisions = 0
        self.transaction_seconds = 0.0
        self.first_mismatch: Decision | None = None


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
        self.statistics.transaction_seconds += time.perf_counter() - start
        model = self.twin.fire(x_codes, x_negative, d_codes, d_negative, bl)
        self.statistics.transactions += 1
        self.statistics.decisions += decisions_in(model)
        difference = first_difference(self.updates, self.index, design, model, self.layer)
        self.updates += 1
        if difference is not None:
            self.statistics.first_mismatch = difference
            raise DecisionMismatch(difference)
        return design


@cocotb.test()
async def train_with_rtl_periphery(dut: Any) -> None:
    """Train; compare every decision with the twin; report results, cycles and where the time went."""
    from pulsetrain.model import training as training_module
    from pulsetrain.model.pulses import PULSE_SOURCES
    from pulsetrain.model.training import resolve_train_config, train

    test_start = time.perf_counter()
    parameters = bench_parameters()
    used: list[int] = list(parameters["used_sources"])
    expected = [config_from_plain(PulseGeneratorConfig, c) for c in parameters["source_configs"]]
    bl_max = int(parameters["bl_max"])
    await start_clock_and_reset(dut, period_ns=CLOCK_NS)

    # what one free-running cycle costs the simulator (no Python per cycle): the floor of any bench
    calibration_cycles = 2_000
    start = time.perf_counter()
    await Timer(calibration_cycles * CLOCK_NS, unit="ns")
    free_running_seconds_per_cycle = (time.perf_counter() - start) / calibration_cycles

    statistics = RunStatistics()
    transactors: list[PulseGeneratorTransactor] = []
    created: list[int] = []

    def factory(seed: np.random.SeedSequence, in_size: int, out_size: int) -> RtlPulseSource:
        index = len(created)
        created.append(index)
        config = pulse_config_for(seed, in_size, out_size, bl_max)
        transactor = None
        position = -1
        if index in used:
            position = used.index(index)
            if config != expected[position]:
                raise RuntimeError(
                    f"tile {index}: generator config differs from the one the RTL was built from"
                )
            transactor = PulseGeneratorTransactor(dut, config, prefix=f"tile{position}__")
            transactors.append(transactor)
        return RtlPulseSource(index, config, transactor, statistics, position)

    PULSE_SOURCES["rtl"] = factory  # type: ignore[assignment]
    register_twin_source(SourceLedger(), bl_max)
    options = dict(parameters["options"])
    options["pulse_source"] = "rtl"
    config = resolve_train_config(options=options, sets=parameters.get("sets", ()))
    data = load_data(parameters["data_file"])
    # time the end-of-epoch accuracy passes (pure model reads, no RTL) apart from the training steps
    accuracy_timing = {"seconds": 0.0, "samples": 0}
    plain_accuracy = training_module.accuracy

    def timed_accuracy(algorithm: Any, x: Any, y: Any, chunk: int = 4096) -> float:
        begin = time.perf_counter()
        value = plain_accuracy(algorithm, x, y, chunk)
        accuracy_timing["seconds"] += time.perf_counter() - begin
        accuracy_timing["samples"] += int(x.shape[0])
        return value

    training_module.accuracy = timed_accuracy  # type: ignore[assignment]
    cycle_start = time.perf_counter()
    setup_seconds = cycle_start - test_start
    results: dict[str, Any] | None = None
    error: str | None = None
    try:
        results = await bridge(train)(config, data=data)
    except DecisionMismatch as mismatch:
        error = f"first differing decision: {mismatch.decision.as_dict()}"
    wall = time.perf_counter() - cycle_start
    cycles = sum(t.cycles for t in transactors)
    samples = data.x_train.shape[0] * config.epochs if results is not None else None
    simulator_floor = cycles * free_running_seconds_per_cycle
    report(
        results=results,
        samples=samples,
        cycles=cycles,
        transactions=statistics.transactions,
        decisions_compared=statistics.decisions,
        mismatches=0 if statistics.first_mismatch is None else 1,
        first_mismatch=statistics.first_mismatch.as_dict() if statistics.first_mismatch else None,
        samples_per_second=(samples / wall) if samples else None,
        time_split={
            "total_seconds": wall,
            "setup_seconds": setup_seconds,
            "accuracy_seconds": accuracy_timing["seconds"],
            "accuracy_samples": accuracy_timing["samples"],
            "transactions_seconds": statistics.transaction_seconds,
            "simulator_cycles_seconds_estimate": simulator_floor,
            "per_cycle_python_seconds_estimate": max(0.0, statistics.transaction_seconds - simulator_floor),
            "model_python_seconds": wall - statistics.transaction_seconds,
            "free_running_seconds_per_cycle": free_running_seconds_per_cycle,
            "cycles_per_sample": (cycles / samples) if samples else None,
        },
    )
    if error is not None:
        raise AssertionError(error)
