"""AdcReadout against TwinAdcReadout, with an analog stand-in running as a background testbench."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator
from helpers.strategies import FEW, MANY
from hypothesis import given
from hypothesis import strategies as st
from pulsetrain.model.twins.adc import TwinAdcReadout
from pulsetrain.rtl.adc_readout import AdcReadout

from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig

pytestmark = pytest.mark.sim

CONFIGS = {
    "sar-8col-k4-b6": AdcReadoutConfig(columns=8, columns_per_adc=4, adc_bits=6),
    "sar-7col-k3-b5-slow": AdcReadoutConfig(
        columns=7, columns_per_adc=3, adc_bits=5, settle_cycles=4, compare_cycles=3
    ),
    "sar-4col-k1-b1": AdcReadoutConfig(columns=4, columns_per_adc=1, adc_bits=1, settle_cycles=1),
    "ramp-6col-k2-b4": AdcReadoutConfig(columns=6, columns_per_adc=2, adc_bits=4, mode=AdcMode.RAMP),
    "ramp-5col-k2-b3-hold2": AdcReadoutConfig(
        columns=5, columns_per_adc=2, adc_bits=3, mode=AdcMode.RAMP, compare_cycles=2
    ),
    "ramp-3col-k3-b5": AdcReadoutConfig(columns=3, columns_per_adc=3, adc_bits=5, mode=AdcMode.RAMP),
}


def run_readout(
    config: AdcReadoutConfig, levels: np.ndarray, ready_probability: float, seed: int
) -> tuple[list[tuple[int, int]], int]:
    """One readout in simulation; returns the (column, code) stream and the busy cycles."""
    dut = AdcReadout(config)
    rng = np.random.default_rng(seed)
    results: list[tuple[int, int]] = []
    busy_cycles = 0

    def answer(ctx, trials: int, select: int) -> None:  # type: ignore[no-untyped-def]
        bits = 0
        for adc in range(config.adcs):
            column = config.column(adc, select)
            trial = (trials >> (adc * config.adc_bits)) & config.full_scale_code
            if column < config.columns and levels[column] >= trial:
                bits |= 1 << adc
        ctx.set(dut.comparator, bits)

    async def analog(ctx):  # type: ignore[no-untyped-def]
        # combinational stand-in for the array + comparators: answers every change of code or column
        # (one-shot waits: the answer itself changes no input of the trial codes or the select)
        while True:
            seen = (ctx.get(dut.trial_code.as_value()), ctx.get(dut.mux_select))
            answer(ctx, *seen)
            if (ctx.get(dut.trial_code.as_value()), ctx.get(dut.mux_select)) == seen:
                await ctx.changed(dut.trial_code.as_value(), dut.mux_select)

    async def bench(ctx):  # type: ignore[no-untyped-def]
        nonlocal busy_cycles
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        while ctx.get(dut.busy):
            busy_cycles += 1
            ready = rng.random() < ready_probability
            ctx.set(dut.results.ready, int(ready))
            if ready and ctx.get(dut.results.valid):
                payload = ctx.get(dut.results.payload)
                results.append((int(payload.column), int(payload.code)))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(analog, background=True)
    sim.add_testbench(bench)
    sim.run()
    return results, busy_cycles


def _levels(config: AdcReadoutConfig, seed: int) -> np.ndarray:
    # levels in LSB units, spanning below zero to above full scale so both clip ends are exercised
    rng = np.random.default_rng(seed)
    return rng.uniform(-2, config.full_scale_code + 2, config.columns)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_codes_and_cycles_match_twin(name: str) -> None:
    config = CONFIGS[name]
    levels = _levels(config, 5)
    results, cycles = run_readout(config, levels, ready_probability=1.0, seed=0)
    expected = TwinAdcReadout(config).convert_levels(levels)
    assert results == list(expected.results)
    assert cycles == expected.cycles


@pytest.mark.parametrize("name", ["sar-7col-k3-b5-slow", "ramp-5col-k2-b3-hold2"])
def test_back_pressure_keeps_codes(name: str) -> None:
    config = CONFIGS[name]
    levels = _levels(config, 9)
    results, cycles = run_readout(config, levels, ready_probability=0.4, seed=2)
    expected = TwinAdcReadout(config).convert_levels(levels)
    assert results == list(expected.results)
    assert cycles > expected.cycles  # stalls cost cycles, never codes


def test_codes_are_floor_of_level_clipped() -> None:
    # a monotone comparator: SAR and ramp both give max{c : level >= c}, clipped to the code range
    levels = np.array([-1.0, 0.0, 0.5, 3.0, 7.9, 15.0, 40.0, 12.2])
    for mode in AdcMode:
        config = AdcReadoutConfig(columns=8, columns_per_adc=2, adc_bits=4, mode=mode)
        codes = TwinAdcReadout(config).convert_levels(levels).codes(8)
        assert codes.tolist() == [0, 0, 0, 3, 7, 15, 15, 12]


def test_sar_cycles_formula() -> None:
    config = AdcReadoutConfig(columns=10, columns_per_adc=4, adc_bits=8, settle_cycles=3, compare_cycles=2)
    cycles = TwinAdcReadout(config).convert_levels(np.zeros(10)).cycles
    # phases 0, 1 have 3 ADCs busy, phases 2, 3 only 2 (the third ADC has 2 columns)
    assert cycles == 4 * (3 + 8 * 2) + (3 + 3 + 2 + 2)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10), ids=lambda s: f"seed{s}")
@pytest.mark.parametrize("name", list(CONFIGS))
def test_codes_match_twin_many_seeds(name: str, seed: int) -> None:
    config = CONFIGS[name]
    levels = _levels(config, 100 + seed)
    results, _ = run_readout(config, levels, ready_probability=0.7, seed=seed)
    assert results == list(TwinAdcReadout(config).convert_levels(levels).results)


# --------------------------------------------------------------------------------------------------
# Randomized configs (hypothesis): a few by default, many with --long
# --------------------------------------------------------------------------------------------------


@st.composite
def adc_configs(draw: st.DrawFn) -> AdcReadoutConfig:
    columns = draw(st.integers(1, 9))
    mode = draw(st.sampled_from(list(AdcMode)))
    return AdcReadoutConfig(
        columns=columns,
        columns_per_adc=draw(st.integers(1, columns)),
        adc_bits=draw(st.integers(1, 5 if mode is AdcMode.RAMP else 8)),
        mode=mode,
        settle_cycles=draw(st.integers(1, 3)),
        compare_cycles=draw(st.integers(1, 3)),
    )


def _check_random(config: AdcReadoutConfig, seed: int) -> None:
    levels = np.random.default_rng(seed).uniform(-1, config.full_scale_code + 1, config.columns)
    results, cycles = run_readout(config, levels, ready_probability=1.0, seed=seed)
    expected = TwinAdcReadout(config).convert_levels(levels)
    assert results == list(expected.results)
    assert cycles == expected.cycles


@FEW
@given(adc_configs(), st.integers(0, 2**16))
def test_random_configs_match_twin(config: AdcReadoutConfig, seed: int) -> None:
    _check_random(config, seed)


@pytest.mark.slow
@MANY
@given(adc_configs(), st.integers(0, 2**16))
def test_many_random_configs_match_twin(config: AdcReadoutConfig, seed: int) -> None:
    _check_random(config, seed)
