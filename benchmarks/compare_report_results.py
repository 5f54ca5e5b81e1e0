"""Compare two ``pulsetrain report`` results.json files, timings aside: is the report's behaviour unchanged?

A refactoring of the report must give the same numbers from the same config. This prints every path at
which the two documents differ, leaving out what measures time or names the machine's state rather than
the computation: ``timing``, the code version (a hash of the source, which a refactoring changes by
definition), the cache folder, and every field whose name says it holds seconds (``wall_seconds``,
``build_seconds``, ``seconds`` of an epoch, ``samples_per_second``, the co-simulation's ``time_split``).
Exit 0 when nothing else differs, 1 otherwise.

Run: ``.venv/bin/python benchmarks/compare_report_results.py BEFORE/results.json AFTER/results.json``
(record BEFORE with ``pulsetrain report --quick --no-cache --out BEFORE`` on the old code).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: top-level or nested paths left out of the comparison (timings and the state of the machine)
IGNORED_PATHS: tuple[tuple[str, ...], ...] = (
    ("timing",),
    ("configuration", "code_version"),
    ("configuration", "execution", "cache_dir"),
)


def _ignored(path: tuple[str, ...]) -> bool:
    if any(path[: len(prefix)] == prefix for prefix in IGNORED_PATHS):
        return True
    if "time_split" in path:  # the co-simulation's split of its wall time between Python and simulator
        return True
    # any field that measures time where it ran: "seconds", "wall_seconds", "samples_per_second", ...
    return bool(path) and (
        path[-1] == "seconds" or path[-1].endswith("_seconds") or path[-1].endswith("_per_second")
    )


def differences(before: Any, after: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every path (``a / b / 3``) at which ``before`` and ``after`` differ, ignored paths left out."""
    if _ignored(path):
        return
    where = " / ".join(path) or "(top)"
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if key not in after:
                yield f"{where} / {key}: only before"
            elif key not in before:
                yield f"{where} / {key}: only after"
            else:
                yield from differences(before[key], after[key], (*path, key))
    elif isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            yield f"{where}: {len(before)} items before, {len(after)} after"
            return
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from differences(old, new, (*path, str(index)))
    elif isinstance(before, float) and isinstance(after, float) and math.isnan(before) and math.isnan(after):
        return
    elif before != after:
        yield f"{where}: {before!r} before, {after!r} after"


def main(argv: list[str] | None = None) -> int:
    """Print the differences; 0 when there are none."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    arguments = parser.parse_args(argv)
    before = json.loads(arguments.before.read_text())
    after = json.loads(arguments.after.read_text())
    found = list(differences(before, after))
    for line in found:
        print(line)
    print(f"{len(found)} difference(s) outside timings between {arguments.before} and {arguments.after}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
