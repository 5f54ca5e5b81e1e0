"""Speed of one training epoch on digits (64-32-10, batch 1, soft-bounds devices) per algorithm.

Prints CPU seconds per epoch (training steps only, the median of ``--repeats`` epochs after one warm-up
epoch) for analog SGD and the TTv2 family (and DFA, SBE), the ratio of each to analog SGD (issue 3: a
TTv2 / c-TTv2 / AGAD epoch must cost at most 2x an SGD epoch), and the ratio to IBM aihwkit's TTv2-family
presets on the same task, measured by the issue's author with aihwkit 1.2.0 on this kind of machine:
0.70-0.82 s per epoch (issue 3; target at most 0.5x), and each TTv2-family epoch against issue 15's
absolute target of 0.2 s. aihwkit is not a dependency; where it is installed this benchmark does not run
it either (the quoted range is what it compares against).

The 2x criterion is a ratio between two measurements of this code base: it compares what a TTv2-family
epoch costs on top of the same pulsed updates of SGD (the transfers, the second array, the choppers),
and it gets harder to meet whenever the update that both share gets faster (SGD's epoch is then mostly
the shared part). The line it prints says so rather than hiding the ratio.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_algorithms.py [--repeats 3] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import numpy as np
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.data import load_digits_split
from pulsetrain.model.network import layer_sizes
from pulsetrain.model.training import resolve_train_config

from pulsetrain.results import write_json

#: aihwkit 1.2.0 TTv2-family presets on digits 64-32-10, seconds per epoch (issue 3, measured there)
AIHWKIT_SECONDS_PER_EPOCH = (0.70, 0.82)
ALGORITHMS = ("sgd", "ttv2", "c-ttv2", "agad", "dfa", "sbe")
#: issue 15 ("Scale"): a digits TTv2 / c-TTv2 / AGAD epoch in at most this many CPU seconds
FAMILY_TARGET_SECONDS = 0.2


def epoch_seconds(algo: str, repeats: int) -> list[float]:
    """Training-only CPU seconds of ``repeats`` epochs (after one warm-up epoch) of ``algo``.

    CPU time of this process (``time.process_time``), not wall time: on a shared machine the wall time
    of a single-threaded loop mostly measures the other processes. Set ``OMP_NUM_THREADS=1`` (and the
    BLAS equivalents) so that CPU time equals the single core's busy time.
    """
    data = load_digits_split()
    sets = [f"algo={algo}", "device.kind=soft-bounds"]
    if algo == "sbe":
        sets.append("batch_size=16")
    config = resolve_train_config(sets=sets)
    sizes = layer_sizes(data.n_features, config.network.hidden, data.n_classes)
    algorithm = create_algorithm(config, sizes, np.random.SeedSequence(0))
    rng = np.random.default_rng(0)
    batch = config.batch_size
    times = []
    for epoch in range(repeats + 1):
        order = rng.permutation(data.x_train.shape[0])
        started = time.process_time()
        for start in range(0, order.size, batch):
            index = order[start : start + batch]
            algorithm.train_batch(data.x_train[index], data.y_train[index])
        if epoch:
            times.append(time.process_time() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per algorithm")
    parser.add_argument("--json", dest="json_path", default=None, help="write the numbers to this JSON file")
    args = parser.parse_args()
    rows: dict[str, dict[str, Any]] = {}
    for algo in ALGORITHMS:
        # the 1-minute load average before and after: on a shared machine CPU time still grows with
        # the load (caches and cores are shared), so every figure is reported beside it
        load_before = os.getloadavg()[0]
        times = epoch_seconds(algo, args.repeats)
        load = [load_before, os.getloadavg()[0]]
        rows[algo] = {"seconds_per_epoch": statistics.median(times), "all": times, "load_average": load}
    sgd = rows["sgd"]["seconds_per_epoch"]
    low, high = AIHWKIT_SECONDS_PER_EPOCH
    print(f"{'algorithm':<8} {'s/epoch':>8} {'vs SGD':>7} {'vs aihwkit 0.70-0.82 s':>24} {'load avg':>11}")
    for algo, row in rows.items():
        seconds = row["seconds_per_epoch"]
        row["ratio_to_sgd"] = seconds / sgd
        row["ratio_to_aihwkit"] = [seconds / high, seconds / low]
        load_text = "{:.1f}-{:.1f}".format(*row["load_average"])
        print(
            f"{algo:<8} {seconds:8.3f} {seconds / sgd:7.2f} {seconds / high:10.2f} - {seconds / low:<11.2f}"
            f" {load_text:>11}"
        )
    family = ("ttv2", "c-ttv2", "agad")
    family_ok = all(rows[a]["ratio_to_sgd"] <= 2.0 for a in family)
    worst = max(rows[a]["ratio_to_sgd"] for a in family)
    print(
        f"TTv2 family epoch <= 2x this code's analog SGD epoch (issue 3; the same compiled pulsed update "
        f"in both, so a faster update raises the ratio): {'yes' if family_ok else 'NO'} (worst {worst:.2f}x)"
    )
    # issue 15: an absolute target for the same epochs (bit-identical results to the per-pulse rule)
    absolute_ok = all(rows[a]["seconds_per_epoch"] <= FAMILY_TARGET_SECONDS for a in family)
    print(f"TTv2 family epoch <= {FAMILY_TARGET_SECONDS} s (issue 15): {'yes' if absolute_ok else 'NO'}")
    # issue 3's second target: at most half of aihwkit's epoch, judged against its fastest (0.70 s)
    aihwkit_ok = all(rows[a]["seconds_per_epoch"] <= 0.5 * low for a in family)
    print(f"TTv2 family epoch <= 0.5x aihwkit ({0.5 * low:.2f} s): {'yes' if aihwkit_ok else 'NO'}")
    if args.json_path:
        write_json(args.json_path, {"rows": rows, "aihwkit_seconds_per_epoch": AIHWKIT_SECONDS_PER_EPOCH})


if __name__ == "__main__":
    main()
