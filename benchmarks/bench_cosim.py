"""Co-simulation speed: training with the RTL periphery in the loop, and where the time goes.

Runs ``samples`` training samples of the digits network (64-32-10) with every pulsed update served by
the simulated pulse generators and, for ttv2 / c-ttv2 / agad, every transfer decision of every layer
served by the simulated transfer controllers (default c-TTv2 on Verilator); checks that the run matches
the pure model, and prints samples per second, the projected time of one epoch (the digits training
split: 1437 samples) and the time split: simulator cycles (free-running cost per cycle x cycles),
per-cycle Python in the transactions (per RTL block), and the model's own Python (training math, the
twin shadows, end-of-run accuracy). The machine's load average is printed with the figures, since the
machine may be shared.

    .venv/bin/python benchmarks/bench_cosim.py --algo c-ttv2 --sim verilator --samples 200 [--json out.json]

The epoch projection scales the per-sample time of the training steps to 1437 samples and adds one
accuracy pass over the training and test sets (pure-model reads, no RTL; timed separately).
"""

from __future__ import annotations

import argparse
import os
import time

from pulsetrain.cosim.training import CosimRequest, run_training_cosim

from pulsetrain.results import write_json

DIGITS_TRAIN_SAMPLES = 1437  # 80 % of scikit-learn's 1797 digits (model/data.py split)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", default="c-ttv2")
    parser.add_argument("--sim", default="verilator")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--hidden", default="32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    arguments = parser.parse_args()

    started = time.perf_counter()
    load_before = os.getloadavg()
    request = CosimRequest(
        options={"algo": arguments.algo, "seed": arguments.seed, "network.hidden": arguments.hidden},
        samples=arguments.samples,
        simulator=arguments.sim,
    )
    results = run_training_cosim(request)
    split = results["time_split"]
    samples = results["samples"]
    accuracy_seconds = split.get("accuracy_seconds", 0.0)
    training = split["transactions_seconds"] + split["model_python_seconds"] - accuracy_seconds
    per_sample = training / samples
    # one epoch: the training steps, plus one accuracy pass over the training and test sets (its reads
    # through the RTL ADC readouts; scaled from the pass measured here, which covered this run's samples
    # plus the test set)
    per_predicted = accuracy_seconds / max(1, split.get("accuracy_samples", 0))
    test_samples = max(0, split.get("accuracy_samples", 0) - samples)
    accuracy_epoch = per_predicted * (DIGITS_TRAIN_SAMPLES + test_samples)
    projected = per_sample * DIGITS_TRAIN_SAMPLES + accuracy_epoch + split["setup_seconds"]
    load_after = os.getloadavg()
    print(f"{arguments.algo} on {results['simulator']}, {samples} samples")
    print(f"  matches the pure model decision by decision: {results['matches_model']}")
    by_block = results.get("decisions_by_block", {})
    blocks = ", ".join(f"{count} by the {block}" for block, count in sorted(by_block.items()))
    print(f"  decisions compared: {results['decisions_compared']} ({blocks})")
    print(f"  transfer controllers in the RTL loop: {results.get('transfer_controllers_in_rtl', 0)}")
    print(f"  build (once per configuration): {results['build_seconds']:.1f} s")
    print(f"  samples per second: {samples / training:.1f}  ({1000 * per_sample:.1f} ms per sample)")
    cycles_by_block = split.get("cycles_by_block", {})
    per_block = ", ".join(
        f"{block} {cycles / samples:.0f}" for block, cycles in sorted(cycles_by_block.items())
    )
    print(f"  cycles per sample: {split['cycles_per_sample']:.0f} ({per_block})")
    print(f"  projected epoch ({DIGITS_TRAIN_SAMPLES} samples): {projected:.0f} s = {projected / 60:.1f} min")
    print("  where the time goes (this run):")
    print(
        f"    simulator cycles (free-running estimate): {split['simulator_cycles_seconds_estimate']:7.2f} s"
    )
    print(
        f"    per-cycle Python in transactions:         {split['per_cycle_python_seconds_estimate']:7.2f} s"
    )
    for block, seconds in sorted(split.get("transactions_seconds_by_block", {}).items()):
        print(f"      transactions of the {block + ':':21s}{seconds:7.2f} s (simulator + Python)")
    print(
        f"    model Python (training and accuracy math, twin shadows): {split['model_python_seconds']:7.2f} s"
    )
    print(
        f"    of all this, the accuracy passes (their reads through the RTL ADCs): {accuracy_seconds:7.2f} s"
    )
    print(f"    simulator start-up and set-up:            {split['setup_seconds']:7.2f} s")
    print(f"  wall time of this benchmark: {time.perf_counter() - started:.0f} s")
    print(
        f"  load average (1/5/15 min) before {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}, "
        f"after {load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f} on {os.cpu_count()} cores"
    )
    if arguments.json:
        write_json(
            arguments.json,
            {
                **results,
                "per_sample_seconds": per_sample,
                "projected_epoch_seconds": projected,
                "digits_train_samples": DIGITS_TRAIN_SAMPLES,
                "load_average_before": load_before,
                "load_average_after": load_after,
            },
        )


if __name__ == "__main__":
    main()
