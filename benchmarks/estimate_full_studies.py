"""Process CPU seconds of the full studies that benchmarks/run_full_studies.sh runs, estimated.

Every distinct shape of run (study, kind, algorithm, network, activation, level, factor, batch, rank) is
run for 2 epochs (a regression run for 1200 steps) in this process; its CPU time per epoch (per step) is
scaled to the run's epochs (steps) and summed over the plan. Process time, not wall time, so that a loaded
machine inflates it less. A 2-epoch sample of a run with a training-accuracy target (sbe-batch) includes
the one epoch replayed step by step when the target is first reached, so sbe-batch is over-estimated.

    PYTHONPATH=... python benchmarks/estimate_full_studies.py     # prints one JSON line per study
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from pulsetrain.model import experiments
from pulsetrain.model.study_tuning import tuning_specs

#: the plans of run_full_studies.sh
PLANS: dict[str, dict[str, Any]] = {
    "bp-vs-dfa": {"seeds": (0, 1, 2, 3, 4), "activations": ("sigmoid", "tanh")},
    "offset-sweep": {"seeds": (0, 1, 2)},
    "sbe-batch": {"seeds": (0, 1, 2)},
}
SAMPLE_EPOCHS = 2
SAMPLE_STEPS = 1200
SHAPE_KEYS = ("algo", "network", "activation", "level", "factor", "batch", "rank")


def _cpu_seconds(spec: Mapping[str, Any]) -> float:
    started = time.process_time()
    experiments.run_one(spec)
    return time.process_time() - started


def _epochs(spec: Mapping[str, Any]) -> int:
    return int([item for item in spec["sets"] if item.startswith("epochs=")][-1].split("=")[1])


def estimate(study: str, options: Mapping[str, Any], memo: dict[tuple[Any, ...], float]) -> dict[str, Any]:
    """Runs, CPU seconds in all and of the longest run, for the full plan of ``study``."""
    axes = {key: value for key, value in options.items() if key != "seeds"}
    specs = experiments.plan(study, False, options["seeds"], **axes)
    runs = [*tuning_specs(specs), *specs]
    total = longest = 0.0
    for spec in runs:
        if spec["kind"] == "latency":
            continue
        key = (study, spec["kind"], *(spec.get(name) for name in SHAPE_KEYS))
        if spec["kind"] == "regression":
            if key not in memo:
                memo[key] = _cpu_seconds({**spec, "steps": SAMPLE_STEPS}) / SAMPLE_STEPS
            seconds = memo[key] * int(spec["steps"])
        else:
            if key not in memo:
                sample = {**spec, "sets": [*spec["sets"], f"epochs={SAMPLE_EPOCHS}"]}
                memo[key] = _cpu_seconds(sample) / SAMPLE_EPOCHS
            seconds = memo[key] * _epochs(spec)
        total += seconds
        longest = max(longest, seconds)
    return {"study": study, "runs": len(runs), "cpu_s": round(total), "longest_run_cpu_s": round(longest, 1)}


def main() -> None:
    experiments.run_one({**experiments.plan("defaults", True, (0,))[0], "sets": ["epochs=1"]})  # warm-up
    memo: dict[tuple[Any, ...], float] = {}
    for study, options in PLANS.items():
        print(json.dumps(estimate(study, options, memo)), flush=True)


if __name__ == "__main__":
    main()
