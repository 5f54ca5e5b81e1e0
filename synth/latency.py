"""Latency of one training sample: the schedule's cycles split into the estimator's categories.

The cycle count comes from the schedule controller RTL simulated in Amaranth when that block exists
(``source = "rtl simulation"``), else from :mod:`pulsetrain.model.schedule` (``"model schedule"``); transfer
and SBE cycles are added from their formulas (said so in the notes). The busy time of each block kind is
kept for the digital energy (a clock-gated block draws dynamic power only while it works).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pulsetrain.synth.technology import Technology

if TYPE_CHECKING:
    from pulsetrain.synth.estimator import EstimateConfig

__all__ = ["Latency", "latency_breakdown", "operation_timing"]


@dataclass
class Latency:
    """Per-sample latency by category, the cycle count, and each block kind's busy time."""

    #: category -> ns on the critical path.
    by_category: dict[str, float]
    #: cycles per sample of the periphery clock.
    cycles: int
    #: "rtl simulation" or "model schedule".
    source: str
    #: busy time (ns) per block tag: ``update:<layer>``, ``read:<layer>``, ``transfer``, ``sbe``.
    busy_ns: dict[str, float] = field(default_factory=dict)
    #: what was assumed.
    notes: list[str] = field(default_factory=list)

    @property
    def total_ns(self) -> float:
        """The per-sample latency (ns)."""
        return sum(self.by_category.values())


def operation_timing(config: EstimateConfig, tech: Technology) -> Any:
    """The schedule's :class:`OperationTiming` for this technology (ADC, read integration, BL slots)."""
    from pulsetrain.periphery.schedule import OperationTiming

    cycle_ns = tech.digital.cycle_ns
    return OperationTiming(
        adc_bits=config.adc_bits or tech.adc.bits,
        columns_per_adc=tech.adc.columns_per_adc,
        adc_sample_cycles=1,
        read_integration_cycles=max(1, math.ceil(tech.array.read_pulse_ns / cycle_ns)),
        bl=config.bl,
        cycles_per_slot=max(1, math.ceil(tech.array.write_pulse_ns / cycle_ns)),
    )


@functools.cache
def _rtl_schedule_cycles(schedule_config: Any) -> int | None:
    """Cycles the schedule controller RTL counts for one sample (Amaranth simulation), None if absent."""
    try:
        from pulsetrain.rtl.schedule_controller import ScheduleController
    except ImportError:
        return None
    from amaranth.sim import Simulator

    dut = ScheduleController(schedule_config)
    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    result: list[int] = []
    limit = 10 * sum(schedule_config.phase_cycles()) + 100

    async def bench(ctx):  # type: ignore[no-untyped-def]
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(limit):
            if ctx.get(dut.done):
                result.append(int(ctx.get(dut.cycles)))
                return
            await ctx.tick()

    simulator.add_testbench(bench)
    simulator.run()
    return result[0] if result else None


def _schedule(config: EstimateConfig, tech: Technology) -> tuple[Any, int, str]:
    from pulsetrain.model.schedule import training_schedule

    from pulsetrain.periphery.schedule import ScheduleConfig, ScheduleMode

    mode = ScheduleMode.DFA if config.algorithm.value == "dfa" else ScheduleMode.BP
    schedule_config = ScheduleConfig(
        mode=mode, layer_sizes=config.network, timing=operation_timing(config, tech)
    )
    schedule = training_schedule(schedule_config)
    cycles, source = schedule.total_cycles, "model schedule"
    if config.use_rtl_latency:
        measured = _rtl_schedule_cycles(schedule_config)
        if measured is not None:
            cycles, source = measured, "rtl simulation"
    return schedule, cycles, source


def _busy_times(config: EstimateConfig, schedule: Any, cycle_ns: float) -> dict[str, float]:
    """Busy time of each layer's blocks: its own update (pulse generator) and reads (ADC readout)."""
    from pulsetrain.periphery.schedule import OperationKind

    busy: dict[str, float] = dict.fromkeys(("transfer", "sbe"), 0.0)
    for operation in schedule.operations:
        tag = {OperationKind.UPDATE: "update", OperationKind.ERROR: ""}.get(operation.kind, "read")
        if tag:
            key = f"{tag}:{operation.layer}"
            share = 1.0 / config.sbe_batch if tag == "update" and config.algorithm.value == "sbe" else 1.0
            busy[key] = busy.get(key, 0.0) + operation.duration * cycle_ns * share
    return busy


