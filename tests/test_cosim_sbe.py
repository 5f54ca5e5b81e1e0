"""The SBE unit's Verilog against its twin on both simulators; a wrong normalizer must be caught."""

from __future__ import annotations

import dataclasses

import pytest
from helpers.cosim_matrix import FAULT_SIMULATORS, simulator_matrix, skip_unless_available
from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import unhit_bins
from pulsetrain.rtl.sbe_unit import SbeUnit

from pulsetrain.config import to_plain
from pulsetrain.periphery.sbe import Normalization, SbeConfig

pytestmark = pytest.mark.sim

EXACT = SbeConfig(rows=5, cols=3, batch_bits=3)
SHIFT = SbeConfig(rows=4, cols=6, batch_bits=2, input_bits=6, frac_bits=8, normalization=Normalization.SHIFT)


def _run(rtl_config: SbeConfig, model_config: SbeConfig, simulator: runner.SimulatorName, batches: int):
    skip_unless_available(simulator)
    built = runner.build(runner.verilog_of(SbeUnit(rtl_config), "sbe_unit"), "sbe_unit", simulator)
    parameters = {"config": to_plain(model_config), "seed": 3, "batches": batches}
    name = f"{simulator.value}-{rtl_config.normalization.value}-{model_config.normalization.value}"
    waves = simulator is runner.SimulatorName.ICARUS
    return runner.run_bench(
        built, "pulsetrain.cosim.bench_sbe", parameters, name=name, waves_on_failure=waves
    )


@pytest.mark.parametrize(("config", "simulator"), simulator_matrix([(EXACT, "exact"), (SHIFT, "shift")]))
def test_sbe_unit_matches_twin(config: SbeConfig, simulator: runner.SimulatorName) -> None:
    result = _run(config, config, simulator, batches=8)
    assert result.passed, result.describe_failure()
    # batch sizes 1 and max, both rails, a zero error, stalls on both streams all happened
    assert unhit_bins(result.measurements["coverage"]) == []


@pytest.mark.parametrize("simulator", FAULT_SIMULATORS)
def test_sbe_unit_with_a_shift_divider_is_caught(simulator: runner.SimulatorName) -> None:
    # the RTL divides by the next power of two instead of the exact norm; the twin divides exactly
    wrong = dataclasses.replace(EXACT, normalization=Normalization.SHIFT)
    result = _run(wrong, EXACT, simulator, batches=3)
    assert not result.passed
    assert "batch 0" in " ".join(result.messages)
