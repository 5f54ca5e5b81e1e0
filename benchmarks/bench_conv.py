"""Seconds per epoch of 60k images for LeNet-5 at batch 1 on the exact per-patch pulsed path, per
algorithm, and the peak memory of the run.

Trains ``pulsetrain``'s ``lenet5`` (:mod:`pulsetrain.model.conv`) at batch 1 on the first ``--images``
Fashion-MNIST training images (Debian's ``dataset-fashion-mnist``; uniform random images when it is not
installed, said so) with analog SGD on the default ConstantStep device and with TTv2, c-TTv2 and AGAD
on the default SoftBounds device (the issue's pairing). It prints, per algorithm, the process CPU
seconds per image (``time.process_time``, the best of ``--repeats`` runs), that figure times 60 000, the
pulses per image, and the process's peak resident memory (``ru_maxrss``: the whole process, data set
included) after it has also run the end-of-epoch accuracy evaluation of ``pulsetrain train``
(:func:`pulsetrain.model.training.accuracy`; a named network's ``predict`` runs it in chunks of
:meth:`pulsetrain.model.conv.ConvNet.evaluation_chunk` images, ~200 for LeNet-5) on 10 000 images.

The update is the exact path: one stochastic rank-1 update per patch, in order. By default the
per-image glue, the convolutions' reads and updates and the TTv2 family's per-patch loops run through
the compiled kernels of :mod:`pulsetrain.model.conv_kernels`; ``--numpy-conv`` times the NumPy path they
reproduce bit for bit (``ConvNet.compiled = False``), and ``--check N`` trains N images on both paths
per algorithm and prints whether every weight, pulse count and generator state agrees.

Run it on one core: ``OMP_NUM_THREADS=1 python benchmarks/bench_conv.py``; it prints the load average
beside the figures, since a loaded machine inflates them.

Reference (not rerun here): aihwkit 1.2's example-4 LeNet-5 on ConstantStep took 3.8 ms per image,
~227 s per epoch, at batch 1 (figures quoted in the pulsetrain issue "Scale", measured by its author;
the network is IBM/aihwkit ``examples/04_lenet5_training.py``). The device parameters differ: this script
uses pulsetrain's device defaults. Target of that issue: analog SGD <= 115 s per epoch, <= 2 GiB peak
memory.

Usage: ``python benchmarks/bench_conv.py [--images 300] [--repeats 3] [--algos sgd,c-ttv2]
[--numpy-conv] [--check 20]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from typing import Any

import numpy as np
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.data import Dataset, load_dataset
from pulsetrain.model.training import accuracy, resolve_train_config

from pulsetrain.config import ConfigError

#: aihwkit 1.2's LeNet-5 ConstantStep figure at batch 1 (issue "Scale": 3.8 ms per image)
AIHWKIT_SECONDS_PER_IMAGE = 3.8e-3
#: the issue's targets
TARGET_SECONDS_PER_EPOCH = 115.0
TARGET_PEAK_GIB = 2.0


def _images(count: int) -> tuple[Any, Any, str]:
    try:
        data = load_dataset(Dataset.FASHION_MNIST, None)
        return data.x_train, data.y_train, "Fashion-MNIST"
    except ConfigError:
        rng = np.random.default_rng(0)
        return rng.random((count + 1, 784)), rng.integers(0, 10, count + 1), "uniform random images"


#: the algorithms timed and the device each trains on (the issue's pairing)
ALGORITHMS = {
    "sgd": "constant-step",
    "ttv2": "soft-bounds",
    "c-ttv2": "soft-bounds",
    "agad": "soft-bounds",
}


def _config(algo: str) -> Any:
    return resolve_train_config(
        options={"network.name": "lenet5", "algo": algo, "batch_size": "1", "device": ALGORITHMS[algo]}
    )


def _algorithm(config: Any, compiled: bool) -> Any:
    algorithm = create_algorithm(config, (784, 10), np.random.SeedSequence(0))
    algorithm.net.compiled = compiled
    return algorithm


def _total_pulses(algorithm: Any) -> int:
    return sum(sum(layer.values()) for layer in algorithm.pulse_counts().values())


def seconds_per_image(
    algo: str, images: Any, labels: Any, count: int, repeats: int, compiled: bool
) -> tuple[float | None, Any]:
    """Best CPU seconds per image over ``repeats`` runs of ``count`` images, and pulses per image; None
    and the reason when this tree does not train LeNet-5 with ``algo``."""
    try:
        config = _config(algo)
        create_algorithm(config, (784, 10), np.random.SeedSequence(0))
    except ConfigError as error:
        return None, str(error)
    best, pulses = float("inf"), 0.0
    for _ in range(repeats):
        algorithm = _algorithm(config, compiled)
        algorithm.train_batch(images[:1], labels[:1])  # the kernels compile (or load) on a first call
        before = _total_pulses(algorithm)
        started = time.process_time()
        for index in range(1, count + 1):
            algorithm.train_batch(images[index : index + 1], labels[index : index + 1])
        best = min(best, (time.process_time() - started) / count)
        pulses = (_total_pulses(algorithm) - before) / count
    return best, pulses


def _generator_states(algorithm: Any) -> list[Any]:
    states = []
    for array in algorithm.net.arrays():
        for tile in (array, getattr(array, "fast", None), getattr(array, "slow", None)):
            if tile is not None and hasattr(tile, "rng"):
                states += [tile.rng.bit_generator.state, tile.pulse_source.rng.bit_generator.state]
    return states


def paths_agree(algo: str, images: Any, labels: Any, count: int) -> bool:
    """Whether the compiled and the NumPy path leave the same weights, pulse counts and generator states
    after ``count`` images."""
    runs = []
    for compiled in (True, False):
        algorithm = _algorithm(_config(algo), compiled)
        for index in range(count):
            algorithm.train_batch(images[index : index + 1], labels[index : index + 1])
        runs.append(algorithm)
    fast, reference = runs
    return (
        all(np.array_equal(a, b) for a, b in zip(fast.weights(), reference.weights(), strict=True))
        and fast.pulse_counts() == reference.pulse_counts()
        and _generator_states(fast) == _generator_states(reference)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300, help="training images timed per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs (the best is printed)")
    parser.add_argument(
        "--algos", default=",".join(ALGORITHMS), help=f"comma-separated, of {', '.join(ALGORITHMS)}"
    )
    parser.add_argument(
        "--numpy-conv", action="store_true", help="time the NumPy path (the compiled kernels' reference)"
    )
    parser.add_argument(
        "--check", type=int, default=0, metavar="N", help="compare both paths on N images per algorithm"
    )
    args = parser.parse_args()
    algos = [name.strip() for name in args.algos.split(",") if name.strip()]
    unknown = [name for name in algos if name not in ALGORITHMS]
    if unknown:
        parser.error(f"--algos {','.join(unknown)} not known; choose from {', '.join(ALGORITHMS)}")
    images, labels, source = _images(args.images)
    load_before = os.getloadavg()
    path = "NumPy path (--numpy-conv)" if args.numpy_conv else "compiled kernels (model/conv_kernels.py)"
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; data: {source}; {path}")
    for algo in algos:
        device = ALGORITHMS[algo]
        per_image, pulses = seconds_per_image(
            algo, images, labels, args.images, args.repeats, compiled=not args.numpy_conv
        )
        if per_image is None:
            print(f"lenet5 {algo} {device} batch 1: not trained on this tree ({pulses})")
            continue
        target = f" (target <= {TARGET_SECONDS_PER_EPOCH:.0f} s)" if algo == "sgd" else ""
        print(
            f"lenet5 {algo} {device} batch 1: {1e3 * per_image:.2f} cpu ms per image (best of {args.repeats}"
            f" x {args.images} images, {pulses:.0f} pulses per image) = {60_000 * per_image:.0f} s per "
            f"60k-image epoch{target}"
        )
        if args.check:
            agree = paths_agree(algo, images, labels, args.check)
            print(f"  compiled and NumPy paths agree after {args.check} images: {'yes' if agree else 'NO'}")
    training_peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    print(f"peak resident memory after training (data set included): {training_peak_gib:.2f} GiB")
    # an epoch ends with the accuracy evaluation (pulsetrain train's own): its batched forward pass held
    # 3.7 GiB at 4096 images per chunk; the named network's predict now splits it to a patch budget
    config = resolve_train_config(options={"network.name": "lenet5", "algo": "sgd", "batch_size": "1"})
    evaluated = create_algorithm(config, (784, 10), np.random.SeedSequence(0))
    evaluation_images = min(10_000, images.shape[0])
    accuracy(evaluated, images[:evaluation_images], labels[:evaluation_images])
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux
    print(
        f"peak resident memory of this process (data set, training, and the evaluation of "
        f"{evaluation_images} images as an epoch ends): {peak_gib:.2f} GiB "
        f"(target <= {TARGET_PEAK_GIB:.0f} GiB)"
    )
    print(f"load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} (1 min)")
    print(f"aihwkit 1.2 reference (not rerun): {60_000 * AIHWKIT_SECONDS_PER_IMAGE:.0f} s per epoch")


if __name__ == "__main__":
    main()
