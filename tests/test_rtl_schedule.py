"""The schedule controller RTL against its twin: same strobes in the same cycles, same cycle count."""

from __future__ import annotations

import dataclasses
import random

import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator
from helpers.simulation import add_watchdog
from pulsetrain.model.schedule import mlp_sizes, training_schedule
from pulsetrain.model.twins.schedule import ScheduleControllerTwin, ScheduleRun, Strobe
from pulsetrain.rtl.schedule_controller import ScheduleController

from pulsetrain.config import ConfigError
from pulsetrain.periphery.schedule import (
    Completion,
    OperationKind,
    OperationTiming,
    ScheduleConfig,
    ScheduleMode,
)

DEPTHS = [2, 3, 4, 5, 6]
#: short operation costs keep the Python simulation quick; the structure is what is under test
QUICK = OperationTiming(adc_bits=4, columns_per_adc=2, bl=7, read_integration_cycles=2)


def simulate(
    config: ScheduleConfig,
    latencies: dict[tuple[int, OperationKind], int] | None = None,
    *,
    samples: int = 1,
    seed: int = 0,
) -> list[tuple[ScheduleRun, int]]:
    """Run ``samples`` samples back to back on the RTL.

    Returns, per sample, the strobes with the RTL's cycle counter and the cycles the bench saw ``busy``.
    """
    dut = ScheduleController(config)
    plan = config.phases()
    noise = random.Random(seed)
    runs: list[tuple[ScheduleRun, int]] = []

    async def bench(ctx) -> None:  # type: ignore[no-untyped-def]
        for _ in range(samples):
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            strobes: list[Strobe] = []
            started: dict[tuple[int, OperationKind], int] = {}
            cycle = 0
            phase = -1
            while ctx.get(dut.busy):
                for kind in dut.kinds:
                    bits = ctx.get(getattr(dut, f"{kind.value}_start"))
                    for bit in range(dut.port_width(kind)):
                        if bits >> bit & 1:
                            layer = config.depth - 1 if kind is OperationKind.ERROR else bit
                            strobes.append(Strobe(cycle, layer, kind))
                            started[(layer, kind)] = cycle
                if strobes and strobes[-1].cycle == cycle:
                    phase += 1
                if latencies is not None:
                    current = set(plan[phase])
                    for kind in dut.kinds:
                        value = 0
                        for bit in range(dut.port_width(kind)):
                            layer = config.depth - 1 if kind is OperationKind.ERROR else bit
                            op = (layer, kind)
                            if op in current:
                                value |= (cycle == started[op] + latencies[op] - 1) << bit
                            else:
                                # done lines of operations outside the phase must be ignored
                                value |= noise.getrandbits(1) << bit
                        ctx.set(getattr(dut, f"{kind.value}_done"), value)
                await ctx.tick()
                cycle += 1
            assert ctx.get(dut.done) == 1
            runs.append((ScheduleRun(strobes=tuple(strobes), cycles=ctx.get(dut.cycles)), cycle))

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    add_watchdog(sim, 20_000)
    sim.run()
    return runs


def ordered(run: ScheduleRun) -> list[tuple[int, int, str]]:
    return sorted(strobe.key() for strobe in run.strobes)


@pytest.mark.sim
@pytest.mark.parametrize("mode", list(ScheduleMode), ids=lambda m: m.value)
@pytest.mark.parametrize("depth", DEPTHS, ids=lambda d: f"depth{d}")
def test_fixed_costs_match_twin_and_model(mode: ScheduleMode, depth: int) -> None:
    config = ScheduleConfig(mode=mode, layer_sizes=mlp_sizes(depth), timing=QUICK)
    twin = ScheduleControllerTwin(config).run_sample()
    ((rtl, busy),) = simulate(config)
    assert ordered(rtl) == ordered(twin)
    assert rtl.cycles == twin.cycles == busy
    model = training_schedule(config)
    assert rtl.cycles == model.total_cycles
    assert sorted((op.start, op.layer, op.kind.value) for op in model.operations) == ordered(rtl)


@pytest.mark.sim
@pytest.mark.parametrize("mode", list(ScheduleMode), ids=lambda m: m.value)
@pytest.mark.parametrize("depth", [2, 4, 6], ids=lambda d: f"depth{d}")
def test_handshake_waits_for_every_done(mode: ScheduleMode, depth: int) -> None:
    config = ScheduleConfig(
        mode=mode, layer_sizes=mlp_sizes(depth), timing=QUICK, completion=Completion.HANDSHAKE
    )
    rng = random.Random(depth * 7 + len(mode.value))
    latencies = {op: rng.randint(1, 12) for op in config.operations()}
    ((rtl, busy),) = simulate(config, latencies, seed=depth)
    twin = ScheduleControllerTwin(config).run_sample(latencies)
    assert ordered(rtl) == ordered(twin)
    assert rtl.cycles == twin.cycles == busy


