"""The VGG-8 training estimate against the run NeuroSim V2.1's manual prints, and the LeNet-5 estimate.

NeuroSim's figures are those of the manual's example output (DNN+NeuroSim V2.1 User Manual, repository
file "Documents/DNN NeuroSim V2.1 User Manual.pdf" at 18289cbb1ffa74947a9e3b785688e530240b9bf1, Fig. 34
"hardware estimation summary" and Fig. 33 floorplan; read off the figure images). The run's settings are in
its log path (Fig. 32): ADCprecision 5, cellBit 5, max_level 32, onoffratio 10, batch 200, 8-bit
activations; our side uses the ``neurosim_vgg8_2020`` table that describes it. Per image = per epoch /
50,000 CIFAR-10 training images (Param.cpp at 114400ab: batchSize 200 x numIteration 250). ::

    python -m pulsetrain.synth.neurosim_vgg8    # rewrites synth/results/conv_estimates.md
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pulsetrain.synth.conv_estimate import ConvEstimateConfig, conv_estimate
from pulsetrain.synth.terms import CATEGORIES, Estimate

__all__ = ["NEUROSIM_VGG8_PRINTED", "VGG8_IMAGES_PER_EPOCH", "main", "vgg8_comparison"]

#: CIFAR-10 training images per epoch of the printed run (batchSize 200 x numIteration 250).
VGG8_IMAGES_PER_EPOCH = 50_000

#: What the manual's Fig. 34 prints for the VGG-8 training chip (per epoch: pJ, ns; areas: µm²).
NEUROSIM_VGG8_PRINTED: dict[str, float] = {
    "chip_area_um2": 4.82939e7,
    "cim_array_area_um2": 365072.0,
    "adc_area_um2": 1.884e7,
    "total_energy_pJ": 1.1946e14,
    "total_latency_ns": 1.77327e11,
    "adc_energy_pJ": 3.56533e12,
    "accumulation_energy_pJ": 2.81808e11,
    "array_energy_pJ": 4.34853e10,
    "buffer_energy_pJ": 2.00389e11,
    "interconnect_energy_pJ": 6.25233e11,
    "weight_gradient_energy_pJ": 2.87368e13,
    "weight_update_energy_pJ": 1.68608e8,
    "dram_energy_pJ": 8.60391e13,
    "buffer_latency_ns": 1.25263e11,
    "adc_latency_ns": 1.98249e9,
    "array_latency_ns": 1.95849e9,
    "weight_update_latency_ns": 1.72416e8,
}

#: Fig. 33: tiles and speed-up (duplication) per layer of NeuroSim's floorplan.
NEUROSIM_VGG8_FLOORPLAN: dict[str, tuple[int, ...]] = {
    "tiles": (1, 1, 1, 1, 1, 1, 8, 1),
    "speed_up": (64, 16, 8, 4, 2, 1, 1, 8),
}

RESULTS = Path(__file__).resolve().parent / "results"


def _ours_vgg8() -> Estimate:
    return conv_estimate(
        ConvEstimateConfig(
            network="vgg8", technology="neurosim_vgg8_2020", samples_per_epoch=VGG8_IMAGES_PER_EPOCH
        )
    )


#: a figure of ours with the low and high ends of its range (pJ, µm², ns).
_Figure = tuple[float, float, float]

#: selects energy terms: (category, words of which the description holds one; empty: every term).
_Selector = tuple[str, tuple[str, ...]]


def _sum(ours: Estimate, *selectors: _Selector) -> _Figure:
    """Energy per image of the terms any selector picks, with the ends of its range (pJ)."""

    def picked(category: str, what: str) -> bool:
        return any(category == c and (not words or any(w in what for w in words)) for c, words in selectors)

    terms = [t for t in ours.energy_terms if picked(t.category, t.what)]
    return (
        sum(t.value for t in terms),
        sum(t.bounds[0] for t in terms),
        sum(t.bounds[1] for t in terms),
    )


def _certain(value: float) -> _Figure:
    """A figure without an uncertain input in our model (areas, latencies)."""
    return value, value, value


def _scaled(figure: _Figure, factor: float) -> _Figure:
    return figure[0] * factor, figure[1] * factor, figure[2] * factor


_Row = tuple[str, str, float, _Figure, str]


def _area_rows(ours: Estimate) -> list[_Row]:
    """(quantity, unit, NeuroSim, ours, why) of the areas."""
    printed = NEUROSIM_VGG8_PRINTED
    return [
        (
            "CIM array area (forward + activation gradient)",
            "um^2",
            printed["cim_array_area_um2"],
            _certain(ours.area_um2["arrays"]),
            (
                "equal by construction of the cell (16F^2 at 32 nm, both sides); the 1360 subarrays are now "
                "computed by synth/mapping.py from NeuroSim's floorplan rules, and its tiles and "
                "duplication per "
                "layer equal those Fig. 33 prints (a test holds them)"
            ),
        ),
        (
            "ADC area",
            "um^2",
            printed["adc_area_um2"],
            _certain(ours.area_um2["adcs"]),
            (
                "same converter count (16 forward + 16 transposed per subarray, 1360 subarrays); "
                "ours is a 5-bit "
                "SAR (NeuroSim's SAR transistor model), the run used NeuroSim's multilevel sense "
                "amplifier (a "
                "flash converter); the review of issue 19 evaluated NeuroSim's own flash formula at "
                "5 bits to "
                "21.2 mm^2, 1.12x the print (not recomputed here)"
            ),
        ),
        (
            "chip area",
            "um^2",
            printed["chip_area_um2"],
            _certain(ours.total_area_um2),
            (
                "ours: arrays, ADCs and line drivers only; NeuroSim adds accumulation (7.6 mm^2), other "
                "periphery and buffers (8.8 mm^2), weight-gradient unit (10.7 mm^2) and "
                "interconnect (2.0 mm^2)"
            ),
        ),
    ]


def _energy_rows(ours: Estimate) -> list[_Row]:
    """(quantity, unit, NeuroSim, ours, why) of the energies per image."""
    printed = NEUROSIM_VGG8_PRINTED
    per_image = 1.0 / VGG8_IMAGES_PER_EPOCH
    energy = ours.energy_per_sample_pJ
    reads = ("forward", "backward")
    everything = tuple((c, ()) for c in CATEGORIES)
    update: tuple[_Selector, ...] = (("pulses", ()), ("drivers", ("update",)))
    total = _sum(ours, *everything)
    updates = _sum(ours, *update)
    return [
        (
            "energy per image, total",
            "uJ",
            printed["total_energy_pJ"] * per_image * 1e-6,
            _scaled(total, 1e-6),
            (
                "different work: ours pulses one rank-1 update per kernel position of every image "
                "(SGD at batch "
                "1, as pulsetrain's and aihwkit's analog convolution do), "
                f"{energy['pulses'] * 1e-6:.4g} uJ of resistive RRAM writes at 4 V / 50 ns; NeuroSim updates "
                "once per 200-image batch and spends 72 % on DRAM and 24 % on its digital "
                "weight-gradient unit, "
                "neither of which we model"
            ),
        ),
        (
            "energy per image without DRAM and weight gradient",
            "uJ",
            (printed["total_energy_pJ"] - printed["dram_energy_pJ"] - printed["weight_gradient_energy_pJ"])
            * per_image
            * 1e-6,
            _scaled((total[0] - updates[0], total[1] - updates[1], total[2] - updates[2]), 1e-6),
            (
                "the parts both model, reads and data movement (our update pulses left out, NeuroSim's "
                "weight-update write is 3.4 nJ): see the ADC and array rows"
            ),
        ),
        (
            "ADC energy per image",
            "uJ",
            printed["adc_energy_pJ"] * per_image * 1e-6,
            _scaled(_sum(ours, ("adcs", ())), 1e-6),
            (
                "NeuroSim reads the 8-bit activations bit-serially (wl_activate 8: 8 conversions "
                "per subarray "
                "output) with its multilevel sense amplifier, ours one pulse-width read per input "
                "vector with a "
                "5-bit SAR fit at the mean conductance; x8 for the bit-serial reads would give "
                f"{8 * energy['adcs'] * 1e-6:.3g} uJ"
            ),
        ),
        (
            "array read energy per image (cells, lines, drivers)",
            "uJ",
            printed["array_energy_pJ"] * per_image * 1e-6,
            _scaled(_sum(ours, ("arrays", ()), ("drivers", reads)), 1e-6),
            (
                "ours: every cell of every read at half the full-scale input for the whole 10 ns read at the "
                "mean "
                "conductance (V^2 G t); NeuroSim: per input bit only the rows whose input bit is 1, at the "
                "conductances of the trained weights (its trace of the run's activations and "
                "weights, which we "
                "do not have)"
            ),
        ),
        (
            "weight-update energy per image",
            "uJ",
            printed["weight_update_energy_pJ"] * per_image * 1e-6,
            _scaled(updates, 1e-6),
            (
                "ours: V x BL x R x C x p^2 expected coincidences per layer (one update per kernel position, "
                "BL 31, p 0.1) at V_w^2 G t_w = 4.4 pJ plus half-selected cells; NeuroSim: one "
                "write per weight "
                "per 200-image batch (250 per epoch), only the weights whose quantized value changed"
            ),
        ),
    ]


def _latency_rows(ours: Estimate) -> list[_Row]:
    """(quantity, unit, NeuroSim, ours, why) of the latencies per epoch."""
    printed = NEUROSIM_VGG8_PRINTED
    return [
        (
            "latency per epoch",
            "s",
            printed["total_latency_ns"] * 1e-9,
            _certain(ours.latency_per_epoch_ms * 1e-3),
            (
                "close by accident: ours is "
                f"{ours.latency_per_sample_ns['pulses'] / ours.total_latency_per_sample_ns:.0%} update pulse "
                "slots "
                "(one 31-slot update of 50 ns slots per kernel position), NeuroSim's is 71 % buffer latency"
            ),
        ),
        (
            "read latency per epoch (ADC + array)",
            "s",
            (printed["adc_latency_ns"] + printed["array_latency_ns"]) * 1e-9,
            _certain(
                (ours.latency_per_sample_ns["adcs"] + ours.latency_per_sample_ns["arrays"])
                * VGG8_IMAGES_PER_EPOCH
                * 1e-9
            ),
            (
                "same duplication (NeuroSim's speed-up); NeuroSim pipelines the 8 bit-serial cycles "
                "per vector "
                "with its sense amplifiers, ours converts 8 muxed columns at (5 + 1) ns each after "
                "a 10 ns read"
            ),
        ),
    ]


def vgg8_comparison() -> list[dict[str, Any]]:
    """(quantity, unit, NeuroSim, ours, ours low / high, ratio, why) rows, per image unless the unit says
    otherwise; ``low`` and ``high`` are the ends of our figure over the uncertain inputs (the DAC's
    on-time, the converter's figure of merit), equal to ``ours`` where the figure has none."""
    ours = _ours_vgg8()
    rows = []
    for quantity, unit, neurosim, mine, why in _area_rows(ours) + _energy_rows(ours) + _latency_rows(ours):
        value, low, high = mine
        rows.append(
            {
                "quantity": quantity,
                "unit": unit,
                "neurosim": neurosim,
                "ours": value,
                "ours_low": low,
                "ours_high": high,
                "ratio": value / neurosim if neurosim else None,
                "why": why,
            }
        )
    return rows


def _lenet5_rows() -> list[tuple[str, Estimate]]:
    return [
        (
            technology,
            conv_estimate(
                ConvEstimateConfig(network="lenet5", technology=technology, samples_per_epoch=60000)
            ),
        )
        # rpu_45nm's 4096 x 4096 subarrays would reserve whole 4096-line tiles for 0.2 M weights
        for technology in ("neurosim_v21",)
    ]


def write_results(path: Path) -> None:
    """Both tables as Markdown."""
    ours = _ours_vgg8()
    lines = [
        "# Convolutional networks: VGG-8 against NeuroSim's printed run, and LeNet-5",
        "",
        (
            "Regenerate with `python -m pulsetrain.synth.neurosim_vgg8`. Layers are placed by "
            "`synth/mapping.py` "
            "(NeuroSim V2.1's floorplan rules); every read, conversion and pulse is a term of "
            "`synth/conv_estimate.py` (analog SGD, one pulsed update per kernel position, BL 31, firing "
            "probability 0.1 assumed; what is not costed is listed under the LeNet-5 table)."
        ),
        "",
        "## VGG-8 / CIFAR-10 training, per image (50,000 per epoch)",
        "",
        (
            "NeuroSim: the example output of DNN+NeuroSim V2.1's User Manual (Figs. 32-34; a V2.0 run with "
            "ADCprecision 5, cellBit 5, 32 levels, on/off 10, batch 200, 8-bit activations, multilevel sense "
            "amplifiers). Ours: technology `neurosim_vgg8_2020` (that run's RRAM, levels and ADC "
            "precision from "
            "Param.cpp at 114400ab, a 5-bit SAR by NeuroSim's fit). Floorplan (both): "
            f"{ours.config['subarrays_reserved']} subarrays; duplication per layer "
            f"{', '.join(map(str, ours.config['duplication']))} (NeuroSim's Fig. 33: "
            f"{', '.join(map(str, NEUROSIM_VGG8_FLOORPLAN['speed_up']))})."
        ),
        "",
        (
            "Ours, range: the ends of our figure over its uncertain inputs, the input DAC's on-time (one "
            "cycle to the read window) and the converter's figure of merit (NeuroSim's fit to the best and "
            "median SAR designs of Murmann's survey at 20-32 nm, `synth/converters.py`); `-` where our "
            "figure has no uncertain input. The assumed firing probability (0.1) of the update pulses is "
            "not in the range."
        ),
        "",
        "| quantity | unit | NeuroSim | ours | ours, range | ratio (ours / NeuroSim) | ratio, range | why |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in vgg8_comparison():
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3g}"
        if r["ours_low"] == r["ours_high"]:
            span = ratio_span = "-"
        else:
            span = f"{r['ours_low']:.4g}..{r['ours_high']:.4g}"
            ratio_span = f"{r['ours_low'] / r['neurosim']:.3g}..{r['ours_high'] / r['neurosim']:.3g}"
        lines.append(
            f"| {r['quantity']} | {r['unit']} | {r['neurosim']:.4g} | {r['ours']:.4g} | {span} | {ratio} | "
            f"{ratio_span} | {r['why']} |"
        )
    lines += [
        "",
        (
            "## LeNet-5 (pulsetrain's network: 28x28, conv 5x5 to 16 and 32 channels, 512-128-10, bias "
            "lines), "
            "per image, analog SGD"
        ),
        "",
        "| technology | subarrays | "
        + " | ".join(f"{c} pJ" for c in CATEGORIES)
        + " | total nJ | range nJ | "
        "latency us | epoch (60k) J | epoch s |",
        "|---|---|" + "---|" * len(CATEGORIES) + "---|---|---|---|---|",
    ]
    for technology, result in _lenet5_rows():
        energy = result.energy_per_sample_pJ
        low = sum(lo for lo, _ in result.energy_range_pJ.values())
        high = sum(hi for _, hi in result.energy_range_pJ.values())
        lines.append(
            f"| {technology} | {result.config['subarrays_reserved']} | "
            + " | ".join(result.category_text(c, energy[c]) for c in CATEGORIES)
            + f" | {result.total_energy_per_sample_pJ * 1e-3:.4g} | {low * 1e-3:.4g}-{high * 1e-3:.4g} | "
            f"{result.total_latency_per_sample_ns * 1e-3:.4g} | {result.energy_per_epoch_uJ * 1e-6:.4g} | "
            f"{result.latency_per_epoch_ms * 1e-3:.4g} |"
        )
    lenet = _lenet5_rows()[0][1]
    lines += [
        "",
        "Not costed (LeNet-5 and VGG-8): "
        + "; ".join(f"{what} ({why})" for what, why in lenet.not_costed.items()),
        "",
        "Notes (LeNet-5 on neurosim_v21): " + "; ".join(lenet.notes),
    ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    """Rewrite ``synth/results/conv_estimates.md``."""
    write_results(RESULTS / "conv_estimates.md")


if __name__ == "__main__":
    main()
