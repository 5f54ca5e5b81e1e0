"""Functional coverage for the benches, on cocotb-coverage's ``CoverPoint`` and ``coverage_db``.

A bench declares the bins that matter for its logic (chopper flips of each sign, pointer wrap, codes
at both rails, pulse counts 0 and BL, stalls on each stream) with :meth:`Coverage.point`, samples them
as the design runs, and reports :meth:`Coverage.summary` to the host: per point the bins, their hits,
and the names of bins never hit, which the long randomized mode prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cocotb_coverage.coverage import CoverPoint, coverage_db


class Coverage:
    """A group of cover points named ``<group>.<point>`` in cocotb-coverage's global database."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._samplers: dict[str, Callable[[Any], None]] = {}

    def point(
        self,
        name: str,
        bins: Sequence[Any],
        *,
        labels: Sequence[str] | None = None,
        relation: Callable[[Any, Any], bool] | None = None,
    ) -> Callable[[Any], None]:
        """Declare a cover point and return its sampler: call it with one value per observation.

        ``bins`` are matched with ``==`` unless ``relation(value, bin)`` is given; ``labels`` name the bins
        in reports (default: ``str(bin)``).
        """
        full = f"{self.group}.{name}"
        names = list(labels) if labels is not None else [str(b) for b in bins]

        @CoverPoint(full, bins=list(bins), bins_labels=names, rel=relation)
        def sample(value: Any) -> None:
            return None

        self._samplers[name] = sample
        return sample

    def sample(self, name: str, value: Any) -> None:
        """Sample point ``name`` with ``value``."""
        self._samplers[name](value)

    def summary(self) -> dict[str, Any]:
        """Per point: size, covered bins, hits per bin and the bins never hit (JSON-ready)."""
        points: dict[str, Any] = {}
        for name in self._samplers:
            item = coverage_db[f"{self.group}.{name}"]
            hits = {str(k): int(v) for k, v in item.detailed_coverage.items()}
            points[name] = {
                "size": int(item.size),
                "covered": int(item.coverage),
                "hits": hits,
                "unhit": [k for k, v in hits.items() if v == 0],
            }
        return {"group": self.group, "points": points}


def unhit_bins(summary: dict[str, Any]) -> list[str]:
    """``point:bin`` names of every bin never hit in a :meth:`Coverage.summary`."""
    return [f"{point}:{b}" for point, data in summary.get("points", {}).items() for b in data["unhit"]]


def format_summary(summary: dict[str, Any]) -> str:
    """A few lines for humans: coverage per point and any unhit bins by name."""
    lines = [f"coverage of {summary.get('group', '?')}:"]
    for point, data in summary.get("points", {}).items():
        line = f"  {point}: {data['covered']}/{data['size']} bins"
        if data["unhit"]:
            line += f"; never hit: {', '.join(data['unhit'])}"
        lines.append(line)
    return "\n".join(lines)