@pytest.mark.sim
def test_back_to_back_samples_restart_the_counter() -> None:
    config = ScheduleConfig(mode=ScheduleMode.BP, layer_sizes=(8, 4, 4, 2), timing=QUICK)
    runs = simulate(config, samples=3)
    twin = ScheduleControllerTwin(config).run_sample()
    assert len(runs) == 3
    assert all(ordered(run) == ordered(twin) and run.cycles == twin.cycles == busy for run, busy in runs)


@pytest.mark.sim
def test_single_cycle_operations() -> None:
    # every cost 1 cycle: phases of one cycle each, strobes in consecutive cycles
    timing = OperationTiming(
        adc_bits=1,
        columns_per_adc=1,
        adc_sample_cycles=0,
        read_integration_cycles=0,
        activation_cycles=0,
        bl=1,
        update_setup_cycles=0,
        error_cycles=1,
    )
    config = ScheduleConfig(mode=ScheduleMode.DFA, layer_sizes=(2, 2, 2), timing=timing)
    ((rtl, busy),) = simulate(config)
    assert rtl.cycles == busy == ScheduleControllerTwin(config).run_sample().cycles == len(config.phases())


@pytest.mark.sim
def test_counter_saturates() -> None:
    config = ScheduleConfig(mode=ScheduleMode.BP, layer_sizes=(4, 4, 4), timing=QUICK, counter_bits=5)
    assert training_schedule(config).total_cycles > 31
    assert ScheduleControllerTwin(config).run_sample().cycles == 31
    ((rtl, busy),) = simulate(config)
    assert rtl.cycles == 31
    assert busy == training_schedule(config).total_cycles


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("seed", range(20), ids=lambda s: f"seed{s}")
def test_handshake_random_configs_many_seeds(seed: int) -> None:
    rng = random.Random(seed)
    depth = rng.randint(1, 6)
    sizes = tuple(rng.randint(1, 40) for _ in range(depth + 1))
    config = ScheduleConfig(
        mode=rng.choice(list(ScheduleMode)),
        layer_sizes=sizes,
        timing=dataclasses.replace(QUICK, bl=rng.randint(1, 31), columns_per_adc=rng.randint(1, 8)),
        completion=Completion.HANDSHAKE,
    )
    latencies = {op: rng.randint(1, 40) for op in config.operations()}
    ((rtl, busy),) = simulate(config, latencies, seed=seed)
    twin = ScheduleControllerTwin(config).run_sample(latencies)
    assert ordered(rtl) == ordered(twin) and rtl.cycles == twin.cycles == busy


def test_twin_refuses_latencies_in_fixed_mode() -> None:
    config = ScheduleConfig(mode=ScheduleMode.BP, layer_sizes=(4, 4), timing=QUICK)
    with pytest.raises(ConfigError):
        ScheduleControllerTwin(config).run_sample({(0, OperationKind.FORWARD): 3})


def test_ports_follow_the_mode() -> None:
    bp = ScheduleController(ScheduleConfig(mode=ScheduleMode.BP, completion=Completion.HANDSHAKE))
    dfa = ScheduleController(ScheduleConfig(mode=ScheduleMode.DFA))
    Fragment.get(bp, None), Fragment.get(dfa, None)  # elaborates (and so uses) both
    assert "bwd_done" in bp.signature.members and "proj_start" not in bp.signature.members
    assert "proj_start" in dfa.signature.members and "proj_done" not in dfa.signature.members


@pytest.mark.sim
@pytest.mark.parametrize("depth", DEPTHS, ids=lambda d: f"depth{d}")
def test_default_costs_speedup_measured_on_rtl(depth: int) -> None:
    """With the default operation costs the RTL's counted cycles give the model's DFA/BP speed-up."""
    sizes = mlp_sizes(depth)
    cycles = {}
    for mode in ScheduleMode:
        config = ScheduleConfig(mode=mode, layer_sizes=sizes)
        ((rtl, busy),) = simulate(config)
        assert rtl.cycles == busy == training_schedule(config).total_cycles
        cycles[mode] = rtl.cycles
    assert cycles[ScheduleMode.BP] > cycles[ScheduleMode.DFA]
