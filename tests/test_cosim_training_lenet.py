"""LeNet-5 on Fashion-MNIST with the periphery RTL in the loop: every patch of a convolution is one update
through its tile's pulse generator and one read through its tile's ADC readout, decision for decision the
pure model's.

The default-mode tests put the first convolution's tile (16 x 25+1) in the RTL and keep the other three
tiles on the twin, so the Verilator build stays small; the ``--long`` test runs the issue's command, 50
samples with every tile in the RTL (1255 pulsed lines, a build of many minutes).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.cosim import runner
from pulsetrain.cosim.faults_pulse import StuckLfsrBitPulseGenerator
from pulsetrain.cosim.training import CosimRequest, resolve, run_training_cosim

from pulsetrain.cli import main
from pulsetrain.config import ConfigError

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
needs_fashion_mnist = pytest.mark.skipif(
    not (FASHION_MNIST / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"Debian's dataset-fashion-mnist is not installed ({FASHION_MNIST} has no idx files)",
)

#: LeNet-5 on 28x28 images: conv1's 24 x 24 output pixels, one patch (array read and update) each
CONV1_PATCHES = 24 * 24
#: conv1's output channels: the lines of each forward read
CONV1_CHANNELS = 16


def _request(samples: int, test_samples: int, **kwargs: object) -> CosimRequest:
    reason = runner.unavailable_reason(runner.SimulatorName.VERILATOR)
    if reason is not None:
        pytest.skip(reason)
    options = {"algo": "sgd", "seed": 0, "network.name": "lenet5", "dataset": "fashion-mnist"}
    return CosimRequest(
        options=options, samples=samples, test_samples=test_samples, simulator="verilator", **kwargs
    )  # type: ignore[arg-type]


@needs_fashion_mnist
@pytest.mark.sim
def test_conv1_patches_through_rtl_pulse_generator_and_adc_match_pure_model() -> None:
    samples, test_samples = 2, 2
    results = run_training_cosim(_request(samples, test_samples, rtl_tiles=(0,)))
    assert results["matches_model"], results
    assert results["mismatches"] == 0 and results["first_mismatch"] is None
    assert results["weights_sha256"] == results["model_weights_sha256"]
    assert results["tiles_in_rtl"] == [0] and results["tiles_on_twin"] == [1, 2, 3]
    assert results["read_adcs_in_rtl"] == [{"tile": 0, "transpose": False}]
    # every patch of conv1 is one forward read through the RTL ADC: the training samples, then the
    # end-of-epoch accuracy passes over the training and the test samples
    reads = (2 * samples + test_samples) * CONV1_PATCHES
    assert results["transactions_by_block"]["read-adc"] == reads
    assert results["decisions_by_block"]["read-adc"] == reads * CONV1_CHANNELS
    # one pulse-generator transaction per patch update (patches whose x or d is all zero issue none)
    updates = results["transactions_by_block"]["pulse-generator"]
    assert samples * CONV1_PATCHES // 2 < updates <= samples * CONV1_PATCHES
    assert results["model_pulses"]["layer0"]["W"] > 0


@needs_fashion_mnist
@pytest.mark.sim
def test_c_ttv2_on_lenet5_with_every_transfer_controller_in_the_rtl_matches_pure_model() -> None:
    """c-TTv2: conv1's A (tile 0) through its pulse generator, conv1's C (tile 1) read through its ADC,
    every layer's transfer controller and column ADC in the RTL (about 3 min on loaded Icarus)."""
    if runner.unavailable_reason(runner.SimulatorName.ICARUS):
        pytest.skip("iverilog not installed (the four transfer controllers build in ~40 s on Icarus)")
    options = {"algo": "c-ttv2", "seed": 0, "network.name": "lenet5", "dataset": "fashion-mnist"}
    request = CosimRequest(options=options, samples=1, test_samples=1, simulator="icarus", rtl_tiles=(0, 1))
    try:
        resolve(request)
    except ConfigError as error:  # a model without c-ttv2 on convolutions (before the conv work)
        pytest.skip(f"the model does not train c-ttv2 on lenet5 here: {error}")
    results = run_training_cosim(request)
    assert results["matches_model"], results
    assert results["mismatches"] == 0
    assert results["transfer_controllers_in_rtl"] == 4 and results["adc_readouts_in_rtl"] == 4
    assert results["tiles_in_rtl"] == [0]
    assert results["read_adcs_in_rtl"] == [{"tile": 1, "transpose": False}]
    by_block = results["decisions_by_block"]
    assert by_block["transfer-controller"] > 0 and by_block["adc-readout"] > 0
    # conv1's C read once per patch: the training sample and the two accuracy-pass samples
    assert by_block["read-adc"] == 3 * CONV1_PATCHES * CONV1_CHANNELS
    assert results["transfer_activity"]["in_flips"] > 0


@needs_fashion_mnist
@pytest.mark.sim
def test_stuck_lfsr_bit_in_conv1_generator_stops_at_its_first_patch_update() -> None:
    request = _request(1, 1, rtl_tiles=(0,), generator_class=StuckLfsrBitPulseGenerator)
    results = run_training_cosim(request)
    assert not results["matches_model"] and results["mismatches"] == 1
    first = results["first_mismatch"]
    assert first["what"].startswith("x_fire") and "line 0]" in first["what"], first
    assert first["layer"] == 0 and first["rtl"] != first["model"]


@needs_fashion_mnist
@pytest.mark.sim
@pytest.mark.slow
def test_lenet5_fifty_samples_with_every_tile_in_the_rtl_match_pure_model() -> None:
    """The issue's ``pulsetrain cosim --network lenet5 --dataset fashion-mnist --samples 50``."""
    results = run_training_cosim(_request(50, None))  # type: ignore[arg-type]
    assert results["matches_model"], results
    assert results["mismatches"] == 0
    assert results["tiles_in_rtl"] == [0, 1, 2, 3]
    # forward reads of all four tiles, backward reads of the three after the first
    assert {(r["tile"], r["transpose"]) for r in results["read_adcs_in_rtl"]} == {
        (0, False),
        (1, False),
        (1, True),
        (2, False),
        (2, True),
        (3, False),
        (3, True),
    }
    assert results["test_samples"] == 100


def test_cosim_network_without_algo_trains_sgd_and_refuses_bad_tiles_before_work() -> None:
    outcome = CliRunner().invoke(
        main, ["cosim", "--network", "lenet5", "--dataset", "fashion-mnist", "--rtl-tiles", "first"]
    )
    assert outcome.exit_code == 2
    assert "rtl-tiles must be a comma list of tile indices, not 'first'" in outcome.output


def test_cosim_refuses_zero_test_samples_before_work() -> None:
    outcome = CliRunner().invoke(main, ["cosim", "--network", "lenet5", "--test-samples", "0"])
    assert outcome.exit_code == 2
    assert "test_samples" in outcome.output
