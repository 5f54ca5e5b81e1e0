"""Every algorithm on LeNet-5 / Fashion-MNIST: learning rate chosen on a validation split, test accuracy.

For each algorithm (all that train named networks, :func:`pulsetrain.catalogue.algorithm_names`), every
learning rate of its grid trains ``lenet5`` on the first ``--train-images`` of a seeded permutation of
Fashion-MNIST's training set; the next ``--valid-images`` of that permutation are the validation split.
The learning rate with the best validation accuracy is chosen, and the test accuracy (the first
``--test-images`` of the test set) of that same run is reported; the test set never chooses anything.
Per-image training seconds are printed beside each run with the load average (the machine is shared).

The runs use the config that ``pulsetrain train --network lenet5 --algo X`` resolves (the network's
defaults: aihwkit example 4's mapping, output scale 1; see ``NAMED_NETWORK_DEFAULTS``), batch 1 except
``sbe`` (batch 8, where SBE differs from SGD), plus ``--set`` overrides (``--set device.kind=soft-bounds``).

It first prints the diagnosis of why analog SGD on LeNet-5 stayed at chance with the code's default
mapping (output scale 3): the cosine between the errors the analog backward reads give each layer and
the exact errors of the same weights, at output scale 3 and 1 (seed 0, 8 images, at initialisation);
with ``--mapping-grid`` also sgd's validation accuracy at output scale 3 / 1 and lr 0.05 / 0.01.

Quick (default, what the report quotes): ``python benchmarks/bench_lenet.py``. The issue's 10-epoch runs
(55k training, 5k validation, the 10k test set), checkpointed after every epoch and resumable::

    python benchmarks/bench_lenet.py --train-images 55000 --valid-images 5000 --test-images 10000 \\
        --epochs 10 --lr sgd=0.01 --checkpoint-dir runs/lenet --json runs/lenet/results.json

(one learning rate per algorithm with ``--lr ALGO=LR``; a rerun with the same folder resumes, and a
folder written by another configuration is refused; each run's JSON entry holds the config that ran).
Results of those runs (10 epochs, seed 0; fp 89.9 %, analog SGD 80.3 % on pulsetrain's ConstantStep and
85.2 % on aihwkit's ConstantStep parameters, c-TTv2 / AGAD on SoftBounds 78.5 / 79.4 %) are tabled in
the README with every rate run. ``--ablation`` trains once per row of :data:`ABLATION` (one part of
the analog path made perfect at a time) and prints the validation accuracies that locate the gap to fp
(README: the pulsed update). The 10-epoch run's time is 550,000 images times the per-image seconds
printed per run (wall clock of the epoch's training loop, and in brackets its process CPU time; the
first epoch includes loading the compiled kernels).
After the compiled pulsed-update kernels landed (merge 3aa8a30), on the shared 2-core machine at load 5
(200 images): sgd 15.6 ms per image, c-TTv2 and AGAD 108 ms (their per-patch loop stayed in Python).
With the compiled convolution kernels (``model/conv_kernels.py``; ``benchmarks/bench_conv.py`` times
them alone) and this script's defaults (ConstantStep for every algorithm), 300 training images, load
6.6: sgd 2.2 ms per image wall (1.4 CPU), TTv2 / c-TTv2 / AGAD 4.4 / 5.5 / 5.1 ms wall (2.9 / 3.6 /
3.4 CPU): about 20 min and 50 min per algorithm and rate for the 10-epoch run at that load. The
numbers below were measured before the compiled pulsed-update kernels (at 86c1ecf, load 6-20: 25-460
ms per image).

Measured (seed 0, ConstantStep with pulsetrain's defaults, lenet5's defaults, 1000 training / 500
validation / 1000 test images, 1 epoch; the grids above, printed by ``python benchmarks/bench_lenet.py``
in three invocations with ``--algos`` / ``--lr`` over the same points; load 6-20 on 2 shared cores):

* error cosine analog vs exact (conv1, conv2, dense 128, logits): output scale 3: 0.20, 0.41, 0.58,
  1.00; output scale 1: 0.74, 0.87, 0.90, 1.00.
* ``--mapping-grid``, sgd validation accuracy: output scale 3 at lr 0.05 / 0.01: 9.8 / 13.4 %; output
  scale 1 at lr 0.05 / 0.01: 47.8 / 71.8 % (the mapping is most of it, the lower rate the rest).
* validation accuracy per learning rate, the chosen rate's test accuracy (chance 10 %):

  ======  ===============================================  ===========  ========
  algo    valid % at each lr                               chosen lr    test %
  ======  ===============================================  ===========  ========
  fp      0.01: 74.6, 0.03: 74.8, 0.1: 9.8                  0.03         73.8
  sgd     0.003: 66.8, 0.01: 71.8, 0.03: 63.0               0.01         67.1
  dfa     0.003: 14.2, 0.01: 40.2, 0.03: 18.2               0.01         38.9
  ttv2    0.01: 33.8, 0.05: 38.6, 0.2: 33.6                 0.05         32.2
  c-ttv2  0.01: 42.4, 0.05: 45.8, 0.2: 38.0                 0.05         40.5
  agad    0.01: 51.6, 0.05: 64.4, 0.2: 61.6                 0.05         60.4
  sbe     0.05: 54.6, 0.15: 57.8, 0.4: 9.0 (batch 8)        0.15         55.6
  ======  ===============================================  ===========  ========

  The TTv2 family is slow to start here: a dense layer reads one column of A per sample, so in 1000
  samples each of the 513 columns of the 512-128 layer was read about twice.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from pulsetrain.model import checkpoint
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.conv import ConvNet, ConvStage
from pulsetrain.model.data import Dataset, DataSplit, load_dataset
from pulsetrain.model.network import FloatWeights, softmax_cross_entropy
from pulsetrain.model.training import TrainConfig, accuracy, config_summary, resolve_train_config

from pulsetrain import catalogue
from pulsetrain.results import write_json

#: learning-rate grids per algorithm (the TTv2 family's ``lr`` scales only the transfer into C)
LR_GRIDS: dict[str, tuple[float, ...]] = {
    "fp": (0.01, 0.03, 0.1),
    "sgd": (0.003, 0.01, 0.03),
    "dfa": (0.003, 0.01, 0.03),
    "ttv2": (0.01, 0.05, 0.2),
    "c-ttv2": (0.01, 0.05, 0.2),
    "agad": (0.01, 0.05, 0.2),
    "sbe": (0.05, 0.15, 0.4),
}
#: batch sizes that differ from 1
BATCH: dict[str, int] = {"sbe": 8}


def split(data: DataSplit, n_train: int, n_valid: int, n_test: int, seed: int) -> tuple[DataSplit, DataSplit]:
    """(training + validation, training + test) splits: validation carved from the training set."""
    order = np.random.default_rng(seed).permutation(data.x_train.shape[0])
    train, valid = order[:n_train], order[n_train : n_train + n_valid]
    common = {"n_classes": data.n_classes, "image_shape": data.image_shape}
    with_valid = DataSplit(
        x_train=data.x_train[train],
        y_train=data.y_train[train],
        x_test=data.x_train[valid],
        y_test=data.y_train[valid],
        **common,
    )
    with_test = DataSplit(
        x_train=with_valid.x_train,
        y_train=with_valid.y_train,
        x_test=data.x_test[:n_test],
        y_test=data.y_test[:n_test],
        **common,
    )
    return with_valid, with_test


def run(config: TrainConfig, valid: DataSplit, test: DataSplit, folder: Path | None) -> dict[str, Any]:
    """Train ``config`` on ``valid``'s training set, evaluating validation and test after every epoch;
    checkpoint into ``folder`` after every epoch and resume from it."""
    path = folder / "checkpoint.npz" if folder is not None else None
    summary = config_summary(config)
    # what a checkpoint must share with the run that resumes it: everything but the number of epochs
    resumable = {key: value for key, value in summary.items() if key != "epochs"}
    if path is not None and path.is_file():
        state, metadata = checkpoint.load(path, code_version="bench")
        if metadata != {"config": str(resumable)}:
            raise SystemExit(
                f"checkpoint {path} was written by another configuration; resuming would mix two runs "
                f"(give another --checkpoint-dir). It has {metadata}, this run is {summary}"
            )
    else:
        order_seed, algorithm_seed = np.random.SeedSequence(config.seed).spawn(2)
        state = {
            "epoch": 0,
            "algorithm": create_algorithm(config, (valid.n_features, valid.n_classes), algorithm_seed),
            "order_rng": np.random.default_rng(order_seed),
            "history": [],
        }
    algorithm, n_train = state["algorithm"], valid.x_train.shape[0]
    while state["epoch"] < config.epochs:
        started, cpu_started = time.perf_counter(), time.process_time()
        order = state["order_rng"].permutation(n_train)
        for start in range(0, n_train, config.batch_size):
            rows = order[start : start + config.batch_size]
            algorithm.train_batch(valid.x_train[rows], valid.y_train[rows])
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        state["epoch"] += 1
        state["history"].append(
            {
                "epoch": state["epoch"],
                "valid_accuracy": accuracy(algorithm, valid.x_test, valid.y_test),
                "test_accuracy": accuracy(algorithm, test.x_test, test.y_test),
                "seconds_per_image": seconds / n_train,
                "cpu_seconds_per_image": cpu_seconds / n_train,
                "load_average": os.getloadavg()[0],
            }
        )
        record = state["history"][-1]
        print(
            f"    epoch {record['epoch']}/{config.epochs}: valid {100 * record['valid_accuracy']:.1f} %, "
            f"test {100 * record['test_accuracy']:.1f} %, {1e3 * record['seconds_per_image']:.2f} ms/image "
            f"(load {record['load_average']:.1f})",
            flush=True,
        )
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            checkpoint.save(path, state, code_version="bench", metadata={"config": str(resumable)})
    return {
        "history": state["history"],
        "algorithm": algorithm.extra_results(),
        "config": summary,
        **state["history"][-1],
    }


def exact_errors_cosine(config: TrainConfig, data: DataSplit) -> list[float]:
    """Per layer, the cosine between the errors of the analog backward reads and the exact ones (same
    weights, same forward pass), for analog SGD at initialisation on the first 8 training images."""
    algorithm = create_algorithm(config, (data.n_features, data.n_classes), np.random.SeedSequence(0))
    net: ConvNet = algorithm.net  # type: ignore[attr-defined]
    exact = ConvNet(
        [
            ConvStage(
                conv=type(s.conv)(
                    FloatWeights(s.conv.array.weights()), s.conv.in_channels, s.conv.kernel, s.conv.bias
                ),
                pool=s.pool,
                activate_after_pool=s.activate_after_pool,
            )
            for s in net.stages
        ],
        [FloatWeights(array.weights()) for array in net.dense],
        net.activation,
        net.bias,
        net.image_shape,
    )
    trace = net.trace(data.x_train[:8])
    _, grad = softmax_cross_entropy(trace.outputs[-1], data.y_train[:8])
    analog = [delta for deltas in net.backprop(trace, grad) for delta in deltas]
    reference = [delta for deltas in exact.backprop(trace, grad) for delta in deltas]
    return [
        float(np.sum(a * b) / np.linalg.norm(a) / np.linalg.norm(b))
        for a, b in zip(analog, reference, strict=True)
    ]


def print_mapping_diagnosis(valid: DataSplit, test: DataSplit, epochs: int, *, grid: bool) -> None:
    """Why analog SGD on LeNet-5 needs lenet5's mapping: the error cosines at output scale 3 and 1, and
    with ``grid`` the validation accuracy of sgd at output scale 3 / 1 times lr 0.05 / 0.01."""
    print("analog-vs-exact error cosine per layer (conv1, conv2, dense 128, logits), sgd at initialisation:")
    for scale in (3.0, 1.0):
        sgd = resolve_train_config(options={"network.name": "lenet5"}, sets=[f"mapping.output_scale={scale}"])
        cosines = ", ".join(f"{c:.2f}" for c in exact_errors_cosine(sgd, valid))
        print(f"  output scale {scale:g}: {cosines}")
    if not grid:
        return
    print("sgd validation accuracy by output scale and lr (the code's defaults: 3 and 0.05):")
    for scale in (3.0, 1.0):
        for lr in (0.05, 0.01):
            options = {"network.name": "lenet5", "lr": str(lr), "epochs": str(epochs)}
            sgd = resolve_train_config(options=options, sets=[f"mapping.output_scale={scale}"])
            accuracy_percent = 100 * run(sgd, valid, test, None)["valid_accuracy"]
            print(f"  output scale {scale:g}, lr {lr:g}: {accuracy_percent:.1f} %", flush=True)


#: the overrides that make a read path perfect: no read noise, 24-bit converters
PERFECT_READS = ("out_noise=0", "adc_bits=24", "dac_bits=24")
#: ``--ablation``: (label, algorithm, config overrides); analog SGD with one part of the analog path made
#: perfect at a time, after fp for reference
ABLATION: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("fp (reference)", "fp", ()),
    ("as configured", "sgd", ()),
    ("perfect backward reads", "sgd", tuple(f"backward_io.{key}" for key in PERFECT_READS)),
    (
        "perfect forward and backward reads",
        "sgd",
        tuple(f"{io}.{key}" for io in ("io", "backward_io") for key in PERFECT_READS),
    ),
    ("ideal device, pulsed update", "sgd", ("device.kind=ideal",)),
    ("exact update (no pulses)", "sgd", ("update.mode=ideal",)),
)


def print_ablation(
    valid: DataSplit, test: DataSplit, args: argparse.Namespace, lr: float
) -> list[dict[str, Any]]:
    """Train once per row of :data:`ABLATION` at ``lr``; print and return each row's validation accuracy
    with the config that ran."""
    rows = []
    print(f"ablation, sgd at lr {lr:g} ({args.epochs} epoch(s)), validation accuracy:")
    for label, algo, sets in ABLATION:
        options = {
            "network.name": "lenet5",
            "algo": algo,
            "lr": str(lr),
            "epochs": str(args.epochs),
            "seed": str(args.seed),
        }
        config = resolve_train_config(options=options, sets=[*args.sets, *sets])
        result = run(config, valid, test, None)
        print(f"  {label:36s} {100 * result['valid_accuracy']:5.1f} %", flush=True)
        rows.append({"label": label, "valid_accuracy": result["valid_accuracy"], "config": result["config"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", default=",".join(catalogue.algorithm_names(named_network=True)))
    parser.add_argument("--train-images", type=int, default=1000)
    parser.add_argument("--valid-images", type=int, default=500)
    parser.add_argument("--test-images", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--lr", action="append", default=[], help="ALGO=LR, repeatable: rates instead of the grid"
    )
    parser.add_argument("--set", dest="sets", action="append", default=[], help="config override key=value")
    parser.add_argument("--checkpoint-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--mapping-grid", action="store_true", help="also train sgd at output scale 3 / 1 and lr 0.05 / 0.01"
    )
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="only train sgd with one part of the analog path made perfect at a time (ABLATION)",
    )
    args = parser.parse_args()
    fixed: dict[str, tuple[float, ...]] = {}
    for key, _, value in (item.partition("=") for item in args.lr):
        fixed[key] = (*fixed.get(key, ()), float(value))
    data = load_dataset(Dataset.FASHION_MNIST, None)
    valid, test = split(data, args.train_images, args.valid_images, args.test_images, args.seed)
    print(
        f"lenet5 / fashion-mnist: {args.train_images} training, {args.valid_images} validation "
        f"(from the training set), {args.test_images} test images, {args.epochs} epoch(s), seed {args.seed}"
    )
    arguments = {key: str(value) for key, value in vars(args).items()}
    if args.ablation:
        rows = print_ablation(valid, test, args, fixed.get("sgd", (0.003,))[0])
        if args.json is not None:
            write_json(args.json, {"arguments": arguments, "ablation": rows})
        return
    print_mapping_diagnosis(valid, test, args.epochs, grid=args.mapping_grid)
    results: dict[str, Any] = {"arguments": arguments, "algorithms": {}}
    for algo in args.algos.split(","):
        runs = {}
        for lr in fixed.get(algo, LR_GRIDS[algo]):
            options = {
                "network.name": "lenet5",
                "algo": algo,
                "lr": str(lr),
                "epochs": str(args.epochs),
                "batch_size": str(BATCH.get(algo, 1)),
                "seed": str(args.seed),
            }
            config = resolve_train_config(options=options, sets=args.sets)
            folder = args.checkpoint_dir / f"{algo}-lr{lr:g}" if args.checkpoint_dir is not None else None
            runs[lr] = run(config, valid, test, folder)
            result = runs[lr]
            print(
                f"  {algo:7s} lr {lr:<6g} valid {100 * result['valid_accuracy']:5.1f} %  test "
                f"{100 * result['test_accuracy']:5.1f} %  {1e3 * result['seconds_per_image']:6.1f} ms/image "
                f"({1e3 * result.get('cpu_seconds_per_image', float('nan')):.1f} cpu, load "
                f"{result['load_average']:.1f})",
                flush=True,
            )
        best = max(runs, key=lambda lr: runs[lr]["valid_accuracy"])
        print(
            f"{algo:7s} chosen lr {best:g}: test accuracy {100 * runs[best]['test_accuracy']:.1f} % "
            f"(chance 10 %)",
            flush=True,
        )
        results["algorithms"][algo] = {"chosen_lr": best, "runs": {str(lr): r for lr, r in runs.items()}}
        if args.json is not None:
            write_json(args.json, results)


if __name__ == "__main__":
    main()
