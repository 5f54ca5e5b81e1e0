"""Benchmark of pulsetrain.synth: the full estimate (default network, every algorithm) cold and warm.

Run: ``.venv/bin/python benchmarks/bench_synth.py [--no-synthesis] [--tech rpu_45nm] [--json out.json]``.
The first pass synthesizes the digital periphery blocks it needs (Nangate45 with OpenSTA power; cached),
the second pass reads every report from the cache: the warm time is the one the project promises to keep
at or below 60 s on a 2-core machine.

``--sweep TARGETS`` (e.g. ``generic,nangate45``) instead runs the array-size sweep of the issue (16..512)
for the pulse generator, the SBE unit and the tile top, one synthesis at a time, each point in its own
``pulsetrain synth`` process stopped after ``--timeout-s`` (a stopped point is a row with an ``error``),
and writes the rows (``--json``) and a Markdown table (``--markdown``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pulsetrain.synth.estimator import ESTIMATE_ALGORITHMS, Algorithm, EstimateConfig, estimate

from pulsetrain.results import write_json


def run_all(technology: str, use_synthesis: bool) -> tuple[float, list[dict[str, object]]]:
    """Estimate every algorithm once; return the wall time and one summary row per algorithm."""
    started = time.perf_counter()
    rows = []
    for name in ESTIMATE_ALGORITHMS:
        result = estimate(
            EstimateConfig(algorithm=Algorithm(name), technology=technology, use_synthesis=use_synthesis)
        )
        rows.append(
            {
                "algorithm": name,
                "area_um2": result.total_area_um2,
                "energy_per_sample_pJ": result.total_energy_per_sample_pJ,
                "latency_per_sample_ns": result.total_latency_per_sample_ns,
                "latency_source": result.latency_source,
                "digital_area_um2": result.area_um2["digital"],
            }
        )
    return time.perf_counter() - started, rows


#: the blocks whose growth with the array the sweep shows.
SWEEP_BLOCKS: tuple[str, ...] = ("pulse-generator", "sbe-unit", "tile-periphery")


def sweep_point(block: str, target: str, size: int, timeout_s: float) -> dict[str, Any]:
    """Synthesize one sweep point in a child ``pulsetrain synth`` (its whole process group is stopped on
    timeout, so the yosys / OpenSTA children go too); the summary row, or a row with ``error``."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "point.json"
        command = [
            sys.executable,
            "-m",
            "pulsetrain.cli",
            "synth",
            "--block",
            block,
            "--target",
            target,
            "--sweep",
            f"array_size={size}",
            "--json",
            str(out),
        ]
        started = time.perf_counter()
        child = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            _, stderr = child.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            return {
                "block": block,
                "target": target,
                "array_size": size,
                "error": f"stopped after {timeout_s:.0f} s without a report",
            }
        wall = time.perf_counter() - started
        if child.returncode != 0 or not out.is_file():
            message = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return {"block": block, "target": target, "array_size": size, "error": message[0]}
        row: dict[str, Any] = json.loads(out.read_text())["rows"][0]
        row["wall_s"] = round(wall, 1)
        return row


def run_sweep(targets: list[str], sizes: tuple[int, ...], timeout_s: float) -> list[dict[str, Any]]:
    """Every (target, block, size) point, one at a time, printed as it finishes."""
    rows = []
    for target in targets:
        for block in SWEEP_BLOCKS:
            for size in sizes:
                row = sweep_point(block, target, size, timeout_s)
                print(f"  {target:9s} {block:16s} {size:4d}  {row.get('error') or row.get('runtime_s')}")
                rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tech", default="rpu_45nm")
    parser.add_argument("--no-synthesis", action="store_true")
    parser.add_argument("--json", default=None)
    parser.add_argument(
        "--sweep", default=None, help="targets of the array-size sweep, e.g. generic,nangate45"
    )
    parser.add_argument("--timeout-s", type=float, default=600.0, help="limit of one sweep point")
    parser.add_argument("--markdown", default=None, help="write the sweep table here")
    args = parser.parse_args()
    if args.sweep:
        from pulsetrain.synth.sweeps import DEFAULT_SWEEPS, sweep_markdown

        rows = run_sweep(args.sweep.split(","), DEFAULT_SWEEPS["array_size"], args.timeout_s)
        if args.markdown:
            Path(args.markdown).write_text(sweep_markdown(rows, "array_size"))
        if args.json:
            write_json(args.json, {"timeout_s": args.timeout_s, "rows": rows})
        return
    cold, rows = run_all(args.tech, not args.no_synthesis)
    warm, _ = run_all(args.tech, not args.no_synthesis)
    print(
        f"full estimate, {len(rows)} algorithms: first pass {cold:.1f} s, warm pass {warm:.1f} s (limit 60 s)"
    )
    for row in rows:
        print(
            f"  {row['algorithm']:7s} area {row['area_um2']:10.0f} um^2  "
            f"E/sample {row['energy_per_sample_pJ']:9.1f} pJ  "
            f"t/sample {row['latency_per_sample_ns']:7.0f} ns  "
            f"({row['latency_source']})"
        )
    if args.json:
        write_json(args.json, {"cold_s": cold, "warm_s": warm, "rows": rows})


if __name__ == "__main__":
    main()
