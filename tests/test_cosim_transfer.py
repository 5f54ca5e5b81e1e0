"""TTv2-family transfer controller RTL against its twin; an off-by-one column pointer must be caught."""

from __future__ import annotations

import pytest
from helpers.cosim_matrix import FAULT_SIMULATORS, simulator_matrix, skip_unless_available
from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import unhit_bins
from pulsetrain.cosim.faults import OffByOne
from pulsetrain.rtl.transfer_controller import TransferController

from pulsetrain.config import to_plain
from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode

pytestmark = pytest.mark.sim


def _config(mode: TransferMode) -> TransferControllerConfig:
    """4 columns of 3 rows, 6-bit ADC codes, fast chopper flips: every behaviour within 40 updates."""
    return TransferControllerConfig(
        mode=mode,
        in_size=4,
        out_size=3,
        adc_bits=6,
        transfer_lr_per_lsb=0.125,
        max_pulses_per_transfer=2,
        in_chop_prob=0.5,
    )


CHOPPED = _config(TransferMode.CHOPPED_TTV2)
AGAD = _config(TransferMode.AGAD)


def _run(
    config: TransferControllerConfig, simulator: runner.SimulatorName, *, off_by_one: bool = False
) -> runner.BenchResult:
    skip_unless_available(simulator)
    component = TransferController(config)
    if off_by_one:
        component = OffByOne(component, port="column", modulus=config.in_size)
    built = runner.build(
        runner.verilog_of(component, "transfer_controller"), "transfer_controller", simulator
    )
    parameters = {"config": to_plain(config), "seed": 6, "updates": 40}
    name = f"{simulator.value}-{config.mode.value}-{'off_by_one' if off_by_one else 'good'}"
    waves = simulator is runner.SimulatorName.ICARUS or not off_by_one
    return runner.run_bench(
        built, "pulsetrain.cosim.bench_transfer", parameters, name=name, waves_on_failure=waves
    )


@pytest.mark.parametrize(("config", "simulator"), simulator_matrix([(CHOPPED, "c-ttv2"), (AGAD, "agad")]))
def test_transfer_controller_matches_twin(
    config: TransferControllerConfig, simulator: runner.SimulatorName
) -> None:
    result = _run(config, simulator)
    assert result.passed, result.describe_failure()
    # pointer wrap, H over the threshold both ways, flips to each sign, stalls on both streams (and the
    # AGAD hold-off) all happened
    assert unhit_bins(result.measurements["coverage"]) == []


@pytest.mark.parametrize("simulator", FAULT_SIMULATORS)
def test_off_by_one_column_pointer_is_caught(simulator: runner.SimulatorName) -> None:
    result = _run(CHOPPED, simulator, off_by_one=True)
    assert not result.passed
    assert "column" in " ".join(result.messages)
