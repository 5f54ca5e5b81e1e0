"""Model against ngspice over array size, wire resistance and on/off ratio; the IR-drop calibration.

:func:`run_sweep` builds, for every point of a :class:`SweepConfig`, random tiles (device states
uniform over the device range) and random inputs (uniform in ``[0, 1]``, as ReLU activations: every
row drives the same sign, the case in which the drops add up), reads each with the model (plain and
with the first-order IR drop) and with ngspice, and records the errors. :func:`fit_calibration` fits the
IR-drop factor ``α`` to all of it by least squares, and :func:`write_outputs` writes the table, the plot
and the JSON into a folder (``docs/spice``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.devices import ConstantStepDevice
from pulsetrain.model.irdrop import (
    ArrayPhysics,
    ConductanceMapping,
    IrDropConfig,
    column_losses,
    pair_conductances,
    read_change,
)
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig
from pulsetrain.spice.circuit import ReadCircuit, technology_physics, technology_read_voltage
from pulsetrain.spice.compare import ReadComparison, compare_read, dac_values

from pulsetrain.config import check_int, check_range
from pulsetrain.results import write_atomic

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """The grid of the model-versus-SPICE comparison."""

    #: Array rows (the tile's input lines) of each point.
    rows: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    #: Outputs (column pairs) of every tile; ngspice's cost grows fast with columns (no KLU in Debian's).
    outputs: int = 8
    #: Wire resistance per cell on rows and columns, ohm: ideal, NeuroSim's 45 nm cross-point cell, its
    #: 32 nm 1T1R cell (see :func:`pulsetrain.spice.circuit.wire_segment_ohm`).
    wire_ohm: tuple[float, ...] = (0.0, 0.668, 2.12)
    #: On/off ratios: 8 (rpu_45nm, Gokmen & Vlasov 2016) and 100 (neurosim_v21).
    on_off: tuple[float, ...] = (8.0, 100.0)
    #: On conductance of the generic points, siemens (neurosim_v21's 240 kOhm).
    g_on_S: float = 4.1667e-6
    #: Read voltage of the generic points (neurosim_v21's 0.5 V).
    read_voltage_V: float = 0.5
    #: Technology points simulated as they are (device range, wires, access resistance).
    technologies: tuple[str, ...] = ("rpu_45nm", "neurosim_v21")
    #: Random tiles per point.
    states: int = 2
    #: Random input vectors per tile.
    inputs: int = 2
    #: Seed of the tiles and inputs.
    seed: int = 0
    #: ngspice processes at once.
    jobs: int = 1
    #: The forward periphery of every tile (output noise is ignored: an operating point has none).
    io: IOConfig = field(default_factory=lambda: IOConfig(out_noise=0.0))

    def __post_init__(self) -> None:
        for rows in self.rows:
            check_int("sweep.rows", rows, 2, 4096)
        check_int("sweep.outputs", self.outputs, 1, 256)
        for ohm in self.wire_ohm:
            check_range("sweep.wire_ohm", ohm, 0.0, 1e4)
        for ratio in self.on_off:
            check_range("sweep.on_off", ratio, 1.0, 1e9, low_open=True)
        check_int("sweep.states", self.states, 1, 1000)
        check_int("sweep.inputs", self.inputs, 1, 1000)
        check_int("sweep.jobs", self.jobs, 1, 64)

    def points(self) -> list[tuple[str, int, ArrayPhysics, float]]:
        """``(label, rows, physics, read voltage)`` of every point, generic grid then technologies."""
        out = []
        for ratio in self.on_off:
            for ohm in self.wire_ohm:
                physics = ArrayPhysics(
                    g_on_S=self.g_on_S,
                    g_off_S=self.g_on_S / ratio,
                    row_segment_ohm=ohm,
                    column_segment_ohm=ohm,
                )
                for rows in self.rows:
                    out.append((f"on/off {ratio:g}, wire {ohm:g} ohm", rows, physics, self.read_voltage_V))
        for name in self.technologies:
            physics, volts = technology_physics(name), technology_read_voltage(name)
            for rows in self.rows:
                out.append((name, rows, physics, volts))
        return out


#: Jacobi steps of the higher-order column of the table.
STEPS = 3


@dataclass(frozen=True, eq=False)
class SweepSample:
    """One read of one point."""

    label: str
    rows: int
    physics: ArrayPhysics
    comparison: ReadComparison
    #: (2 outputs,) first-order current each physical column loses to the wires (α = 1, device units).
    lost: FloatArray
    #: (2 outputs,) the relative size of those drops (the ``ratio`` of ``column_losses``).
    ratio: FloatArray
    #: (2 outputs,) the current lost after :data:`STEPS` Jacobi steps (device units).
    lost_steps: FloatArray
    #: (outputs,) the access resistance's change (device units, exact in the model).
    access_change: FloatArray
    #: (outputs,) the model's read before saturation, ``u (g - ref)`` (device units).
    ideal: FloatArray

    def wire_drop(self, calibration: float, saturation: float) -> FloatArray:
        """(outputs,) the calibrated first-order wire drop (device units)."""
        lost = calibration * self.lost / (1.0 + saturation * calibration * self.ratio)
        return -(lost[0::2] - lost[1::2])


def sample_tile(rows: int, outputs: int, io: IOConfig, rng: np.random.Generator) -> Tile:
    """A tile of the default constant-step device with states uniform over each device's range."""
    tile = Tile(
        outputs,
        rows,
        device=ConstantStepDevice(),
        forward_io=io,
        backward_io=io,
        update=UpdateConfig(),
        output_scale=1.0,
        pulse_source=FloatPulseSource(rng),
        rng=rng,
    )
    tile.set_device_weights(rng.uniform(tile.devices.w_min, tile.devices.w_max) - tile.reference)
    return tile


