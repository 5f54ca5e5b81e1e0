"""Record, then compare, what a refactoring must not change: trained weights, cosim decisions, the report.

A refactoring that moves declarations around (the catalogue, shared enums, split ``elaborate`` methods)
must leave every result bit for bit as it was. This script records a fingerprint of three jobs, through
the ``pulsetrain`` command line exactly as a user runs them, and compares it with an earlier recording:

1. ``pulsetrain train --json`` for every registered algorithm (digits, one hidden layer of 8, two
   epochs): ``weights_sha256``, the accuracies and pulse counts;
2. ``pulsetrain cosim --algo A`` for every algorithm with an RTL periphery (Verilator, few samples): the
   decision and transaction counts per block, mismatches, cycles per block and the weights' digest;
3. the Verilog of every RTL block at its default config (``pulsetrain rtl``'s registry), without source
   locations: a split ``elaborate`` must emit the same netlist;
4. with ``--report``: ``pulsetrain report --quick``'s ``results.json`` with every timing removed (this
   takes minutes: it trains, co-simulates, synthesizes and runs the studies).

Record on the untouched tree, change the code, then compare::

    .venv/bin/python benchmarks/check_behaviour.py record /tmp/before.json [--report]
    .venv/bin/python benchmarks/check_behaviour.py compare /tmp/before.json [--report]

``compare`` exits 1 and prints every differing path when anything differs. Wall-clock figures
(seconds, samples per second, build times, log paths) are dropped before recording, since they change
from run to run; everything else is compared exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

#: keys whose values are timings, paths, the source digest or other run-to-run noise (matched against the
#: key's name)
NOISE_KEY = re.compile(
    r"(seconds|_s$|^wall|per_second|elapsed|timestamp|created|generated|^log$|waveform|^path$|cache|"
    r"^out$|dir$|_file$|^load|^code_version$)"
)

#: what a train run must reproduce
TRAIN_KEYS = ("weights_sha256", "test_accuracy", "train_accuracy", "epochs", "pulses", "max_device_pulses")
#: what a cosim run must reproduce
COSIM_KEYS = (
    "weights_sha256",
    "model_weights_sha256",
    "matches_model",
    "mismatches",
    "decisions_compared",
    "decisions_by_block",
    "transactions_compared",
    "transactions_by_block",
    "cycles",
    "pulses",
    "transfer_activity",
    "test_accuracy",
    "tiles_in_rtl",
    "read_adcs_in_rtl",
)


def _pulsetrain(*arguments: str) -> None:
    command = [sys.executable, "-m", "pulsetrain.cli", *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")


def strip_noise(value: Any) -> Any:
    """``value`` without the keys that hold timings, paths and other run-to-run noise."""
    if isinstance(value, dict):
        return {k: strip_noise(v) for k, v in value.items() if not NOISE_KEY.search(str(k))}
    if isinstance(value, list):
        return [strip_noise(v) for v in value]
    return value


def _algorithms() -> tuple[list[str], list[str]]:
    """Every ``--algo`` name, and those with an RTL periphery in ``pulsetrain cosim``."""
    from pulsetrain.cosim.training import COSIM_ALGORITHMS
    from pulsetrain.model.algorithms import ALGORITHMS

    return list(ALGORITHMS), list(COSIM_ALGORITHMS)


def record_train(algorithm: str, work: Path) -> dict[str, Any]:
    """The fingerprint of a short ``pulsetrain train`` run of ``algorithm``."""
    out = work / f"train-{algorithm}.json"
    _pulsetrain(
        "train", "--algo", algorithm, "--epochs", "2", "--hidden", "8", "--seed", "3",
        "--no-progress", "--json", str(out),
    )  # fmt: skip
    result = json.loads(out.read_text())
    return strip_noise({key: result[key] for key in TRAIN_KEYS if key in result})


def record_cosim(algorithm: str, work: Path, samples: int) -> dict[str, Any]:
    """The fingerprint of a short ``pulsetrain cosim --algo`` run on Verilator."""
    out = work / f"cosim-{algorithm}.json"
    _pulsetrain(
        "cosim", "--algo", algorithm, "--samples", str(samples), "--hidden", "8", "--seed", "1",
        "--sim", "verilator", "--json", str(out),
    )  # fmt: skip
    result = json.loads(out.read_text())
    fingerprint = {key: result[key] for key in COSIM_KEYS if key in result}
    fingerprint["cycles_by_block"] = result.get("time_split", {}).get("cycles_by_block")
    return strip_noise(fingerprint)


def record_rtl() -> dict[str, str]:
    """SHA-256 of each RTL block's Verilog at its default config (source locations left out)."""
    import hashlib

    from amaranth.back import verilog
    from pulsetrain.rtl.blocks import BLOCKS

    digests = {}
    for name, block in BLOCKS.items():
        text = verilog.convert(
            block.build(block.default_config()), name=name.replace("-", "_"), emit_src=False
        )
        digests[name] = hashlib.sha256(text.encode()).hexdigest()
    return digests


