"""The area / energy / latency estimator (analog part; the digital periphery from synthesis is off here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.synth.estimator import (
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


def test_crosscheck_ratios_are_reported_with_explanations() -> None:
    rows = neurosim_crosscheck()
    assert len(rows) >= 4
    for row in rows:
        assert row["ratio"] == pytest.approx(row["ours"] / row["neurosim"])
        assert len(row["explanation"]) > 20
        assert 0.1 < row["ratio"] < 10


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
    assert result.area_um2["digital"] == pytest.approx(sum(row["area_um2_scaled"] for row in costed))
    assert result.energy_per_sample_pJ["digital"] > 0


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
