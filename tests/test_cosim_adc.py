"""ADC readout RTL against its twin, comparators answered from the model's analog reads."""

from __future__ import annotations

import pytest
from helpers.cosim_matrix import FAULT_SIMULATORS, simulator_matrix, skip_unless_available
from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import unhit_bins
from pulsetrain.cosim.faults import StuckBit
from pulsetrain.rtl.adc_readout import AdcReadout

from pulsetrain.config import to_plain
from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig

pytestmark = pytest.mark.sim


# 6 columns on 2 ADCs of 4 columns each: the last ADC idles in two of the four phases
SAR = AdcReadoutConfig(columns=6, columns_per_adc=4, adc_bits=4, mode=AdcMode.SAR)
RAMP = AdcReadoutConfig(columns=6, columns_per_adc=4, adc_bits=4, mode=AdcMode.RAMP, compare_cycles=2)


def _run(
    config: AdcReadoutConfig, simulator: runner.SimulatorName, sink: str, *, stuck: bool = False
) -> runner.BenchResult:
    skip_unless_available(simulator)
    component = AdcReadout(config)
    if stuck:
        # the code's most significant bit stuck at 0 (payload: column bits, then code bits)
        column_bits = (config.columns - 1).bit_length()
        component = StuckBit(component, port="results__payload", bit=column_bits + config.adc_bits - 1)
    built = runner.build(runner.verilog_of(component, "adc_readout"), "adc_readout", simulator)
    parameters = {"config": to_plain(config), "seed": 4, "readouts": 8, "sink": sink}
    name = f"{simulator.value}-{config.mode.value}-{sink}-{'stuck' if stuck else 'good'}"
    waves = simulator is runner.SimulatorName.ICARUS or not stuck
    return runner.run_bench(
        built, "pulsetrain.cosim.bench_adc", parameters, name=name, waves_on_failure=waves
    )


@pytest.mark.parametrize(
    ("config", "simulator"),
    simulator_matrix([((SAR, "random60"), "sar-backpressure"), ((RAMP, "always"), "ramp-cycles")]),
)
def test_adc_readout_matches_twin(
    config: tuple[AdcReadoutConfig, str], simulator: runner.SimulatorName
) -> None:
    adc_config, sink = config
    result = _run(adc_config, simulator, sink)
    assert result.passed, result.describe_failure()
    # codes at both rails and inside, and (with back-pressure) stalls on the results stream
    assert unhit_bins(result.measurements["coverage"]) == []
    assert result.measurements["readouts"] == 8


@pytest.mark.parametrize("simulator", FAULT_SIMULATORS)
def test_stuck_code_bit_is_caught(simulator: runner.SimulatorName) -> None:
    result = _run(SAR, simulator, "random60", stuck=True)
    assert not result.passed
    assert "results" in " ".join(result.messages)
