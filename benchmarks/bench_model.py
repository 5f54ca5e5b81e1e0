"""Speed of the behavioral model against IBM aihwkit's figures for the same work.

Prints
* median seconds per training epoch on the digits (64-32-10, batch 1) for ``fp``, analog SGD on
  ConstantStep and on SoftBounds (the epoch's training steps only; the accuracy evaluation after each
  epoch is timed separately and printed too);
* seconds per step of one 512x512 SoftBounds layer at batch 100: forward, backward and the pulsed
  update (100 sequential rank-1 updates), with inputs ``x ~ U(-1, 1)`` and errors ``d ~ N(0, 0.1)`` at
  ``lr = 0.01`` (printed: the pulses per sample this gives).

The aihwkit reference figures were measured by the project lead for IBM aihwkit 1.2.0 (C++, CPU, one
thread) on the same work and are quoted in the pulsetrain issue "Foundation and the behavioral model":
0.43 s/epoch fp, ~0.55 s/epoch ConstantStep or SoftBounds SGD, 1.09 s per 512x512 step. When aihwkit is
importable this script says so, but it does not drive aihwkit itself (not done: a side-by-side run);
otherwise it says it is absent. Either way it compares with the quoted figures.

Usage: ``python benchmarks/bench_model.py [--epochs 3] [--steps 5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from typing import Any

import numpy as np
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.data import load_digits_split
from pulsetrain.model.devices import SoftBoundsDevice
from pulsetrain.model.network import layer_sizes
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig
from pulsetrain.model.training import resolve_train_config

from pulsetrain.results import write_json

#: aihwkit 1.2.0, CPU, one thread, measured on this task (pulsetrain issue #2)
AIHWKIT_SECONDS = {
    "fp": 0.43,
    "sgd-constant-step": 0.55,
    "sgd-soft-bounds": 0.55,
    "soft-bounds-512x512-step": 1.09,
}


def epoch_seconds(algo: str, device: str, epochs: int) -> dict[str, Any]:
    """Median seconds of the training steps of one epoch (digits, 64-32-10, batch 1)."""
    data = load_digits_split()
    config = resolve_train_config(options={"algo": algo, "device": device, "epochs": epochs})
    sizes = layer_sizes(data.n_features, config.network.hidden, data.n_classes)
    algorithm = create_algorithm(config, sizes, np.random.SeedSequence(0))
    rng = np.random.default_rng(0)
    train_times, cpu_times, eval_times = [], [], []
    for _ in range(epochs):
        order = rng.permutation(data.x_train.shape[0])
        start, cpu_start = time.perf_counter(), time.process_time()
        for index in order:
            algorithm.train_batch(data.x_train[index : index + 1], data.y_train[index : index + 1])
        train_times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
        start = time.perf_counter()
        logits = algorithm.predict(data.x_test)
        eval_times.append(time.perf_counter() - start)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == data.y_test))
    return {
        "seconds_per_epoch": statistics.median(train_times),
        "cpu_seconds_per_epoch": statistics.median(cpu_times),
        "evaluation_seconds": statistics.median(eval_times),
        "test_accuracy_after": accuracy,
        "epochs": epochs,
    }


def large_layer_step_seconds(steps: int) -> dict[str, Any]:
    """Seconds per forward + backward + pulsed update of a 512x512 SoftBounds tile at batch 100."""
    rng = np.random.default_rng(0)
    tile = Tile(
        512,
        512,
        device=SoftBoundsDevice(),
        forward_io=IOConfig(),
        backward_io=IOConfig(),
        update=UpdateConfig(),
        output_scale=3.0,
        pulse_source=FloatPulseSource(np.random.default_rng(1)),
        rng=np.random.default_rng(2),
    )
    tile.set_weights(rng.uniform(-0.3, 0.3, size=(512, 512)))
    times, cpu_times = [], []
    for _ in range(steps):
        x = rng.uniform(-1, 1, size=(100, 512))
        d = rng.normal(0, 0.1, size=(100, 512))
        start, cpu_start = time.perf_counter(), time.process_time()
        tile.forward(x)
        tile.backward(d)
        tile.update(x, d, lr=0.01)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return {
        "seconds_per_step": statistics.median(times),
        "cpu_seconds_per_step": statistics.median(cpu_times),
        "pulses_per_sample": tile.total_pulses / (100 * steps),
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per digits measurement (median)")
    parser.add_argument("--steps", type=int, default=5, help="512x512 steps (median)")
    parser.add_argument("--json", default=None, help="write the numbers to this JSON file")
    args = parser.parse_args()

    have_aihwkit = importlib.util.find_spec("aihwkit") is not None
    results: dict[str, Any] = {
        "aihwkit_installed": have_aihwkit,
        "aihwkit_reference_seconds": AIHWKIT_SECONDS,
    }
    for key, algo, device in (
        ("fp", "fp", "ideal"),
        ("sgd-constant-step", "sgd", "constant-step"),
        ("sgd-soft-bounds", "sgd", "soft-bounds"),
    ):
        results[key] = epoch_seconds(algo, device, args.epochs)
    results["soft-bounds-512x512-step"] = large_layer_step_seconds(args.steps)

    load = os.getloadavg()[0]
    results["load_average_1min"] = load
    results["cpu_count"] = os.cpu_count()
    print(f"pulsetrain behavioral model speed (NumPy, this machine: {os.cpu_count()} cores, load {load:.1f})")
    print(
        "wall = median wall-clock seconds; cpu = median CPU seconds of this process (less sensitive to a "
        "busy machine)"
    )
    print(
        f"{'work':34s} {'wall s':>8s} {'cpu s':>8s} {'aihwkit s':>10s} "
        f"{'wall/aihwkit':>13s} {'cpu/aihwkit':>12s}"
    )
    for key, reference in AIHWKIT_SECONDS.items():
        entry = results[key]
        unit = "step" if "512" in key else "epoch"
        seconds = entry[f"seconds_per_{unit}"]
        cpu = entry[f"cpu_seconds_per_{unit}"]
        entry["ratio_to_aihwkit"] = seconds / reference
        entry["cpu_ratio_to_aihwkit"] = cpu / reference
        print(
            f"{key + ' (s/' + unit + ')':34s} {seconds:8.3f} {cpu:8.3f} {reference:10.2f} "
            f"{seconds / reference:12.2f}x {cpu / reference:11.2f}x"
        )
    for key in ("fp", "sgd-constant-step", "sgd-soft-bounds"):
        entry = results[key]
        print(
            f"  {key}: evaluation of the 360 test samples {entry['evaluation_seconds']:.3f} s; "
            f"test accuracy after {entry['epochs']} epochs {100 * entry['test_accuracy_after']:.1f} %"
        )
    print(f"  512x512 step: {results['soft-bounds-512x512-step']['pulses_per_sample']:.0f} pulses per sample")
    if have_aihwkit:
        print("aihwkit is importable here, but this script does not drive it: the figures above are the")
        print("quoted reference (issue #2), not a side-by-side run on this machine.")
    else:
        print("aihwkit is not installed here: compared with the figures quoted for aihwkit 1.2.0 (issue #2).")
    if args.json:
        write_json(args.json, results)


if __name__ == "__main__":
    main()
