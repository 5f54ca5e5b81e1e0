"""Chopper sign RTL against its twin on both simulators; a chopper that never flips must be caught."""

from __future__ import annotations

import dataclasses

import pytest
from helpers.cosim_matrix import FAULT_SIMULATORS, simulator_matrix, skip_unless_available
from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import unhit_bins
from pulsetrain.rtl.chopper import ChopperSign

from pulsetrain.config import to_plain
from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode

pytestmark = pytest.mark.sim


RANDOM = ChopperConfig(lines=6, mode=ChopperMode.RANDOM, flip_probability=0.3)
REGULAR = ChopperConfig(lines=6, mode=ChopperMode.REGULAR, flip_probability=0.25)


def _run(
    rtl_config: ChopperConfig, model_config: ChopperConfig, simulator: runner.SimulatorName, cycles: int
):
    skip_unless_available(simulator)
    built = runner.build(runner.verilog_of(ChopperSign(rtl_config), "chopper"), "chopper", simulator)
    parameters = {"config": to_plain(model_config), "seed": 5, "cycles": cycles}
    name = f"{simulator.value}-{model_config.mode.value}-{rtl_config.flip_probability}"
    # a failing run is rerun with tracing for its waveform; on Verilator that is a second ~10 s build,
    # proven once in test_cosim_kit, so the fault tests ask for it on Icarus only (instant builds)
    waves = simulator is runner.SimulatorName.ICARUS
    return runner.run_bench(
        built, "pulsetrain.cosim.bench_chopper", parameters, name=name, waves_on_failure=waves
    )


@pytest.mark.parametrize(
    ("config", "simulator"), simulator_matrix([(RANDOM, "random"), (REGULAR, "regular")])
)
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
