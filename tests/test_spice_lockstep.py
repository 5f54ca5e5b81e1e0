"""The ADC readout RTL (Verilator) converting ngspice's column voltages, readout by readout."""

from __future__ import annotations

import pytest
from pulsetrain.cosim import runner
from pulsetrain.rtl.adc_readout import AdcReadout
from pulsetrain.spice.ngspice import ngspice_info

from pulsetrain.config import to_plain
from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig

pytestmark = pytest.mark.sim

# 8 outputs of a 16-row tile on 2 SAR ADCs of 4 columns, 9 bits: the model's default ADC resolution
CONFIG = AdcReadoutConfig(columns=8, columns_per_adc=4, adc_bits=9, mode=AdcMode.SAR)


def _run(wires: bool) -> runner.BenchResult:
    if ngspice_info() is None:
        pytest.skip("ngspice is not installed (Debian: apt-get install ngspice)")
    simulator = runner.SimulatorName.VERILATOR
    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        pytest.skip(reason)
    built = runner.build(runner.verilog_of(AdcReadout(CONFIG), "adc_readout"), "adc_readout", simulator)
    parameters = {"config": to_plain(CONFIG), "rows": 16, "readouts": 3, "seed": 5, "wires": wires}
    return runner.run_bench(
        built, "pulsetrain.spice.bench_adc_spice", parameters, name=f"spice-wires-{wires}"
    )


def test_rtl_codes_of_the_ideal_spice_column_equal_the_twin_and_the_model() -> None:
    result = _run(wires=False)
    assert result.passed, result.describe_failure()
    assert result.measurements["readouts"] == 3
    # ideal wires: ngspice and the model agree far inside half an LSB, so every code is the model's
    assert result.measurements["codes_differing_from_model"] == 0


def test_rtl_codes_of_the_real_spice_column_equal_the_twin_and_differ_from_the_plain_model() -> None:
    result = _run(wires=True)
    assert result.passed, result.describe_failure()
    # NeuroSim's 1T1R cell: the access resistance moves reads by several LSB (test_spice_read.py)
    assert result.measurements["codes_differing_from_model"] > 0
