"""The ``pulsetrain`` command line: one entry point, one subcommand per job.

Each subcommand lives in the package that owns its work and is imported only when it is called, so
``pulsetrain --help`` stays fast and a command's heavy imports (Amaranth, cocotb, Dask) cost nothing
to the others. Before a command runs, its parsed options go through one validation layer
(:func:`pulsetrain.validate.validate_command`: output paths writable, input files readable and checked,
lists and numbers strict, a scheduler reachable). A :class:`~pulsetrain.config.ConfigError` anywhere
becomes one line on stderr and exit status 2, without a traceback.
"""

from __future__ import annotations

import functools
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
    "report": (
        "pulsetrain.report.command",
        "report",
        "The default study end to end, as a table and HTML report.",
    ),
    "spice": ("pulsetrain.spice.commands", "spice", "Check the model's crossbar reads against ngspice."),
    "fpga": ("pulsetrain.fpga.commands", "fpga", "Build periphery and host link for an FPGA; program it."),
}


#: click's "no arguments: show the help" signal (click >= 8.2), which is not a one-line error
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


def _validated(name: str, command: click.Command) -> click.Command:
    """``command`` with :func:`~pulsetrain.validate.validate_command` run on its options before its body."""
    original = command.callback
    if original is None or getattr(original, "validated_by_pulsetrain", False):
        return command

    @functools.wraps(original)
    def callback(*args: Any, **params: Any) -> Any:
        from pulsetrain.validate import validate_command

        validate_command(name, params)  # (a context passed by click.pass_context is not an option)
        return original(*args, **params)

    callback.validated_by_pulsetrain = True  # type: ignore[attr-defined]
    command.callback = callback
    return command


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
        return _validated(cmd_name, command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; a usage error (unknown option, a value click cannot parse) is one line, exit 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        if args is not None and any("\0" in str(arg) for arg in args):
            # argv of a real process cannot hold a NUL byte; a program calling main() can pass one
            click.echo("pulsetrain: error: an argument holds a NUL byte", err=True)
            sys.exit(2)
        try:
            status = super().main(args, prog_name, complete_var, False, **extra)
        except _NO_ARGS_IS_HELP as error:  # bare `pulsetrain`: the help text, as click prints it
            error.show()
            sys.exit(2)
        except click.UsageError as error:
            click.echo(f"pulsetrain: error: {error.format_message()}", err=True)
            sys.exit(2)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(status if isinstance(status, int) else 0)

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
