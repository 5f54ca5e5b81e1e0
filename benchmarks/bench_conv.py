"""Seconds per epoch of 60k images for LeNet-5 analog SGD at batch 1 (the exact per-patch pulsed path).

Trains ``pulsetrain``'s ``lenet5`` (:mod:`pulsetrain.model.conv`) with analog SGD on the default
ConstantStep device, batch 1, on the first ``--images`` Fashion-MNIST training images (Debian's
``dataset-fashion-mnist``), and prints the measured seconds per image and that figure times 60 000.
Run it on one core: ``OMP_NUM_THREADS=1 python benchmarks/bench_conv.py``; it prints the load average
beside the figure, since a loaded machine inflates it.

Reference (not rerun here): aihwkit 1.2's example-4 LeNet-5 on ConstantStep took 3.8 ms per image,
~227 s per epoch, at batch 1 (figures quoted in the pulsetrain issue "Scale", measured by its author;
the network is IBM/aihwkit ``examples/04_lenet5_training.py``). The device parameters differ unless
``--set`` makes them equal: this script uses pulsetrain's ConstantStep defaults.

Usage: ``python benchmarks/bench_conv.py [--images 200]``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.data import Dataset, load_dataset
from pulsetrain.model.training import resolve_train_config

#: aihwkit 1.2's LeNet-5 ConstantStep figure at batch 1 (issue "Scale": 3.8 ms per image)
AIHWKIT_SECONDS_PER_IMAGE = 3.8e-3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="training images timed (default 200)")
    args = parser.parse_args()
    data = load_dataset(Dataset.FASHION_MNIST, None)
    config = resolve_train_config(options={"network.name": "lenet5", "algo": "sgd", "batch_size": "1"})
    algorithm = create_algorithm(config, (784, 10), np.random.SeedSequence(0))
    started = time.perf_counter()
    for index in range(args.images):
        algorithm.train_batch(data.x_train[index : index + 1], data.y_train[index : index + 1])
    per_image = (time.perf_counter() - started) / args.images
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load {os.getloadavg()}")
    print(f"lenet5 sgd constant-step batch 1: {1e3 * per_image:.2f} ms per image over {args.images} images")
    print(f"  = {60_000 * per_image:.0f} s per 60k-image epoch (target <= 115 s)")
    print(f"  aihwkit 1.2 reference (not rerun): {60_000 * AIHWKIT_SECONDS_PER_IMAGE:.0f} s per epoch")


if __name__ == "__main__":
    main()
