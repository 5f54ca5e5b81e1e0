"""Whole-layer bench: tile periphery RTL with modelled A/C arrays equals the pure model step for step."""

from __future__ import annotations

import pytest
from helpers.cosim_matrix import skip_unless_available
from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import unhit_bins
from pulsetrain.rtl.tile_periphery import TilePeriphery, TilePeripheryConfig

from pulsetrain.config import to_plain
from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.lfsr import LfsrConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig
from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode

pytestmark = pytest.mark.sim


def _config(mode: TransferMode) -> TilePeripheryConfig:
    """A 3 x 4 layer with 6-bit converters: small enough for a short build, every path exercised."""
    return TilePeripheryConfig(
        in_size=4,
        out_size=3,
        dac_bits=6,
        pulse=PulseGeneratorConfig(
            bl_counter_bits=3,
            bl_max=7,
            probability_bits=4,
            lfsr=LfsrConfig(width=12, seed=0x3C5, steps_per_advance=4),
        ),
        adc=AdcReadoutConfig(adc_bits=6, columns_per_adc=2),
        transfer=TransferControllerConfig(
            mode=mode, transfer_lr_per_lsb=0.25, max_pulses_per_transfer=2, in_chop_prob=0.5
        ),
    )


def _run(mode: TransferMode, simulator: runner.SimulatorName) -> runner.BenchResult:
    skip_unless_available(simulator)
    config = _config(mode)
    built = runner.build(
        runner.verilog_of(TilePeriphery(config), "tile_periphery"), "tile_periphery", simulator
    )
    parameters = {"config": to_plain(config), "seed": 8, "updates": 30}
    return runner.run_bench(
        built, "pulsetrain.cosim.bench_layer", parameters, name=f"{simulator.value}-{mode.value}"
    )


@pytest.mark.parametrize("mode", [pytest.param(m, id=m.value) for m in TransferMode])
def test_layer_matches_pure_model_on_icarus(mode: TransferMode) -> None:
    result = _run(mode, runner.SimulatorName.ICARUS)
    assert result.passed, result.describe_failure()
    # pulses went to C in both directions (and, with choppers, a chopper flipped)
    assert unhit_bins(result.measurements["coverage"]) == []
    assert result.measurements["transfers"] == 30


def test_layer_matches_pure_model_on_verilator() -> None:
    result = _run(TransferMode.CHOPPED_TTV2, runner.SimulatorName.VERILATOR)
    assert result.passed, result.describe_failure()
    assert unhit_bins(result.measurements["coverage"]) == []
