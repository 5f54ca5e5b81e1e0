"""Benchmark of pulsetrain.synth: the full estimate (default network, every algorithm) cold and warm.

Run: ``.venv/bin/python benchmarks/bench_synth.py [--no-synthesis] [--tech rpu_45nm] [--json out.json]``.
The first pass synthesizes the digital periphery blocks it needs (Nangate45 with OpenSTA power; cached),
the second pass reads every report from the cache: the warm time is the one the project promises to keep
at or below 60 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tech", default="rpu_45nm")
    parser.add_argument("--no-synthesis", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
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
