"""Area / energy / latency of training an MLP in-situ with each learning algorithm, NeuroSim style.

The estimate is per training sample and per epoch, split into

``arrays``
    crossbar cells (area), read currents ``V_read² · G · t_read`` over the cells of every read.
``adcs``
    SAR ADCs shared by ``columns_per_adc`` lines, costed by :mod:`pulsetrain.synth.converters` (Murmann's
    survey or NeuroSim's fit, with the range of the figure of merit); conversion time ``bits + 1`` cycles.
``drivers``
    line drivers and their pulse-width input DACs: the line and the driver's output charged to the read
    or write voltage per driven line, plus one DAC conversion per driven row of a read (ISAAC's DAC power
    times the time its output is on, one cycle to the read window: :func:`.converters.dac_energy_pJ`).
``pulses``
    the update pulses themselves: the device's write energy per coincidence (or the resistive stand-in
    ``V_w² · G · t_w`` plus ``(V_w/2)² · G · t_w`` per half-selected device); counts from a training run
    (``pulse_counts``) or, when none is given, the expected counts of the stochastic update at an assumed
    firing probability (said so).
``digital``
    periphery logic from the Nangate45 synthesis reports of the registry blocks (area, OpenSTA power x
    time), scaled to the technology node (:mod:`pulsetrain.synth.digital`); power at the switching
    activity of a recorded training workload where one exists, with the random-activity figure as the
    bound. A block whose report lacks a figure is synthesized again; if the figure is still missing the
    category is *unavailable* (``None`` in JSON), never zero.
``buffers``
    digital memories outside the logic: H (TTv2 family), AGAD references, SBE vectors, costed from
    OpenRAM's characterized FreePDK45 macros (:mod:`pulsetrain.synth.sram`: a fit of energy per bit in the
    depth and of area in the capacity, scaled to the table's node and supply), with the table's
    full-swing wire model as the other end of each access's range; DFA's fixed feedback arrays ``B_l``
    are analog tiles and count under arrays and ADCs with the label ``feedback``.
``movement``
    activations and errors moved between tiles over one tile hop (the side of a tile unless the table
    gives ``movement.bus_length_um_per_tile``).

Every energy is kept as a :class:`Term` (count per sample x figure per operation), so each category is the
sum of its terms and each term can be checked against the table it came from. Latency:
:mod:`pulsetrain.synth.latency`.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulsetrain.synth import converters, sram
from pulsetrain.synth.latency import Latency, latency_breakdown
from pulsetrain.synth.technology import Technology, load_technology
from pulsetrain.synth.terms import CATEGORIES, Estimate, Term

from pulsetrain import catalogue
from pulsetrain.config import ConfigError, check_int, check_range

__all__ = [
    "CATEGORIES",
    "ESTIMATE_ALGORITHMS",
    "Algorithm",
    "Estimate",
    "EstimateConfig",
    "PulseCounts",
    "Term",
    "estimate",
    "load_pulse_counts",
    "parse_network",
]

#: the algorithms the estimator describes, from the catalogue (``fp`` is the digital floating-point
#: reference: no analog cost).
ESTIMATE_ALGORITHMS: tuple[str, ...] = catalogue.algorithm_names(estimator=True)


class Algorithm(enum.Enum):
    """Learning rules the estimator knows (names as in the model's ``--algo``; a test holds the members
    equal to :data:`ESTIMATE_ALGORITHMS`)."""

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
    #: digital power at the switching activity of a recorded training workload (pulse-generator codes of a
    #: real run); the random-activity figure is then the bound. False: random activity only.
    workload_activity: bool = True

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


# --------------------------------------------------------------------------------------------------
# the analog terms
# --------------------------------------------------------------------------------------------------


class _Ledger:
    """Collects the terms of one estimate."""

    def __init__(self) -> None:
        self.energy: list[Term] = []
        self.area: list[Term] = []
        self.read_energy: dict[str, float] = {}

    def spend(self, category: str, what: str, count: float, per: float | converters.Bounds) -> float:
        if isinstance(per, converters.Bounds):
            term = Term(category, what, count, per.nominal, per.low, per.high)
        else:
            term = Term(category, what, count, per)
        self.energy.append(term)
        return term.value

    def place(self, category: str, what: str, count: float, per: float) -> None:
        self.area.append(Term(category, what, count, per))


def _tt_family(config: EstimateConfig) -> bool:
    return config.algorithm in (Algorithm.TTV2, Algorithm.CTTV2, Algorithm.AGAD)


def _read(
    ledger: _Ledger,
    config: EstimateConfig,
    tech: Technology,
    shape: tuple[int, int, int],
    times: float,
    label: str,
    layer: int,
) -> None:
    """``times`` reads of a ``rows x cols`` tile driving ``rows`` inputs and converting ``outputs``."""
    rows, cols, outputs = shape
    array = tech.array
    bits = config.adc_bits or tech.adc.bits
    column_resistance = 1.0 / (rows * array.g_mean_S)
    cell_read = (
        config.input_activity * array.read_voltage_V**2 * array.g_mean_S * array.read_pulse_ns * 1e-9 * 1e12
    )
    spent = ledger.spend("arrays", f"layer {layer} {label} read: cell reads", times * rows * cols, cell_read)
    spent += ledger.spend(
        "adcs",
        f"layer {layer} {label} read: conversions",
        times * outputs,
        converters.adc_energy_pJ(tech, bits, column_resistance),
    )
    drive = converters.line_drive_energy_pJ(tech, cols, array.read_voltage_V)
    spent += ledger.spend("drivers", f"layer {layer} {label} read: row drives", times * rows, drive)
    spent += ledger.spend(
        "drivers",
        f"layer {layer} {label} read: input DAC conversions",
        times * rows,
        converters.dac_energy_pJ(tech, config.input_activity),
    )
    ledger.read_energy[label] = ledger.read_energy.get(label, 0.0) + spent


def _arrays_and_reads(ledger: _Ledger, config: EstimateConfig, tech: Technology) -> None:
    """Arrays (A; C and a reference for the TTv2 family; DFA's B_l), their ADCs, drivers, and reads."""
    algorithm = config.algorithm
    arrays_per_layer = 1 + _tt_family(config) + (algorithm in (Algorithm.TTV2, Algorithm.CTTV2))
    bits = config.adc_bits or tech.adc.bits
    adc_area = converters.adc_area_um2(tech, bits)
    driver_area = converters.driver_area_um2(tech)
    dac_area = converters.dac_area_um2(tech)
    k = tech.adc.columns_per_adc
    output_layer = config.network[-1]
    cell = tech.array.cell_area_um2
    for index, (fan_in, fan_out) in enumerate(config.layers):
        ledger.place("arrays", f"layer {index}: cells", arrays_per_layer * fan_in * fan_out, cell)
        # ADCs on the outputs (forward); on the inputs too where a transposed read is needed (BP family)
        transposed = algorithm is not Algorithm.DFA and index > 0
        ledger.place(
            "adcs",
            f"layer {index}: ADCs",
            math.ceil(fan_out / k) + transposed * math.ceil(fan_in / k),
            adc_area,
        )
        lines = (fan_in + fan_out) * (2 if _tt_family(config) else 1)
        ledger.place("drivers", f"layer {index}: line drivers", lines, driver_area)
        # one pulse-width input DAC per driven line (a line is read from one side or the other)
        ledger.place("drivers", f"layer {index}: input DACs", lines, dac_area)
        _read(ledger, config, tech, (fan_in, fan_out, fan_out), 1.0, "forward", index)
        if algorithm is Algorithm.DFA:
            if index < len(config.layers) - 1:
                # fixed random feedback B_l (fan_out x d_out) read once per sample
                ledger.place("arrays", f"layer {index}: feedback cells", fan_out * output_layer, cell)
                ledger.place("adcs", f"layer {index}: feedback ADCs", math.ceil(fan_out / k), adc_area)
                ledger.place(
                    "drivers", f"layer {index}: feedback drivers", fan_out + output_layer, driver_area
                )
                ledger.place(
                    "drivers", f"layer {index}: feedback input DACs", fan_out + output_layer, dac_area
                )
                _read(ledger, config, tech, (output_layer, fan_out, fan_out), 1.0, "feedback", index)
        elif index > 0:
            _read(ledger, config, tech, (fan_out, fan_in, fan_in), 1.0, "backward", index)
        if _tt_family(config):
            # one column read of A per transfer: one-hot input, fan_out conversions
            _read(ledger, config, tech, (1, fan_out, fan_out), 1.0 / config.transfer_every, "transfer", index)


def _pulse_counts(
    config: EstimateConfig, pulse_counts: PulseCounts | None, notes: list[str]
) -> tuple[list[float], list[float], list[float] | None]:
    """(coincidences, line pulses, C coincidences or None) per sample and layer."""
    if pulse_counts is not None:
        if len(pulse_counts.coincidences) != len(config.layers):
            raise ConfigError(
                f"pulse counts have {len(pulse_counts.coincidences)} layers, the network {len(config.layers)}"
            )
        notes.append(f"pulse counts from {pulse_counts.source}")
        c_counts = list(pulse_counts.c_coincidences) or None
        return list(pulse_counts.coincidences), list(pulse_counts.line_pulses), c_counts
    p = config.firing_probability
    updates = 1.0 / config.sbe_batch if config.algorithm is Algorithm.SBE else 1.0
    notes.append(
        f"pulse counts not measured: expected counts of a stochastic update with BL={config.bl} and "
        f"firing probability {p} per line and slot (assumption)"
    )
    coincidences = [config.bl * fi * fo * p * p * updates for fi, fo in config.layers]
    return coincidences, [config.bl * (fi + fo) * p * updates for fi, fo in config.layers], None


def _updates(
    ledger: _Ledger,
    config: EstimateConfig,
    tech: Technology,
    pulse_counts: PulseCounts | None,
    notes: list[str],
) -> None:
    """Update pulses (device writes and half-selects) and the drivers of the pulsed lines."""
    coincidences, line_pulses, c_coincidences = _pulse_counts(config, pulse_counts, notes)
    if _tt_family(config) and c_coincidences is None:
        c_coincidences = [config.c_pulses_per_device * fi * fo for fi, fo in config.layers]
        notes.append(f"C pulses: {config.c_pulses_per_device} per device per sample (Rasch et al. range)")
    full, half, model = converters.coincidence_energy_pJ(tech)
    notes.append(f"device write energy: {model}")
    half_drive_V = tech.array.write_voltage_V / 2
    for index, (fan_in, fan_out) in enumerate(config.layers):
        mean_line = 0.5 * (fan_in + fan_out)
        ledger.spend("pulses", f"layer {index}: coincidences", coincidences[index], full)
        if half > 0:
            ledger.spend(
                "pulses", f"layer {index}: half-selected devices", line_pulses[index] * mean_line, half
            )
        drive = converters.line_drive_energy_pJ(tech, mean_line, half_drive_V)
        ledger.spend("drivers", f"layer {index}: update line pulses", line_pulses[index], drive)
        if c_coincidences is not None:
            ledger.spend(
                "pulses",
                f"layer {index}: C coincidences",
                c_coincidences[index],
                full + (fan_in + fan_out) * half,
            )


def _buffers(ledger: _Ledger, config: EstimateConfig, tech: Technology) -> None:
    """Digital memories outside the logic, costed from OpenRAM's FreePDK45 macros (:mod:`.sram`)."""
    algorithm = config.algorithm
    rows: list[tuple[str, int, int, float]] = []  # name, width, depth, accesses per sample
    for index, (fan_in, fan_out) in enumerate(config.layers):
        if _tt_family(config):
            rows.append((f"H[{index}]", config.h_bits * fan_out, fan_in, 2.0 / config.transfer_every))
        if algorithm is Algorithm.AGAD:
            rows.append(
                (f"reference[{index}]", config.reference_bits * fan_out, fan_in, 2.0 / config.transfer_every)
            )
        if algorithm is Algorithm.SBE:
            rows.append(
                (f"sbe_vectors[{index}]", config.sbe_vector_bits, fan_in + fan_out, 2.0 * (fan_in + fan_out))
            )
    periphery_um2, per_bit_um2 = sram.macro_area_um2(tech)
    for name, width, depth, accesses in rows:
        # one macro per buffer: OpenRAM's fitted fixed periphery plus its per-bit area
        ledger.place("buffers", f"{name}: SRAM macro periphery", 1, periphery_um2)
        ledger.place("buffers", f"{name}: SRAM bits", width * depth, per_bit_um2)
        # nominal: the OpenRAM macro fit; the table's full-swing wire model is the other end of the range
        macro = sram.macro_access_energy_pJ(tech, width, depth)
        wire = tech.sram_access_energy_pJ(width, depth)
        per_access = converters.Bounds(macro, min(macro, wire), max(macro, wire))
        ledger.spend("buffers", f"{name}: word accesses", accesses, per_access)


def _movement(ledger: _Ledger, config: EstimateConfig, tech: Technology) -> float:
    """Every activation and error crosses one tile hop; returns the hop length (µm)."""
    hop_um = tech.movement.bus_length_um_per_tile
    if hop_um <= 0:
        analog = sum(t.value for t in ledger.area if t.category in ("arrays", "adcs", "drivers"))
        hop_um = math.sqrt(analog / len(config.layers))
    moved_bits = sum(config.network) * config.dac_bits * (2 if config.algorithm is not Algorithm.DFA else 1)
    per_bit = (
        tech.driver.switching_ratio * hop_um * tech.array.wire_cap_fF_per_um * 1e-15 * tech.digital.vdd_V**2
    )
    ledger.spend("movement", f"bits over one {hop_um:.3g} um tile hop", moved_bits, per_bit * 1e12)
    return hop_um


# --------------------------------------------------------------------------------------------------
# the estimate
# --------------------------------------------------------------------------------------------------


#: what no estimate of a fully connected network costs, and why (:attr:`Estimate.not_costed`).
NOT_COSTED: dict[str, str] = {
    "activation functions, their derivatives and the output error": (
        "no block of the RTL registry computes them (the model does)"
    ),
    "activations and errors held from the forward and backward passes until the update": (
        "no memory for them is costed (the pulse generators receive them as codes)"
    ),
    "off-chip memory and the training data's input (DRAM, I/O)": "not modelled",
    "clock tree and power distribution": "no clock tree is built (synthesis without place and route)",
}


def _digital(
    ledger: _Ledger,
    config: EstimateConfig,
    tech: Technology,
    latency: Latency,
    notes: list[str],
    not_costed: dict[str, str],
) -> tuple[dict[str, Any], dict[str, str]]:
    """The digital periphery's terms; (detail per block, unavailable categories)."""
    if not config.use_synthesis:
        not_costed["digital"] = "synthesis not used (use_synthesis = false)"
        return {}, {}
    try:
        from pulsetrain.synth.digital import digital_periphery
    except ImportError as error:
        not_costed["digital"] = f"the synthesis flows cannot be imported ({error})"
        return {}, {}
    result = digital_periphery(config, tech, latency.busy_ns, latency.total_ns, latency.cycles)
    ledger.energy.extend(result.energy_terms)
    ledger.area.extend(result.area_terms)
    notes.extend(result.notes)
    return result.detail, result.unavailable


def estimate(config: EstimateConfig, pulse_counts: PulseCounts | None = None) -> Estimate:
    """Estimate area, energy and latency of training ``config.network`` with ``config.algorithm``."""
    tech = load_technology(config.technology)
    notes: list[str] = []
    ledger = _Ledger()
    _arrays_and_reads(ledger, config, tech)
    _updates(ledger, config, tech, pulse_counts, notes)
    _buffers(ledger, config, tech)
    hop_um = _movement(ledger, config, tech)
    if tech.movement.bus_length_um_per_tile <= 0:
        notes.append(f"tile hop {hop_um:.3g} um: the side of one tile's analog area (derived)")
    latency = latency_breakdown(config, tech)
    notes.extend(latency.notes)
    not_costed = dict(NOT_COSTED)
    if not any(t.category == "buffers" for t in ledger.energy):
        not_costed["buffers"] = (
            f"{config.algorithm.value} keeps no H, references or vectors; the activations and errors held "
            "until the update are listed apart"
        )
    detail, unavailable = _digital(ledger, config, tech, latency, notes, not_costed)
    unverified = tuple(tech.unverified())
    if unverified:
        notes.append(
            "technology figures not verified against a source (assumptions): " + ", ".join(unverified)
        )
    return Estimate(
        config={
            "network": list(config.network),
            "algorithm": config.algorithm.value,
            "adc_bits": config.adc_bits or tech.adc.bits,
            "adc_model": tech.adc.model.value,
            "bl": config.bl,
            "samples_per_epoch": config.samples_per_epoch,
            "transfer_every": config.transfer_every,
        },
        technology=tech.name,
        energy_terms=tuple(ledger.energy),
        area_terms=tuple(ledger.area),
        latency_per_sample_ns=latency.by_category,
        latency_source=latency.source,
        cycles_per_sample=latency.cycles,
        samples_per_epoch=config.samples_per_epoch,
        digital_blocks=detail,
        notes=tuple(notes),
        read_energy_pJ=ledger.read_energy,
        unavailable=unavailable,
        unverified=unverified,
        not_costed=not_costed,
    )


_MOVED = {
    "NEUROSIM_PUBLISHED_AREA_UM2": "pulsetrain.synth.neurosim",
    "NEUROSIM_VGG8": "pulsetrain.synth.neurosim",
    "neurosim_crosscheck": "pulsetrain.synth.neurosim",
    "depth_study": "pulsetrain.synth.studies",
    "overhead_table": "pulsetrain.synth.studies",
}


def __getattr__(name: str) -> Any:
    """The studies and the NeuroSim cross-check, still importable from here (the report does)."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