def record_report(work: Path) -> Any:
    """``pulsetrain report --quick``'s results.json, timings removed."""
    out = work / "report"
    _pulsetrain("report", "--quick", "--out", str(out), "--no-cache", "--workers", "1")
    return strip_noise(json.loads((out / "results.json").read_text()))


def record(*, report: bool, samples: int, only: str | None) -> dict[str, Any]:
    """Every fingerprint this script knows (``only``: just ``train``, ``cosim``, ``rtl`` or ``report``)."""
    algorithms, cosim_algorithms = _algorithms()
    fingerprints: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="check-behaviour-") as folder:
        work = Path(folder)
        if only in (None, "train"):
            for algorithm in algorithms:
                print(f"train {algorithm}", flush=True)
                fingerprints[f"train/{algorithm}"] = record_train(algorithm, work)
        if only in (None, "cosim"):
            for algorithm in cosim_algorithms:
                print(f"cosim {algorithm}", flush=True)
                fingerprints[f"cosim/{algorithm}"] = record_cosim(algorithm, work, samples)
        if only in (None, "rtl"):
            print("rtl", flush=True)
            fingerprints["rtl/verilog"] = record_rtl()
        if report and only in (None, "report"):
            print("report --quick", flush=True)
            fingerprints["report"] = record_report(work)
    return fingerprints


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Every path at which ``after`` differs from ``before``, with both values."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            where = f"{path}/{key}"
            if key not in after:
                found.append(f"{where}: missing after")
            elif key not in before:
                found.append(f"{where}: new after")
            else:
                found.extend(differences(before[key], after[key], where))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d
            for i, (b, a) in enumerate(zip(before, after, strict=True))
            for d in differences(b, a, f"{path}[{i}]")
        ]
    return [] if before == after else [f"{path}: {before!r} -> {after!r}"]


def main() -> int:
    """Command line: ``record FILE`` or ``compare FILE``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("record", "compare"))
    parser.add_argument("file", type=Path, help="the recording (JSON) to write or to compare with")
    parser.add_argument("--report", action="store_true", help="also pulsetrain report --quick (minutes)")
    parser.add_argument("--samples", type=int, default=12, help="training samples per cosim run")
    parser.add_argument("--only", choices=("train", "cosim", "rtl", "report"), help="record just this part")
    arguments = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    now = record(report=arguments.report, samples=arguments.samples, only=arguments.only)
    if arguments.action == "record":
        previous = (
            json.loads(arguments.file.read_text()) if arguments.only and arguments.file.exists() else {}
        )
        previous.update(now)
        temporary = arguments.file.with_suffix(".tmp")
        temporary.write_text(json.dumps(previous, indent=1, sort_keys=True))
        temporary.replace(arguments.file)
        print(f"recorded {len(now)} fingerprints into {arguments.file}")
        return 0
    before = strip_noise(json.loads(arguments.file.read_text()))
    parts = {key.split("/")[0] for key in now}
    before = {key: value for key, value in before.items() if key.split("/")[0] in parts}
    found = differences(before, now)
    for line in found:
        print(line)
    print(f"{len(now)} fingerprints compared: {'identical' if not found else f'{len(found)} differences'}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
