"""The NeuroSim comparison: its output parser, and the committed table against a fresh regeneration."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulsetrain.synth import neurosim_mlp

SUMMARY = """
-------------------- Estimation of Layer 1 ----------------------
ADC (or S/As and precharger for SRAM) readDynamicEnergy is : 999pJ
ChipArea : 12345.5um^2
Chip total CIM (Forward+Activation Gradient) array : 2.5e+03um^2
----------- ADC (or S/As and precharger for SRAM) readDynamicEnergy is : 4.5e6pJ
Chip total Latency (per epoch) is: 7.25e+06ns
"""


def test_the_parser_reads_the_chip_summary_only() -> None:
    printed = neurosim_mlp.parse_neurosim_output(SUMMARY)
    assert printed["ChipArea"] == 12345.5
    assert printed["Chip total CIM (Forward+Activation Gradient) array"] == 2500.0
    # the per-layer line before the summary is not read; the summary's is
    assert printed["ADC (or S/As and precharger for SRAM) readDynamicEnergy"] == 4.5e6
    assert printed["Chip total Latency (per epoch)"] == 7.25e6


def test_rows_hold_ours_over_neurosim(tmp_path: Path) -> None:
    settings = {"network": [64, 512, 10], "updates_per_epoch": 1797}
    rows = neurosim_mlp.comparison_rows(neurosim_mlp.parse_neurosim_output(SUMMARY), settings)
    adc = next(r for r in rows if r["component"] == "ADC conversions")
    assert adc["neurosim"] == pytest.approx(4.5e6) and adc["unit"] == "pJ per sample"
    assert adc["ratio"] == pytest.approx(adc["ours"] / adc["neurosim"])
    assert all(r["why"] for r in rows)


def test_the_ranges_are_the_sums_of_the_forward_read_terms_ranges() -> None:
    from pulsetrain.synth.estimator import EstimateConfig, estimate

    settings = {"network": [64, 512, 10], "updates_per_epoch": 1797}
    rows = {r["component"]: r for r in neurosim_mlp.comparison_rows({}, settings)}
    ours = estimate(EstimateConfig(network=(64, 512, 10), technology="neurosim_v21", use_synthesis=False))
    forward = [t for t in ours.energy_terms if "forward read" in t.what]
    adc = [t for t in forward if t.category == "adcs"]
    array = [t for t in forward if t.category in ("arrays", "drivers")]
    assert rows["ADC conversions"]["ours_low"] == pytest.approx(sum(t.bounds[0] for t in adc))
    assert rows["ADC conversions"]["ours_high"] == pytest.approx(sum(t.bounds[1] for t in adc))
    assert rows["ADC conversions"]["ours_high"] > 2 * rows["ADC conversions"]["ours"]
    row = rows["synaptic array without ADC (cells, lines, drivers)"]
    assert (row["ours_low"], row["ours_high"]) == pytest.approx(
        (sum(t.bounds[0] for t in array), sum(t.bounds[1] for t in array))
    )
    assert rows["CIM arrays"]["ours_low"] == rows["CIM arrays"]["ours_high"] == rows["CIM arrays"]["ours"]


def test_the_committed_table_is_what_the_stored_output_gives(tmp_path: Path) -> None:
    results = neurosim_mlp.RESULTS
    if not (results / "neurosim_mlp_output.txt").is_file():
        pytest.skip("no stored NeuroSim output")
    import json

    settings = json.loads((results / "neurosim_mlp_run.json").read_text())
    printed = neurosim_mlp.parse_neurosim_output((results / "neurosim_mlp_output.txt").read_text())
    fresh = tmp_path / "table.md"
    neurosim_mlp.write_table(neurosim_mlp.comparison_rows(printed, settings), settings, fresh)
    assert fresh.read_text() == (results / "neurosim_mlp_comparison.md").read_text()


def test_the_run_script_sets_the_shared_configuration_in_param_cpp() -> None:
    from pulsetrain.synth import neurosim_run

    from pulsetrain.config import ConfigError

    text = "\tSARADC = false;   // MLSA\n\tnovelMapping = true;\n\ttrainingEstimation = true;\n"
    text += "\tbatchSize = 200;\n\tnumIteration = 250;\n"
    configured = neurosim_run.configure_param(text)
    assert "SARADC = true;   // MLSA" in configured and "novelMapping = false;" in configured
    assert "batchSize = 2;" in configured and "numIteration = 899;" in configured
    with pytest.raises(ConfigError, match="assigns no SARADC"):
        neurosim_run.configure_param("int main() {}")


def test_the_run_script_writes_the_network_weights_and_bit_serial_inputs(tmp_path: Path) -> None:
    import numpy as np
    from pulsetrain.synth import neurosim_run

    arguments = neurosim_run.write_inputs(tmp_path)
    assert arguments[:4] == ["0", "NetWork_mlp.csv", "5", "8"] and len(arguments) == 4 + 2 * 4
    assert (tmp_path / "NetWork_mlp.csv").read_text() == "1,1,64,1,1,512,0,1\n1,1,512,1,1,10,0,1\n"
    weights = np.loadtxt(tmp_path / "weight2.csv", delimiter=",")
    assert weights.shape == (512, 10) and weights.min() >= -1 and weights.max() < 1
    assert len(np.unique(np.round(weights * 16))) <= 32, "5-bit weights"
    bits = np.loadtxt(tmp_path / "input1.csv", delimiter=",")
    assert bits.shape == (64, 8) and set(np.unique(bits)) <= {0.0, 1.0}
    assert float(arguments[7]) == pytest.approx(bits.mean(), abs=1e-6)


@pytest.mark.slow
def test_neurosim_built_and_run_here_gives_the_stored_output(tmp_path: Path) -> None:
    import os

    from pulsetrain.synth import neurosim_run

    checkout = os.environ.get("NEUROSIM_CHECKOUT")
    if not checkout:
        pytest.skip("set NEUROSIM_CHECKOUT to a DNN_NeuroSim_V2.1 checkout (18289cb) to build and run it")
    printed = neurosim_run.run_neurosim(Path(checkout), tmp_path)
    stored = (neurosim_mlp.RESULTS / "neurosim_mlp_output.txt").read_text()
    ours, theirs = neurosim_mlp.parse_neurosim_output(printed), neurosim_mlp.parse_neurosim_output(stored)
    assert ours.keys() == theirs.keys()
    for label, value in theirs.items():
        assert ours[label] == pytest.approx(value, rel=1e-4), label
