"""The digital periphery of an estimate, from the Nangate45 synthesis reports of the registry blocks.

Each block of the algorithm's periphery is synthesized (cached) and costed: area scaled to the table's
node, leakage over the whole sample, dynamic power (OpenSTA) only while the block is busy when clock
gating is assumed. Power is computed twice where a recorded training workload exists for the block
(:mod:`pulsetrain.synth.workload`): at that workload's activity (the figure the estimate uses) and at
random-input activity (the bound). Two rules keep the figures honest:

* a report without an area or a power figure (made, say, before OpenSTA was installed) is synthesized
  again without the cache; if the figure is still missing, the ``digital`` category is *unavailable*
  (never a zero);
* the ADC readout's SAR logic is already inside the converter figure (the survey's converters and
  NeuroSim's SAR fit are whole converters), so each readout (one per read: forward, the transposed read
  of the BP family, DFA's feedback read) is listed with its synthesized figures at the ADC codes of the
  training run's own reads, but not added to the sums (no logic counted twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pulsetrain.synth.technology import Technology
from pulsetrain.synth.terms import Term

from pulsetrain.config import ConfigError

if TYPE_CHECKING:
    from pulsetrain.synth.estimator import EstimateConfig
    from pulsetrain.synth.flows import FlowOptions
    from pulsetrain.synth.reports import SynthesisReport

__all__ = ["DigitalPeriphery", "digital_blocks", "digital_periphery"]

#: when each digital block switches: the phases of a sample in which it is busy.
_BUSY: dict[str, str] = {
    "schedule-controller": "all",
    "pulse-generator": "update",
    "adc-readout": "read",
    "transfer-controller": "transfer",
    "chopper": "transfer",
    "sbe-unit": "sbe",
}

#: blocks whose logic the converter figure already holds (not added to the digital sums).
_IN_CONVERTER = frozenset({"adc-readout"})


@dataclass
class DigitalPeriphery:
    """Terms, detail per block, notes and unavailable categories of the digital periphery."""

    energy_terms: list[Term] = field(default_factory=list)
    area_terms: list[Term] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)


#: one block of the periphery: (registry block, config overrides, instances, layer or -1, reads it
#: converts: "forward", "backward", "feedback" for ADC readouts, "" for the other blocks).
Block = tuple[str, dict[str, Any], int, int, str]


def digital_blocks(config: EstimateConfig) -> list[Block]:
    """The blocks making up the periphery of ``config`` (:data:`Block`).

    Every analog read has its ADC readout: each layer's forward read, the transposed read of the layers
    after the first (the BP family) and the read of each hidden layer's feedback tile ``B_l`` (DFA).
    """
    algorithm = config.algorithm.value
    mode = "dfa" if algorithm == "dfa" else "bp"
    blocks: list[Block] = [
        ("schedule-controller", {"mode": mode, "layer_sizes": ",".join(map(str, config.network))}, 1, -1, "")
    ]
    last = len(config.layers) - 1
    for layer, (fan_in, fan_out) in enumerate(config.layers):
        blocks.append(("pulse-generator", {"x_lines": fan_in, "d_lines": fan_out}, 1, layer, ""))
        blocks.append(("adc-readout", {"columns": fan_out}, 1, layer, "forward"))
        if algorithm != "dfa" and layer > 0:
            blocks.append(("adc-readout", {"columns": fan_in}, 1, layer, "backward"))
        if algorithm == "dfa" and layer < last:
            blocks.append(("adc-readout", {"columns": fan_out}, 1, layer, "feedback"))
        if algorithm in ("ttv2", "c-ttv2", "agad"):
            overrides = {"mode": algorithm, "in_size": fan_in, "out_size": fan_out, "h_bits": config.h_bits}
            blocks.append(("transfer-controller", overrides, 1, layer, ""))
        if algorithm in ("c-ttv2", "agad"):
            blocks.append(("chopper", {"lines": fan_in}, 1, layer, ""))
        if algorithm == "sbe":
            blocks.append(("sbe-unit", {"rows": fan_in, "cols": fan_out}, 1, layer, ""))
    return blocks


def _complete(report: SynthesisReport) -> bool:
    return report.area_um2 is not None and report.power is not None


def _synthesize_complete(design: Any, options: FlowOptions) -> tuple[SynthesisReport, str]:
    """The report of ``design``; one without area or power is synthesized again without the cache."""
    from pulsetrain.synth.flows import synthesize

    report = synthesize(design, options)
    if _complete(report):
        return report, "cached" if report.cached else "synthesized"
    report = synthesize(design, options, use_cache=False)
    return report, "re-synthesized (the cached report lacked a figure)"


def _block_energy_pJ(
    report: SynthesisReport, scale: float, total_ns: float, active_ns: float
) -> tuple[float, float]:
    """(leakage over the whole sample, dynamic power while busy), pJ."""
    assert report.power is not None
    leakage_W = report.power.leakage_W * scale
    dynamic_W = (report.power.internal_W + report.power.switching_W) * scale
    # W x ns = 1e-9 J = 1e3 pJ
    return leakage_W * total_ns * 1e3, dynamic_W * active_ns * 1e3


def _workload_options(
    block: Block, config: EstimateConfig, base: FlowOptions, cycles: int
) -> FlowOptions | None:
    """Flow options whose activity is the recorded training workload of this block, or None."""
    import dataclasses

    from pulsetrain.synth import workload
    from pulsetrain.synth.activity import ActivityStimulus
    from pulsetrain.synth.tools import cache_root

    name, overrides, _count, layer, reads = block
    if not config.workload_activity:
        return None
    if name == "pulse-generator":
        recorded = workload.record_updates(config.network, config.algorithm.value)
        from pulsetrain.rtl.blocks import get_block

        from pulsetrain.config import apply_overrides

        # the block's config as synthesized (not its component: building one unused makes Amaranth warn)
        block_config = apply_overrides(get_block(name).default_config(), overrides)
        ports = workload.pulse_generator_workload(block_config, recorded, layer)
        source = recorded.source
    elif name == "transfer-controller":
        from pulsetrain.rtl.blocks import get_block

        from pulsetrain.config import apply_overrides

        transfers = workload.record_transfers(config.network, config.algorithm.value)
        block_config = apply_overrides(get_block(name).default_config(), overrides)
        ports = workload.transfer_controller_workload(block_config, transfers, layer)
        source = transfers.source
    elif name == "chopper":
        from pulsetrain.rtl.blocks import get_block

        from pulsetrain.config import apply_overrides

        transfers = workload.record_transfers(config.network, config.algorithm.value)
        recorded = workload.record_updates(config.network, config.algorithm.value)
        block_config = apply_overrides(get_block(name).default_config(), overrides)
        ports = workload.chopper_workload(block_config, transfers, recorded, layer)
        source = transfers.source
    elif name == "sbe-unit":
        from pulsetrain.rtl.blocks import get_block

        from pulsetrain.config import apply_overrides

        samples = workload.record_sbe_samples(config.network)
        block_config = apply_overrides(get_block(name).default_config(), overrides)
        ports = workload.sbe_unit_workload(block_config, samples, layer)
        source = samples.source
    elif name == "adc-readout":
        from pulsetrain.rtl.blocks import get_block

        from pulsetrain.config import apply_overrides

        # the ADC codes of the algorithm's own reads in a training run, at the block's resolution
        recorded_reads = workload.record_read_codes(config.network, config.algorithm.value)
        codes = {
            "forward": recorded_reads.forward,
            "backward": recorded_reads.backward,
            "feedback": recorded_reads.feedback,
        }[reads]
        if layer >= len(codes) or not len(codes[layer]):
            return None
        block_config = apply_overrides(get_block(name).default_config(), overrides)
        ports = workload.adc_readout_workload_of_codes(
            block_config, list(codes[layer]), recorded_reads.full_scale
        )
        source = f"ADC codes of the {reads} reads of layer {layer} in {recorded_reads.source}"
    elif name == "schedule-controller":
        ports, source = workload.schedule_controller_workload(cycles), "one start per sample"
    else:
        return None
    path, digest = workload.workload_file(ports, cache_root() / "workloads")
    stimulus = ActivityStimulus(workload_file=str(path), workload_sha256=digest, workload_source=source)
    return dataclasses.replace(base, activity=stimulus)


def _cost_block(
    result: DigitalPeriphery,
    block: Block,
    config: EstimateConfig,
    tech: Technology,
    timing: tuple[dict[str, float], float, int],
) -> None:
    """Synthesize one block and add its terms (or its missing figure) to ``result``."""
    from pulsetrain.rtl.blocks import BLOCKS
    from pulsetrain.synth.blocks import block_design
    from pulsetrain.synth.flows import FlowOptions, Target

    name, overrides, count, layer, reads = block
    busy_ns, total_ns, cycles = timing
    label = f"{name}({', '.join(f'{k}={v}' for k, v in overrides.items())})"
    if reads:
        label += f" [{reads} reads of layer {layer}]"
    if name not in BLOCKS:
        result.detail[label] = {"status": "not in the RTL registry: not costed"}
        result.unavailable["digital"] = f"{label} is not in the RTL registry"
        return
    try:
        design = block_design(name, sets=[f"{k}={v}" for k, v in overrides.items()])
    except ConfigError as error:
        design = block_design(name)
        result.notes.append(f"{name}: default config synthesized ({error})")
    random_options = FlowOptions(target=Target.NANGATE45, clock_period_ns=tech.digital.cycle_ns)
    report, how = _synthesize_complete(design, random_options)
    row: dict[str, Any] = {"status": f"nangate45 synthesis ({how})", "key": report.key[:16]}
    result.detail[label] = row
    if not _complete(report):
        missing = "area" if report.area_um2 is None else "power"
        row["status"] += f": no {missing} figure ({'; '.join(report.notes) or 'see the report'})"
        result.unavailable["digital"] = f"{label}: no {missing} figure after re-synthesis"
        return
    tag = _BUSY.get(name, "all")
    tag = f"{tag}:{layer}" if tag in ("update", "read") else tag
    active_ns = busy_ns.get(tag, total_ns) if config.clock_gating else total_ns
    scale = tech.digital.energy_scale * count
    leakage_pJ, random_pJ = _block_energy_pJ(report, scale, total_ns, active_ns)
    dynamic_pJ, activity = random_pJ, "random inputs (no recorded workload for this block)"
    options = _workload_options(block, config, random_options, cycles)
    if options is not None:
        recorded, how = _synthesize_complete(design, options)
        if _complete(recorded):
            dynamic_pJ = _block_energy_pJ(recorded, scale, total_ns, active_ns)[1]
            activity = options.activity.describe()
    area = (report.area_um2 or 0.0) * tech.digital.area_scale * count
    row.update(
        energy_pJ=leakage_pJ + dynamic_pJ,
        leakage_pJ=leakage_pJ,
        dynamic_pJ=dynamic_pJ,
        random_activity_dynamic_pJ=random_pJ,
        activity=activity,
        area_um2_scaled=area,
        busy_ns=active_ns,
        sample_ns=total_ns,
        nangate45_area_um2=report.area_um2,
        critical_path_ns=report.critical_path_ns,
    )
    if report.critical_path_ns is not None and report.critical_path_ns > tech.digital.cycle_ns:
        result.notes.append(
            f"{label}: critical path {report.critical_path_ns:.2f} ns at 45 nm exceeds the "
            f"{tech.digital.cycle_ns:g} ns clock (not pipelined for this clock)"
        )
    if name in _IN_CONVERTER:
        row["counted"] = "no: its SAR logic is part of the converter figure (adcs)"
        return
    row["counted"] = "yes"
    result.energy_terms.append(Term("digital", f"{label}: leakage over the sample", 1.0, leakage_pJ))
    low, high = sorted((dynamic_pJ, random_pJ))
    result.energy_terms.append(Term("digital", f"{label}: dynamic while busy", 1.0, dynamic_pJ, low, high))
    result.area_terms.append(Term("digital", label, 1.0, area))


def digital_periphery(
    config: EstimateConfig, tech: Technology, busy_ns: dict[str, float], total_ns: float, cycles: int = 0
) -> DigitalPeriphery:
    """Area and energy per sample of the digital periphery at the table's node, with detail and notes."""
    result = DigitalPeriphery()
    for block in digital_blocks(config):
        _cost_block(result, block, config, tech, (busy_ns, total_ns, cycles or int(total_ns)))
    result.notes.append(
        "digital energy: OpenSTA power at the activity of a recorded training workload where one exists "
        "(pulse generators: the codes of a real run; transfer controllers: its updates and column reads; "
        "choppers: the update signs and transfer reads; SBE units: the streamed vectors; schedule "
        "controller: one start per sample; ADC readouts, listed but not added: comparator answers "
        "converting the ADC codes of the run's own forward, backward and feedback reads), the "
        "random-input figure as the other end of the range; leakage over the whole sample, dynamic power "
        + (
            "only in the phases each block works in (clock gating assumed)"
            if config.clock_gating
            else "over the whole sample"
        )
    )
    if "digital" in result.unavailable:
        result.notes.append(f"digital periphery unavailable: {result.unavailable['digital']}")
    return result
