"""The area / energy / latency estimator (analog part; the digital periphery from synthesis is off here)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.synth.estimator import (
    NEUROSIM_PUBLISHED_AREA_UM2,
    NEUROSIM_VGG8,
    Algorithm,
    EstimateConfig,
    depth_study,
    estimate,
    load_pulse_counts,
    neurosim_crosscheck,
    parse_network,
)

from pulsetrain.cli import main
from pulsetrain.config import ConfigError


def _estimate(algorithm: Algorithm, **changes: object) -> object:
    return estimate(EstimateConfig(algorithm=algorithm, use_synthesis=False, **changes))  # type: ignore[arg-type]


def test_dfa_speedup_of_the_training_part_approaches_the_depth() -> None:
    rows = depth_study([2, 4, 6])
    speedups = [row["training_speedup"] for row in rows]
    assert speedups == sorted(speedups)
    # the part after the forward pass: N layers of backward + update against one projection + update
    assert [s / row["depth"] for s, row in zip(speedups, rows, strict=True)] == sorted(
        s / row["depth"] for s, row in zip(speedups, rows, strict=True)
    )
    assert speedups[-1] > 0.8 * 6
    assert all(row["dfa_latency_ns"] < row["bp_latency_ns"] for row in rows)
    # DFA pays for its fixed feedback arrays in area
    assert all(row["dfa_extra_area_um2"] > 0 for row in rows)


def test_tiki_taka_family_adds_the_h_buffer_and_agad_its_references() -> None:
    sgd, ttv2, agad = (_estimate(a) for a in (Algorithm.SGD, Algorithm.TTV2, Algorithm.AGAD))
    assert sgd.area_um2["buffers"] == 0  # type: ignore[attr-defined]
    assert ttv2.area_um2["buffers"] > 0  # type: ignore[attr-defined]
    assert agad.area_um2["buffers"] > ttv2.area_um2["buffers"]  # type: ignore[attr-defined]
    # AGAD has no reference array: one array fewer than TTv2 per layer
    assert agad.area_um2["arrays"] < ttv2.area_um2["arrays"]  # type: ignore[attr-defined]


def test_sbe_updates_once_per_batch() -> None:
    sgd, sbe = _estimate(Algorithm.SGD), _estimate(Algorithm.SBE, sbe_batch=128)
    assert sbe.energy_per_sample_pJ["pulses"] == pytest.approx(sgd.energy_per_sample_pJ["pulses"] / 128)  # type: ignore[attr-defined]
    assert sbe.area_um2["buffers"] > 0  # type: ignore[attr-defined]


def test_measured_pulse_counts_replace_the_assumed_ones(build_dir: Path) -> None:
    path = build_dir / "counts.json"
    path.write_text(
        json.dumps(
            {
                "pulse_counts": {
                    "coincidences_per_sample": [100.0, 20.0],
                    "line_pulses_per_sample": [300.0, 80.0],
                }
            }
        )
    )
    counts = load_pulse_counts(path)
    assumed = estimate(EstimateConfig(use_synthesis=False))
    measured = estimate(EstimateConfig(use_synthesis=False), counts)
    assert measured.energy_per_sample_pJ["pulses"] != assumed.energy_per_sample_pJ["pulses"]
    assert any("training run" in note for note in measured.notes)
    doubled = load_pulse_counts(path)
    doubled = type(doubled)(
        tuple(2 * c for c in doubled.coincidences), tuple(2 * p for p in doubled.line_pulses)
    )
    assert estimate(EstimateConfig(use_synthesis=False), doubled).energy_per_sample_pJ[
        "pulses"
    ] == pytest.approx(2 * measured.energy_per_sample_pJ["pulses"])


def test_latency_is_counted_by_the_schedule_controller_rtl_when_it_exists() -> None:
    result = _estimate(Algorithm.SGD)
    assert result.latency_source in ("rtl simulation", "model schedule")
    assert result.cycles_per_sample > 0
    assert result.total_latency_per_sample_ns == pytest.approx(result.cycles_per_sample * 1.0)  # 1 GHz table


def test_crosscheck_rows_carry_ratio_source_and_explanation() -> None:
    rows = neurosim_crosscheck()
    assert {row["neurosim_source"].split(",")[0] for row in rows} >= {
        "DNN+NeuroSim V2.1 User Manual",
        "SarADC.cpp formulas with Param.cpp defaults",
    }
    for row in rows:
        assert row["ratio"] == pytest.approx(row["ours"] / row["neurosim"])
        assert len(row["explanation"]) > 20


def test_crosscheck_compares_with_numbers_neurosim_printed() -> None:
    published = [row for row in neurosim_crosscheck() if "User Manual" in row["neurosim_source"]]
    assert {row["neurosim"] for row in published} == {
        NEUROSIM_PUBLISHED_AREA_UM2["cim_array_fw_ag"],
        NEUROSIM_PUBLISHED_AREA_UM2["adc"],
    }
    # the weights need fewer subarrays than NeuroSim's floorplan reserves: our array area is smaller
    needed, floorplan = (row for row in published if "CIM array" in row["quantity"])
    assert needed["ratio"] < floorplan["ratio"]


def test_our_cell_model_on_neurosims_floorplan_reproduces_its_printed_array_area() -> None:
    # 1360 subarrays of 128x128 cells at 4F x 4F, F = 32 nm: the published 365,072 um^2 to its 6 digits;
    # a wrong feature size (40 nm) or cell (2F x 2F) in the neurosim_v21 table would miss by 1.56x or 4x
    row = next(r for r in neurosim_crosscheck() if "floorplan" in r["quantity"] and "CIM" in r["quantity"])
    assert row["ratio"] == pytest.approx(1.0, rel=1e-5)


def test_the_vgg8_matrices_hold_every_weight_once() -> None:
    weights = sum(k_h * k_w * c_in * c_out for _, _, c_in, k_h, k_w, c_out in NEUROSIM_VGG8)
    assert weights == 12_973_440


def test_sar_energy_uses_neurosims_read_voltage_correction() -> None:
    # SarADC.cpp scales the column resistance by 0.5 V / V_read before its fit: at 1 V read voltage the
    # same column draws the power the fit gives for half the resistance
    from pulsetrain.synth.converters import neurosim_sar_energy_pJ
    from pulsetrain.synth.technology import load_technology

    tech = load_technology("rpu_45nm")
    assert tech.array.read_voltage_V == 1.0
    plain = dataclasses.replace(tech, adc=dataclasses.replace(tech.adc, fit_read_voltage_V=0.0))
    assert neurosim_sar_energy_pJ(tech, 8, 2e4) == pytest.approx(neurosim_sar_energy_pJ(plain, 8, 1e4))
    assert neurosim_sar_energy_pJ(tech, 8, 2e4) != pytest.approx(neurosim_sar_energy_pJ(plain, 8, 2e4))


@pytest.mark.parametrize("text", ["64", "64-x", "a-b"], ids=["one-layer", "letter", "words"])
def test_bad_networks_are_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_network(text)


def test_estimate_command_writes_json(build_dir: Path) -> None:
    out = build_dir / "estimate.json"
    result = CliRunner().invoke(
        main, ["estimate", "--no-synthesis", "--algo", "dfa", "--tech", "neurosim_v21", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["estimates"][0]["config"]["algorithm"] == "dfa"
    assert data["estimates"][0]["technology"] == "neurosim_v21"


def test_estimate_command_refuses_an_unknown_algorithm() -> None:
    result = CliRunner().invoke(main, ["estimate", "--no-synthesis", "--algo", "backprop2"])
    assert result.exit_code == 2
    assert "--algo must be one of" in result.output


@pytest.mark.synth
@pytest.mark.slow
def test_digital_periphery_comes_from_the_nangate45_reports() -> None:
    from pulsetrain.synth.tools import have_sta

    if not have_sta():
        pytest.skip("OpenSTA (sta) is not installed: no power for the digital periphery")
    result = estimate(EstimateConfig(algorithm=Algorithm.CTTV2))
    costed = [row for row in result.digital_blocks.values() if "nangate45" in row["status"]]
    assert costed, result.digital_blocks
    # the ADC readouts are synthesized and listed, but their logic is inside the converter figure
    counted = [row for row in costed if row["counted"] == "yes"]
    assert len(counted) < len(costed)
    assert result.area_um2["digital"] == pytest.approx(sum(row["area_um2_scaled"] for row in counted))
    assert result.energy_per_sample_pJ["digital"] == pytest.approx(sum(row["energy_pJ"] for row in counted))


def test_overhead_table_lists_every_algorithm_against_sgd_with_accuracy(build_dir: Path) -> None:
    accuracy = build_dir / "accuracy.json"
    accuracy.write_text(json.dumps({"sgd": 0.9, "agad": 0.93}))
    out = build_dir / "all.json"
    result = CliRunner().invoke(
        main, ["estimate", "--no-synthesis", "--accuracy", str(accuracy), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = {row["algorithm"]: row for row in json.loads(out.read_text())["overhead"]}
    assert set(rows) == {"sgd", "dfa", "ttv2", "c-ttv2", "agad", "sbe"}
    assert rows["sgd"]["extra_area_um2"] == 0
    assert rows["agad"]["accuracy"] == 0.93 and rows["dfa"]["accuracy"] == ""
    assert rows["agad"]["extra_area_um2"] > rows["ttv2"]["extra_area_um2"] > 0  # references on top of H
