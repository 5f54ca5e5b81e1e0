"""Golden figures of the SRAM buffers: OpenRAM's FreePDK45 macros, the fit, and the 64-32-10 TTv2 buffers.

The expected values are recomputed here from the numbers printed in OpenRAM's Liberty files (typed in
below with their file and commit) and from the rpu_45nm table read with ``tomllib``, not from the
estimator's helpers, so that a wrong factor (energy per arc not doubled, a fit on the wrong macros, the
wire model as the nominal figure, a dropped periphery area) fails here.
"""

from __future__ import annotations

import tomllib

import pytest
from pulsetrain.synth import sram
from pulsetrain.synth.estimator import Algorithm, Estimate, EstimateConfig, estimate
from pulsetrain.synth.technology import TECH_DIR, load_technology

# (word bits, words, area um^2, read rise/fall power mW, minimum period ns): OpenRAM lib/freepdk45/lib/
# sram_1rw_32b_256w_1bank_freepdk45_TT_1p0V_25C.lib at e6d6680 and ..._32b_1024w_... at bf7d846
SHORT = (32, 256, 12335.4213125, 0.0770882050833, 2.109)
TALL = (32, 1024, 42051.1147875, 0.193822578894, 2.188)

T = {
    section: {k: v["value"] for k, v in entries.items()}
    for section, entries in tomllib.loads((TECH_DIR / "rpu_45nm.toml").read_text()).items()
    if isinstance(entries, dict)
}


def _fit() -> tuple[float, float, float, float]:
    """(e0 fJ, e1 fJ per word, a0 um^2, a1 um^2 per bit) from the two 32-bit macros."""
    per_bit = [2 * power * period * 1e3 / bits for bits, _, _, power, period in (SHORT, TALL)]
    e1 = (per_bit[1] - per_bit[0]) / (TALL[1] - SHORT[1])
    a1 = (TALL[2] - SHORT[2]) / (TALL[0] * TALL[1] - SHORT[0] * SHORT[1])
    return per_bit[0] - e1 * SHORT[1], e1, SHORT[2] - a1 * SHORT[0] * SHORT[1], a1


def _wire_pJ(width: int, depth: int) -> float:
    f_um = T["digital"]["node_nm"] * 1e-3
    bitline_um = depth * T["sram"]["cell_height_F"] * f_um
    wordline_um = width * T["sram"]["cell_width_F"] * f_um
    farads = (width * bitline_um + wordline_um) * T["array"]["wire_cap_fF_per_um"] * 1e-15
    return farads * T["digital"]["vdd_V"] ** 2 * 1e12


@pytest.fixture(scope="module")
def ttv2() -> Estimate:
    return estimate(EstimateConfig(network=(64, 32, 10), algorithm=Algorithm.TTV2, use_synthesis=False))


def test_a_macro_access_is_twice_the_arc_power_times_the_period() -> None:
    macro = sram.OPENRAM_FREEPDK45[1]
    assert (macro.word_bits, macro.words) == SHORT[:2]
    assert macro.read_energy_pJ == pytest.approx(2 * SHORT[3] * SHORT[4], rel=1e-12)
    assert macro.read_energy_pJ == pytest.approx(0.32516, rel=1e-4)


def test_the_fit_goes_through_the_two_32_bit_macros() -> None:
    e0, e1, a0, a1 = _fit()
    assert sram.energy_fit_fJ_per_bit() == pytest.approx((e0, e1), rel=1e-12)
    assert sram.area_fit_um2() == pytest.approx((a0, a1), rel=1e-12)
    assert (e0, e1) == pytest.approx((4.713, 0.02128), rel=1e-3)


def test_ttv2_buffer_accesses_are_the_fit_at_the_tables_node_and_supply(ttv2: Estimate) -> None:
    e0, e1, _, _ = _fit()
    supply = (T["digital"]["vdd_V"] / 1.0) ** 2  # the macros were characterized at 1.0 V, 45 nm
    expected, low, high = 0.0, 0.0, 0.0
    for fan_in, fan_out in ((64, 32), (32, 10)):
        width, depth = 16 * fan_out, fan_in  # h_bits x columns per word, one word per row
        macro = width * (e0 + e1 * depth) * 1e-3 * supply
        wire = _wire_pJ(width, depth)
        expected += 2 * macro  # H read and written once per transfer (transfer_every = 1)
        low += 2 * min(macro, wire)
        high += 2 * max(macro, wire)
    assert ttv2.energy_per_sample_pJ["buffers"] == pytest.approx(expected, rel=1e-12)
    assert ttv2.energy_range_pJ["buffers"] == pytest.approx((low, high), rel=1e-12)


def test_ttv2_buffer_area_is_one_macro_periphery_per_buffer_plus_the_bits(ttv2: Estimate) -> None:
    _, _, a0, a1 = _fit()
    bits = 16 * (32 * 64 + 10 * 32)
    assert ttv2.area_um2["buffers"] == pytest.approx(2 * a0 + bits * a1, rel=1e-12)


def test_the_fit_scales_with_the_node_and_the_square_of_the_supply() -> None:
    rpu = load_technology("rpu_45nm")
    ns = load_technology("neurosim_v21")
    ratio = (ns.digital.node_nm / rpu.digital.node_nm) * (ns.digital.vdd_V / rpu.digital.vdd_V) ** 2
    assert sram.macro_access_energy_pJ(ns, 64, 128) == pytest.approx(
        sram.macro_access_energy_pJ(rpu, 64, 128) * ratio, rel=1e-12
    )