def _read(job: tuple[str, int, ArrayPhysics, float, Tile, FloatArray]) -> SweepSample:
    label, rows, physics, volts, tile, x = job
    circuit = ReadCircuit(physics=physics, read_voltage_V=volts)
    comparison = compare_read(tile, x, circuit, ir_drop=IrDropConfig(physics=physics))
    u, _ = dac_values(tile, x)
    mapping = ConductanceMapping.for_tile(tile, physics)
    unit = mapping.siemens_per_unit
    cells = pair_conductances(mapping, tile.g, tile.reference)
    row, column = physics.row_segment_ohm * unit, physics.column_segment_ohm * unit
    lost, ratio = column_losses(u, cells, row, column)
    lost_steps, _ = column_losses(u, cells, row, column, STEPS)
    no_wires = dataclasses.replace(physics, row_segment_ohm=0.0, column_segment_ohm=0.0)
    access = read_change(u, ConductanceMapping.for_tile(tile, no_wires), tile.g, tile.reference)[0]
    return SweepSample(
        label=label,
        rows=rows,
        physics=physics,
        comparison=comparison,
        lost=lost[0],
        ratio=ratio[0],
        lost_steps=lost_steps[0],
        access_change=access,
        ideal=tile.device_weights() @ u,
    )


def run_sweep(config: SweepConfig, progress: Callable[[int, int], None] | None = None) -> list[SweepSample]:
    """Every read of the sweep (tiles and inputs drawn in a fixed order from ``config.seed``)."""
    rng = np.random.default_rng(config.seed)
    jobs = []
    for label, rows, physics, volts in config.points():
        for _ in range(config.states):
            tile = sample_tile(rows, config.outputs, config.io, rng)
            for _ in range(config.inputs):
                jobs.append((label, rows, physics, volts, tile, rng.uniform(0.0, 1.0, rows)))
    samples: list[SweepSample] = []
    with ThreadPoolExecutor(max_workers=config.jobs) as pool:
        for sample in pool.map(_read, jobs):
            samples.append(sample)
            if progress is not None:
                progress(len(samples), len(jobs))
    return samples


def _unsaturated(sample: SweepSample, bound: float) -> NDArray[np.bool_]:
    return np.abs(sample.comparison.spice_values) < bound * (1 - 1e-9)


def _estimate(sample: SweepSample, drop: FloatArray, bound: float) -> FloatArray:
    """The model's read with the access change and a wire drop, saturated like the model's."""
    return np.clip(sample.ideal + sample.access_change + drop, -bound, bound)


def fit_calibration(samples: list[SweepSample], bound: float) -> tuple[float, float]:
    """``(α, κ)`` of the first-order wire drop that fit ngspice best: least squared error in LSB over
    every unsaturated output of every sample, on a grid (α 0.50..1.50 by 0.01, κ 0..4 by 0.05)."""
    keep = np.concatenate([_unsaturated(s, bound) for s in samples])
    base = np.concatenate([s.ideal + s.access_change for s in samples])[keep]
    spice = np.concatenate([s.comparison.spice_values for s in samples])[keep]
    lsb = np.concatenate([np.full(s.ideal.shape, s.comparison.lsb) for s in samples])[keep]
    plus_lost, minus_lost = (np.concatenate([s.lost[k::2] for s in samples])[keep] for k in (0, 1))
    plus_ratio, minus_ratio = (np.concatenate([s.ratio[k::2] for s in samples])[keep] for k in (0, 1))
    best = (math.inf, 1.0, 0.0)
    for saturation in np.arange(0.0, 4.0001, 0.05):
        for calibration in np.arange(0.5, 1.5001, 0.01):
            scale = calibration * saturation
            drop = -calibration * (
                plus_lost / (1.0 + scale * plus_ratio) - minus_lost / (1.0 + scale * minus_ratio)
            )
            error = float(np.sum(((np.clip(base + drop, -bound, bound) - spice) / lsb) ** 2))
            if error < best[0]:
                best = (error, round(float(calibration), 2), round(float(saturation), 2))
    return best[1], best[2]


