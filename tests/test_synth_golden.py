"""Golden figures of the 64-32-10 SGD estimate on rpu_45nm, every term recomputed here from the table.

The expected values are built in this file from the TOML table read with ``tomllib`` and from counts
worked out by hand (which reads, which conversions, which lines), not from the estimator's own helpers,
so that a wrong factor anywhere in the estimator (a doubled ADC energy, a dropped driver term, a wrong
unit factor) changes a category and fails here.
"""

from __future__ import annotations

import math
import tomllib
from typing import Any

import pytest
from pulsetrain.synth.estimator import CATEGORIES, Algorithm, Estimate, EstimateConfig, estimate
from pulsetrain.synth.technology import TECH_DIR

NETWORK = (64, 32, 10)
LAYERS = [(64, 32), (32, 10)]
SAMPLES = 1797
BL, P_FIRE = 31, 0.1


def _table() -> dict[str, dict[str, Any]]:
    data = tomllib.loads((TECH_DIR / "rpu_45nm.toml").read_text())
    return {
        section: {k: v["value"] for k, v in entries.items()}
        for section, entries in data.items()
        if isinstance(entries, dict)
    }


T = _table()
F_UM = T["array"]["feature_size_nm"] * 1e-3
PITCH_UM = T["array"]["cell_pitch_F"] * F_UM
WIRE_F_PER_UM = T["array"]["wire_cap_fF_per_um"] * 1e-15
G_MEAN = 0.5 * (T["array"]["g_on_S"] + T["array"]["g_off_S"])
DRIVER_F = T["driver"]["driver_cap_fF"] * 1e-15


@pytest.fixture(scope="module")
def sgd() -> Estimate:
    return estimate(EstimateConfig(network=NETWORK, algorithm=Algorithm.SGD, use_synthesis=False))


def _adc_conversion_pJ() -> float:
    adc = T["adc"]
    enob = adc["bits"] - adc["enob_loss_bits"]
    return max(adc["walden_fom_fJ"] * 1e-3 * 2**enob, adc["energy_floor_pJ"])


def _line_pJ(cells: float, volts: float) -> float:
    return (cells * PITCH_UM * WIRE_F_PER_UM + DRIVER_F) * volts**2 * 1e12


def _by_category(result: Estimate, category: str) -> float:
    return result.energy_per_sample_pJ[category]


def test_survey_adc_figure_is_the_walden_fom_times_two_to_the_enob() -> None:
    # 13 fJ/step x 2**7.5 = 2.353 pJ, above the 0.42 pJ floor at 45 nm
    assert _adc_conversion_pJ() == pytest.approx(2.3533, rel=1e-4)


def test_cell_reads_are_the_cells_read_times_v_squared_g_t(sgd: Estimate) -> None:
    cells = 64 * 32 + 32 * 10 + 10 * 32  # forward of both layers, backward of the second
    per_read = 0.5 * T["array"]["read_voltage_V"] ** 2 * G_MEAN * T["array"]["read_pulse_ns"] * 1e-9 * 1e12
    assert _by_category(sgd, "arrays") == pytest.approx(cells * per_read, rel=1e-12)


def test_adc_energy_is_the_conversions_times_the_survey_figure(sgd: Estimate) -> None:
    conversions = 32 + 10 + 32  # forward outputs of both layers, backward outputs (32) of the second
    assert _by_category(sgd, "adcs") == pytest.approx(conversions * _adc_conversion_pJ(), rel=1e-12)
    low, high = sgd.energy_range_pJ["adcs"]
    enob = T["adc"]["bits"] - T["adc"]["enob_loss_bits"]
    assert low == pytest.approx(conversions * T["adc"]["walden_fom_low_fJ"] * 1e-3 * 2**enob)
    assert high == pytest.approx(conversions * T["adc"]["walden_fom_high_fJ"] * 1e-3 * 2**enob)


#: ISAAC's DAC power as PUMA carries it (W), on for the input's mean fraction (0.5) of the 80 ns read.
DAC_W = T["driver"]["dac_power_uW"] * 1e-6
DAC_PJ = DAC_W * 0.5 * T["array"]["read_pulse_ns"] * 1e-9 * 1e12


def test_dac_conversion_is_the_dac_power_times_the_time_its_output_is_on() -> None:
    # 3.897 uW x 40 ns = 0.156 pJ; one 1 ns cycle 3.9 fJ; the whole 80 ns window 0.312 pJ
    assert DAC_PJ == pytest.approx(0.15588, rel=1e-4)


