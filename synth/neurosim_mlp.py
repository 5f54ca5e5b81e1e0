"""NeuroSim V2.1 and the estimator on one shared configuration, component by component.

NeuroSim ran outside this repository (its code is not ours to ship): the settings, the commit and the
numbers it printed are in ``synth/results/neurosim_mlp_run.json`` (``settings``) and
``synth/results/neurosim_mlp_output.txt`` (its printed chip summary, verbatim). This module parses that
output, runs the estimator on the same network and table, and writes the comparison table::

    python -m pulsetrain.synth.neurosim_mlp          # rewrites synth/results/neurosim_mlp_comparison.md

Shared: the MLP 64-512-10 (NeuroSim's conventional mapping needs a layer of at least 4 x 128 outputs, so
64-32-10 cannot be run on 128 x 128 subarrays), 32 nm LSTP, FeFET cells 240 kOhm / 24 MOhm, 6-bit SAR
ADCs (Param.cpp ``SARADC = true``) shared by 8 columns, 0.5 V / 10 ns reads, 4 V / 50 ns writes, 8-bit
inputs, 5-bit weights in one 5-bit cell. NeuroSim's training estimation does not finish on a network of
fully connected layers only (``training_run`` in the JSON says why), so what is compared is the forward
pass of one sample, which NeuroSim's inference mode estimates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pulsetrain.synth.estimator import Algorithm, Estimate, EstimateConfig, estimate
from pulsetrain.synth.latency import operation_timing
from pulsetrain.synth.technology import load_technology

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


def _forward(ours: Estimate, *categories: str) -> tuple[float, float, float]:
    """Our energy of the forward reads in ``categories`` with the ends of its range (pJ per sample)."""
    terms = [t for t in ours.energy_terms if t.category in categories and "forward read" in t.what]
    return (
        sum(t.value for t in terms),
        sum(t.bounds[0] for t in terms),
        sum(t.bounds[1] for t in terms),
    )


def comparison_rows(printed: dict[str, float], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """(component, NeuroSim, ours, ratio, why) for the forward read of one sample; NeuroSim-only parts say so.

    NeuroSim V2.1 could only be run in inference mode on this network (``settings["training_run"]``), so
    the comparison is the forward pass of one sample: areas, the energy of each part, the read latency.
    """
    network = tuple(int(n) for n in settings["network"])
    ours = _ours(network, int(settings["updates_per_epoch"]))
    tech = load_technology("neurosim_v21")
    timing = operation_timing(EstimateConfig(network=network, technology="neurosim_v21"), tech)
    forward_ns = sum(timing.read_cycles(fo) for _, fo in ours_layers(network)) * tech.digital.cycle_ns
    movement = next(t for t in ours.energy_terms if t.category == "movement")
    forward_bits = sum(network) * 8  # the forward half of the bits moved per sample
    table: list[tuple[str, str, tuple[str, ...], float | tuple[float, float, float] | None, str]] = [
        ("CIM arrays", "um^2", ("CIM",), ours.area_um2["arrays"], _WHY["arrays"]),
        ("ADCs", "um^2", ("Total ADC",), ours.area_um2["adcs"], _WHY["adc_area"]),
        ("accumulation circuits", "um^2", ("Total Accumulation",), None, _WHY["accumulation"]),
        ("other periphery (decoders, muxes, buffers)", "um^2", ("Other Peripheries",), None, _WHY["other"]),
        ("chip", "um^2", ("ChipArea",), None, _WHY["chip"]),
        (
            "ADC conversions",
            "pJ per sample",
            ("ADC", "readDynamicEnergy"),
            _forward(ours, "adcs"),
            _WHY["adc"],
        ),
        (
            "synaptic array without ADC (cells, lines, drivers)",
            "pJ per sample",
            ("Synaptic Array w/o ADC", "readDynamicEnergy"),
            _forward(ours, "arrays", "drivers"),
            _WHY["array"],
        ),
        (
            "accumulation (adders, shift-adds)",
            "pJ per sample",
            ("Accumulation", "readDynamicEnergy"),
            None,
            _WHY["accumulation"],
        ),
        ("buffers", "pJ per sample", ("Buffer readDynamicEnergy",), None, _WHY["buffers"]),
        (
            "interconnect",
            "pJ per sample",
            ("Interconnect readDynamicEnergy",),
            forward_bits * movement.per_unit,
            _WHY["interconnect"],
        ),
        ("DRAM", "pJ per sample", ("DRAM", "Energy"), None, _WHY["dram"]),
        (
            "forward read latency",
            "ns per sample",
            ("Chip PEAK readLatency of Forward",),
            forward_ns,
            _WHY["latency"],
        ),
    ]
    rows = []
    for component, unit, words, figure, why in table:
        neurosim = _find(printed, *words)
        mine, low, high = figure if isinstance(figure, tuple) else (figure, figure, figure)
        ratio = mine / neurosim if neurosim and mine is not None else None
        rows.append(
            {
                "component": component,
                "unit": unit,
                "neurosim": neurosim,
                "ours": mine,
                "ours_low": low,
                "ours_high": high,
                "ratio": ratio,
                "why": why,
            }
        )
    return rows


def ours_layers(network: tuple[int, ...]) -> list[tuple[int, int]]:
    """(fan_in, fan_out) per layer."""
    return list(zip(network[:-1], network[1:], strict=True))


_WHY: dict[str, str] = {
    "arrays": (
        "same 16F^2 cell at 32 nm; NeuroSim holds the 64x512 and 512x10 matrices in 8 whole 128x128 "
        "subarrays (268.4 um^2 each) and duplicates them 4x to fill its 512x512 tile (speed-up 4): 32 x "
        "268.4 = 8590; we count the 37,888 cells the weights occupy"
    ),
    "adc_area": (
        "same 6-bit SAR transistor model (302 um^2 per ADC on both sides); NeuroSim has 16 per subarray on "
        "32 subarrays (512), we one per 8 columns of each matrix plus the transposed read (130)"
    ),
    "accumulation": "not modelled by us: pulse-width inputs need no shift-add of bit-serial partial sums",
    "other": "our digital periphery comes from synthesis (not run at 512 lines here), NeuroSim's from models",
    "chip": "not comparable: our analog tile only (no synthesis at 512 lines), NeuroSim the whole chip",
    "adc": (
        "same SAR fit per conversion; NeuroSim converts once per input bit-plane (8 bit-serial cycles) "
        "with the column resistance of the actual weights and bits, we once per pulse-width read at the "
        "mean conductance"
    ),
    "array": (
        "NeuroSim charges word lines, bit lines, switch matrices and decoders per input bit; we count cell "
        "currents at the mean conductance and line C V^2 per read"
    ),
    "buffers": "not modelled by us for SGD (activations go straight to the next tile)",
    "interconnect": "our one tile hop per activation bit against NeuroSim's H-tree and buses",
    "dram": "not modelled by us: weights and activations stay on chip",
    "latency": (
        "NeuroSim's forward latency (PEAK: its layer-by-layer figure prints inf from the buffer model) "
        "with 8 bit-serial input cycles; ours the schedule's read operations (integration + 8 conversions "
        "of 7 ns)"
    ),
}


def write_table(rows: list[dict[str, Any]], settings: dict[str, Any], path: Path) -> None:
    """The comparison as a Markdown table with the run's provenance."""

    def number(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    lines = [
        "# NeuroSim V2.1 against the estimator, one shared configuration",
        "",
        (
            f"NeuroSim: {settings['neurosim']}; run {settings['date']}; "
            f"settings: {settings['param_changes']}; why inference only: {settings['training_run']}; "
            f"network {'-'.join(map(str, settings['network']))}; inputs: {settings['inputs']}."
        ),
        (
            "Ours: `pulsetrain estimate` with technology neurosim_v21 (SGD, no synthesis). Regenerate with "
            "`python -m pulsetrain.synth.neurosim_mlp`."
        ),
        "",
        (
            "Ours, range: the ends of our figure over its uncertain inputs (the input DAC's on-time, one "
            "cycle to the read window; the converter's figure of merit, NeuroSim's fit to the best and "
            "median SAR designs of Murmann's survey at 20-32 nm); `-` where our figure has none."
        ),
        "",
        "| component | unit | NeuroSim | ours | ours, range | ratio (ours / NeuroSim) | ratio, range | why |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        span = ratio_span = "-"
        if r["ours"] is not None and r["ours_low"] != r["ours_high"]:
            span = f"{r['ours_low']:.4g}..{r['ours_high']:.4g}"
            if r["neurosim"]:
                ratio_span = f"{r['ours_low'] / r['neurosim']:.3g}..{r['ours_high'] / r['neurosim']:.3g}"
        lines.append(
            f"| {r['component']} | {r['unit']} | {number(r['neurosim'])} | {number(r['ours'])} | {span} | "
            f"{number(r['ratio'])} | {ratio_span} | {r['why']} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    """Rewrite ``synth/results/neurosim_mlp_comparison.md`` from the stored NeuroSim output."""
    settings = json.loads((RESULTS / "neurosim_mlp_run.json").read_text())
    printed = parse_neurosim_output((RESULTS / "neurosim_mlp_output.txt").read_text())
    write_table(comparison_rows(printed, settings), settings, RESULTS / "neurosim_mlp_comparison.md")


if __name__ == "__main__":
    main()
