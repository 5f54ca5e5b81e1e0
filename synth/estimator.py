"""Area / energy / latency of training an MLP in-situ with each learning algorithm, NeuroSim style.

The estimate is per training sample and per epoch, split into

``arrays``
    crossbar cells (area), read currents ``V_read² · G · t_read`` over the cells of every read.
``adcs``
    SAR ADCs shared by ``columns_per_adc`` lines: area per ADC and energy per conversion from NeuroSim
    V2.1's SAR model; conversion time ``bits + 1`` cycles.
``drivers``
    DACs / line drivers: line wire capacitance charged to the read or write voltage per driven line.
``pulses``
    the update pulses themselves: ``V_w² · G · t_w`` per coincidence plus ``(V_w/2)² · G · t_w`` for each
    half-selected device on a pulsed line; counts from a training run (``pulse_counts``) or, when none is
    given, the expected counts of the stochastic update at an assumed firing probability (said so).
``digital``
    periphery logic from the Nangate45 synthesis reports of the registry blocks (area, OpenSTA power x
    time), scaled to the technology node; a block missing from the registry is listed as missing.
``buffers``
    digital memories outside the logic: H (TTv2 family), AGAD references, SBE vectors, costed from the
    SRAM model of the table; DFA's fixed feedback arrays ``B_l`` are analog tiles and count under arrays
    and ADCs with the label ``feedback``.
``movement``
    activations and errors moved between tiles over a bus of ``movement.bus_length_um_per_tile``.

Latency comes from the cycle count of the schedule controller RTL simulated in Amaranth when that block
exists (``latency_source = "rtl simulation"``), else from :mod:`pulsetrain.model.schedule`
(``"model schedule"``); transfer and SBE cycles are added from their formulas (said so in the notes).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulsetrain.synth.technology import Technology, load_technology

from pulsetrain.config import ConfigError, check_int, check_range

__all__ = [
    "CATEGORIES",
    "ESTIMATE_ALGORITHMS",
    "Estimate",
    "EstimateConfig",
    "PulseCounts",
    "estimate",
    "depth_study",
    "load_pulse_counts",
    "NEUROSIM_PUBLISHED_AREA_UM2",
    "NEUROSIM_VGG8",
    "neurosim_crosscheck",
    "overhead_table",
]

#: the algorithms the estimator describes (``fp`` is the digital floating-point reference: no analog cost).
ESTIMATE_ALGORITHMS: tuple[str, ...] = ("sgd", "dfa", "ttv2", "c-ttv2", "agad", "sbe")
#: cost categories, in report order.
CATEGORIES: tuple[str, ...] = ("arrays", "adcs", "drivers", "pulses", "digital", "buffers", "movement")


class Algorithm(enum.Enum):
    """Learning rules the estimator knows (names as in the model's ``--algo``)."""

    SGD = "sgd"
    DFA = "dfa"
    TTV2 = "ttv2"
    CTTV2 = "c-ttv2"
    AGAD = "agad"
    SBE = "sbe"


@dataclass(frozen=True, kw_only=True)
class EstimateConfig:
    """What to estimate."""

    #: neurons per layer, input to output.
    network: tuple[int, ...] = (64, 32, 10)
    #: learning rule.
    algorithm: Algorithm = Algorithm.SGD
    #: technology table (shipped name or path).
    technology: str = "rpu_45nm"
    #: training samples per epoch (1797: scikit-learn's 8x8 digits).
    samples_per_epoch: int = 1797
    #: ADC resolution; 0 takes the technology table's.
    adc_bits: int = 0
    #: input DAC resolution (bits of the forward / backward input codes).
    dac_bits: int = 8
    #: pulse slots per update (aihwkit's BL).
    bl: int = 31
    #: mean firing probability of a pulsed line per slot, used only without measured pulse counts.
    firing_probability: float = 0.1
    #: mean |input| of a read as a fraction of full scale (read currents scale with it).
    input_activity: float = 0.5
    #: TTv2 family: samples between transfers.
    transfer_every: int = 1
    #: TTv2 family: width of one H entry.
    h_bits: int = 16
    #: AGAD: width of one stored reference.
    reference_bits: int = 8
    #: TTv2 family: C pulses per device per sample, used only without measured counts (Rasch et al.
    #: arXiv 2303.04721 report about 2-4e-4).
    c_pulses_per_device: float = 3e-4
    #: SBE: samples per batch (one pulsed update per batch).
    sbe_batch: int = 128
    #: SBE: width of the stored vector entries.
    sbe_vector_bits: int = 32
    #: use the Nangate45 synthesis reports of the registry blocks for the digital periphery.
    use_synthesis: bool = True
    #: simulate the schedule controller RTL for the cycle count when the block exists.
    use_rtl_latency: bool = True
    #: digital blocks draw dynamic power only in the phases they work in (clock-gated otherwise).
    clock_gating: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.network, tuple) or not 2 <= len(self.network) <= 33:
            raise ConfigError(f"network must list 2..33 layer sizes, not {self.network!r}")
        for index, size in enumerate(self.network):
            check_int(f"network[{index}]", size, 1, 1 << 16)
        if not isinstance(self.algorithm, Algorithm):
            raise ConfigError(
                f"algo must be one of {', '.join(a.value for a in Algorithm)}; not {self.algorithm!r}"
            )
        check_int("samples_per_epoch", self.samples_per_epoch, 1)
        check_int("adc_bits", self.adc_bits, 0, 16)
        check_int("dac_bits", self.dac_bits, 1, 16)
        check_int("bl", self.bl, 1, 1 << 12)
        check_range("firing_probability", self.firing_probability, 0.0, 1.0)
        check_range("input_activity", self.input_activity, 0.0, 1.0)
        check_int("transfer_every", self.transfer_every, 1)
        check_int("h_bits", self.h_bits, 2, 64)
        check_int("reference_bits", self.reference_bits, 1, 64)
        check_range("c_pulses_per_device", self.c_pulses_per_device, 0.0, 1e3)
        check_int("sbe_batch", self.sbe_batch, 1, 1 << 20)
        check_int("sbe_vector_bits", self.sbe_vector_bits, 2, 64)

    @property
    def layers(self) -> list[tuple[int, int]]:
        """``(fan_in, fan_out)`` of each weight layer."""
        return list(zip(self.network[:-1], self.network[1:], strict=True))


