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
