"""NeuroSim V2.1 and the estimator on one shared configuration, component by component.

NeuroSim ran outside this repository (its code is not ours to ship): the settings, the commit and the
numbers it printed are in ``synth/results/neurosim_mlp_run.json`` (``settings``) and
``synth/results/neurosim_mlp_output.txt`` (its printed chip summary, verbatim). This module parses that
output, runs the estimator on the same network and table, and writes the comparison table::

    python -m pulsetrain.synth.neurosim_mlp          # rewrites synth/results/neurosim_mlp_comparison.md

Shared: the MLP 64-512-10 (NeuroSim's conventional mapping needs a layer of at least 4 x 128 outputs, so
64-32-10 cannot be run on 128 x 128 subarrays), 32 nm LSTP, FeFET cells 240 kOhm / 24 MOhm, 6-bit SAR
ADCs (Param.cpp ``SARADC = true``) shared by 8 columns, 0.5 V / 10 ns reads, 4 V / 50 ns writes, 8-bit
inputs, 5-bit weights in one 5-bit cell, one sample per update, 1797 updates per epoch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pulsetrain.synth.estimator import Algorithm, Estimate, EstimateConfig, estimate

__all__ = ["comparison_rows", "main", "parse_neurosim_output", "write_table"]

RESULTS = Path(__file__).resolve().parent / "results"
_LINE = re.compile(r"^(?P<label>.+?)\s*(?:is)?\s*:\s*(?P<value>[-+0-9.eE]+)\s*(?P<unit>um\^2|ns|pJ)\s*$")


def parse_neurosim_output(text: str) -> dict[str, float]:
    """``label -> value`` of every ``label is : value unit`` line of NeuroSim's chip summary.

    Only the summary after ``ChipArea`` is read (the per-layer breakdowns repeat the labels); a label
    printed twice keeps its first value.
    """
    start = text.find("ChipArea")
    values: dict[str, float] = {}
    for line in text[start:].splitlines() if start >= 0 else ():
        match = _LINE.match(line.strip().lstrip("-").strip())
        if match:
            values.setdefault(match.group("label").strip(), float(match.group("value")))
    return values


def _ours(network: tuple[int, ...], samples: int) -> Estimate:
    return estimate(
        EstimateConfig(
            network=network,
            algorithm=Algorithm.SGD,
            technology="neurosim_v21",
            samples_per_epoch=samples,
            use_synthesis=False,
        )
    )


def _find(printed: dict[str, float], *words: str) -> float | None:
    for label, value in printed.items():
        if all(word.lower() in label.lower() for word in words):
            return value
    return None


def comparison_rows(printed: dict[str, float], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """(component, NeuroSim, ours, ratio, why) for what both print; NeuroSim-only parts say so."""
    network = tuple(int(n) for n in settings["network"])
    samples = int(settings["updates_per_epoch"])
    ours = _ours(network, samples)
    epoch = samples * 1e-6  # pJ per sample -> µJ per epoch; ns per sample -> ms per epoch
    rows: list[dict[str, Any]] = []

    def row(component: str, neurosim: float | None, mine: float | None, unit: str, why: str) -> None:
        ratio = mine / neurosim if neurosim and mine is not None else None
        rows.append(
            {
                "component": component,
                "unit": unit,
                "neurosim": neurosim,
                "ours": mine,
                "ratio": ratio,
                "why": why,
            }
        )

    for component, words, mine, why in _AREA_ROWS(ours):
        value = _find(printed, *words)
        row(component, value, mine, "um^2", why)
    energy = ours.energy_per_sample_pJ
    for component, words, mine, why in _ENERGY_ROWS(energy, epoch):
        value = _find(printed, *words)
        row(component, value * 1e-6 if value is not None else None, mine, "uJ per epoch", why)
    latency = _find(printed, "Chip total Latency")
    row(
        "latency per epoch",
        latency * 1e-6 if latency is not None else None,
        ours.total_latency_per_sample_ns * epoch,
        "ms per epoch",
        "NeuroSim reads bit-serially (8 input cycles per read) and writes row by row with 50 ns pulses; "
        "we read once with pulse-width inputs and update all rows at once with BL slots",
    )
    return rows


def _AREA_ROWS(ours: Estimate) -> list[tuple[str, tuple[str, ...], float | None, str]]:  # noqa: N802
    area = ours.area_um2
    return [
        (
            "CIM arrays (forward + activation gradient)",
            ("CIM",),
            area["arrays"],
            (
                "we count the cells the weights occupy; NeuroSim whole 128x128 subarrays in tiles, "
                "duplicated to fill them (its floorplan prints a speed-up of 4 per layer)"
            ),
        ),
        (
            "ADCs",
            ("Total ADC",),
            area["adcs"],
            (
                "same SAR transistor model; NeuroSim puts 16 ADCs on every 128x128 subarray (and on every "
                "duplicate), we one per 8 columns of each layer's matrix plus the transposed read"
            ),
        ),
        (
            "chip (everything)",
            ("ChipArea",),
            None,
            "we cost the analog tile only here (no synthesis at 512 lines)",
        ),
    ]


def _ENERGY_ROWS(
    energy: dict[str, float], epoch: float
) -> list[tuple[str, tuple[str, ...], float | None, str]]:  # noqa: N802
    return [
        (
            "ADC conversions",
            ("ADC", "readDynamicEnergy"),
            energy["adcs"] * epoch,
            (
                "same SAR fit; NeuroSim converts every input bit (8 bit-serial reads) of every subarray, "
                "we one pulse-width read per sample"
            ),
        ),
        (
            "synaptic array reads without ADC (+ drivers)",
            ("Synaptic Array w/o ADC", "readDynamicEnergy"),
            (energy["arrays"] + energy["drivers"]) * epoch,
            (
                "NeuroSim charges word lines, bit lines, switch matrices and decoders per input bit; we "
                "cell currents and line C V^2 per read"
            ),
        ),
        (
            "weight update",
            ("Weight Update", "writeDynamicEnergy"),
            energy["pulses"] * epoch,
            (
                "NeuroSim writes the epoch's weight change (old to new weights, erase before program); we "
                "the stochastic pulses of every sample"
            ),
        ),
        (
            "accumulation (adders, shift-adds)",
            ("Accumulation", "readDynamicEnergy"),
            None,
            "not modelled by us: pulse-width inputs need no shift-add of bit-serial partial sums",
        ),
        ("buffers", ("Buffer readDynamicEnergy",), None, "not modelled by us for SGD (no H or SBE buffers)"),
        (
            "interconnect",
            ("Interconnect readDynamicEnergy",),
            energy["movement"] * epoch,
            "our one tile hop per activation against NeuroSim's H-tree and buses",
        ),
        (
            "weight gradient (digital)",
            ("Weight Gradient", "readDynamicEnergy"),
            None,
            "not in our design: the analog rank-1 update needs no digital weight gradient",
        ),
        ("DRAM", ("DRAM",), None, "not modelled by us: the weights stay in the arrays"),
    ]


def write_table(rows: list[dict[str, Any]], settings: dict[str, Any], path: Path) -> None:
    """The comparison as a Markdown table with the run's provenance."""

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    lines = [
        "# NeuroSim V2.1 against the estimator, one shared configuration",
        "",
        (
            f"NeuroSim: {settings['neurosim']}; run {settings['date']}; "
            f"settings: {settings['param_changes']}; "
            f"network {'-'.join(map(str, settings['network']))}; inputs: {settings['inputs']}."
        ),
        (
            "Ours: `pulsetrain estimate` with technology neurosim_v21 (SGD, no synthesis). Regenerate with "
            "`python -m pulsetrain.synth.neurosim_mlp`."
        ),
        "",
        "| component | unit | NeuroSim | ours | ratio (ours / NeuroSim) | why |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['component']} | {r['unit']} | {number(r['neurosim'])} | {number(r['ours'])} | "
            f"{number(r['ratio'])} | {r['why']} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    """Rewrite ``synth/results/neurosim_mlp_comparison.md`` from the stored NeuroSim output."""
    settings = json.loads((RESULTS / "neurosim_mlp_run.json").read_text())
    printed = parse_neurosim_output((RESULTS / "neurosim_mlp_output.txt").read_text())
    write_table(comparison_rows(printed, settings), settings, RESULTS / "neurosim_mlp_comparison.md")


if __name__ == "__main__":
    main()