def parse_network(text: str) -> tuple[int, ...]:
    """``"64-32-10"`` -> ``(64, 32, 10)``; a ConfigError for anything else."""
    try:
        sizes = tuple(int(part) for part in text.replace("x", "-").split("-") if part.strip())
    except ValueError:
        raise ConfigError(f"--network must look like 64-32-10, not {text!r}") from None
    if len(sizes) < 2:
        raise ConfigError(f"--network must name at least two layer sizes, not {text!r}")
    return sizes


@dataclass(frozen=True)
class PulseCounts:
    """Pulses of one training sample, per weight layer, from a training run."""

    #: coincidences (device steps) per sample on the fast / only array.
    coincidences: tuple[float, ...]
    #: pulses on lines (x and d lines together) per sample.
    line_pulses: tuple[float, ...]
    #: coincidences per sample on C (TTv2 family), or empty.
    c_coincidences: tuple[float, ...] = ()
    #: where the counts came from.
    source: str = ""


def load_pulse_counts(path: str | Path) -> PulseCounts:
    """Read pulse counts from a JSON file.

    Accepted keys (top level or under ``"pulse_counts"``): ``coincidences_per_sample`` and
    ``line_pulses_per_sample`` (lists, one value per weight layer), optional ``c_coincidences_per_sample``.
    """
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"--pulse-counts file {str(file)!r} does not exist")
    try:
        data = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise ConfigError(f"--pulse-counts file {str(file)!r} is not JSON: {error}") from None
    section = data.get("pulse_counts", data) if isinstance(data, dict) else {}
    try:
        coincidences = tuple(float(v) for v in section["coincidences_per_sample"])
        line_pulses = tuple(float(v) for v in section["line_pulses_per_sample"])
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"--pulse-counts file {str(file)!r} needs lists coincidences_per_sample and "
            "line_pulses_per_sample"
        ) from None
    c_counts = tuple(float(v) for v in section.get("c_coincidences_per_sample", ()))
    return PulseCounts(coincidences, line_pulses, c_counts, source=f"training run {file}")


@dataclass(frozen=True)
class Estimate:
    """The estimate of one configuration."""

    config: dict[str, Any]
    technology: str
    #: category -> area (µm²).
    area_um2: dict[str, float]
    #: category -> energy per training sample (pJ).
    energy_per_sample_pJ: dict[str, float]
    #: category -> share of the per-sample latency (ns) on the critical path.
    latency_per_sample_ns: dict[str, float]
    #: "rtl simulation" or "model schedule".
    latency_source: str
    #: cycles per sample of the periphery clock.
    cycles_per_sample: int
    #: per-epoch totals: energy (µJ) and latency (ms).
    energy_per_epoch_uJ: float
    latency_per_epoch_ms: float
    #: what the digital periphery is made of: block -> figures and provenance.
    digital_blocks: dict[str, Any] = field(default_factory=dict)
    #: assumptions and missing pieces.
    notes: tuple[str, ...] = ()
    #: energy per sample of the analog reads by purpose (forward, backward, feedback, transfer), pJ.
    read_energy_pJ: dict[str, float] = field(default_factory=dict)

    @property
    def total_area_um2(self) -> float:
        return sum(self.area_um2.values())

    @property
    def total_energy_per_sample_pJ(self) -> float:
        return sum(self.energy_per_sample_pJ.values())

    @property
    def total_latency_per_sample_ns(self) -> float:
        return sum(self.latency_per_sample_ns.values())

    def as_dict(self) -> dict[str, Any]:
        """Plain data with totals (for JSON)."""
        data = dataclasses.asdict(self)
        data["total_area_um2"] = self.total_area_um2
        data["total_energy_per_sample_pJ"] = self.total_energy_per_sample_pJ
        data["total_latency_per_sample_ns"] = self.total_latency_per_sample_ns
        return data


# --------------------------------------------------------------------------------------------------
# latency
# --------------------------------------------------------------------------------------------------


def _timing(config: EstimateConfig, tech: Technology) -> Any:
    from pulsetrain.periphery.schedule import OperationTiming

    cycle_ns = 1000.0 / tech.number("digital.clock_MHz")
    return OperationTiming(
        adc_bits=_adc_bits(config, tech),
        columns_per_adc=int(tech.number("adc.columns_per_adc")),
        adc_sample_cycles=1,
        read_integration_cycles=max(1, math.ceil(tech.number("array.read_pulse_ns") / cycle_ns)),
        bl=config.bl,
        cycles_per_slot=max(1, math.ceil(tech.number("array.write_pulse_ns") / cycle_ns)),
    )


