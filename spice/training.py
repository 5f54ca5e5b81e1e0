"""What the calibrated IR drop changes in training: a wide hidden layer, with and without the option.

The task: the embedded 8x8 digits (64 inputs, 10 classes; scikit-learn's copy, no download), an MLP
``64 -> H -> 10`` trained with analog SGD on the default constant-step device. With ``H`` = 256 or 512
the second layer's arrays have ``H + 1`` rows (the bias line) and the first layer's rows are ``2 H``
physical columns long (column pairs), so both the column and the row wires matter. Each configuration
runs with the model's ideal reads and with the calibrated first-order IR drop of a technology's
wires (:mod:`pulsetrain.model.irdrop`, forward reads only, see there), same seeds, same everything
else; the hyper-parameters are the training defaults (nothing is tuned on the test split). Each run
trained with ideal reads is also evaluated once more with its final weights read through the IR drop
(the ideal model's network deployed on the physical array), from the run's last checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pulsetrain.model import checkpoint
from pulsetrain.model.data import Dataset, DataSplit, load_dataset
from pulsetrain.model.irdrop import ArrayPhysics, IrDropConfig, IrDropRead, ir_drop_on_new_tiles
from pulsetrain.model.network import NetworkConfig
from pulsetrain.model.tile import Tile
from pulsetrain.model.training import TrainConfig, accuracy, checkpoint_path, train
from pulsetrain.spice.check import FITTED_CALIBRATION, FITTED_SATURATION

from pulsetrain.config import check_int
from pulsetrain.results import write_atomic


@dataclass(frozen=True, kw_only=True)
class TrainingStudy:
    """Runs of the IR-drop training experiment."""

    #: Hidden-layer sizes (the second layer's rows, without the bias line).
    hidden: tuple[int, ...] = (256, 512)
    #: Epochs per run.
    epochs: int = 3
    #: Seeds per configuration (0, 1, ...).
    seeds: int = 2
    #: The array physics of the IR drop.
    physics: ArrayPhysics = field(default_factory=ArrayPhysics)

    def __post_init__(self) -> None:
        for size in self.hidden:
            check_int("--hidden", size, 1, 4096)
        check_int("--epochs", self.epochs, 1, 1000)
        check_int("--seeds", self.seeds, 1, 100)


def _tiles_in(root: Any) -> list[Tile]:
    """Every :class:`Tile` reachable from ``root`` through attributes, lists, tuples and dicts."""
    found: list[Tile] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, str | bytes | np.ndarray | np.random.Generator):
            continue
        seen.add(id(item))
        if isinstance(item, Tile):
            found.append(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif hasattr(item, "__dict__"):
            stack.extend(vars(item).values())
    return found


def accuracy_read_with_ir_drop(checkpoint_dir: Path, ir: IrDropConfig, data: DataSplit) -> float:
    """Test accuracy of a finished run's weights (its last checkpoint) read through the IR drop."""
    from pulsetrain.executor import code_version

    state, _ = checkpoint.load(checkpoint_path(checkpoint_dir), code_version=code_version())
    algorithm = state["algorithm"]
    tiles = _tiles_in(algorithm)
    if not tiles:
        raise RuntimeError("the checkpoint holds no analog tiles to read through the IR drop")
    for tile in tiles:
        tile.read_distortion = IrDropRead(tile, ir)
    return accuracy(algorithm, data.x_test, data.y_test)


def _one_run(config: TrainConfig, ir: IrDropConfig, with_ir: bool, data: DataSplit) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pulsetrain-ir-") as folder:
        if with_ir:
            with ir_drop_on_new_tiles(ir):
                result = train(config, data=data)
            read_with_ir = result["test_accuracy"]
        else:
            result = train(config, data=data, checkpoint_dir=folder)
            read_with_ir = accuracy_read_with_ir_drop(Path(folder), ir, data)
    return {
        "hidden": config.network.hidden[0],
        "ir_drop": with_ir,
        "seed": config.seed,
        "test_accuracy": result["test_accuracy"],
        "test_accuracy_read_with_ir_drop": read_with_ir,
        "train_accuracy": result["train_accuracy"],
        "pulses_per_sample": result["pulses_per_sample"],
        "seconds": time.perf_counter() - started,
    }


def run_study(study: TrainingStudy, say: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """One result row per (hidden size, IR drop off/on during training, seed)."""
    rows = []
    ir = IrDropConfig(physics=study.physics, calibration=FITTED_CALIBRATION, saturation=FITTED_SATURATION)
    data = load_dataset(Dataset.DIGITS)
    for hidden in study.hidden:
        for with_ir in (False, True):
            for seed in range(study.seeds):
                config = TrainConfig(network=NetworkConfig(hidden=(hidden,)), epochs=study.epochs, seed=seed)
                row = _one_run(config, ir, with_ir, data)
                rows.append(row)
                if say is not None:
                    say(
                        f"hidden {hidden} ir_drop {with_ir} seed {seed}: test {row['test_accuracy']:.4f} "
                        f"(read with IR drop {row['test_accuracy_read_with_ir_drop']:.4f}) "
                        f"pulses/sample {row['pulses_per_sample']:.1f} ({row['seconds']:.0f} s)"
                    )
    return rows


def write_study(study: TrainingStudy, rows: list[dict[str, Any]], folder: Path, technology: str) -> None:
    """``training.md`` (means and spreads over seeds) and ``training.json`` into ``folder``."""
    lines = [
        (
            f"Digits, MLP 64-H-10, analog SGD, constant-step device, {study.epochs} epochs, seeds "
            f"0..{study.seeds - 1}; IR drop of {technology} (alpha {FITTED_CALIBRATION}, kappa "
            f"{FITTED_SATURATION}) on forward reads.\n"
        ),
        (
            "| hidden H (layer-2 rows H+1) | reads in training | test accuracy (mean ± std) "
            "| same weights read with IR drop | pulses per sample |"
        ),
        "|---:|---|---:|---:|---:|",
    ]
    for hidden in study.hidden:
        for with_ir in (False, True):
            group = [r for r in rows if r["hidden"] == hidden and r["ir_drop"] == with_ir]
            tested = np.array([r["test_accuracy"] for r in group])
            deployed = np.array([r["test_accuracy_read_with_ir_drop"] for r in group])
            pulses = np.array([r["pulses_per_sample"] for r in group])
            lines.append(
                f"| {hidden} | {'with IR drop' if with_ir else 'ideal'} "
                f"| {tested.mean():.4f} ± {tested.std():.4f} | {deployed.mean():.4f} ± {deployed.std():.4f} "
                f"| {pulses.mean():.1f} |"
            )
    write_atomic(folder / "training.md", "\n".join(lines) + "\n")
    document = {
        "study": {k: v for k, v in dataclasses.asdict(study).items()},
        "technology": technology,
        "rows": rows,
    }
    write_atomic(folder / "training.json", json.dumps(document, indent=1))
