"""The ADC readout driven by a bench that knows nothing but the block's datasheet JSON (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.cosim import runner

ICARUS = runner.unavailable_reason(runner.SimulatorName.ICARUS)


@pytest.mark.sim
@pytest.mark.skipif(ICARUS is not None, reason=f"needs Icarus: {ICARUS}")
def test_adc_readout_passes_a_bench_written_from_its_datasheet(
    build_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulsetrain.cli import main

    # what a designer gets: the Verilog and the datasheet from the command line, nothing else
    arguments = ["rtl", "--block", "adc-readout", "--set", "columns=12", "--set", "columns_per_adc=5"]
    result = CliRunner().invoke(main, [*arguments, "--datasheet", "--no-rtlil", "--out", str(build_dir)])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("ADC_DATASHEET_JSON", str(build_dir / "adc-readout.datasheet.json"))
    verilog = (build_dir / "adc-readout.v").read_text()
    built = runner.build(verilog, "adc_readout", runner.SimulatorName.ICARUS, root=build_dir / "sim")
    outcome = runner.run_bench(
        built, "bench_adc_from_datasheet", name="from-datasheet", waves_on_failure=False
    )
    assert outcome.passed, outcome.describe_failure()