def _adc_bits(config: EstimateConfig, tech: Technology) -> int:
    return config.adc_bits or int(tech.number("adc.bits"))


@functools.cache
def _rtl_schedule_cycles(schedule_config: Any) -> int | None:
    """Cycles the schedule controller RTL counts for one sample (Amaranth simulation), None if absent."""
    try:
        from pulsetrain.rtl.schedule_controller import ScheduleController
    except ImportError:
        return None
    from amaranth.sim import Simulator

    dut = ScheduleController(schedule_config)
    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    result: list[int] = []
    limit = 10 * sum(schedule_config.phase_cycles()) + 100

    async def bench(ctx):  # type: ignore[no-untyped-def]
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(limit):
            if ctx.get(dut.done):
                result.append(int(ctx.get(dut.cycles)))
                return
            await ctx.tick()

    simulator.add_testbench(bench)
    simulator.run()
    return result[0] if result else None


def _schedule(config: EstimateConfig, tech: Technology) -> tuple[Any, int, str]:
    from pulsetrain.model.schedule import training_schedule

    from pulsetrain.periphery.schedule import ScheduleConfig, ScheduleMode

    mode = ScheduleMode.DFA if config.algorithm is Algorithm.DFA else ScheduleMode.BP
    schedule_config = ScheduleConfig(mode=mode, layer_sizes=config.network, timing=_timing(config, tech))
    schedule = training_schedule(schedule_config)
    cycles, source = schedule.total_cycles, "model schedule"
    if config.use_rtl_latency:
        measured = _rtl_schedule_cycles(schedule_config)
        if measured is not None:
            cycles, source = measured, "rtl simulation"
    return schedule, cycles, source


# --------------------------------------------------------------------------------------------------
# digital periphery from synthesis
# --------------------------------------------------------------------------------------------------


#: when each digital block switches: the phases of a sample in which it is busy.
_BUSY: dict[str, str] = {
    "schedule-controller": "all",
    "pulse-generator": "update",
    "adc-readout": "read",
    "transfer-controller": "transfer",
    "chopper": "transfer",
    "sbe-unit": "sbe",
}


def _digital_blocks(config: EstimateConfig) -> list[tuple[str, dict[str, Any], int, int]]:
    """(registry block, config overrides, instances, layer or -1) making up the periphery of ``config``."""
    algorithm = config.algorithm
    mode = {"bp": "bp", "dfa": "dfa"}["dfa" if algorithm is Algorithm.DFA else "bp"]
    blocks: list[tuple[str, dict[str, Any], int, int]] = [
        ("schedule-controller", {"mode": mode, "layer_sizes": ",".join(map(str, config.network))}, 1, -1)
    ]
    for layer, (fan_in, fan_out) in enumerate(config.layers):
        blocks.append(("pulse-generator", {"x_lines": fan_in, "d_lines": fan_out}, 1, layer))
        blocks.append(("adc-readout", {"columns": fan_out}, 1, layer))
        if algorithm in (Algorithm.TTV2, Algorithm.CTTV2, Algorithm.AGAD):
            transfer_mode = {Algorithm.TTV2: "ttv2", Algorithm.CTTV2: "c-ttv2", Algorithm.AGAD: "agad"}[
                algorithm
            ]
            blocks.append(
                (
                    "transfer-controller",
                    {"mode": transfer_mode, "in_size": fan_in, "out_size": fan_out, "h_bits": config.h_bits},
                    1,
                    layer,
                )
            )
        if algorithm in (Algorithm.CTTV2, Algorithm.AGAD):
            blocks.append(("chopper", {"lines": fan_in}, 1, layer))
        if algorithm is Algorithm.SBE:
            blocks.append(("sbe-unit", {"rows": fan_in, "cols": fan_out}, 1, layer))
    return blocks


def _synth_digital(
    config: EstimateConfig, tech: Technology, busy_ns: dict[str, float], total_ns: float
) -> tuple[float, float, dict[str, Any], list[str]]:
    """(area µm², energy pJ per sample) of the digital periphery at the table's node, detail, notes.

    Leakage counts for the whole sample; dynamic power (internal + switching, OpenSTA at the simulated
    activity) only while the block is busy (``busy_ns`` of its phase kind) when ``config.clock_gating``,
    else for the whole sample.
    """
    from pulsetrain.rtl.blocks import BLOCKS
    from pulsetrain.synth.blocks import block_design
    from pulsetrain.synth.flows import FlowOptions, Target, synthesize

    area = energy_pJ = 0.0
    detail: dict[str, Any] = {}
    notes: list[str] = []
    clock_ns = 1000.0 / tech.number("digital.clock_MHz")
    for name, overrides, count, layer in _digital_blocks(config):
        label = f"{name}({', '.join(f'{k}={v}' for k, v in overrides.items())})"
        if name not in BLOCKS:
            detail[label] = {"status": "not in the RTL registry: not costed"}
            continue
        try:
            design = block_design(name, sets=[f"{k}={v}" for k, v in overrides.items()])
        except ConfigError as error:
            # a block whose config does not take these fields: synthesize its default and say so
            design = block_design(name)
            notes.append(f"{name}: default config synthesized ({error})")
        report = synthesize(design, FlowOptions(target=Target.NANGATE45, clock_period_ns=clock_ns))
        if report.critical_path_ns is not None and report.critical_path_ns > clock_ns:
            notes.append(
                f"{label}: critical path {report.critical_path_ns:.2f} ns at 45 nm exceeds the "
                f"{clock_ns:g} ns clock (not pipelined for this clock)"
            )
        block_area = (report.area_um2 or 0.0) * tech.number("digital.area_scale") * count
        scale = tech.number("digital.energy_scale") * count
        leakage_W = (report.power.leakage_W if report.power else 0.0) * scale
        dynamic_W = ((report.power.internal_W + report.power.switching_W) if report.power else 0.0) * scale
        tag = _BUSY.get(name, "all")
        tag = f"{tag}:{layer}" if tag in ("update", "read") else tag
        active_ns = busy_ns.get(tag, total_ns) if config.clock_gating else total_ns
        block_energy = (leakage_W * total_ns + dynamic_W * active_ns) * 1e-9 * 1e12
        area += block_area
        energy_pJ += block_energy
        detail[label] = {
            "status": "nangate45 synthesis" + (" (cached)" if report.cached else ""),
            "area_um2_scaled": block_area,
            "dynamic_W_scaled": dynamic_W,
            "leakage_W_scaled": leakage_W,
            "busy_ns": active_ns,
            "energy_pJ": block_energy,
            "nangate45_area_um2": report.area_um2,
            "critical_path_ns": report.critical_path_ns,
            "key": report.key[:16],
        }
    return area, energy_pJ, detail, notes


