"""The board end to end in simulation: the whole BoardTop (I/O buffers, UART, frame engine, tile periphery) as
Verilog on Verilator, the host's own Link on its UART pins (bit by bit, with faults), the model's array on
its chip pins; training through it equals the twin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.cosim import runner
from pulsetrain.fpga.board_cosim import SIMULATION_TIMEOUT_S, BoardRun, run_board_link, run_board_training
from pulsetrain.fpga.transport import LineFaults

from pulsetrain.cli import main

pytestmark = pytest.mark.sim

#: about one byte in 170 lost, one in 170 flipped, one in 170 stalled by up to 1.5 reply timeouts (so some
#: stalls split a frame past the board's silence timeout and some replies come after the host retried)
FAULTS = LineFaults(drop=0.006, corrupt=0.006, delay=0.006, delay_max_s=1.5 * SIMULATION_TIMEOUT_S)


def _skip_without_verilator() -> None:
    reason = runner.unavailable_reason(runner.SimulatorName.VERILATOR)
    if reason is not None:
        pytest.skip(reason)


def _check_training(results: dict[str, object], samples: int, tiles: int = 2) -> None:
    assert results["matches_model"], results
    assert results["mismatches"] == 0
    assert results["first_mismatch"] is None
    assert results["samples"] == samples
    # every tile of the network (64-2-10: hidden 65x2 and output 3x10, bias lines included) on its own
    # board periphery; one update per tile and sample (batch 1), each received whole by the chip
    assert len(results["board_tiles"]) == tiles  # type: ignore[arg-type]
    assert results["identity"]["tiles"] == tiles  # type: ignore[index]  # the handshake found them
    assert results["updates_served"] == tiles * samples
    assert set(results["updates_by_tile"].values()) == {samples}  # type: ignore[attr-defined]
    assert results["trains_received"] == tiles * samples
    assert int(results["decisions_compared"]) > 50 * tiles * samples  # type: ignore[call-overload]
    # every forward read of every tile (training and the 12 test samples) converted by the board's ADC
    # readout through the chip pins, each code equal to the model's rint(value / lsb)
    assert int(results["readouts"]) >= tiles * (samples + 12)  # type: ignore[call-overload]
    assert results["adc_codes_compared"] == int(results["readouts"]) // tiles * (2 + 10)  # type: ignore[call-overload]
    assert results["weights_sha256"] == results["model_weights_sha256"]
    assert results["test_accuracy"] == results["model_test_accuracy"]


def test_training_through_the_simulated_board_on_a_clean_line_matches_the_twin() -> None:
    _skip_without_verilator()
    results = run_board_training(BoardRun(samples=3))
    _check_training(results, 3)
    assert results["link"]["retries"] == 0, results["link"]  # type: ignore[index]


def test_training_through_the_simulated_board_recovers_link_faults() -> None:
    _skip_without_verilator()
    run = BoardRun(samples=4, to_board=FAULTS, from_board=FAULTS, fault_seed=3, retries=20)
    results = run_board_training(run)
    _check_training(results, 4)
    link = results["link"]
    assert link["retries"] > 0, link  # type: ignore[index]


@pytest.mark.slow
def test_training_many_samples_through_the_simulated_board_with_faults() -> None:
    _skip_without_verilator()
    run = BoardRun(samples=40, to_board=FAULTS, from_board=FAULTS, fault_seed=11, retries=20)
    results = run_board_training(run)
    _check_training(results, 40)


def test_link_faults_on_the_board_pins_lose_nothing_and_apply_nothing_twice() -> None:
    _skip_without_verilator()
    run = BoardRun(to_board=FAULTS, from_board=FAULTS, fault_seed=5, retries=20)
    results = run_board_link(run, adds=60)
    assert results["error"] is None, results
    # ADD is not idempotent: a lost or repeated one shows in a reply or in the registers read back
    assert results["wrong_replies"] == []
    assert results["registers_match"], results
    link = results["link"]
    assert link["retries"] > 0 and link["bad_frames"] + link["stale_replies"] > 0, link


def test_a_board_that_does_not_answer_gives_a_clear_error_within_the_timeout() -> None:
    _skip_without_verilator()
    cut = LineFaults(drop=1.0)  # nothing reaches the board
    results = run_board_link(BoardRun(to_board=cut, retries=3), adds=1)
    assert "did not answer" in results["error"] and "4 tries" in results["error"], results
    # 4 tries of one reply timeout each (plus a few simulated cycles)
    assert 4 * SIMULATION_TIMEOUT_S <= results["simulated_seconds"] < 4.1 * SIMULATION_TIMEOUT_S


def test_the_simulate_command_prints_and_writes_the_comparison(tmp_path: Path) -> None:
    _skip_without_verilator()
    target = tmp_path / "board.json"
    result = CliRunner().invoke(main, ["fpga", "simulate", "--samples", "2", "--json", str(target)])
    assert result.exit_code == 0, result.output
    written = json.loads(target.read_text())
    assert written["matches_model"] and written["samples"] == 2
    assert written["weights_sha256"] == written["model_weights_sha256"]


def test_the_simulate_command_refuses_a_fault_rate_out_of_range_before_any_work() -> None:
    result = CliRunner().invoke(main, ["fpga", "simulate", "--fault-rate", "0.5"])
    assert result.exit_code == 2
    assert "fault_rate must be 0..0.05, not 0.5" in result.output


def test_the_simulate_command_refuses_a_test_sample_count_out_of_range_before_any_work() -> None:
    result = CliRunner().invoke(main, ["fpga", "simulate", "--test-samples", "0"])
    assert result.exit_code == 2
    assert "test_samples must be" in result.output and "not 0" in result.output
