"""Sweeps of periphery cost versus array size, ADC bits, BL and H width: a table and a plot."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pulsetrain.synth.blocks import block_design, knob_fields
from pulsetrain.synth.flows import FlowOptions, synthesize

from pulsetrain.config import ConfigError

__all__ = ["DEFAULT_SWEEPS", "SWEEP_COLUMNS", "plot_sweep", "sweep", "sweep_markdown"]

#: the sweep values of the issue: array size 16..512, ADC bits, BL, H width.
DEFAULT_SWEEPS: dict[str, tuple[int, ...]] = {
    "array_size": (16, 32, 64, 128, 256, 512),
    "adc_bits": (4, 6, 8, 10),
    "bl": (7, 15, 31, 63),
    "h_bits": (8, 12, 16, 24),
}


def sweep(
    blocks: Iterable[str],
    knob: str,
    values: Sequence[int],
    options: FlowOptions,
    *,
    base_knobs: dict[str, int] | None = None,
    sets: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Synthesize every block that has ``knob`` at every value; one row per (block, value)."""
    from pulsetrain.rtl.blocks import get_block

    rows: list[dict[str, Any]] = []
    for name in blocks:
        default = get_block(name).default_config()
        if not knob_fields(default, knob):
            continue
        for value in values:
            knobs = dict(base_knobs or {})
            knobs[knob] = value
            try:
                design = block_design(name, knobs=knobs, sets=sets)
            except ConfigError as error:
                rows.append({"block": name, knob: value, "error": str(error)})
                continue
            report = synthesize(design, options)
            row = {"block": name, knob: value, **report.summary()}
            row["runtime_s"] = report.runtime_s
            row["cached"] = report.cached
            rows.append(row)
    return rows


def _metric(rows: list[dict[str, Any]]) -> str:
    for name in ("total_area_um2", "area_um2", "luts", "cells"):
        if any(name in row for row in rows):
            return name
    return "cells"


def plot_sweep(rows: list[dict[str, Any]], knob: str, path: str | Path) -> Path:
    """Plot the growth of each block's cost with ``knob`` (log-log when the knob spans a decade)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = _metric(rows)
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for block in sorted({row["block"] for row in rows}):
        points = [(row[knob], row[metric]) for row in rows if row["block"] == block and metric in row]
        if points:
            xs, ys = zip(*sorted(points), strict=True)
            axis.plot(xs, ys, marker="o", label=block)
    values = [row[knob] for row in rows if knob in row]
    if values and max(values) >= 10 * min(values):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
    axis.set_xlabel(knob.replace("_", " "))
    label = (
        "area, logic + SRAM model (µm²)" if metric == "total_area_um2" else metric.replace("_um2", " (µm²)")
    )
    axis.set_ylabel(label.replace("_", " "))
    target = rows[0].get("target", "") if rows else ""
    axis.set_title(f"periphery cost vs {knob.replace('_', ' ')} ({target})")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out


#: columns of a sweep table, in order; those no row has are left out.
SWEEP_COLUMNS: tuple[str, ...] = (
    "cells",
    "flip_flops",
    "luts",
    "brams",
    "fmax_MHz",
    "area_um2",
    "sram_area_um2",
    "total_area_um2",
    "critical_path_ns",
    "power_W",
    "memory_bits",
    "runtime_s",
    "wall_s",
    "error",
)


def sweep_markdown(rows: list[dict[str, Any]], knob: str) -> str:
    """A Markdown table of sweep rows (one line per block and knob value, sorted), for reports.

    ``runtime_s`` is the synthesis time of the run that made the report (kept in the cache, so a
    cached row still says how long its synthesis took), ``wall_s`` the time of the whole point where the
    caller measured it; ``error`` says why a point has no numbers.
    """
    columns = ["block", "target", knob] + [c for c in SWEEP_COLUMNS if any(c in row for row in rows)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    ordered = sorted(rows, key=lambda r: (str(r.get("target", "")), str(r["block"]), int(r.get(knob, 0))))
    for row in ordered:
        cells = []
        for column in columns:
            value = row.get(column, "")
            if isinstance(value, float):
                cells.append(f"{value:.4g}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def with_target(options: FlowOptions, target: Any) -> FlowOptions:
    """``options`` for another target."""
    return dataclasses.replace(options, target=target)
