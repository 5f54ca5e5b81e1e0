"""Pulse generator RTL against its twin, with the analog bridge; a stuck LFSR bit must be caught."""

from __future__ import annotations

import pytest
from helpers.cosim_matrix import FAULT_SIMULATORS, simulator_matrix, skip_unless_available
from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import unhit_bins
from pulsetrain.cosim.faults_pulse import StuckLfsrBitPulseGenerator
from pulsetrain.rtl.pulse_generator import PulseGenerator

from pulsetrain.config import to_plain
from pulsetrain.periphery.lfsr import LfsrConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig, PulseMode

pytestmark = pytest.mark.sim


def _small(mode: PulseMode) -> PulseGeneratorConfig:
    """5 x lines, 3 d lines, BL up to 7: every behaviour, a short build."""
    lfsr = LfsrConfig(width=12, seed=0x5A5, steps_per_advance=4)
    return PulseGeneratorConfig(
        x_lines=5, d_lines=3, bl_counter_bits=3, bl_max=7, probability_bits=4, mode=mode, lfsr=lfsr
    )


STOCHASTIC = _small(PulseMode.STOCHASTIC)
DETERMINISTIC = _small(PulseMode.DETERMINISTIC)


def _run(
    config: PulseGeneratorConfig, simulator: runner.SimulatorName, *, stuck: bool = False, updates: int = 25
) -> runner.BenchResult:
    skip_unless_available(simulator)
    component = StuckLfsrBitPulseGenerator(config) if stuck else PulseGenerator(config)
    built = runner.build(runner.verilog_of(component, "pulse_generator"), "pulse_generator", simulator)
    parameters = {"config": to_plain(config), "seed": 9, "updates": updates}
    name = f"{simulator.value}-{config.mode.value}-{'stuck' if stuck else 'good'}"
    # a failing run is rerun with tracing for its waveform; on Verilator that is a second ~10 s build,
    # proven once in test_cosim_kit, so the fault tests ask for it on Icarus only (instant builds)
    waves = simulator is runner.SimulatorName.ICARUS
    return runner.run_bench(
        built, "pulsetrain.cosim.bench_pulse", parameters, name=name, waves_on_failure=waves
    )


@pytest.mark.parametrize(
    ("config", "simulator"), simulator_matrix([(STOCHASTIC, "stochastic"), (DETERMINISTIC, "deterministic")])
)
def test_pulse_generator_matches_twin_and_bridge_matches_model(
    config: PulseGeneratorConfig, simulator: runner.SimulatorName
) -> None:
    result = _run(config, simulator)
    assert result.passed, result.describe_failure()
    # 4 comparisons per update plus the bridge's two (trains applied, weights equal)
    assert result.measurements["scoreboard"]["compared"] == 4 * 25 + 2
    # lines with 0 pulses and with a pulse in every slot, BL 1 and bl_max, codes at both rails
    assert unhit_bins(result.measurements["coverage"]) == []


@pytest.mark.parametrize("simulator", FAULT_SIMULATORS)
def test_stuck_lfsr_bit_in_pulse_generator_is_caught(simulator: runner.SimulatorName) -> None:
    result = _run(STOCHASTIC, simulator, stuck=True, updates=10)
    assert not result.passed
    assert "x_fire" in " ".join(result.messages), result.messages
    assert (result.waveform is not None) == (simulator is runner.SimulatorName.ICARUS)
