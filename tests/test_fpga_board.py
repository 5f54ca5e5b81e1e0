"""The board flow: pin map, bitstream builds per FPGA family, and the program command without a board."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.fpga.board import (
    BOARDS,
    CROSSBAR_INPUTS,
    CROSSBAR_OUTPUTS,
    BoardCore,
    SimulationPlatform,
    board_top_verilog,
    build,
    crossbar_pin_map,
    crossbar_widths,
)
from pulsetrain.fpga.gateware_device import GatewareDevice, HostUarts
from pulsetrain.fpga.host import STATUS_BUSY, STATUS_READ_COUNT, STATUS_TRANSFER_COUNT, status_address
from pulsetrain.fpga.link import Link
from pulsetrain.fpga.transport import SimulatedTransport
from pulsetrain.rtl.tile_periphery import TilePeripheryConfig
from pulsetrain.synth.tools import cache_root

from pulsetrain.cli import main

# under the worktree: the YoWASP sandbox cannot see /tmp
# the synthesis cache root: inside the checkout, or ~/.cache/pulsetrain for a checkout under /tmp (a CI
# clone), which the YoWASP sandbox cannot see
BUILD_ROOT = cache_root() / "test_fpga"


@pytest.mark.parametrize("board", BOARDS)
def test_every_crossbar_bit_gets_its_own_pin(board: str) -> None:
    size = BOARDS[board].tile_size
    rows = crossbar_pin_map(board, TilePeripheryConfig(in_size=size, out_size=size))
    balls = [row["ball"] for row in rows]
    assert len(balls) == len(set(balls))
    assert sum(row["signal"] == "x_fire" for row in rows) == size


def test_a_tile_too_big_for_the_pins_is_refused() -> None:
    with pytest.raises(ValueError, match="needs more pins"):
        crossbar_pin_map("icebreaker", TilePeripheryConfig(in_size=16, out_size=16))


def _check_build(board: str, size: int | None) -> None:
    out = BUILD_ROOT / f"{board}-{size or 'board'}"
    shutil.rmtree(out, ignore_errors=True)
    summary = build(board, out, tile_size=size)
    bitstream = Path(summary["bitstream"])
    # the configuration sync words the FPGAs look for: iCE40 0x7EAA997E, ECP5 0xBDB3 after its 0xFF
    # preamble (behind the .bit's comment block); both files hold the configuration frames after it
    assert bitstream.stat().st_size > 10_000
    head = bitstream.read_bytes()[:64]
    sync = "7eaa997e" if board == "icebreaker" else "ffffbdb3"
    assert bytes.fromhex(sync) in head
    assert summary["timing_met"], summary
    assert summary["fmax_mhz"] * 1e6 >= summary["clock_hz"]
    assert json.loads((out / "pinmap.json").read_text()) == summary["pin_map"]


# the smallest tile (1x1: UART, frame engine and the whole periphery around one line pair) on each
# family; 160-190 s each at load average 16-20 on the shared 2-core machine, about 50 s on a quiet one
@pytest.mark.synth
@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_a_small_tile_bitstream_builds_and_meets_timing(board: str) -> None:
    _check_build(board, 1)


# the board's own tile (2x2 iCE40, 8x8 ECP5)
@pytest.mark.synth
@pytest.mark.slow
@pytest.mark.parametrize("board", ["icebreaker", "ulx3s-85f"])
def test_the_board_tile_bitstream_builds_and_meets_timing(board: str) -> None:
    _check_build(board, None)


def test_program_without_a_board_says_so() -> None:
    if shutil.which("openFPGALoader") is None:
        pytest.skip("openFPGALoader is not installed")
    folder = BUILD_ROOT / "fake" / "icebreaker"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "top.bin").write_bytes(b"\xff" * 64)
    result = CliRunner().invoke(
        main, ["fpga", "program", "--board", "icebreaker", "--out", str(folder.parent)]
    )
    assert result.exit_code == 1
    assert "no icebreaker board answered" in result.output


def test_program_without_a_bitstream_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fpga", "program", "--board", "ulx3s-85f", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no bitstream" in result.output


def test_build_refuses_a_tile_that_does_not_fit_before_any_synthesis() -> None:
    result = CliRunner().invoke(main, ["fpga", "build", "--board", "icebreaker", "--size", "16"])
    assert result.exit_code == 2
    assert "--size 16 does not fit icebreaker" in result.output


def test_build_refuses_an_output_folder_the_yowasp_sandbox_cannot_see() -> None:
    result = CliRunner().invoke(main, ["fpga", "build", "--board", "icebreaker", "--out", "/tmp/fpga"])
    assert result.exit_code == 2
    assert "not be under /tmp" in result.output


def test_the_host_starts_a_forward_read_over_the_link_and_counts_its_results() -> None:
    # the whole board core (UARTs, frame engine, 4x4 tile periphery) in the Amaranth simulator, the
    # host's own Link on the other side; the comparator input is held low (no analog model attached)
    config = TilePeripheryConfig(in_size=4, out_size=4)
    core = BoardCore(configs=[config], divisor=4)
    device = GatewareDevice(HostUarts(core, divisor=4), quiet_cycles=150)
    try:
        link = Link(SimulatedTransport(device), retries=3, first_sequence=5)
        for code in (3, -7, 100, 127):
            link.write(2, code & 0xFF)  # one DAC code per write
        link.write(0, 1)  # read_start
        for _ in range(50):
            if link.read(status_address(0, STATUS_BUSY)) == 0:
                break
        assert link.read(status_address(0, STATUS_BUSY)) == 0
        assert link.read(status_address(0, STATUS_READ_COUNT)) == config.out_size  # one per column
        assert link.read(status_address(0, STATUS_TRANSFER_COUNT)) == 0  # no transfer was asked for
    finally:
        device.close()


def test_the_simulated_top_has_the_board_pins_as_ports_with_their_widths() -> None:
    # the whole top (I/O buffers included) for the Verilator runs: every pin a port of the board's width
    import re

    config = TilePeripheryConfig(in_size=3, out_size=2)
    text = board_top_verilog([config], divisor=4)
    text = text[text.index("module board_top(") :]
    text = text[: text.index("endmodule")]
    declared = dict(
        (name, (direction, int(high) + 1 if high else 1))
        for direction, high, name in re.findall(r"^\s*(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+);", text, re.M)
    )
    widths = crossbar_widths(config)
    for name in CROSSBAR_OUTPUTS:
        assert declared[name] == ("output", widths[name])
    for name in CROSSBAR_INPUTS:
        assert declared[name] == ("input", widths[name])
    assert declared["uart_rx"] == ("input", 1) and declared["uart_tx"] == ("output", 1)
    assert declared["led_0"] == ("output", 1)


def test_the_simulation_platform_refuses_a_resource_no_board_top_asks_for() -> None:
    platform = SimulationPlatform(configs=[TilePeripheryConfig(in_size=1, out_size=1)], divisor=4)
    with pytest.raises(ValueError, match="resource must be uart, led or crossbar, not 'spi_flash'"):
        platform.request("spi_flash", 0)
    with pytest.raises(ValueError, match="divisor must be 2..4096, not 1"):
        SimulationPlatform(configs=[TilePeripheryConfig(in_size=1, out_size=1)], divisor=1)


def test_a_simulated_board_of_several_tiles_prefixes_each_tile_s_pins() -> None:
    configs = [TilePeripheryConfig(in_size=3, out_size=2), TilePeripheryConfig(in_size=2, out_size=5)]
    platform = SimulationPlatform(configs=configs, divisor=4)
    second = platform.request("crossbar", 1)
    assert second.x_fire.io.name == "tile1_x_fire" and len(second.d_fire) == 5
    with pytest.raises(ValueError, match="crossbar number must be 0..1, not 2"):
        platform.request("crossbar", 2)
    core = BoardCore(configs=configs, divisor=4)
    core._MustUse__silence = True  # type: ignore[attr-defined]  # probed for its ports, never elaborated
    assert len(core.tile0_x_fire) == 3 and len(core.tile1_d_negative) == 5  # type: ignore[attr-defined]
