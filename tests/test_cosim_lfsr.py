"""LFSR bank RTL against its twin on both simulators; a stuck state bit must be caught."""

from __future__ import annotations

import pytest
from helpers.cosim_matrix import FAULT_SIMULATORS, simulator_matrix, skip_unless_available
from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import unhit_bins
from pulsetrain.cosim.faults import StuckBit
from pulsetrain.rtl.lfsr import LfsrBank

from pulsetrain.config import to_plain
from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm

pytestmark = pytest.mark.sim


GALOIS16 = LfsrConfig(width=16, form=LfsrForm.GALOIS, seed=0xACE1)
FIBONACCI9 = LfsrConfig(width=9, form=LfsrForm.FIBONACCI, seed=5, steps_per_advance=5)
CONFIGS = [
    pytest.param(GALOIS16, id="galois16"),
    pytest.param(
        LfsrConfig(width=9, form=LfsrForm.FIBONACCI, seed=5, steps_per_advance=5), id="fibonacci9-leap5"
    ),
]
LINES = 3


def _run(
    config: LfsrConfig, simulator: runner.SimulatorName, *, stuck: bool = False, **extra: object
) -> runner.BenchResult:
    skip_unless_available(simulator)
    component = LfsrBank(config, LINES)
    if stuck:
        component = StuckBit(component, port="states", bit=2, level=0)
    built = runner.build(runner.verilog_of(component, "lfsr_bank"), "lfsr_bank", simulator)
    parameters = {"config": to_plain(config), "lines": LINES, "seed": 11, **extra}
    name = f"{simulator.value}-{config.form.value}{config.width}-{'stuck' if stuck else 'good'}"
    # a failing run is rerun with tracing for its waveform; on Verilator that is a second ~10 s build,
    # proven once in test_cosim_kit, so the fault tests ask for it on Icarus only (instant builds)
    waves = simulator is runner.SimulatorName.ICARUS
    return runner.run_bench(
        built, "pulsetrain.cosim.bench_lfsr", parameters, name=name, waves_on_failure=waves
    )


@pytest.mark.parametrize(
    ("config", "simulator"), simulator_matrix([(GALOIS16, "galois16"), (FIBONACCI9, "fibonacci9-leap5")])
)
def test_lfsr_bank_matches_twin(config: LfsrConfig, simulator: runner.SimulatorName) -> None:
    result = _run(config, simulator, cycles=400)
    assert result.passed, result.describe_failure()
    assert result.measurements["scoreboard"]["compared"] == 400
    # enable held low and high, every state bit of line 0 at both levels
    assert unhit_bins(result.measurements["coverage"]) == []


@pytest.mark.parametrize("simulator", FAULT_SIMULATORS)
def test_stuck_lfsr_bit_is_caught(simulator: runner.SimulatorName) -> None:
    result = _run(GALOIS16, simulator, stuck=True, cycles=60)
    assert not result.passed
    assert "states" in " ".join(result.messages)
    assert "line0_bit_levels:bit2=1" in unhit_bins(result.measurements["coverage"])
    assert (result.waveform is not None) == (simulator is runner.SimulatorName.ICARUS)
