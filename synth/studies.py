"""Studies built on the estimator: BP against DFA by depth, and each algorithm's overhead over SGD."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pulsetrain.synth.estimator import Algorithm, Estimate, EstimateConfig, estimate
from pulsetrain.synth.latency import operation_timing
from pulsetrain.synth.technology import load_technology

__all__ = ["depth_study", "overhead_table"]


def depth_study(
    depths: list[int], *, technology: str = "rpu_45nm", use_synthesis: bool = False
) -> list[dict[str, Any]]:
    """BP (analog SGD) versus DFA for MLPs of each depth: latency per sample, speed-up, DFA's price.

    The networks are ``64, 32 x (depth-1), 10`` (:func:`pulsetrain.model.schedule.mlp_sizes`). The
    speed-up of the part after the forward pass (``training_speedup``) is the one that approaches N.
    """
    from pulsetrain.model.schedule import latency_by_depth, mlp_sizes

    tech = load_technology(technology)
    timing = operation_timing(EstimateConfig(), tech)
    by_depth = {row["depth"]: row for row in latency_by_depth(tuple(depths), timing=timing)}
    rows = []
    for depth in depths:
        network = mlp_sizes(depth)
        bp = estimate(
            EstimateConfig(
                network=network, algorithm=Algorithm.SGD, technology=technology, use_synthesis=use_synthesis
            )
        )
        dfa = estimate(
            EstimateConfig(
                network=network, algorithm=Algorithm.DFA, technology=technology, use_synthesis=use_synthesis
            )
        )
        rows.append(
            {
                "depth": depth,
                "bp_latency_ns": bp.total_latency_per_sample_ns,
                "dfa_latency_ns": dfa.total_latency_per_sample_ns,
                "speedup": bp.total_latency_per_sample_ns / dfa.total_latency_per_sample_ns,
                "training_speedup": by_depth[depth]["training_speedup"],
                "dfa_extra_area_um2": dfa.total_area_um2 - bp.total_area_um2,
                "dfa_feedback_array_area_um2": sum(
                    fo * network[-1] for _, fo in list(zip(network[:-1], network[1:], strict=True))[:-1]
                )
                * tech.array.cell_area_um2,
                "dfa_feedback_read_pJ": dfa.read_energy_pJ.get("feedback", 0.0),
                "bp_backward_read_pJ": bp.read_energy_pJ.get("backward", 0.0),
                "bp_energy_pJ": bp.total_energy_per_sample_pJ,
                "dfa_energy_pJ": dfa.total_energy_per_sample_pJ,
                "latency_source": dfa.latency_source,
            }
        )
    return rows


def overhead_table(
    estimates: list[Estimate], accuracy: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """What each algorithm's periphery adds over analog SGD (area, energy per sample), with its accuracy.

    ``accuracy`` maps an algorithm name to the test accuracy a training run reached (from the algorithms'
    experiments); missing entries stay empty.
    """
    baseline = next((e for e in estimates if e.config["algorithm"] == "sgd"), None)
    rows = []
    for result in estimates:
        name = result.config["algorithm"]
        row: dict[str, Any] = {"algorithm": name}
        if baseline is not None:
            row["extra_area_um2"] = result.total_area_um2 - baseline.total_area_um2
            row["extra_energy_pJ"] = result.total_energy_per_sample_pJ - baseline.total_energy_per_sample_pJ
            row["extra_latency_ns"] = (
                result.total_latency_per_sample_ns - baseline.total_latency_per_sample_ns
            )
        row["buffers_um2"] = result.area_um2["buffers"]
        row["digital_um2"] = result.area_um2["digital"]
        row["accuracy"] = (accuracy or {}).get(name, "")
        rows.append(row)
    return rows


def digital_activity_table(
    algorithms: tuple[str, ...] = ("sgd", "dfa", "ttv2", "c-ttv2", "agad", "sbe"),
    *,
    network: tuple[int, ...] = (64, 32, 10),
    technology: str = "rpu_45nm",
) -> list[dict[str, Any]]:
    """Each algorithm's digital energy per sample at recorded-workload activity beside the random bound.

    ``leakage_pJ`` does not depend on activity; ``dynamic_pJ`` is at the recorded workload where the block
    has one and at random inputs elsewhere; ``random_dynamic_pJ`` is every block at random inputs (the
    bound). Blocks whose logic the converter figure holds (ADC readouts) are left out of the sums and
    listed apart (``adc_readout_pJ`` at their recorded workload, ``adc_readout_random_pJ`` at random).
    """
    rows = []
    for name in algorithms:
        result = estimate(EstimateConfig(network=network, algorithm=Algorithm(name), technology=technology))
        counted = [row for row in result.digital_blocks.values() if row.get("counted") == "yes"]
        blocks = result.digital_blocks.values()
        readouts = [row for row in blocks if str(row.get("counted", "")).startswith("no")]
        low, high = result.energy_range_pJ["digital"]
        rows.append(
            {
                "algorithm": name,
                "digital_pJ": result.energy_per_sample_pJ["digital"],
                "leakage_pJ": sum(row["leakage_pJ"] for row in counted),
                "dynamic_pJ": sum(row["dynamic_pJ"] for row in counted),
                "random_dynamic_pJ": sum(row["random_activity_dynamic_pJ"] for row in counted),
                "range_pJ": (low, high),
                "recorded_blocks": sum(row["activity"].startswith("recorded workload") for row in counted),
                "blocks": len(counted),
                # listed beside the sums, not in them: the converter figure holds the SAR logic
                "adc_readout_pJ": sum(row["leakage_pJ"] + row["dynamic_pJ"] for row in readouts),
                "adc_readout_random_pJ": sum(
                    row["leakage_pJ"] + row["random_activity_dynamic_pJ"] for row in readouts
                ),
                "adc_readout_recorded": all(
                    row["activity"].startswith("recorded workload") for row in readouts
                ),
                "unavailable": result.unavailable.get("digital", ""),
            }
        )
    return rows


def write_digital_activity(rows: list[dict[str, Any]], path: Path) -> None:
    """The per-algorithm digital energy table as Markdown."""
    lines = [
        "# Digital energy per sample: recorded training workload against random inputs",
        "",
        (
            "64-32-10 on rpu_45nm, Nangate45 synthesis with OpenSTA 2.0.17 power, 1 GHz, clock gating "
            "assumed (dynamic power only while a block is busy, leakage over the whole sample). Recorded "
            "workload: the codes each pulse generator received in a 300-sample training run of the "
            "algorithm with the twin pulse source (no bias line, digits, seed 0; SBE at batch 1), replayed "
            "through the RTL; the updates of A and the ADC codes of each column read the transfer "
            "controller's twin received in a 100-sample run (TTv2 family); one start per sample for the "
            "schedule controller; for the choppers the x-line signs of recorded updates, the column of each "
            "transfer read and the flip after it; for the SBE units the vectors the model's SBE streamed in "
            "a 100-sample run (batch 1), quantized to the unit's 8-bit input codes and fed through its "
            "stream at its own pace. ADC readouts are listed, not counted (their SAR logic is inside the "
            "converter figure, survey model or NeuroSim's SAR fit; no logic counted twice): one readout per "
            "read (each layer's forward read, the transposed read of the layers after the first for the BP "
            "family, the read of each feedback tile B_l for DFA), and its recorded workload is the "
            "comparator answers that convert the ADC codes of those reads in a 100-sample training run of "
            "the algorithm (9-bit model ADC codes at the readout's resolution, offset binary on the "
            "unsigned converter; SBE at batch 1). Regenerate with `python -m pulsetrain.synth.studies`."
        ),
        "",
        (
            "| algorithm | digital pJ (recorded) | leakage pJ | dynamic pJ, recorded | dynamic pJ, random "
            "bound | range pJ | blocks with a recorded workload | ADC readouts pJ, recorded / random (not "
            "counted) |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        low, high = r["range_pJ"]
        lines.append(
            f"| {r['algorithm']} | {r['digital_pJ']:.1f} | {r['leakage_pJ']:.1f} | {r['dynamic_pJ']:.1f} | "
            f"{r['random_dynamic_pJ']:.1f} | {low:.1f}-{high:.1f} | "
            f"{r['recorded_blocks']} of {r['blocks']} | "
            f"{r['adc_readout_pJ']:.1f} / {r['adc_readout_random_pJ']:.1f}"
            f"{'' if r['adc_readout_recorded'] else ' (no recorded workload)'} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    """Rewrite ``synth/results/digital_activity.md`` (synthesizes every algorithm's periphery at 64 lines)."""
    results = Path(__file__).resolve().parent / "results"
    write_digital_activity(digital_activity_table(), results / "digital_activity.md")


if __name__ == "__main__":
    main()
