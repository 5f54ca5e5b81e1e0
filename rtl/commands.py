"""``pulsetrain rtl``: emit Verilog / RTLIL and a JSON record for one periphery block."""

from __future__ import annotations

import time
from pathlib import Path

import click

from pulsetrain.config import ConfigError, resolve, to_plain
from pulsetrain.results import write_json


@click.command("rtl")
@click.option("--block", "block_name", metavar="NAME", help="Block to emit (see --list).")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="TOML file overriding the defaults."
)
@click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override one config field (repeatable)."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="build/rtl",
    show_default=True,
    help="Folder for NAME.v, NAME.il and NAME.json.",
)
@click.option("--no-rtlil", is_flag=True, help="Write only Verilog and JSON.")
@click.option("--lint", is_flag=True, help="Also run verilator --lint-only -Wall (documented waivers).")
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write a summary (files, ports, seconds)."
)
@click.option(
    "--datasheet",
    is_flag=True,
    help="Also write NAME.md, NAME.datasheet.json and NAME.svg: ports, protocol, formulas and a timing "
    "diagram simulated from the emitted Verilog (Icarus, else Verilator).",
)
@click.option("--list", "list_blocks", is_flag=True, help="List the blocks and exit.")
def rtl(
    block_name: str | None,
    config_file: str | None,
    sets: tuple[str, ...],
    out_dir: str,
    no_rtlil: bool,
    lint: bool,
    json_path: str | None,
    datasheet: bool,
    list_blocks: bool,
) -> None:
    """Emit a periphery block as Verilog (NAME.v), RTLIL (NAME.il) and NAME.json (resolved config, ports)."""
    from pulsetrain.rtl.blocks import BLOCKS, get_block

    if list_blocks:
        width = max(len(name) for name in BLOCKS)
        for name, block in BLOCKS.items():
            click.echo(f"{name:<{width}}  {block.description}")
        return
    if not block_name:
        raise ConfigError(f"--block is required; one of {', '.join(sorted(BLOCKS))} (or --list)")
    block = get_block(block_name)
    # every config is validated in full before anything is elaborated
    config = resolve(block.default_config(), config_file=config_file, sets=sets)

    from pulsetrain.rtl.datasheet import config_notes
    from pulsetrain.rtl.emit import emit, lint_verilog, ports

    started = time.perf_counter()
    component = block.build(config)
    written = emit(component, block.name, config, out_dir, with_rtlil=not no_rtlil)
    seconds = time.perf_counter() - started
    port_list = ports(component)
    for note in config_notes(config):
        click.echo(f"   note: {note}")
    if datasheet:
        written.update(_write_datasheet(block.name, config, out_dir))
    for kind, path in written.items():
        click.echo(f"{kind:>9}: {path}")
    warnings: list[str] = []
    if lint:
        warnings = lint_verilog(written["verilog"], port_list)
        click.echo(f"   lint: {'clean' if not warnings else f'{len(warnings)} warnings'}")
        for warning in warnings:
            click.echo(f"         {warning}")
    if json_path:
        write_json(
            json_path,
            {
                "block": block.name,
                "config": to_plain(config),
                "files": {kind: str(Path(path)) for kind, path in written.items()},
                "ports": len(port_list),
                "port_bits": sum(port.width for port in port_list),
                "emit_seconds": seconds,
                "lint_warnings": warnings if lint else None,
            },
        )
    if lint and warnings:
        raise click.exceptions.Exit(1)


def _write_datasheet(block: str, config: object, out_dir: str) -> dict[str, Path]:
    """The block's datasheet next to its Verilog (the simulation lives in cosim/, imported only here)."""
    from pulsetrain.cosim.datasheet import default_simulator, write_datasheet
    from pulsetrain.cosim.runner import parse_simulator, unavailable_reason

    simulator = default_simulator()
    reason = unavailable_reason(parse_simulator(simulator))
    if reason is not None:
        raise click.ClickException(f"--datasheet needs a simulator for its timing diagram: {reason}")
    paths = write_datasheet(block, config, out_dir, simulator, json_suffix=".datasheet.json")
    return {
        f"datasheet{suffix}": paths[kind]
        for kind, suffix in (("markdown", ""), ("json", "-json"), ("svg", "-svg"))
    }
