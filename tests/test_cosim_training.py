"""Training with the RTL in the loop: same decisions and weights as the pure model.

The pulse generators serve every pulsed update; in ttv2 / c-ttv2 / agad runs the transfer controllers
serve every transfer decision of every layer. Broken variants of both are caught at their first
differing decision.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.cosim import runner
from pulsetrain.cosim.faults import OffByOne, StuckBit
from pulsetrain.cosim.faults_pulse import StuckLfsrBitPulseGenerator
from pulsetrain.cosim.faults_transfer import NeverFlippingChopperTransferController
from pulsetrain.cosim.training import CosimRequest, run_training_cosim

from pulsetrain.cli import main


def _request(
    simulator: runner.SimulatorName, algo: str = "sgd", samples: int = 12, **kwargs: object
) -> CosimRequest:
    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        pytest.skip(reason)
    options = {"algo": algo, "seed": 2, "network.hidden": "4"}
    return CosimRequest(options=options, samples=samples, simulator=simulator.value, **kwargs)  # type: ignore[arg-type]


#: training samples of the transfer-controller runs: with ``transfer_every = 1`` (the default) each
#: sample transfers one column of each layer, so 36 samples read every column of the 4-wide hidden layer
#: nine times (enough for chopper flips, pulses to C and, with AGAD, references and hold-offs)
TRANSFER_SAMPLES = 36


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


def _transfer_checks(
    results: dict[str, object], samples: int = TRANSFER_SAMPLES, columns_per_layer: int = TRANSFER_SAMPLES
) -> dict[str, int]:
    """Assertions shared by the transfer-controller runs; returns what the controllers did.

    ``columns_per_layer``: column reads each layer's controller must have asked for (one per sample with
    the default ``transfer_every = 1`` and ``n_reads_per_transfer = 1``).
    """
    assert results["matches_model"], results
    assert results["mismatches"] == 0 and results["first_mismatch"] is None
    assert results["samples"] == samples
    assert results["weights_sha256"] == results["model_weights_sha256"]
    assert results["transfer_controllers_in_rtl"] == 2
    by_block = results["decisions_by_block"]
    assert isinstance(by_block, dict)
    # per column read: the column, per row record (row, column, pulses, H, accumulated), the chopper flips
    assert by_block["transfer-controller"] >= 2 * columns_per_layer * (1 + 5 * 4)
    # every column read of A converted by the ADC readout RTL: one code per row (4 + 10 rows)
    assert results["adc_readouts_in_rtl"] == 2
    assert by_block["adc-readout"] == columns_per_layer * (4 + 10)
    # every forward and backward read of the network converted by an ADC readout RTL too: forward reads
    # of both layers' C (4 + 10 lines) for each training sample and for the end-of-epoch accuracy passes
    # over the training samples and the 360 test samples, backward reads of layer 1 per sample (its 4 + 1
    # input lines: the hidden units and the bias)
    assert {(r["tile"], r["transpose"]) for r in results["read_adcs_in_rtl"]} == {
        (1, False),
        (3, False),
        (3, True),
    }
    assert by_block["read-adc"] == (2 * samples + 360) * (4 + 10) + samples * 5
    assert results["decisions_compared"] == sum(by_block.values())
    activity = results["transfer_activity"]
    assert isinstance(activity, dict)
    assert activity["columns"] == 2 * columns_per_layer
    return activity


@pytest.mark.sim
def test_c_ttv2_transfer_controllers_in_the_loop_match_pure_model_on_verilator() -> None:
    results = run_training_cosim(_request(runner.SimulatorName.VERILATOR, "c-ttv2", TRANSFER_SAMPLES))
    activity = _transfer_checks(results)
    # the decisions were exercised: H crossed the threshold and the input choppers flipped
    assert activity["pulses_to_c"] > 0 and activity["in_flips"] > 0, activity
    pulses = results["pulses"]
    assert isinstance(pulses, dict)
    assert sum(layer["C"] for layer in pulses.values()) == activity["pulses_to_c"]


@pytest.mark.sim
@pytest.mark.parametrize(
    ("algo", "sets", "columns_per_layer"),
    [
        ("ttv2", (), TRANSFER_SAMPLES),
        # AGAD: frequent flips (input and output choppers) so that references are taken and reads held
        # off within 36 samples, and a larger transfer rate so that the few accumulated reads still fire
        (
            "agad",
            ("tiki_taka.in_chop_prob=0.25", "tiki_taka.out_chop_prob=0.2", "tiki_taka.transfer_lr=1.0"),
            TRANSFER_SAMPLES,
        ),
        # transfer events every third sample, two columns each: the controller's counter, the steps
        # without a transfer and the second column of one event
        (
            "c-ttv2",
            ("tiki_taka.transfer_every=3", "tiki_taka.n_reads_per_transfer=2", "tiki_taka.out_chop_prob=0.3"),
            TRANSFER_SAMPLES // 3 * 2,
        ),
    ],
    ids=["ttv2", "agad-fast-choppers", "c-ttv2-every-3-two-columns"],
)
def test_transfer_controllers_in_the_loop_match_pure_model_on_icarus(
    algo: str, sets: tuple[str, ...], columns_per_layer: int
) -> None:
    results = run_training_cosim(_request(runner.SimulatorName.ICARUS, algo, TRANSFER_SAMPLES, sets=sets))
    activity = _transfer_checks(results, columns_per_layer=columns_per_layer)
    assert activity["pulses_to_c"] > 0, activity
    if algo == "ttv2":
        assert activity["in_flips"] == 0 and activity["held"] == 0
    else:
        assert activity["in_flips"] > 0 and activity["out_flips"] > 0, activity
    if algo == "agad":
        assert activity["held"] > 0, activity


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ttv2", "c-ttv2", "agad"])
def test_full_size_network_with_transfer_controllers_matches_pure_model(algo: str) -> None:
    """64-32-10 on soft-bounds devices (the report's setting), 300 samples: about 70 s each on Icarus."""
    samples = 300
    request = CosimRequest(
        options={"algo": algo, "seed": 0, "network.hidden": "32"},
        sets=("device.kind=soft-bounds",),
        samples=samples,
        simulator=_request(runner.SimulatorName.ICARUS).simulator,
    )
    results = run_training_cosim(request)
    assert results["matches_model"], results
    assert results["weights_sha256"] == results["model_weights_sha256"]
    activity = results["transfer_activity"]
    assert isinstance(activity, dict)
    assert activity["columns"] == 2 * samples and activity["pulses_to_c"] > 0, activity
    assert results["decisions_by_block"]["adc-readout"] == samples * (32 + 10)


@pytest.mark.sim
def test_off_by_one_column_pointer_stops_training_at_first_transfer() -> None:
    def broken(config: object) -> object:
        from pulsetrain.rtl.transfer_controller import TransferController

        return OffByOne(TransferController(config), port="column", modulus=config.in_size)  # type: ignore[arg-type,attr-defined]

    request = _request(runner.SimulatorName.ICARUS, "c-ttv2", TRANSFER_SAMPLES, transfer_class=broken)
    results = run_training_cosim(request)
    assert not results["matches_model"] and results["mismatches"] == 1
    first = results["first_mismatch"]
    # the first update of layer 0 starts a transfer (transfer_every = 1): the RTL names column 1, not 0
    assert first == {
        "step": 0,
        "layer": 0,
        "tile": -1,
        "block": "transfer-controller",
        "what": "column",
        "rtl": 1,
        "model": 0,
    }
    assert results["waveform"] is not None and Path(results["waveform"]).is_file()


@pytest.mark.sim
def test_never_flipping_chopper_stops_training_at_first_missed_flip() -> None:
    request = _request(
        runner.SimulatorName.ICARUS,
        "c-ttv2",
        TRANSFER_SAMPLES,
        transfer_class=NeverFlippingChopperTransferController,
    )
    results = run_training_cosim(request)
    assert not results["matches_model"] and results["mismatches"] == 1
    first = results["first_mismatch"]
    assert first["block"] == "transfer-controller", first
    assert first["what"].endswith("in_flipped"), first
    assert (first["rtl"], first["model"]) == (False, True)
    # everything before the missed flip agreed, so the run got past its first steps
    assert results["decisions_compared"] > 0


@pytest.mark.sim
def test_stuck_adc_code_bit_stops_training_at_first_read() -> None:
    def broken(config: object) -> object:
        from pulsetrain.rtl.adc_readout import AdcReadout, result_layout

        code = dict(result_layout(config))["code"]  # type: ignore[arg-type]
        # the code's most significant bit stuck at 0: every read at or above mid-scale comes out low
        msb = code.offset + code.width - 1
        return StuckBit(AdcReadout(config), port="results__payload", bit=msb, level=0)  # type: ignore[arg-type]

    request = _request(runner.SimulatorName.ICARUS, "c-ttv2", TRANSFER_SAMPLES, adc_class=broken)
    results = run_training_cosim(request)
    assert not results["matches_model"] and results["mismatches"] == 1
    first = results["first_mismatch"]
    # the first ADC conversion of the run is the first sample's forward read of layer 0 (its tile C, the
    # second tile created); a line at or above mid-scale loses the MSB's 256
    assert first["block"] == "read-adc" and "forward read: ADC code[row" in first["what"], first
    assert first["step"] == 0, first
    assert first["model"] - first["rtl"] == 1 << 8, first


def test_cosim_refuses_a_float_transfer_server() -> None:
    outcome = CliRunner().invoke(
        main,
        [
            "cosim",
            "--algo",
            "c-ttv2",
            "--samples",
            "3",
            "--sim",
            "icarus",
            "--set",
            "tiki_taka.periphery=float",
        ],
    )
    assert outcome.exit_code == 2
    assert "tiki_taka.periphery must be twin for cosim" in outcome.output


def test_cosim_refuses_an_algorithm_without_pulsed_updates() -> None:
    outcome = CliRunner().invoke(main, ["cosim", "--algo", "fp", "--samples", "3", "--sim", "icarus"])
    assert outcome.exit_code == 2
    assert "algo must be one of sgd, dfa, ttv2, c-ttv2, agad for cosim" in outcome.output


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
    for name in ("lfsr", "chopper", "pulse-generator", "adc-readout", "transfer-controller", "sbe-unit"):
        assert name in outcome.output