def _phase_latency(config: EstimateConfig, schedule: Any, cycle_ns: float) -> dict[str, float]:
    """The critical path of each phase of the schedule, split into categories."""
    from pulsetrain.synth.terms import CATEGORIES

    from pulsetrain.periphery.schedule import OperationKind

    timing = schedule.config.timing
    latency = dict.fromkeys(CATEGORIES, 0.0)
    for phase in schedule.config.phases():
        layer, kind = max(phase, key=lambda op: schedule.config.operation_cycles(op[1], op[0]))
        duration = schedule.config.operation_cycles(kind, layer)
        analog_read = kind in (OperationKind.FORWARD, OperationKind.BACKWARD) or (
            kind is OperationKind.PROJECTION and timing.feedback.value == "analog"
        )
        if analog_read:
            fan_in, fan_out = config.layers[layer]
            outputs = fan_in if kind is OperationKind.BACKWARD else fan_out
            conversions = timing.conversions(outputs) * timing.conversion_cycles
            latency["arrays"] += timing.read_integration_cycles * cycle_ns
            latency["adcs"] += conversions * cycle_ns
            latency["digital"] += (duration - timing.read_integration_cycles - conversions) * cycle_ns
        elif kind is OperationKind.UPDATE:
            if config.algorithm.value == "sbe":
                latency["pulses"] += duration / config.sbe_batch * cycle_ns
            else:
                latency["pulses"] += timing.bl * timing.cycles_per_slot * cycle_ns
                latency["digital"] += (duration - timing.bl * timing.cycles_per_slot) * cycle_ns
        else:
            latency["digital"] += duration * cycle_ns
    return latency


def _transfer_and_sbe(
    config: EstimateConfig, schedule: Any, cycle_ns: float, result: Latency
) -> tuple[float, float]:
    """Add the TTv2 family's transfers and SBE's vector updates; (extra cycles, update cycles saved)."""
    from pulsetrain.periphery.schedule import OperationKind

    timing = schedule.config.timing
    latency, extra, saved = result.by_category, 0.0, 0.0
    every = config.transfer_every
    if config.algorithm.value in ("ttv2", "c-ttv2", "agad"):
        fan_out_max = max(fo for _, fo in config.layers)
        transfer = timing.read_cycles(fan_out_max) + timing.update_setup_cycles + timing.cycles_per_slot
        extra += transfer / every
        result.busy_ns["transfer"] += transfer * cycle_ns / every
        latency["arrays"] += timing.read_integration_cycles * cycle_ns / every
        latency["adcs"] += timing.conversions(fan_out_max) * timing.conversion_cycles * cycle_ns / every
        latency["pulses"] += timing.cycles_per_slot * cycle_ns / every
        latency["digital"] += (timing.activation_cycles + timing.update_setup_cycles) * cycle_ns / every
        result.notes.append(
            "transfer cycles (one column read + one C pulse slot per transfer) from the timing formulas"
        )
    if config.algorithm.value == "sbe":
        sbe_cycles, how = _sbe_cycles(config)
        extra += sbe_cycles
        result.busy_ns["sbe"] += sbe_cycles * cycle_ns
        latency["digital"] += sbe_cycles * cycle_ns
        result.notes.append(f"SBE: per-sample vector update {how}; pulsed update once per batch")
        # the controller runs the BP schedule with a pulsed update per sample; SBE updates once per batch
        update_cycles = sum(op.duration for op in schedule.operations if op.kind is OperationKind.UPDATE)
        saved = update_cycles * (1.0 - 1.0 / config.sbe_batch)
    return extra, saved


def _sbe_cycles(config: EstimateConfig) -> tuple[float, str]:
    """Cycles per sample of the slowest layer's SBE unit, and how they were found.

    Measured on the unit's RTL replaying recorded samples where the RTL latency is asked for (the layers'
    units run side by side); else one vector entry per cycle, an assumption that the RTL does not meet.
    """
    if config.use_rtl_latency:
        try:
            from pulsetrain.synth.workload import sbe_unit_cycles_per_sample

            measured = max(sbe_unit_cycles_per_sample(config.network, i) for i in range(len(config.layers)))
            return measured, f"{measured:.0f} cycles, simulated on the SBE unit RTL with recorded samples"
        except ImportError:
            pass
    cycles = max(fi + fo for fi, fo in config.layers)
    return float(cycles), f"{cycles} cycles at one vector entry per cycle (assumption; the RTL takes longer)"


def latency_breakdown(config: EstimateConfig, tech: Technology) -> Latency:
    """The per-sample latency of ``config`` on ``tech`` by category, with cycles and busy times."""
    schedule, cycles, source = _schedule(config, tech)
    cycle_ns = tech.digital.cycle_ns
    result = Latency(
        by_category=_phase_latency(config, schedule, cycle_ns),
        cycles=cycles,
        source=source,
        busy_ns=_busy_times(config, schedule, cycle_ns),
    )
    if cycles != schedule.total_cycles:
        result.notes.append(f"RTL counted {cycles} cycles, the model schedule {schedule.total_cycles}")
    extra, saved = _transfer_and_sbe(config, schedule, cycle_ns, result)
    counted = cycles - saved
    if source == "rtl simulation":
        # the RTL count is the total; the category split keeps the model's proportions (equal when the
        # RTL's cycle count equals the model schedule's, as it does with fixed operation costs)
        model_total = result.total_ns
        target_total = (counted + extra) * cycle_ns
        if model_total > 0:
            result.by_category = {k: v * target_total / model_total for k, v in result.by_category.items()}
    result.cycles = int(round(counted + extra))
    return result