# --------------------------------------------------------------------------------------------------
# the estimate
# --------------------------------------------------------------------------------------------------


def estimate(config: EstimateConfig, pulse_counts: PulseCounts | None = None) -> Estimate:
    """Estimate area, energy and latency of training ``config.network`` with ``config.algorithm``."""
    tech = load_technology(config.technology)
    algorithm = config.algorithm
    notes: list[str] = []
    f_array = tech.feature_size_um
    cell_area = tech.number("array.cell_area_F2") * f_array * f_array
    pitch_um = tech.number("array.cell_pitch_F") * f_array
    wire_cap = tech.number("array.wire_cap_fF_per_um") * 1e-15
    g_mean = 0.5 * (tech.number("array.g_on_S") + tech.number("array.g_off_S"))
    v_read, t_read = tech.number("array.read_voltage_V"), tech.number("array.read_pulse_ns") * 1e-9
    v_write, t_write = tech.number("array.write_voltage_V"), tech.number("array.write_pulse_ns") * 1e-9
    adc_bits = _adc_bits(config, tech)
    k = int(tech.number("adc.columns_per_adc"))
    vdd = tech.number("digital.vdd_V")
    tt_family = algorithm in (Algorithm.TTV2, Algorithm.CTTV2, Algorithm.AGAD)

    area = dict.fromkeys(CATEGORIES, 0.0)
    energy = dict.fromkeys(CATEGORIES, 0.0)

    read_energy: dict[str, float] = {}

    def read(rows: int, cols: int, outputs: int, times: float, label: str) -> None:
        """``times`` reads of a ``rows x cols`` tile driving ``rows`` inputs and converting ``outputs``."""
        column_resistance = 1.0 / (rows * g_mean)
        cells = times * rows * cols * config.input_activity * v_read**2 * g_mean * t_read * 1e12
        conversions = times * outputs * tech.adc_energy_pJ(adc_bits, column_resistance)
        drive = times * rows * cols * pitch_um * wire_cap * v_read**2 * 1e12
        energy["arrays"] += cells
        energy["adcs"] += conversions
        energy["drivers"] += drive
        read_energy[label] = read_energy.get(label, 0.0) + cells + conversions + drive

    # arrays per layer: A (and C, and a reference array for TTv2 / c-TTv2), plus DFA's B_l
    arrays_per_layer = (
        1 + (1 if tt_family else 0) + (1 if algorithm in (Algorithm.TTV2, Algorithm.CTTV2) else 0)
    )
    adc_area = tech.adc_area_um2(adc_bits)
    driver_area = (
        2 * tech.number("adc.transistor_footprint_F2") * (tech.number("digital.node_nm") * 1e-3) ** 2
    )
    output_layer = config.network[-1]
    for index, (fan_in, fan_out) in enumerate(config.layers):
        area["arrays"] += arrays_per_layer * fan_in * fan_out * cell_area
        # ADCs on the outputs (forward); on the inputs too where a transposed read is needed (BP family)
        transposed = algorithm is not Algorithm.DFA and index > 0
        area["adcs"] += math.ceil(fan_out / k) * adc_area + (
            math.ceil(fan_in / k) * adc_area if transposed else 0
        )
        area["drivers"] += (fan_in + fan_out) * driver_area * (2 if tt_family else 1)
        read(fan_in, fan_out, fan_out, 1.0, "forward")
        if algorithm is Algorithm.DFA:
            if index < len(config.layers) - 1:
                # fixed random feedback B_l (fan_out x d_out) read once per sample
                area["arrays"] += fan_out * output_layer * cell_area
                area["adcs"] += math.ceil(fan_out / k) * adc_area
                area["drivers"] += (fan_out + output_layer) * driver_area
                read(output_layer, fan_out, fan_out, 1.0, "feedback")
        elif index > 0:
            read(fan_out, fan_in, fan_in, 1.0, "backward")
        if tt_family:
            # one column read of A per transfer: one-hot input, fan_out conversions
            read(1, fan_out, fan_out, 1.0 / config.transfer_every, "transfer")

    # update pulses
    if pulse_counts is not None:
        if len(pulse_counts.coincidences) != len(config.layers):
            raise ConfigError(
                f"pulse counts have {len(pulse_counts.coincidences)} layers, the network {len(config.layers)}"
            )
        coincidences = list(pulse_counts.coincidences)
        line_pulses = list(pulse_counts.line_pulses)
        c_coincidences = list(pulse_counts.c_coincidences) or None
        notes.append(f"pulse counts from {pulse_counts.source}")
    else:
        p = config.firing_probability
        updates_per_sample = 1.0 / config.sbe_batch if algorithm is Algorithm.SBE else 1.0
        coincidences = [config.bl * fi * fo * p * p * updates_per_sample for fi, fo in config.layers]
        line_pulses = [config.bl * (fi + fo) * p * updates_per_sample for fi, fo in config.layers]
        c_coincidences = None
        notes.append(
            f"pulse counts not measured: expected counts of a stochastic update with BL={config.bl} and "
            f"firing probability {p} per line and slot (assumption)"
        )
    if tt_family and c_coincidences is None:
        c_coincidences = [config.c_pulses_per_device * fi * fo for fi, fo in config.layers]
        notes.append(f"C pulses: {config.c_pulses_per_device} per device per sample (Rasch et al. range)")
    for index, (fan_in, fan_out) in enumerate(config.layers):
        full = v_write**2 * g_mean * t_write * 1e12
        half = (v_write / 2) ** 2 * g_mean * t_write * 1e12
        mean_line_length = 0.5 * (fan_in + fan_out)
        energy["pulses"] += coincidences[index] * full + line_pulses[index] * mean_line_length * half
        line_cap = mean_line_length * pitch_um * wire_cap
        energy["drivers"] += line_pulses[index] * line_cap * (v_write / 2) ** 2 * 1e12
        if c_coincidences is not None:
            energy["pulses"] += c_coincidences[index] * (full + (fan_in + fan_out) * half)

    # buffers (SRAM model of the table)
    buffer_rows: list[tuple[str, int, int, float]] = []  # name, width, depth, accesses per sample
    for index, (fan_in, fan_out) in enumerate(config.layers):
        if tt_family:
            buffer_rows.append((f"H[{index}]", config.h_bits * fan_out, fan_in, 2.0 / config.transfer_every))
        if algorithm is Algorithm.AGAD:
            buffer_rows.append(
                (f"reference[{index}]", config.reference_bits * fan_out, fan_in, 2.0 / config.transfer_every)
            )
        if algorithm is Algorithm.SBE:
            buffer_rows.append(
                (f"sbe_vectors[{index}]", config.sbe_vector_bits, fan_in + fan_out, 2.0 * (fan_in + fan_out))
            )
    for _name, width, depth, accesses in buffer_rows:
        area["buffers"] += tech.sram_area_um2(width * depth)
        energy["buffers"] += accesses * tech.sram_access_energy_pJ(width, depth)

    # data movement: every activation and error crosses one tile hop
    moved_bits = sum(config.network) * config.dac_bits * (2 if algorithm is not Algorithm.DFA else 1)
    bus_cap = tech.number("movement.bus_length_um_per_tile") * wire_cap
    energy["movement"] += moved_bits * tech.number("driver.switching_ratio") * bus_cap * vdd**2 * 1e12

    # latency
    schedule, cycles, latency_source = _schedule(config, tech)
    cycle_ns = 1000.0 / tech.number("digital.clock_MHz")
    timing = schedule.config.timing
    latency = dict.fromkeys(CATEGORIES, 0.0)
    from pulsetrain.periphery.schedule import OperationKind

    # busy time of each layer's blocks: its own update (pulse generator) and reads (ADC readout)
    busy_ns: dict[str, float] = dict.fromkeys(("transfer", "sbe"), 0.0)
    for operation in schedule.operations:
        tag = {OperationKind.UPDATE: "update", OperationKind.ERROR: ""}.get(operation.kind, "read")
        if tag:
            key = f"{tag}:{operation.layer}"
            share = 1.0 / config.sbe_batch if tag == "update" and algorithm is Algorithm.SBE else 1.0
            busy_ns[key] = busy_ns.get(key, 0.0) + operation.duration * cycle_ns * share
    for phase in schedule.config.phases():
        layer, kind = max(phase, key=lambda op: schedule.config.operation_cycles(op[1], op[0]))
        duration = schedule.config.operation_cycles(kind, layer)
        if kind in (OperationKind.FORWARD, OperationKind.BACKWARD, OperationKind.PROJECTION) and (
            kind is not OperationKind.PROJECTION or timing.feedback.value == "analog"
        ):
            fan_in, fan_out = config.layers[layer]
            outputs = fan_in if kind is OperationKind.BACKWARD else fan_out
            conversions = timing.conversions(outputs) * timing.conversion_cycles
            latency["arrays"] += timing.read_integration_cycles * cycle_ns
            latency["adcs"] += conversions * cycle_ns
            latency["digital"] += (duration - timing.read_integration_cycles - conversions) * cycle_ns
        elif kind is OperationKind.UPDATE:
            if algorithm is Algorithm.SBE:
                duration_share = duration / config.sbe_batch
                latency["pulses"] += duration_share * cycle_ns
            else:
                latency["pulses"] += timing.bl * timing.cycles_per_slot * cycle_ns
                latency["digital"] += (duration - timing.bl * timing.cycles_per_slot) * cycle_ns
        else:
            latency["digital"] += duration * cycle_ns
    if cycles != schedule.total_cycles:
        notes.append(f"RTL counted {cycles} cycles, the model schedule {schedule.total_cycles}")
    extra_cycles = 0.0
    if tt_family:
        fan_out_max = max(fo for _, fo in config.layers)
        transfer_cycles = (
            timing.read_cycles(fan_out_max) + timing.update_setup_cycles + timing.cycles_per_slot
        )
        extra_cycles += transfer_cycles / config.transfer_every
        busy_ns["transfer"] += transfer_cycles * cycle_ns / config.transfer_every
        latency["arrays"] += timing.read_integration_cycles * cycle_ns / config.transfer_every
        latency["adcs"] += (
            timing.conversions(fan_out_max) * timing.conversion_cycles * cycle_ns / config.transfer_every
        )
        latency["pulses"] += timing.cycles_per_slot * cycle_ns / config.transfer_every
        latency["digital"] += (
            (timing.activation_cycles + timing.update_setup_cycles) * cycle_ns / config.transfer_every
        )
        notes.append(
            "transfer cycles (one column read + one C pulse slot per transfer) from the timing formulas"
        )
    if algorithm is Algorithm.SBE:
        # streaming update of X and D: one vector entry per cycle (assumption of the SBE unit's datapath)
        sbe_cycles = max(fi + fo for fi, fo in config.layers)
        extra_cycles += sbe_cycles
        busy_ns["sbe"] += sbe_cycles * cycle_ns
        latency["digital"] += sbe_cycles * cycle_ns
        notes.append("SBE: per-sample vector update at one entry per cycle; pulsed update once per batch")
    if algorithm is Algorithm.SBE:
        # the controller runs the BP schedule with a pulsed update per sample; SBE updates once per batch
        update_cycles = sum(op.duration for op in schedule.operations if op.kind is OperationKind.UPDATE)
        cycles = cycles - update_cycles * (1.0 - 1.0 / config.sbe_batch)
    if latency_source == "rtl simulation":
        # the RTL count is the total; the category split keeps the model's proportions (equal when the
        # RTL's cycle count equals the model schedule's, as it does with fixed operation costs)
        model_total = sum(latency.values())
        target_total = (cycles + extra_cycles) * cycle_ns
        if model_total > 0:
            latency = {k: v * target_total / model_total for k, v in latency.items()}
    cycles_total = int(round(cycles + extra_cycles))

    # digital periphery
    digital_detail: dict[str, Any] = {}
    latency_s = sum(latency.values()) * 1e-9
    if config.use_synthesis:
        try:
            digital_area, digital_energy, digital_detail, digital_notes = _synth_digital(
                config, tech, busy_ns, latency_s * 1e9
            )
            area["digital"] += digital_area
            energy["digital"] += digital_energy
            notes.append(
                "digital energy: OpenSTA power at random-input activity (see each report), leakage over the "
                "whole sample, dynamic power "
                + (
                    "only in the phases each block works in (clock gating assumed)"
                    if config.clock_gating
                    else "over the whole sample"
                )
            )
            notes.extend(digital_notes)
            missing = [
                name for name, row in digital_detail.items() if "not in the RTL registry" in row["status"]
            ]
            if missing:
                notes.append("digital blocks not yet in the registry (not costed): " + ", ".join(missing))
        except ImportError as error:
            notes.append(f"digital periphery not costed: {error}")
    else:
        notes.append("digital periphery not costed (use_synthesis = false)")

    energy_per_sample = sum(energy.values())
    return Estimate(
        config={
            "network": list(config.network),
            "algorithm": algorithm.value,
            "adc_bits": adc_bits,
            "bl": config.bl,
            "samples_per_epoch": config.samples_per_epoch,
            "transfer_every": config.transfer_every,
        },
        technology=tech.name,
        area_um2=area,
        energy_per_sample_pJ=energy,
        latency_per_sample_ns=latency,
        latency_source=latency_source,
        cycles_per_sample=cycles_total,
        energy_per_epoch_uJ=energy_per_sample * config.samples_per_epoch * 1e-6,
        latency_per_epoch_ms=sum(latency.values()) * config.samples_per_epoch * 1e-6,
        digital_blocks=digital_detail,
        notes=tuple(notes),
        read_energy_pJ=read_energy,
    )


