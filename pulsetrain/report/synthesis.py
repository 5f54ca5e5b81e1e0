"""Report part ``synthesis``: every periphery block of the catalogue synthesized for each target."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulsetrain import catalogue
from pulsetrain.executor import RunFailure
from pulsetrain.report.config import ReportConfig
from pulsetrain.report.page import Plot, Section, Table, figure_png
from pulsetrain.report.part import (
    NoResult,
    Part,
    PartData,
    PartOutcome,
    PartPlan,
    Unavailable,
    failure_text,
    failures,
    require,
    spec_from_plain,
    typed_run,
)

KEY = "synthesis"
TITLE = "Synthesis of the periphery blocks"


@dataclass(frozen=True, kw_only=True)
class SynthSpec:
    """One block at its default config for one target (``pulsetrain synth --block B --target T``)."""

    #: block name (the catalogue's)
    block: str
    #: synthesis target
    target: str


@dataclass(frozen=True, kw_only=True)
class SynthesisData(PartData):
    """results.json's ``synthesis`` entry: every finished report's summary."""

    #: ``{"block", "target", "summary"}`` per finished run
    reports: list[dict[str, Any]]


#: the summary's fields shown on the page: key, column header, format
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("cells", "cells", "{:d}"),
    ("flip_flops", "flip-flops", "{:d}"),
    ("memory_bits", "memory bits", "{:d}"),
    ("luts", "LUTs", "{:d}"),
    ("fmax_MHz", "Fmax MHz", "{:.0f}"),
    ("area_um2", "area µm²", "{:.0f}"),
    ("sram_area_um2", "SRAM µm²", "{:.0f}"),
    ("critical_path_ns", "critical path ns", "{:.2f}"),
    ("power_W", "power µW", "{:.1f}"),
)


def synth_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Synthesize one registry block at its default config for one target; the report's headline row."""
    from pulsetrain.synth.blocks import block_design
    from pulsetrain.synth.flows import FlowOptions, Target, synthesize

    spec = spec_from_plain(SynthSpec, plain)
    report = synthesize(block_design(spec.block), FlowOptions(target=Target(spec.target)))
    return {"block": spec.block, "target": spec.target, "summary": report.summary()}


def plan(config: ReportConfig) -> list[PartPlan]:
    """One run per block and target."""
    require("pulsetrain.synth.blocks", "block_design")
    require("pulsetrain.synth.flows", "synthesize", "FlowOptions", "Target")
    names = catalogue.block_names()
    if not names:
        raise Unavailable("the block catalogue (pulsetrain.catalogue.BLOCKS) is empty")
    targets = config.cost.targets
    if not targets:
        raise Unavailable("no synthesis target chosen (cost.targets is empty)")
    runs = tuple(
        typed_run(synth_run, SynthSpec(block=block, target=target), f"synth {block} {target}")
        for block in names
        for target in targets
    )

    def assemble(results: list[Any]) -> PartOutcome:
        return assemble_synthesis(list(targets), results)

    return [PartPlan(key=KEY, title=TITLE, runs=runs, assemble=assemble)]


def _format_cell(key: str, value: Any, pattern: str) -> str:
    if value is None:
        return "-"
    if key == "power_W":
        value = value * 1e6
    if pattern == "{:d}":
        return str(int(value))
    return pattern.format(float(value))


def assemble_synthesis(targets: list[str], results: list[Any]) -> PartOutcome:
    """A table per target and the area plot of the ASIC targets."""
    section = Section(
        KEY,
        TITLE,
        intro=(
            "Every block of the catalogue at its default config (pulsetrain synth --block NAME --target T)."
        ),
    )
    failed = failures(results)
    rows_data = [result for result in results if not isinstance(result, RunFailure)]
    for failure in failed:
        section.notes.append(f"not available: {failure.label}: {failure.error}")
    if not rows_data:
        section.unavailable = failure_text(failed) if failed else "no synthesis run finished"
        return PartOutcome(section=section, data=NoResult(status="not available", reason=section.unavailable))
    for target in targets:
        rows = [result["summary"] for result in rows_data if result["target"] == target]
        if not rows:
            continue
        columns = [column for column in COLUMNS if any(column[0] in row for row in rows)]
        section.tables.append(
            Table(
                ["block", *(label for _, label, _ in columns)],
                [[row["block"], *(_format_cell(k, row.get(k), p) for k, _, p in columns)] for row in rows],
                f"target {target}",
            )
        )
    asic = [r["summary"] for r in rows_data if r["summary"].get("area_um2") is not None]
    if asic:
        section.plots.append(_area_plot(asic))
    return PartOutcome(section=section, data=SynthesisData(status="ok", reports=rows_data))


def _area_plot(rows: list[dict[str, Any]]) -> Plot:
    def draw(figure: Any) -> None:
        axes = figure.add_subplot(1, 1, 1)
        targets = sorted({row["target"] for row in rows})
        blocks = sorted({row["block"] for row in rows})
        width = 0.8 / max(1, len(targets))
        for t_index, target in enumerate(targets):
            values = []
            for block in blocks:
                match = [r for r in rows if r["block"] == block and r["target"] == target]
                values.append(
                    (match[0]["area_um2"] + match[0].get("sram_area_um2", 0.0)) if match else math.nan
                )
            positions = [b + (t_index - (len(targets) - 1) / 2) * width for b in range(len(blocks))]
            axes.bar(positions, values, width=width, label=target)
        axes.set_xticks(range(len(blocks)))
        axes.set_xticklabels(blocks, rotation=30, ha="right", fontsize=8)
        axes.set_ylabel("area (µm²)")
        axes.set_yscale("log")
        axes.set_title("Periphery block area (cells + SRAM model)")
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3, axis="y")

    return Plot("synthesis area", figure_png(draw, height_in=4.2), "Area of each block per ASIC target.")


PART = Part(key=KEY, title=TITLE, switch="cost", plan=plan)
