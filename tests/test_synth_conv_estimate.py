"""Convolutional networks on subarrays: NeuroSim's floorplan rules; per-image terms counted by hand."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
from pulsetrain.synth.conv_estimate import ConvEstimateConfig, conv_estimate, network_layers
from pulsetrain.synth.mapping import LayerShape, map_network
from pulsetrain.synth.neurosim_vgg8 import (
    NEUROSIM_VGG8_FLOORPLAN,
    NEUROSIM_VGG8_PRINTED,
    VGG8_IMAGES_PER_EPOCH,
    vgg8_comparison,
)
from pulsetrain.synth.technology import TECH_DIR

from pulsetrain.config import ConfigError


def _fully_connected(fan_in: int, fan_out: int) -> LayerShape:
    return LayerShape(
        input_rows=1, input_cols=1, in_channels=fan_in, kernel_rows=1, kernel_cols=1, out_channels=fan_out
    )


def test_vgg8_floorplan_equals_the_one_neurosim_printed() -> None:
    mapping = map_network(network_layers("vgg8"))
    # manual Fig. 33: conventional tiles 1024x1024 (PE 512x512), novel tiles 9x512x512
    assert (mapping.tile_size_conventional, mapping.pe_size_conventional) == (1024, 512)
    assert (mapping.pes_per_novel_tile, mapping.pe_size_novel) == (9, 512)
    assert tuple(m.tiles for m in mapping.layers) == NEUROSIM_VGG8_FLOORPLAN["tiles"]
    assert tuple(m.duplication for m in mapping.layers) == NEUROSIM_VGG8_FLOORPLAN["speed_up"]
    assert [m.novel for m in mapping.layers] == [False, True, True, True, True, True, False, False]
    # 5 novel tiles of 9 PEs x 16 subarrays, 10 conventional tiles of 64: 1360 x 268.4 um^2 = the print
    assert mapping.subarrays_reserved == 5 * 9 * 16 + 10 * 64 == 1360
    assert mapping.subarrays_used == 800


def test_mlp_floorplan_equals_neurosims_run_without_novel_mapping() -> None:
    # synth/results/neurosim_mlp_output.txt: 64-512-10, one tile each of 512x512, speed-up 4 and 4
    mapping = map_network([_fully_connected(64, 512), _fully_connected(512, 10)], novel_mapping=False)
    assert mapping.tile_size_conventional == 512
    assert [m.tiles for m in mapping.layers] == [1, 1]
    assert [m.duplication for m in mapping.layers] == [4, 4]
    assert mapping.subarrays_reserved == 32


def test_input_vectors_per_image_follow_neurosims_valid_convolution_count() -> None:
    layers = network_layers("vgg8")
    assert [layer.vectors for layer in layers] == [900, 900, 196, 196, 36, 36, 1, 1]
    lenet = network_layers("lenet5")
    assert [(layer.vectors, layer.matrix_rows, layer.out_channels) for layer in lenet] == [
        (576, 26, 16),
        (64, 401, 32),
        (1, 513, 128),
        (1, 129, 10),
    ]


def test_a_kernel_larger_than_its_input_is_refused() -> None:
    with pytest.raises(ConfigError, match="larger than the input"):
        LayerShape(input_rows=2, input_cols=2, in_channels=1, kernel_rows=3, kernel_cols=3, out_channels=1)
    with pytest.raises(ConfigError, match="network must be one of"):
        ConvEstimateConfig(network="resnet")


def _table(name: str) -> dict[str, dict[str, float]]:
    data = tomllib.loads((TECH_DIR / f"{name}.toml").read_text())
    return {s: {k: v["value"] for k, v in e.items()} for s, e in data.items() if isinstance(e, dict)}


def test_vgg8_adc_energy_is_every_subarray_output_times_the_sar_fit() -> None:
    table = _table("neurosim_vgg8_2020")
    result = conv_estimate(ConvEstimateConfig(network="vgg8", technology="neurosim_vgg8_2020"))
    mapping = map_network(network_layers("vgg8"))
    conversions = 0
    for index, placed in enumerate(mapping.layers):
        layer = placed.shape
        conversions += layer.vectors * layer.out_channels * placed.row_blocks
        if index:
            conversions += layer.vectors * layer.matrix_rows * placed.col_blocks
    adc = table["adc"]
    g_mean = 0.5 * (table["array"]["g_on_S"] + table["array"]["g_off_S"])
    bits = adc["bits"]
    expected = 0.0
    for index, placed in enumerate(mapping.layers):
        layer = placed.shape
        column_ohm = 1 / (min(layer.matrix_rows, 128) * g_mean) * 0.5 / table["array"]["read_voltage_V"]
        power_W = (adc["power_per_bit_uW"] * bits + adc["power_fixed_uW"]) * 1e-6 + adc[
            "power_resistance_coefficient_W"
        ] * math.exp(adc["power_resistance_exponent"] * math.log10(column_ohm))
        count = layer.vectors * layer.out_channels * placed.row_blocks
        count += layer.vectors * layer.matrix_rows * placed.col_blocks if index else 0
        expected += count * power_W * (bits + 1) * 1e-9 * 1e12
    assert sum(t.count for t in result.energy_terms if t.category == "adcs") == conversions
    assert result.energy_per_sample_pJ["adcs"] == pytest.approx(expected, rel=1e-12)


def test_vgg8_update_pulses_are_one_rank_one_update_per_kernel_position() -> None:
    table = _table("neurosim_vgg8_2020")["array"]
    result = conv_estimate(ConvEstimateConfig(network="vgg8", technology="neurosim_vgg8_2020"))
    g_mean = 0.5 * (table["g_on_S"] + table["g_off_S"])
    full = table["write_voltage_V"] ** 2 * g_mean * table["write_pulse_ns"] * 1e3
    coincidences = sum(l.vectors * 31 * l.matrix_rows * l.out_channels * 0.01 for l in network_layers("vgg8"))
    terms = [t for t in result.energy_terms if "coincidences" in t.what]
    assert sum(t.value for t in terms) == pytest.approx(coincidences * full, rel=1e-12)


def test_vgg8_input_dacs_are_every_driven_input_times_dac_power_times_its_on_time() -> None:
    table = _table("neurosim_vgg8_2020")
    result = conv_estimate(ConvEstimateConfig(network="vgg8", technology="neurosim_vgg8_2020"))
    # one conversion per input of every read: R forward, C backward from the second layer on
    inputs = sum(
        l.vectors * (l.matrix_rows + (l.out_channels if i else 0))
        for i, l in enumerate(network_layers("vgg8"))
    )
    # 3.897 uW on for half of the 10 ns read (input activity 0.5)
    per = table["driver"]["dac_power_uW"] * 1e-6 * 0.5 * table["array"]["read_pulse_ns"] * 1e-9 * 1e12
    terms = [t for t in result.energy_terms if "DAC" in t.what]
    assert sum(t.count for t in terms) == inputs
    assert sum(t.value for t in terms) == pytest.approx(inputs * per, rel=1e-12)
    # area: two lines per subarray row and column, one DAC each, 0.167 um^2 at 32 nm (no scaling)
    dac_area = [t for t in result.area_terms if "DAC" in t.what]
    assert sum(t.value for t in dac_area) == pytest.approx(1360 * 256 * 0.167, rel=1e-12)


def test_vgg8_comparison_holds_the_printed_figures_per_image() -> None:
    rows = {r["quantity"]: r for r in vgg8_comparison()}
    # manual Fig. 34: 1.1946e14 pJ per epoch of 50,000 images = 2.39 mJ per image; ADC 71.3 uJ; 177 s
    assert rows["energy per image, total"]["neurosim"] == pytest.approx(2389.2, rel=1e-4)
    assert rows["ADC energy per image"]["neurosim"] == pytest.approx(71.31, rel=1e-3)
    assert rows["weight-update energy per image"]["neurosim"] == pytest.approx(3.372e-3, rel=1e-3)
    assert rows["latency per epoch"]["neurosim"] == pytest.approx(177.3, rel=1e-3)
    assert rows["CIM array area (forward + activation gradient)"]["ratio"] == pytest.approx(1.0, rel=1e-4)
    for row in rows.values():
        assert row["ratio"] == pytest.approx(row["ours"] / row["neurosim"])
    printed = NEUROSIM_VGG8_PRINTED
    assert printed["dram_energy_pJ"] / printed["total_energy_pJ"] == pytest.approx(0.72, abs=0.005)
    assert VGG8_IMAGES_PER_EPOCH == 50_000


def test_conv_epoch_figures_are_per_image_times_images() -> None:
    result = conv_estimate(
        ConvEstimateConfig(network="lenet5", technology="neurosim_v21", samples_per_epoch=60000)
    )
    assert result.energy_per_epoch_uJ == pytest.approx(result.total_energy_per_sample_pJ * 60000 * 1e-6)
    assert result.total_energy_per_sample_pJ == pytest.approx(sum(t.value for t in result.energy_terms))


def test_the_committed_crosscheck_table_is_what_the_code_writes(tmp_path: Path) -> None:
    from pulsetrain.synth.neurosim import CROSSCHECK_TABLE, write_crosscheck

    fresh = tmp_path / "crosscheck.md"
    write_crosscheck(fresh)
    assert fresh.read_text() == CROSSCHECK_TABLE.read_text()


def test_the_committed_conv_table_is_what_the_code_writes(tmp_path: Path) -> None:
    from pulsetrain.synth.neurosim_vgg8 import RESULTS, write_results

    fresh = tmp_path / "conv.md"
    write_results(fresh)
    assert fresh.read_text() == (RESULTS / "conv_estimates.md").read_text()


def test_vgg8_comparison_range_is_the_sum_of_the_terms_ranges() -> None:
    table = _table("neurosim_vgg8_2020")
    adc = table["adc"]
    steps = 2 ** (adc["bits"] - adc["enob_loss_bits"])
    low = max(adc["walden_fom_low_fJ"] * 1e-3 * steps, adc["energy_floor_pJ"])
    high = max(adc["walden_fom_high_fJ"] * 1e-3 * steps, adc["energy_floor_pJ"])
    result = conv_estimate(ConvEstimateConfig(network="vgg8", technology="neurosim_vgg8_2020"))
    terms = [t for t in result.energy_terms if t.category == "adcs"]
    rows = {r["quantity"]: r for r in vgg8_comparison()}
    row = rows["ADC energy per image"]
    assert row["ours_low"] == pytest.approx(sum(t.count * min(t.per_unit, low) for t in terms) * 1e-6)
    assert row["ours_high"] == pytest.approx(sum(t.count * max(t.per_unit, high) for t in terms) * 1e-6)
    for r in rows.values():
        assert r["ours_low"] <= r["ours"] * (1 + 1e-12) and r["ours"] <= r["ours_high"] * (1 + 1e-12)
    assert rows["chip area"]["ours_low"] == rows["chip area"]["ours_high"], "an area has no uncertain input"


def test_conv_estimates_list_what_they_do_not_cost() -> None:
    result = conv_estimate(ConvEstimateConfig(network="lenet5", technology="neurosim_v21"))
    assert {"digital", "buffers"} <= set(result.not_costed)
    assert result.category_text("digital", 0.0) == "not costed"