def test_driver_energy_is_read_drives_plus_dac_conversions_plus_update_line_pulses(sgd: Estimate) -> None:
    v_read, v_half = T["array"]["read_voltage_V"], T["array"]["write_voltage_V"] / 2
    driven_rows = 64 + 32 + 10  # forward rows of both layers, backward rows (10) of the second
    lines = 64 * _line_pJ(32, v_read) + 32 * _line_pJ(10, v_read) + 10 * _line_pJ(32, v_read)
    updates = sum(BL * (i + o) * P_FIRE * _line_pJ(0.5 * (i + o), v_half) for i, o in LAYERS)
    dacs = driven_rows * DAC_PJ
    assert _by_category(sgd, "drivers") == pytest.approx(lines + dacs + updates, rel=1e-12)
    update_terms = [t for t in sgd.energy_terms if t.category == "drivers" and "update" in t.what]
    assert sum(t.value for t in update_terms) == pytest.approx(updates, rel=1e-12)
    dac_terms = [t for t in sgd.energy_terms if t.category == "drivers" and "DAC" in t.what]
    assert sum(t.value for t in dac_terms) == pytest.approx(dacs, rel=1e-12)


def test_the_dac_range_runs_from_one_cycle_to_the_whole_read_window(sgd: Estimate) -> None:
    cycle_ns, window_ns = 1000.0 / T["digital"]["clock_MHz"], T["array"]["read_pulse_ns"]
    dac_terms = [t for t in sgd.energy_terms if t.category == "drivers" and "DAC" in t.what]
    assert sum(t.count for t in dac_terms) == 64 + 32 + 10
    for term in dac_terms:
        assert term.bounds == pytest.approx(
            (term.count * DAC_W * cycle_ns * 1e3, term.count * DAC_W * window_ns * 1e3), rel=1e-12
        )
    # the other driver terms are certain: the category's range is the DACs' alone
    low, high = sgd.energy_range_pJ["drivers"]
    nominal = sgd.energy_per_sample_pJ["drivers"]
    assert nominal - low == pytest.approx(106 * (DAC_PJ - DAC_W * cycle_ns * 1e3), rel=1e-9)
    assert high - nominal == pytest.approx(106 * (DAC_W * window_ns * 1e3 - DAC_PJ), rel=1e-9)


def test_pulse_energy_is_coincidences_and_half_selects_times_the_resistive_write(sgd: Estimate) -> None:
    full = T["array"]["write_voltage_V"] ** 2 * G_MEAN * T["array"]["write_pulse_ns"] * 1e-9 * 1e12
    coincidences = sum(BL * i * o * P_FIRE**2 for i, o in LAYERS)
    half_selected = sum(BL * (i + o) * P_FIRE * 0.5 * (i + o) for i, o in LAYERS)
    assert _by_category(sgd, "pulses") == pytest.approx(
        coincidences * full + half_selected * full / 4, rel=1e-12
    )


def test_areas_are_units_times_unit_area(sgd: Estimate) -> None:
    cell = T["array"]["cell_area_F2"] * F_UM**2
    node = T["digital"]["node_nm"] * 1e-3
    adc = T["adc"]
    transistors = adc["nmos_base"] + adc["pmos_base"] + 7 * (adc["nmos_per_bit"] + adc["pmos_per_bit"])
    adc_area = (
        transistors * adc["transistor_footprint_F2"] * node**2
        + 2 * 2**8 * adc["cdac_unit_cap_fF"] / adc["cdac_cap_density_fF_per_um2"]
    )
    adcs = 4 + (
        2 + 4
    )  # layer 0: 32 outputs / 8; layer 1: 10 outputs / 8 (2) and the transposed 32 inputs / 8
    driver = 2 * adc["transistor_footprint_F2"] * node**2
    # ISAAC's 0.167 um^2 at 32 nm, scaled by (45 / 32)^2
    dac = T["driver"]["dac_area_um2"] * (T["digital"]["node_nm"] / T["driver"]["dac_node_nm"]) ** 2
    assert sgd.area_um2["arrays"] == pytest.approx((64 * 32 + 32 * 10) * cell, rel=1e-12)
    assert sgd.area_um2["adcs"] == pytest.approx(adcs * adc_area, rel=1e-12)
    assert sgd.area_um2["drivers"] == pytest.approx((96 + 42) * (driver + dac), rel=1e-12)


def test_movement_crosses_one_tile_side(sgd: Estimate) -> None:
    analog = sgd.area_um2["arrays"] + sgd.area_um2["adcs"] + sgd.area_um2["drivers"]
    hop_um = math.sqrt(analog / 2)
    bits = (64 + 32 + 10) * 8 * 2  # activations forward, errors backward, 8-bit codes
    per_bit = T["driver"]["switching_ratio"] * hop_um * WIRE_F_PER_UM * T["digital"]["vdd_V"] ** 2 * 1e12
    assert _by_category(sgd, "movement") == pytest.approx(bits * per_bit, rel=1e-12)
    assert hop_um < 200, "one hop must stay inside a die this small (the old 500 um did not)"