# --------------------------------------------------------------------------------------------------
# cross-check against NeuroSim V2.1
# --------------------------------------------------------------------------------------------------

#: NeuroSim's default network, VGG-8 for CIFAR-10 (DNN_NeuroSim_V2.1, Training_pytorch/NeuroSIM/NetWork.csv:
#: input height, input width, input channels, kernel height, kernel width, output channels per layer).
NEUROSIM_VGG8: tuple[tuple[int, int, int, int, int, int], ...] = (
    (32, 32, 3, 3, 3, 128),
    (32, 32, 128, 3, 3, 128),
    (16, 16, 128, 3, 3, 256),
    (16, 16, 256, 3, 3, 256),
    (8, 8, 256, 3, 3, 512),
    (8, 8, 512, 3, 3, 512),
    (1, 1, 8192, 1, 1, 1024),
    (1, 1, 1024, 1, 1, 10),
)

#: Numbers NeuroSim itself printed for that network: the example output of an on-chip training run in the
#: DNN+NeuroSim V2.1 User Manual (repository file "Documents/DNN NeuroSim V2.1 User Manual.pdf", Fig. 34,
#: "Output (NeuroSim: hardware estimation summary) of DNN+NeuroSim V2.0"), in µm².
NEUROSIM_PUBLISHED_AREA_UM2: dict[str, float] = {
    "chip": 4.82939e7,
    "cim_array_fw_ag": 365072.0,
    "adc": 1.884e7,
    "weight_gradient": 1.07168e7,
}

