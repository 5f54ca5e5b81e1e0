"""``pulsetrain fpga build``, ``pulsetrain fpga program`` and ``pulsetrain fpga simulate``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click

from pulsetrain.config import ConfigError, check_int

#: board name -> openFPGALoader's board name
# (openFPGALoader has no "icebreaker" board: the generic iCE40 entry drives its FT2232H)
LOADER_BOARDS = {"icebreaker": "ice40_generic", "ulx3s-85f": "ulx3s"}
BOARD_NAMES = tuple(LOADER_BOARDS)


def _validate(params: dict[str, Any]) -> None:
    from pulsetrain.validate import validate_command

    validate_command("fpga", params)


@click.group()
def fpga() -> None:
    """Build the tile periphery with its host link as a bitstream, and load it onto a board."""


@fpga.command()
@click.option("--board", "board", type=click.Choice(BOARD_NAMES), required=True, help="Target board.")
@click.option("--size", "size", type=int, default=None, help="Tile rows = columns (default: the board's).")
@click.option(
    "--out",
    "out_dir",
    default="build/fpga",
    show_default=True,
    help="Build folder (a board subfolder is made; not under /tmp: the YoWASP sandbox hides it).",
)
@click.option("--json", "json_path", default=None, help="Write the build summary here.")
def build(board: str, size: int | None, out_dir: str, json_path: str | None) -> None:
    """Synthesize, place and route, and pack the bitstream; print resources and Fmax."""
    _validate({"board": board, "size": size, "out_dir": out_dir, "json_path": json_path})
    from pulsetrain.fpga.board import BOARDS, crossbar_pin_map
    from pulsetrain.fpga.board import build as build_bitstream
    from pulsetrain.rtl.tile_periphery import TilePeripheryConfig

    tile = size or BOARDS[board].tile_size
    try:  # the tile must fit the board's header pins: say so before any synthesis
        crossbar_pin_map(board, TilePeripheryConfig(in_size=tile, out_size=tile))
    except ValueError as error:
        raise ConfigError(f"--size {tile} does not fit {board}: {error}") from None
    if Path(out_dir).resolve().is_relative_to("/tmp"):
        raise ConfigError(f"--out must not be under /tmp (the YoWASP tools cannot see it), not {out_dir!r}")
    summary = build_bitstream(board, Path(out_dir) / board, tile_size=size)
    shown = {key: value for key, value in summary.items() if key != "pin_map"}
    click.echo(json.dumps(shown, indent=1))
    if json_path:
        target = Path(json_path)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(summary, indent=1))
        partial.replace(target)


@fpga.command()
@click.option("--board", "board", type=click.Choice(BOARD_NAMES), required=True, help="Target board.")
@click.option(
    "--out", "out_dir", default="build/fpga", show_default=True, help="Build folder of `fpga build`."
)
def program(board: str, out_dir: str) -> None:
    """Load the built bitstream into the board's FPGA with openFPGALoader (volatile, over USB)."""
    bitstreams = sorted((Path(out_dir) / board).glob("top.bi[nt]"))
    if not bitstreams:
        raise ConfigError(
            f"--out {out_dir!r} holds no bitstream for {board}: run `pulsetrain fpga build "
            f"--board {board} --out {out_dir}` first"
        )
    loader = shutil.which("openFPGALoader")
    if loader is None:
        raise click.ClickException("openFPGALoader is not installed (Debian package openfpgaloader)")
    result = subprocess.run(
        [loader, "-b", LOADER_BOARDS[board], str(bitstreams[0])], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip()).splitlines()
        raise click.ClickException(
            f"no {board} board answered (is it plugged in and visible to this user?); "
            f"openFPGALoader said: {said[-1] if said else 'nothing'}"
        )
    click.echo(f"programmed {board} with {bitstreams[0]}")


def _write_json(path: str, document: dict[str, Any]) -> None:
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(document, indent=1))
    partial.replace(target)


@fpga.command()
@click.option("--samples", type=int, default=3, show_default=True, help="Digits training samples.")
@click.option(
    "--test-samples",
    type=int,
    default=12,
    show_default=True,
    help="Test samples of the accuracy pass (each one forward readout per tile through the board).",
)
@click.option("--seed", type=int, default=2, show_default=True, help="Training seed.")
@click.option("--hidden", type=int, default=2, show_default=True, help="Hidden layer width.")
@click.option(
    "--fault-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Per-byte probability of a drop, of a bit flip and of a stall, each way (0..0.05).",
)
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of the link faults.")
@click.option("--json", "json_path", default=None, help="Write the comparison here.")
def simulate(
    samples: int,
    test_samples: int,
    seed: int,
    hidden: int,
    fault_rate: float,
    fault_seed: int,
    json_path: str | None,
) -> None:
    """Train through the board simulated on Verilator (host link on its UART pins, the model's array on
    its chip pins); compare with the pure model. Exit 1 when anything differs."""
    _validate({"json_path": json_path})
    check_int("samples", samples, 1, 1797)
    check_int("test_samples", test_samples, 1, 1797)
    check_int("hidden", hidden, 1, 64)
    check_int("fault_seed", fault_seed, 0, 2**32 - 1)
    if not 0.0 <= fault_rate <= 0.05:
        raise ConfigError(f"fault_rate must be 0..0.05, not {fault_rate!r}")
    from pulsetrain.cosim import runner
    from pulsetrain.fpga.board_cosim import SIMULATION_TIMEOUT_S, BoardRun, run_board_training
    from pulsetrain.fpga.transport import LineFaults

    reason = runner.unavailable_reason(runner.SimulatorName.VERILATOR)
    if reason is not None:
        raise ConfigError(f"Verilator is not available: {reason}")
    faults = LineFaults(
        drop=fault_rate, corrupt=fault_rate, delay=fault_rate, delay_max_s=1.5 * SIMULATION_TIMEOUT_S
    )
    run = BoardRun(
        options={"algo": "sgd", "seed": seed, "network.hidden": str(hidden)},
        samples=samples,
        test_samples=test_samples,
        to_board=faults,
        from_board=faults,
        fault_seed=fault_seed,
        retries=20,
    )
    results = run_board_training(run)
    link = dict(results.get("link") or {})
    link.pop("retries_per_request", None)
    shown = {**results, "link": link}
    click.echo(json.dumps({key: value for key, value in shown.items() if key != "log"}, indent=1))
    if json_path:
        _write_json(json_path, results)
    if not results["matches_model"]:
        raise click.ClickException("the board's run differs from the pure model (see first_mismatch / error)")