def test_every_term_is_its_count_times_its_figure_and_the_terms_sum_to_the_total(sgd: Estimate) -> None:
    for category in CATEGORIES:
        terms = [t for t in sgd.energy_terms if t.category == category]
        assert sgd.energy_per_sample_pJ[category] == pytest.approx(sum(t.count * t.per_unit for t in terms))
    assert sgd.total_energy_per_sample_pJ == pytest.approx(sum(sgd.energy_per_sample_pJ.values()))
    assert sgd.total_area_um2 == pytest.approx(sum(t.count * t.per_unit for t in sgd.area_terms))


def test_per_epoch_figures_are_per_sample_times_samples(sgd: Estimate) -> None:
    # pJ x samples -> µJ is 1e-6; ns x samples -> ms is 1e-6
    assert sgd.energy_per_epoch_uJ == pytest.approx(
        sgd.total_energy_per_sample_pJ * SAMPLES * 1e-6, rel=1e-12
    )
    assert sgd.latency_per_epoch_ms == pytest.approx(
        sgd.total_latency_per_sample_ns * SAMPLES * 1e-6, rel=1e-12
    )
    data = sgd.as_dict()
    assert data["energy_per_epoch_uJ"] == pytest.approx(data["total_energy_per_sample_pJ"] * SAMPLES * 1e-6)


def test_a_missing_category_is_none_in_json_never_zero(sgd: Estimate) -> None:
    import dataclasses

    missing = dataclasses.replace(sgd, unavailable={"digital": "no power figure"})
    data = missing.as_dict()
    assert data["energy_per_sample_pJ"]["digital"] is None
    assert data["total_energy_per_sample_pJ"] is None and data["energy_per_epoch_uJ"] is None
    assert data["energy_per_sample_pJ"]["adcs"] == pytest.approx(sgd.energy_per_sample_pJ["adcs"])


def test_the_estimate_lists_the_unverified_table_entries(sgd: Estimate) -> None:
    assert "adc.enob_loss_bits" in sgd.unverified and "driver.dac_power_uW" in sgd.unverified
    assert "adc.walden_fom_low_fJ" not in sgd.unverified
    assert any("not verified" in note for note in sgd.notes)


def test_neurosim_table_writes_a_fefet_through_its_gate() -> None:
    result = estimate(EstimateConfig(network=NETWORK, technology="neurosim_v21", use_synthesis=False))
    coincidences = sum(BL * i * o * P_FIRE**2 for i, o in LAYERS)
    # NeuroSim's FeFET write: deltaPr 40 uC/cm^2 x 0.01 x 4 V x 2 F^2 at 32 nm = 3.28 fJ; no half-select
    assert result.energy_per_sample_pJ["pulses"] == pytest.approx(
        coincidences * 0.4 * 4 * 2 * (32e-9) ** 2 * 1e12, rel=2e-3
    )


# --------------------------------------------------------------------------------------------------
# the digital periphery, with synthesis replaced by fixed reports (no tools run)
# --------------------------------------------------------------------------------------------------

LEAKAGE_W, RANDOM_DYNAMIC_W, WORKLOAD_DYNAMIC_W, AREA_UM2 = 2e-4, 3e-3, 1e-3, 1000.0


def _fake_synthesize(design: Any, options: Any, *, use_cache: bool = True, **_: Any) -> Any:
    from pulsetrain.synth.reports import PowerReport, SynthesisReport
    from pulsetrain.synth.tools import ToolVersions

    dynamic = WORKLOAD_DYNAMIC_W if options.activity.workload_file else RANDOM_DYNAMIC_W
    power = PowerReport(
        internal_W=dynamic / 2,
        switching_W=dynamic / 2,
        leakage_W=LEAKAGE_W,
        total_W=dynamic + LEAKAGE_W,
        activity_source="fixed",
        annotated_pins=0,
    )
    return SynthesisReport(
        block=design.name,
        target="nangate45",
        options={},
        key="0" * 64,
        tools=ToolVersions(yosys="fake"),
        cells=1,
        cell_types={},
        flip_flops=0,
        area_um2=AREA_UM2,
        critical_path_ns=0.5,
        power=power,
    )


@pytest.fixture
def fixed_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulsetrain.synth.flows as flows

    monkeypatch.setattr(flows, "synthesize", _fake_synthesize)


