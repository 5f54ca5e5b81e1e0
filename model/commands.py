"""``pulsetrain train``: train a network on the behavioral model.

Settings come from the defaults in code, then ``--config FILE.toml``, then the explicit options below,
then ``--set key=value`` (any field of :class:`~pulsetrain.model.training.TrainConfig` by dotted path).
Every value is validated before any work; a bad one is a :class:`~pulsetrain.config.ConfigError`, which
the CLI prints as one line with exit status 2.
"""

from __future__ import annotations

from typing import Any

import click
from pulsetrain.model.algorithms import ALGORITHMS
from pulsetrain.model.devices import DEVICES

from pulsetrain.results import write_json


@click.command("train")
@click.option("--algo", default=None, help=f"Learning algorithm: {', '.join(ALGORITHMS)} (default sgd).")
@click.option("--device", default=None, help=f"Device model: {', '.join(DEVICES)} (default constant-step).")
@click.option(
    "--dataset",
    default=None,
    help=(
        "digits (embedded, default), mnist (idx files in --data-dir), fashion-mnist (Debian's "
        "dataset-fashion-mnist unless --data-dir) or cifar10 (python batches in --data-dir)."
    ),
)
@click.option(
    "--network",
    "network_name",
    default=None,
    help="A network by name: lenet5, mlp784 or 784-800-10 (default: the MLP of --hidden).",
)
@click.option("--data-dir", default=None, help="Folder holding the data set's files.")
@click.option(
    "--hidden",
    multiple=True,
    help="Hidden layer size; repeat for more layers, or give a list: --hidden 32,16 (default 32).",
)
@click.option("--epochs", default=None, help="Passes over the training set (default 10).")
@click.option("--batch-size", default=None, help="Samples per training step, >= 1 (default 1).")
@click.option("--lr", default=None, help="Learning rate (default 0.05).")
@click.option("--seed", default=None, help="Seed of every random number (default 0).")
@click.option("--config", "config_file", default=None, help="TOML file with the same keys as --set.")
@click.option("--set", "sets", multiple=True, help="Override a config field: --set device.dw_min=0.002.")
@click.option("--json", "json_path", default=None, help="Write the results to this JSON file.")
@click.option("--checkpoint-dir", default=None, help="Write a checkpoint after every epoch into this folder.")
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in --checkpoint-dir.")
@click.option("--progress/--no-progress", default=True, help="Show the progress bar (default on).")
def train(
    algo: str | None,
    device: str | None,
    dataset: str | None,
    data_dir: str | None,
    network_name: str | None,
    hidden: tuple[str, ...],
    epochs: str | None,
    batch_size: str | None,
    lr: str | None,
    seed: str | None,
    config_file: str | None,
    sets: tuple[str, ...],
    json_path: str | None,
    checkpoint_dir: str | None,
    resume: bool,
    progress: bool,
) -> None:
    """Train a network on the behavioral model and report per-epoch accuracies and pulse counts."""
    from pulsetrain.model.data import check_available
    from pulsetrain.model.network import layer_sizes
    from pulsetrain.model.training import has_checkpoint, resolve_train_config
    from pulsetrain.model.training import train as run_training

    from pulsetrain.config import ConfigError
    from pulsetrain.validate import check_batch_fits, check_network_fits

    options: dict[str, Any] = {}
    for key, value in (
        ("algo", algo),
        ("device", device),
        ("dataset", dataset),
        ("data_dir", data_dir),
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("lr", lr),
        ("seed", seed),
    ):
        if value is not None:
            options[key] = value
    if network_name is not None:
        options["network.name"] = network_name
    if hidden:
        options["network.hidden"] = ",".join(hidden)
    config = resolve_train_config(options=options, config_file=config_file, sets=sets)
    # the data files are read and checked whole, and the network's size held against memory, before work
    shape = check_available(config.dataset, config.data_dir)
    check_batch_fits(config.batch_size, shape.n_train)
    check_network_fits(config.algo, layer_sizes(shape.n_features, config.network.hidden, shape.n_classes))
    if config.network.name:
        # a named network refuses images it cannot take (too small, not square) before any training
        from pulsetrain.model.algorithms.conv_backprop import square_image_shape
        from pulsetrain.model.conv import network_shapes

        image = square_image_shape(shape.n_features)
        network_shapes(config.network.name, image, shape.n_classes, config.network.bias)
    if resume and checkpoint_dir is None:
        raise ConfigError("--resume needs --checkpoint-dir")
    if resume and checkpoint_dir is not None and not has_checkpoint(checkpoint_dir):
        click.echo(f"no checkpoint in {checkpoint_dir}: starting fresh", err=True)

    results = run_training(config, checkpoint_dir=checkpoint_dir, resume=resume, progress=progress)
    for record in results["epochs"]:
        click.echo(
            f"epoch {record['epoch']:3d}  train {100 * record['train_accuracy']:5.1f} %  "
            f"test {100 * record['test_accuracy']:5.1f} %  loss {record['loss']:.4f}  "
            f"{record['seconds']:.2f} s"
        )
    pulses = ", ".join(
        f"{layer} " + "/".join(f"{name} {count}" for name, count in arrays.items())
        for layer, arrays in results["pulses"].items()
    )
    substrate = "floating point" if config.algo == "fp" else config.device.kind
    click.echo(
        f"{config.algo} on {substrate}: test accuracy {100 * results['test_accuracy']:.1f} % "
        f"after {results['completed_epochs']} epochs, {results['wall_seconds']:.1f} s; pulses: {pulses}"
    )
    note = results["algorithm"].get("note") if isinstance(results["algorithm"], dict) else None
    if note:
        click.echo(f"note: {note}")
    if json_path is not None:
        write_json(json_path, results)
        click.echo(f"results written to {json_path}")
