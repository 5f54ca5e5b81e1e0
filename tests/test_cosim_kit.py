"""The runner and verification kit, proved on a tiny component of cosim's own (RunningSum)."""

from __future__ import annotations

import pytest
from helpers.cosim_matrix import FAULT_SIMULATORS, SIMULATORS, skip_unless_available
from pulsetrain.cosim import runner
from pulsetrain.cosim.demo import RunningSum, running_sums

pytestmark = pytest.mark.sim


def _built(simulator: runner.SimulatorName, broken: bool = False) -> runner.Build:
    skip_unless_available(simulator)
    verilog = runner.verilog_of(RunningSum(broken=broken), "running_sum")
    return runner.build(verilog, "running_sum", simulator)


def test_reference_model_wraps_modulo_width() -> None:
    assert running_sums([200, 100, 65000], width_sum=16) == [200, 300, (300 + 65000) % 65536]


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_running_sum_passes_with_back_pressure(simulator: runner.SimulatorName) -> None:
    built = _built(simulator)
    result = runner.run_bench(
        built, "pulsetrain.cosim.bench_demo", {"seed": 3, "items": 300}, name=f"pass-{simulator.value}"
    )
    assert result.passed, result.describe_failure()
    assert result.measurements["scoreboard"]["compared"] == 300
    # the sink refused items at times: the stall bin was hit, so back-pressure was really exercised
    assert result.measurements["coverage"]["points"]["output_stalled"]["hits"]["True"] > 0


def test_second_build_of_same_configuration_is_reused() -> None:
    first = _built(runner.SimulatorName.VERILATOR)
    second = _built(runner.SimulatorName.VERILATOR)
    assert second.folder == first.folder
    assert second.build_seconds == 0.0


def test_verilator_build_makes_only_the_top_module_public() -> None:
    """cocotb's --public-flat-rw is replaced (it made the all-tile LeNet-5 periphery uncompilable)."""
    built = _built(runner.SimulatorName.VERILATOR)
    command = (built.folder / "Vtop__verFiles.dat").read_text()
    assert "--public-depth 1" in command and "--public-flat-rw" not in command


@pytest.mark.parametrize("simulator", FAULT_SIMULATORS)
def test_scoreboard_catches_broken_component_and_writes_waveform(simulator: runner.SimulatorName) -> None:
    built = _built(simulator, broken=True)
    result = runner.run_bench(
        built, "pulsetrain.cosim.bench_demo", {"seed": 3, "items": 40}, name=f"broken-{simulator.value}"
    )
    assert not result.passed
    assert any("item 15" in message for message in result.messages), result.messages
    assert result.waveform is not None and result.waveform.stat().st_size > 0