def test_digital_energy_is_leakage_over_the_sample_plus_dynamic_power_while_busy(fixed_reports: None) -> None:
    result = estimate(EstimateConfig(network=NETWORK, algorithm=Algorithm.SGD))
    blocks = result.digital_blocks
    counted = {k: v for k, v in blocks.items() if v["counted"] == "yes"}
    # schedule controller and two pulse generators; the three ADC readouts (forward of both layers,
    # backward of the second) are inside the converter figure: listed, at their reads' codes, not added
    assert len(counted) == 3 and len(blocks) == 6
    readouts = {k: v for k, v in blocks.items() if k.startswith("adc-readout")}
    assert sorted(k.split("[")[1] for k in readouts) == [
        "backward reads of layer 1]",
        "forward reads of layer 0]",
        "forward reads of layer 1]",
    ]
    for label, row in readouts.items():
        assert row["counted"].startswith("no") and "reads of layer" in row["activity"], label
    sample_ns = result.total_latency_per_sample_ns
    expected = 0.0
    for label, row in counted.items():
        # W x ns = 1e-9 J = 1e3 pJ; the recorded workload sets the dynamic power of these three blocks
        assert row["leakage_pJ"] == pytest.approx(LEAKAGE_W * sample_ns * 1e3, rel=1e-12), label
        assert row["dynamic_pJ"] == pytest.approx(WORKLOAD_DYNAMIC_W * row["busy_ns"] * 1e3, rel=1e-12), label
        expected += row["leakage_pJ"] + row["dynamic_pJ"]
    assert result.energy_per_sample_pJ["digital"] == pytest.approx(expected, rel=1e-12)
    low, high = result.energy_range_pJ["digital"]
    bound = sum(LEAKAGE_W * sample_ns * 1e3 + RANDOM_DYNAMIC_W * r["busy_ns"] * 1e3 for r in counted.values())
    assert low == pytest.approx(expected) and high == pytest.approx(bound)
    assert result.area_um2["digital"] == pytest.approx(3 * AREA_UM2)


def _survey_pJ(table: dict[str, dict[str, Any]], fom_key: str) -> float:
    adc = table["adc"]
    return max(adc[fom_key] * 1e-3 * 2 ** (adc["bits"] - adc["enob_loss_bits"]), adc["energy_floor_pJ"])


def test_neurosim_fit_range_reaches_the_survey_converters_at_the_node() -> None:
    data = tomllib.loads((TECH_DIR / "neurosim_v21.toml").read_text())
    table = {s: {k: v["value"] for k, v in e.items()} for s, e in data.items() if isinstance(e, dict)}
    result = estimate(EstimateConfig(network=NETWORK, technology="neurosim_v21", use_synthesis=False))
    low_survey, high_survey = _survey_pJ(table, "walden_fom_low_fJ"), _survey_pJ(table, "walden_fom_high_fJ")
    adc_terms = [t for t in result.energy_terms if t.category == "adcs"]
    assert len(adc_terms) == 3
    for term in adc_terms:
        # nominal: NeuroSim's fit; the ends: the survey's best and median converters (or the fit itself)
        assert term.bounds == pytest.approx(
            (term.count * min(term.per_unit, low_survey), term.count * max(term.per_unit, high_survey)),
            rel=1e-12,
        )
    assert result.energy_range_pJ["adcs"][1] > 2 * result.energy_per_sample_pJ["adcs"]


def test_what_is_not_costed_is_listed_and_printed_so_never_as_zero(sgd: Estimate) -> None:
    assert "digital" in sgd.not_costed and "synthesis" in sgd.not_costed["digital"]
    assert sgd.category_text("digital", sgd.energy_per_sample_pJ["digital"]) == "not costed"
    assert "buffers" in sgd.not_costed, "SGD keeps no buffer: its 0 is listed, not silent"
    assert any("DRAM" in what for what in sgd.not_costed)
    assert sgd.category_text("adcs", 12.3456) == "12.35"
    ttv2 = estimate(EstimateConfig(network=NETWORK, algorithm=Algorithm.TTV2, use_synthesis=False))
    assert "buffers" not in ttv2.not_costed and ttv2.energy_per_sample_pJ["buffers"] > 0
    assert sgd.as_dict()["not_costed"] == sgd.not_costed


@pytest.mark.parametrize(
    ("algorithm", "reads"),
    [
        (Algorithm.SGD, [("forward", 0), ("forward", 1), ("backward", 1)]),
        (Algorithm.DFA, [("forward", 0), ("feedback", 0), ("forward", 1)]),
    ],
    ids=["sgd", "dfa"],
)
def test_every_analog_read_has_its_adc_readout(algorithm: Algorithm, reads: list[tuple[str, int]]) -> None:
    from pulsetrain.synth.digital import digital_blocks

    blocks = digital_blocks(EstimateConfig(network=NETWORK, algorithm=algorithm))
    readouts = [(b[4], b[3]) for b in blocks if b[0] == "adc-readout"]
    assert readouts == reads
    # the feedback tile B_0 (32 x 10) is read into 32 codes; the backward read of layer 1 into 32
    assert all(b[1]["columns"] == 32 for b in blocks if b[4] in ("feedback", "backward"))