def summarize(samples: list[SweepSample], fit: tuple[float, float], bound: float) -> list[dict[str, Any]]:
    """One row per (label, rows): RMS and largest errors in LSB before the ADC, code mismatches."""
    groups: dict[tuple[str, int], list[SweepSample]] = {}
    for sample in samples:
        groups.setdefault((sample.label, sample.rows), []).append(sample)
    table = []
    for (label, rows), group in groups.items():
        lsb = group[0].comparison.lsb
        plain: list[FloatArray] = []
        first: list[FloatArray] = []
        fitted: list[FloatArray] = []
        stepped: list[FloatArray] = []
        codes: list[NDArray[np.bool_]] = []
        kept = total = 0
        for sample in group:
            keep = _unsaturated(sample, bound)
            c = sample.comparison
            steps_drop = -(sample.lost_steps[0::2] - sample.lost_steps[1::2])
            plain.append(c.value_error_lsb[keep])
            for errors, drop in (
                (first, sample.wire_drop(1.0, 0.0)),
                (fitted, sample.wire_drop(*fit)),
                (stepped, steps_drop),
            ):
                errors.append(((_estimate(sample, drop, bound) - c.spice_values) / lsb)[keep])
            codes.append(c.code_error != 0)
            kept, total = kept + int(keep.sum()), total + keep.size
        row: dict[str, Any] = {"label": label, "rows": rows, "physics": dataclasses.asdict(group[0].physics)}
        pairs = (("model", plain), ("first_order", first), ("calibrated", fitted), ("steps", stepped))
        for name, errors in pairs:
            joined = np.concatenate(errors) if kept else np.zeros(1)
            row[f"{name}_rms_lsb"] = float(np.sqrt(np.mean(joined**2)))
            row[f"{name}_max_lsb"] = float(np.max(np.abs(joined)))
        row["code_mismatch"] = float(np.mean(np.concatenate(codes)))
        row["unsaturated"] = f"{kept}/{total}"
        table.append(row)
    return table


def markdown_table(table: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table."""
    lines = [
        (
            "| point | rows | model RMS / max (LSB) | first order | calibrated first order "
            f"| {STEPS} Jacobi steps | codes differing (model) | unsaturated outputs |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in table:
        cells = [
            f"{row[f'{name}_rms_lsb']:.3g} / {row[f'{name}_max_lsb']:.3g}"
            for name in ("model", "first_order", "calibrated", "steps")
        ]
        lines.append(
            f"| {row['label']} | {row['rows']} | {' | '.join(cells)} "
            f"| {100 * row['code_mismatch']:.0f} % | {row['unsaturated']} |"
        )
    return "\n".join(lines) + "\n"


def plot(table: list[dict[str, Any]], path: Path) -> None:
    """Model error (RMS, LSB) against rows per point, plain and calibrated; written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(row["label"] for row in table))
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for axis, key, title in (
        (axes[0], "model_rms_lsb", "behavioral model (no IR drop)"),
        (axes[1], "calibrated_rms_lsb", "model with calibrated IR drop"),
    ):
        for label in labels:
            rows = [r for r in table if r["label"] == label]
            values = [max(r[key], 1e-5) for r in rows]
            axis.plot([r["rows"] for r in rows], values, marker="o", label=label)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        axis.set_xlabel("array rows (inputs summed per column)")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("RMS read error vs ngspice (ADC LSB)")
    axes[1].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    write_atomic(path, buffer.getvalue())


def write_outputs(
    config: SweepConfig, samples: list[SweepSample], folder: Path, banner: str
) -> dict[str, Any]:
    """Fit α, write ``sweep.md`` (table), ``sweep.png`` and ``sweep.json`` into ``folder``."""
    bound = config.io.out_bound
    calibration, saturation = fit_calibration(samples, bound)
    table = summarize(samples, (calibration, saturation), bound)
    document = {
        "ngspice": banner,
        "calibration": calibration,
        "saturation": saturation,
        "config": {k: v for k, v in dataclasses.asdict(config).items() if k != "io"},
        "io": {"adc_bits": config.io.adc_bits, "dac_bits": config.io.dac_bits, "out_bound": bound},
        "table": table,
    }
    header = (
        f"Fitted IR-drop calibration alpha = {calibration:.2f}, saturation kappa = {saturation:.2f} "
        f"({banner}; "
        f"{config.states} tiles x {config.inputs} inputs per point, {config.outputs} outputs, "
        f"ADC {config.io.adc_bits} bits over +-{bound:g}, seed {config.seed}).\n\n"
    )
    write_atomic(folder / "sweep.md", header + markdown_table(table))
    write_atomic(folder / "sweep.json", json.dumps(document, indent=1, default=_plain))
    plot(table, folder / "sweep.png")
    return document


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
