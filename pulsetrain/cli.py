"""The ``pulsetrain`` command line: one entry point, one subcommand per job.

Each subcommand lives in the package that owns its work and is imported only when it is called, so
``pulsetrain --help`` stays fast and a command's heavy imports (Amaranth, cocotb, Dask) cost nothing
to the others. A :class:`~pulsetrain.config.ConfigError` anywhere becomes one line on stderr and exit
status 2, without a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from pulsetrain import __version__
from pulsetrain.config import ConfigError

#: subcommand name -> (module, attribute of the click command, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": ("pulsetrain.model.commands", "train", "Train a network on the behavioral model."),
    "experiment": ("pulsetrain.model.experiments", "experiment", "Run a study of the learning algorithms."),
    "rtl": ("pulsetrain.rtl.commands", "rtl", "Emit Verilog / RTLIL for a periphery block."),
    "cosim": ("pulsetrain.cosim.commands", "cosim", "Co-simulate the periphery RTL with the analog model."),
    "synth": ("pulsetrain.synth.commands", "synth", "Synthesize a periphery block and report its cost."),
    "formal": ("pulsetrain.synth.formal_commands", "formal", "Prove the periphery's properties formally."),
    "estimate": ("pulsetrain.synth.commands", "estimate", "Area / energy / latency of training a network."),
    "report": ("pulsetrain.report", "report", "The default study end to end, as a table and HTML report."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _, _) in COMMANDS.items() if importlib.util.find_spec(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, short_help = COMMANDS[cmd_name]
        if ctx.resilient_parsing or "--help" in sys.argv[1:2]:
            # listing the commands must not import their dependencies
            return click.Command(cmd_name, short_help=short_help, help=short_help)
        module = importlib.import_module(module_name)
        command: click.Command = getattr(module, attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            click.echo(f"pulsetrain: error: {error}", err=True)
            ctx.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pulsetrain")
def main() -> None:
    """pulsetrain: train neural networks in-situ on analog crossbar arrays, from the behavioral model
    to verified, synthesized periphery RTL.

    Every command that produces numbers takes --json PATH; configs are overridden with
    --config FILE.toml and --set key=value.
    """


if __name__ == "__main__":
    main()
