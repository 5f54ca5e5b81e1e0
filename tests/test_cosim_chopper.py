"""Chopper sign RTL against its twin on both simulators; a chopper that never flips must be caught."""

from __future__ import annotations

import dataclasses

import pytest
from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import unhit_bins
from pulsetrain.rtl.chopper import ChopperSign

from pulsetrain.config import to_plain
from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode

pytestmark = pytest.mark.sim

SIMULATORS = [pytest.param(s, id=s.value) for s in runner.SimulatorName]

# A Verilator build costs ~8 s of CI's two cores, Icarus' nothing: the default mode builds one
# configuration per block on Verilator and runs the others, and the deliberately broken variants, on
# Icarus; --long runs every combination on both simulators.
FAULT_SIMULATORS = [
    pytest.param(runner.SimulatorName.ICARUS, id="icarus"),
    pytest.param(runner.SimulatorName.VERILATOR, id="verilator", marks=pytest.mark.slow),
]


def _matrix(configs: list[tuple[object, str]]) -> list[object]:
    """(config, simulator) pairs: the first config on both simulators, the others on Verilator in --long."""
    pairs: list[object] = []
    for index, (config, name) in enumerate(configs):
        for simulator in runner.SimulatorName:
            slow = simulator is runner.SimulatorName.VERILATOR and index > 0
            marks = [pytest.mark.slow] if slow else []
            pairs.append(pytest.param(config, simulator, id=f"{simulator.value}-{name}", marks=marks))
    return pairs


RANDOM = ChopperConfig(lines=6, mode=ChopperMode.RANDOM, flip_probability=0.3)
REGULAR = ChopperConfig(lines=6, mode=ChopperMode.REGULAR, flip_probability=0.25)


def _run(
    rtl_config: ChopperConfig, model_config: ChopperConfig, simulator: runner.SimulatorName, cycles: int
):
    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        pytest.skip(reason)
    built = runner.build(runner.verilog_of(ChopperSign(rtl_config), "chopper"), "chopper", simulator)
    parameters = {"config": to_plain(model_config), "seed": 5, "cycles": cycles}
    name = f"{simulator.value}-{model_config.mode.value}-{rtl_config.flip_probability}"
    # a failing run is rerun with tracing for its waveform; on Verilator that is a second ~10 s build,
    # proven once in test_cosim_kit, so the fault tests ask for it on Icarus only (instant builds)
    waves = simulator is runner.SimulatorName.ICARUS
    return runner.run_bench(
        built, "pulsetrain.cosim.bench_chopper", parameters, name=name, waves_on_failure=waves
    )


@pytest.mark.parametrize(("config", "simulator"), _matrix([(RANDOM, "random"), (REGULAR, "regular")]))
def test_chopper_matches_twin(config: ChopperConfig, simulator: runner.SimulatorName) -> None:
    result = _run(config, config, simulator, cycles=300)
    assert result.passed, result.describe_failure()
    # flips to each sign, kept signs, single-line and all-line events (and the sweep wrap) all happened
    assert unhit_bins(result.measurements["coverage"]) == []


@pytest.mark.parametrize("simulator", FAULT_SIMULATORS)
def test_chopper_that_never_flips_is_caught(simulator: runner.SimulatorName) -> None:
    # the RTL is generated with flip probability 0 (its comparator never fires); the twin keeps 0.3
    never = dataclasses.replace(RANDOM, flip_probability=0.0)
    result = _run(never, RANDOM, simulator, cycles=60)
    assert not result.passed
    assert "negative" in " ".join(result.messages) or "flipped" in " ".join(result.messages)
    assert (result.waveform is not None) == (simulator is runner.SimulatorName.ICARUS)
