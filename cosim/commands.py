"""``pulsetrain cosim``: block benches, or training with the periphery RTL in the loop.

``pulsetrain cosim --algo c-ttv2 --sim verilator --samples 200 --json out.json``
    trains the digits network with every pulsed update served by the simulated pulse generators and, for
    ttv2 / c-ttv2 / agad, every transfer decision by the simulated transfer controllers and the ADC codes
    of the column reads by the simulated ADC readouts, and the ADC codes of every forward and backward
    read of the network by ADC readouts per tile direction; runs the pure model with the same seed, and
    compares them decision by decision (see :mod:`pulsetrain.cosim.training`). Exit status 1 when they
    differ.
``pulsetrain cosim --network lenet5 --dataset fashion-mnist --samples 50``
    the same for a named network (``--algo`` defaults to sgd): every patch of a convolution is one
    rank-1 update through its tile's pulse generator and one read through its tile's ADC readout.
    ``--rtl-tiles 0`` puts only the listed tiles in the RTL (the others stay on the twin), for a small
    build; ``--test-samples`` sets the accuracy pass's test images (default: 100 of a large test set).
``pulsetrain cosim --bench pulse-generator --sim icarus --seed 3``
    runs one block bench (see :data:`pulsetrain.cosim.benches.BENCHES`) with its coverage report.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from pulsetrain import catalogue
from pulsetrain.results import write_json


def parse_depths(text: str) -> tuple[int, ...]:
    """``"2..6"`` or ``"2,4,6"`` as a tuple of depths 1..16 (a ConfigError otherwise)."""
    from pulsetrain.config import ConfigError, check_int

    try:
        if ".." in text:
            low, high = (int(part) for part in text.split("..", 1))
            depths = tuple(range(low, high + 1))
        else:
            depths = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"depth must be 'A..B' or a comma list of integers, not {text!r}") from None
    if not depths:
        raise ConfigError(f"depth must name at least one depth, not {text!r}")
    for value in depths:
        check_int("depth", value, 1, 16)
    return depths


def parse_tiles(text: str | None) -> tuple[int, ...] | None:
    """``"0,1"`` as tile indices (None stays None: every tile); a ConfigError for anything else."""
    from pulsetrain.config import ConfigError

    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"rtl-tiles must be a comma list of tile indices, not {text!r}") from None


@click.command("cosim")
@click.option(
    "--algo",
    default=None,
    help=f"Train with the RTL in the loop: {', '.join(catalogue.algorithm_names(cosim=True))}.",
)
@click.option("--bench", default=None, help="Run one block bench instead (see --list).")
@click.option("--list", "list_benches", is_flag=True, help="List the block benches and exit.")
@click.option(
    "--schedule", is_flag=True, help="BP vs DFA cycles per sample from the schedule controller RTL."
)
@click.option(
    "--depth", default="2..6", show_default=True, help="With --schedule: depths, 'A..B' or 'A,B,C'."
)
@click.option("--sim", default="verilator", show_default=True, help="Simulator: verilator or icarus.")
@click.option("--hidden", multiple=True, help="Hidden layer size(s), as for `pulsetrain train` (default 32).")
@click.option(
    "--network",
    "network_name",
    default=None,
    help="A network by name, as for `pulsetrain train` (lenet5, mlp784); trains with --algo (default sgd).",
)
@click.option(
    "--dataset", default=None, help="Data set, as for `pulsetrain train` (default digits; fashion-mnist...)."
)
@click.option("--data-dir", default=None, help="Folder holding the data set's files.")
@click.option(
    "--test-samples",
    default=None,
    type=int,
    help="Test images of the accuracy pass (default: the whole test set up to 1000 images, else 100).",
)
@click.option(
    "--rtl-tiles",
    default=None,
    help="Only these tiles (input side first, e.g. 0 or 0,1) get RTL pulse generators and read ADCs.",
)
@click.option("--samples", default=None, type=int, help="Train on the first N training samples (one pass).")
@click.option(
    "--epochs", default=None, type=int, help="Whole epochs (default 1 when --samples is not given)."
)
@click.option("--seed", default=0, type=int, show_default=True, help="Seed of the run (and of a bench).")
@click.option("--set", "sets", multiple=True, help="Override a training config field: --set lr=0.05.")
@click.option("--long", "long_mode", is_flag=True, help="Benches: the long randomized mode.")
@click.option("--waves", is_flag=True, help="Record a waveform of the whole run (large).")
@click.option("--json", "json_path", default=None, help="Write the results to this JSON file.")
def cosim(
    algo: str | None,
    bench: str | None,
    list_benches: bool,
    schedule: bool,
    depth: str,
    sim: str,
    hidden: tuple[str, ...],
    network_name: str | None,
    dataset: str | None,
    data_dir: str | None,
    test_samples: int | None,
    rtl_tiles: str | None,
    samples: int | None,
    epochs: int | None,
    seed: int,
    sets: tuple[str, ...],
    long_mode: bool,
    waves: bool,
    json_path: str | None,
) -> None:
    """Co-simulate the periphery RTL with the analog model (Verilator or Icarus)."""
    from pulsetrain.cosim import runner
    from pulsetrain.cosim.benches import BENCHES, run_named_bench

    from pulsetrain.config import ConfigError

    simulator = runner.parse_simulator(sim)
    if list_benches:
        for name, entry in BENCHES.items():
            click.echo(f"{name:20s} {entry.description}")
        return
    if schedule:
        _schedule_sweep(simulator, depth, json_path)
        return
    training = algo is not None or network_name is not None
    if training == (bench is not None):
        raise ConfigError(
            "give exactly one of --algo / --network (training), --bench (a block bench) or --schedule"
        )
    if samples is not None and epochs is not None:
        raise ConfigError("give --samples or --epochs, not both")
    if bench is not None:
        document = run_named_bench(bench, simulator, seed=seed, long_mode=long_mode)
        click.echo(document["summary"])
        if json_path is not None:
            write_json(json_path, document)
        if not document["passed"]:
            sys.exit(1)
        return

    from pulsetrain.cosim.training import CosimRequest, run_training_cosim

    options: dict[str, Any] = {"algo": algo or "sgd", "seed": seed}
    if hidden:
        options["network.hidden"] = ",".join(hidden)
    for key, value in (("network.name", network_name), ("dataset", dataset), ("data_dir", data_dir)):
        if value is not None:
            options[key] = value
    request = CosimRequest(
        options=options,
        sets=tuple(sets),
        samples=samples,
        test_samples=test_samples,
        rtl_tiles=parse_tiles(rtl_tiles),
        epochs=epochs if epochs is not None else 1,
        simulator=simulator.value,
        waves=waves,
    )
    results = run_training_cosim(request)
    _print_training(results)
    if json_path is not None:
        write_json(json_path, results)
        click.echo(f"results written to {json_path}")
    if not results["matches_model"]:
        sys.exit(1)


def _schedule_sweep(simulator: Any, depth: str, json_path: str | None) -> None:
    """``--schedule``: BP and DFA cycles per sample by depth from the schedule-controller RTL."""
    from pulsetrain.cosim.schedule import run_schedule_sweep

    sweep = run_schedule_sweep(simulator, parse_depths(depth))
    click.echo(f"cycles per training sample on {sweep['simulator']} (RTL schedule controllers)")
    click.echo("depth   BP RTL  DFA RTL  speed-up RTL  speed-up model")
    for row in sweep["rows"]:
        click.echo(
            f"{row['depth']:5d} {row['rtl_bp_cycles']:8d} {row['rtl_dfa_cycles']:8d} "
            f"{row['rtl_speedup']:13.2f} {row['model_speedup']:15.2f}"
        )
    click.echo(f"RTL cycles equal the twin's: {sweep['rtl_matches_twin']}")
    if json_path is not None:
        write_json(json_path, sweep)
    if not sweep["rtl_matches_twin"]:
        sys.exit(1)


def _print_training(results: dict[str, Any]) -> None:
    """The summary of a training run with the RTL in the loop: time split, decisions, accuracy."""
    split = results["time_split"]
    click.echo(
        f"{results['config']['algo']} on {results['simulator']}: {results['samples']} samples, "
        f"{results['cycles']} cycles, {results['wall_seconds']:.1f} s in the simulator "
        f"({results['samples_per_second'] or 0:.1f} samples/s)"
    )
    if split:
        click.echo(
            f"  time: transactions {split['transactions_seconds']:.1f} s (simulator ~"
            f"{split['simulator_cycles_seconds_estimate']:.2f} s, per-cycle Python ~"
            f"{split['per_cycle_python_seconds_estimate']:.1f} s), "
            f"model {split['model_python_seconds']:.1f} s"
        )
    by_block = ", ".join(
        f"{block} {count}" for block, count in sorted(results.get("decisions_by_block", {}).items())
    )
    click.echo(
        f"  decisions compared {results['decisions_compared']} ({by_block}) in "
        f"{results['transactions_compared']} transactions; "
        f"matches model: {results['matches_model']}"
    )
    on_twin = results.get("tiles_on_twin") or []
    click.echo(
        f"  tiles in the RTL {results['tiles_in_rtl']}"
        + (f", on the twin {on_twin} (--rtl-tiles)" if on_twin else "")
        + f"; mismatches {results['mismatches']}"
    )
    if results["test_accuracy"] is not None:
        click.echo(
            f"  test accuracy on {results['test_samples']} test samples: RTL "
            f"{100 * results['test_accuracy']:.1f} % / model {100 * results['model_test_accuracy']:.1f} %"
        )
    if results["first_mismatch"]:
        click.echo(f"  first differing decision: {results['first_mismatch']}")
    if results["waveform"]:
        click.echo(f"  waveform: {results['waveform']}")