#: Subarrays NeuroSim's floorplan (Chip.cpp ChipFloorPlan, novel mapping on) allocates for VGG-8, worked out
#: by hand from its mapping rules: the five 3x3 layers with at least 128 unrolled rows use the novel mapping,
#: one tile each of 9 PEs (one per kernel position) of 512x512 = 16 subarrays (5 x 144); the first layer and
#: both fully connected layers use the conventional mapping on 1024x1024 tiles of 64 subarrays (1 + 8 + 1
#: tiles). 1360 subarrays x 268.435 µm² (128x128 cells of 4F x 4F at 32 nm) is the published 365,072 µm².
NEUROSIM_VGG8_FLOORPLAN_SUBARRAYS = 5 * 9 * 16 + (1 + 8 + 1) * 64


def _vgg8_matrices() -> list[tuple[int, int]]:
    """(rows, columns) of each VGG-8 weight matrix as a crossbar holds it (kernel unrolled into rows)."""
    return [(k_h * k_w * c_in, c_out) for _, _, c_in, k_h, k_w, c_out in NEUROSIM_VGG8]


def neurosim_crosscheck() -> list[dict[str, Any]]:
    """Compare our array / ADC figures with NeuroSim V2.1's, for configurations both can describe.

    Two groups of rows, told apart by ``neurosim_source``:

    * **published**: NeuroSim's own printed output for its default training chip (VGG-8 / CIFAR-10,
      :data:`NEUROSIM_PUBLISHED_AREA_UM2`) against our area models with the ``neurosim_v21`` table for the
      same weight matrices on 128x128 subarrays (bi-directional subarrays serve forward and activation
      gradient; one cell per weight since the weight precision equals cellBit). Ratios far from 1 are
      reported as they come out and explained.
    * **formula**: NeuroSim's SAR formulas (SarADC.cpp) evaluated here for one 128x128 subarray; these only
      check that our implementation of the same formulas is faithful (ratio 1 expected), they are not an
      independent comparison.

    Energy and latency are not compared: NeuroSim's published figures are per epoch of a trace-driven run
    (bit-serial 8-bit inputs, measured weight and activation statistics) that our estimator does not model.
    """
    tech = load_technology("neurosim_v21")
    sub_rows = int(tech.number("array.subarray_rows"))
    sub_cols = int(tech.number("array.subarray_cols"))
    bits = int(tech.number("adc.bits"))
    k = int(tech.number("adc.columns_per_adc"))
    f = tech.feature_size_um
    cell_area = tech.number("array.cell_area_F2") * f * f
    subarray_area = sub_rows * sub_cols * cell_area
    # forward read: sub_cols / k ADCs per subarray; activation-gradient (transposed) read: sub_rows / k more
    # (PC: numColMuxed = numRowMuxedAG = 8, levelOutput = levelOutputAG = 64)
    adcs_per_subarray = math.ceil(sub_cols / k) + math.ceil(sub_rows / k)
    adc_area = tech.adc_area_um2(bits)
    matrices = _vgg8_matrices()
    sar_transistors = int(
        tech.number("adc.nmos_base")
        + tech.number("adc.pmos_base")
        + (bits - 1) * (tech.number("adc.nmos_per_bit") + tech.number("adc.pmos_per_bit"))
    )
    footprint = tech.number("adc.transistor_footprint_F2")
    needed = sum(math.ceil(r / sub_rows) * math.ceil(c / sub_cols) for r, c in matrices)
    weights = sum(r * c for r, c in matrices)
    published = NEUROSIM_PUBLISHED_AREA_UM2
    source = "DNN+NeuroSim V2.1 User Manual, Fig. 34 (VGG-8 training chip example output)"
    rows_out: list[dict[str, Any]] = []

    def row(quantity: str, ours: float, neurosim: float, neurosim_source: str, explanation: str) -> None:
        rows_out.append(
            {
                "quantity": quantity,
                "ours": ours,
                "neurosim": neurosim,
                "ratio": ours / neurosim,
                "neurosim_source": neurosim_source,
                "explanation": explanation,
            }
        )

    row(
        f"VGG-8 CIM array area, {needed} subarrays the weights need (um^2)",
        needed * subarray_area,
        published["cim_array_fw_ag"],
        source,
        f"same cell (4F x 4F at 32 nm, {subarray_area:.1f} um^2 per 128x128 subarray); we count the "
        f"{needed} subarrays the {weights:,} weights occupy, NeuroSim's floorplan reserves whole tiles "
        f"({NEUROSIM_VGG8_FLOORPLAN_SUBARRAYS} subarrays: 9 PEs of 16 subarrays per novel-mapped conv layer, "
        "64-subarray tiles for the first and the fully connected layers, spare ones filled with duplicates)",
    )
    row(
        f"VGG-8 CIM array area, NeuroSim's {NEUROSIM_VGG8_FLOORPLAN_SUBARRAYS}-subarray floorplan (um^2)",
        NEUROSIM_VGG8_FLOORPLAN_SUBARRAYS * subarray_area,
        published["cim_array_fw_ag"],
        source,
        "our cell-area model on the subarray count of NeuroSim's floorplan (worked out by hand from "
        "Chip.cpp's mapping rules): the cell model agrees, the whole gap of the row above is floorplan",
    )
    row(
        f"VGG-8 ADC area, {needed} subarrays x {adcs_per_subarray} {bits}-bit SAR ADCs (um^2)",
        needed * adcs_per_subarray * adc_area,
        published["adc"],
        source,
        "NeuroSim's default converter is the multilevel sense amplifier (SARADC = false): a flash ADC of "
        f"{2**bits - 1} current-mode sense amplifiers (48 NMOS + 24 PMOS each, MultilevelSenseAmp.cpp "
        f"CalculateArea with currentMode = true) = {(2**bits - 1) * 72} transistors against the SAR's "
        f"{sar_transistors}, both costed at the same {footprint:g} F^2 per transistor; and NeuroSim's "
        f"floorplan reserves {NEUROSIM_VGG8_FLOORPLAN_SUBARRAYS} subarrays where the weights need {needed}",
    )
    row(
        f"VGG-8 ADC area, NeuroSim's {NEUROSIM_VGG8_FLOORPLAN_SUBARRAYS}-subarray floorplan (um^2)",
        NEUROSIM_VGG8_FLOORPLAN_SUBARRAYS * adcs_per_subarray * adc_area,
        published["adc"],
        source,
        f"same converter count as NeuroSim ({adcs_per_subarray} per subarray, assumed: 8:1 muxing on the "
        "forward and on the transposed read); what is left is SAR against multilevel sense amplifier. Not "
        "fully reconciled: by NeuroSim's own MLSA formula the flash converter alone would be about 3.3x the "
        "SAR, more than this gap; the figure was printed by a V2.0 run whose converter settings (levels, "
        "transposed readout) the manual does not list",
    )

    # formula rows: one 128x128 subarray, NeuroSim's SarADC.cpp fits evaluated here
    g_on = tech.number("array.g_on_S")
    g_mean = 0.5 * (g_on + tech.number("array.g_off_S"))
    v_read = tech.number("array.read_voltage_V")
    node_um = tech.number("digital.node_nm") * 1e-3

    def sar_energy_pJ(column_resistance: float) -> float:
        # SarADC.cpp GetColumnPower, LP, 32 nm, with its read-voltage correction, times (bits+1) ns
        scaled = column_resistance * 0.5 / v_read
        power = (1.1294 * bits + 8.8998) * 1e-6 + 0.079449 * math.exp(-2.297 * math.log10(scaled))
        return power * (bits + 1) * 1e-9 * 1e12

    formula = "SarADC.cpp formulas with Param.cpp defaults, evaluated here (implementation check)"
    row(
        "SAR ADC energy, one read of 128 columns at g_on (pJ)",
        sub_cols * tech.adc_energy_pJ(bits, 1.0 / (sub_rows * g_on)),
        sub_cols * sar_energy_pJ(1.0 / (sub_rows * g_on)),
        formula,
        "same fit and column resistance (128 cells in parallel at g_on): checks our implementation only",
    )
    row(
        "SAR ADC energy, one read of 128 columns, ours at mean conductance (pJ)",
        sub_cols * tech.adc_energy_pJ(bits, 1.0 / (sub_rows * g_mean)),
        sub_cols * sar_energy_pJ(1.0 / (sub_rows * g_on)),
        formula,
        "the estimator evaluates the fit at the mean conductance (g_on + g_off)/2, NeuroSim at the column's "
        "actual weights; g_on is its upper bound: a higher column resistance draws less ADC power",
    )
    row(
        "SAR ADC latency, one read with 8 columns per ADC (ns)",
        k * tech.adc_latency_ns(bits),
        k * (bits + 1) * 1.0,
        formula,
        "same (bits+1) ns per conversion and 8:1 column multiplexing",
    )
    row(
        "SAR ADC area, one subarray's 16 forward ADCs (um^2)",
        math.ceil(sub_cols / k) * adc_area,
        (sub_cols / k)
        * ((269 + (bits - 1) * 109) + (209 + (bits - 1) * 73))
        * tech.number("adc.transistor_footprint_F2")
        * node_um**2,
        formula,
        "same transistor counts and per-transistor cell (CalculateGateArea, 212.8 F^2) on both sides: "
        "checks our implementation only",
    )
    return rows_out


def depth_study(
    depths: list[int], *, technology: str = "rpu_45nm", use_synthesis: bool = False
) -> list[dict[str, Any]]:
    """BP (analog SGD) versus DFA for MLPs of each depth: latency per sample, speed-up, DFA's price.

    The networks are ``64, 32 x (depth-1), 10`` (:func:`pulsetrain.model.schedule.mlp_sizes`). The
    speed-up of the part after the forward pass (``training_speedup``) is the one that approaches N.
    """
    from pulsetrain.model.schedule import latency_by_depth, mlp_sizes

    tech = load_technology(technology)
    by_depth = {
        row["depth"]: row for row in latency_by_depth(tuple(depths), timing=_timing(EstimateConfig(), tech))
    }
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
                * tech.number("array.cell_area_F2")
                * tech.feature_size_um**2,
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
