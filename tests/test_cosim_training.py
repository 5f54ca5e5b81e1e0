"""Training with the RTL pulse generators in the loop: same decisions and weights as the pure model."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.cosim import runner
from pulsetrain.cosim.faults_pulse import StuckLfsrBitPulseGenerator
from pulsetrain.cosim.training import CosimRequest, run_training_cosim

from pulsetrain.cli import main


def _request(simulator: runner.SimulatorName, algo: str = "sgd", **kwargs: object) -> CosimRequest:
    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        pytest.skip(reason)
    options = {"algo": algo, "seed": 2, "network.hidden": "4"}
    return CosimRequest(options=options, samples=12, simulator=simulator.value, **kwargs)  # type: ignore[arg-type]


@pytest.mark.sim
@pytest.mark.parametrize("algo", ["sgd", "c-ttv2", "dfa"])
def test_rtl_in_the_loop_matches_pure_model_on_icarus(algo: str) -> None:
    results = run_training_cosim(_request(runner.SimulatorName.ICARUS, algo))
    assert results["matches_model"], results
    assert results["mismatches"] == 0
    assert results["samples"] == 12
    # every pulse slot of every line of every update was compared (at least one update per sample)
    assert results["transactions_compared"] >= 12
    assert results["decisions_compared"] > 1000
    assert results["weights_sha256"] == results["model_weights_sha256"]
    assert results["cycles"] > 0


@pytest.mark.sim
@pytest.mark.slow
def test_rtl_in_the_loop_matches_pure_model_on_verilator() -> None:
    results = run_training_cosim(_request(runner.SimulatorName.VERILATOR, "sgd"))
    assert results["matches_model"], results


@pytest.mark.sim
def test_stuck_lfsr_bit_stops_training_at_first_differing_decision() -> None:
    request = _request(runner.SimulatorName.ICARUS, "sgd", generator_class=StuckLfsrBitPulseGenerator)
    results = run_training_cosim(request)
    assert not results["matches_model"]
    assert results["mismatches"] == 1
    first = results["first_mismatch"]
    # the fault sits in x line 0 of every generator; the first update it spoils names that line
    assert first["what"].startswith("x_fire") and "line 0]" in first["what"], first
    assert first["step"] == 0 and first["layer"] in (0, 1)
    assert first["rtl"] != first["model"]
    assert results["waveform"] is not None and Path(results["waveform"]).is_file()


def test_cosim_refuses_an_algorithm_without_pulsed_updates() -> None:
    outcome = CliRunner().invoke(main, ["cosim", "--algo", "fp", "--samples", "3", "--sim", "icarus"])
    assert outcome.exit_code == 2
    assert "algo must be one of sgd, ttv2, c-ttv2, agad, dfa" in outcome.output


def test_cosim_refuses_an_unknown_simulator() -> None:
    outcome = CliRunner().invoke(main, ["cosim", "--algo", "sgd", "--sim", "modelsim"])
    assert outcome.exit_code == 2
    assert "sim must be one of verilator, icarus" in outcome.output


@pytest.mark.sim
def test_cosim_command_writes_the_documented_json(tmp_path: Path) -> None:
    if runner.unavailable_reason(runner.SimulatorName.ICARUS):
        pytest.skip("iverilog not installed")
    out = tmp_path / "cosim.json"
    arguments = [
        "cosim",
        "--algo",
        "sgd",
        "--sim",
        "icarus",
        "--samples",
        "12",
        "--hidden",
        "4",
        "--seed",
        "2",
    ]
    outcome = CliRunner().invoke(main, [*arguments, "--json", str(out)])
    assert outcome.exit_code == 0, outcome.output
    import json

    document = json.loads(out.read_text())
    for key in (
        "config",
        "samples",
        "cycles",
        "wall_seconds",
        "decisions_compared",
        "mismatches",
        "matches_model",
    ):
        assert key in document
    assert document["matches_model"] is True and document["mismatches"] == 0


@pytest.mark.sim
def test_cosim_bench_command_reports_coverage(tmp_path: Path) -> None:
    if runner.unavailable_reason(runner.SimulatorName.ICARUS):
        pytest.skip("iverilog not installed")
    out = tmp_path / "bench.json"
    outcome = CliRunner().invoke(main, ["cosim", "--bench", "chopper", "--sim", "icarus", "--json", str(out)])
    assert outcome.exit_code == 0, outcome.output
    assert "coverage of chopper" in outcome.output
    import json

    document = json.loads(out.read_text())
    assert document["passed"] is True and document["unhit_bins"] == []


def test_cosim_lists_the_benches() -> None:
    outcome = CliRunner().invoke(main, ["cosim", "--list"])
    assert outcome.exit_code == 0
    for name in ("lfsr", "chopper", "pulse", "adc", "transfer"):
        assert name in outcome.output
