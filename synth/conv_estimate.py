"""Training estimates of convolutional networks (LeNet-5, VGG-8) on subarrays mapped by NeuroSim's rules.

The layers are placed by :func:`pulsetrain.synth.mapping.map_network` (NeuroSim V2.1's floorplan: subarray
size, novel mapping of 3x3 layers, duplication). Per image and layer, with ``V`` input vectors (kernel
positions), ``R x C`` the unfolded kernel and ``b_r``, ``b_c`` its row and column blocks of subarrays:

``arrays``
    cell reads ``V·R·C`` forward and, from the second layer on, ``V·R·C`` backward (activation gradient),
    each ``input_activity · V_read² · G_mean · t_read``.
``adcs``
    every subarray converts its own partial sums: ``V·C·b_r`` forward, ``V·R·b_c`` backward.
``drivers``
    ``V·R·b_c`` forward row drives of one subarray line (``V·C·b_r`` backward) plus one input DAC
    conversion per driven input; and the update line pulses.
``pulses``
    SGD's pulsed update as pulsetrain's analog convolution does it (and aihwkit's): one rank-1 update per
    kernel position, ``V·BL·R·C·p²`` expected coincidences and ``V·BL·(R+C)·p`` line pulses.
``movement``
    the layer outputs forward and the errors backward, ``dac_bits`` per value over one tile hop.

Not costed (listed in the estimate's ``not_costed``): the digital periphery (no synthesis at these sizes
here), buffers, pooling and activation logic, the accumulation of partial sums and DRAM. The latency is
layer by layer: ``ceil(V / duplication)`` reads of one subarray (integration plus ``columns_per_adc``
conversions) forward and backward, then ``V`` update cycles of ``BL`` pulse slots each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pulsetrain.synth import converters
from pulsetrain.synth.mapping import ChipMapping, LayerShape, map_network
from pulsetrain.synth.technology import Technology, load_technology
from pulsetrain.synth.terms import CATEGORIES, Estimate, Term

from pulsetrain.config import ConfigError, check_int, check_range

__all__ = ["CONV_NETWORKS", "ConvEstimateConfig", "conv_estimate", "network_layers"]

#: NeuroSim V2.1's VGG-8 for CIFAR-10, as its ``Training_pytorch/NeuroSIM/NetWork.csv`` lists it
#: (github.com/neurosim/DNN_NeuroSim_V2.1 at 18289cbb1ffa74947a9e3b785688e530240b9bf1: input rows, input
#: columns, input channels, kernel rows, kernel columns, output channels, pooling after, stride).
VGG8_NETWORK_CSV: tuple[tuple[int, ...], ...] = (
    (32, 32, 3, 3, 3, 128, 0, 1),
    (32, 32, 128, 3, 3, 128, 1, 1),
    (16, 16, 128, 3, 3, 256, 0, 1),
    (16, 16, 256, 3, 3, 256, 1, 1),
    (8, 8, 256, 3, 3, 512, 0, 1),
    (8, 8, 512, 3, 3, 512, 1, 1),
    (1, 1, 8192, 1, 1, 1024, 0, 1),
    (1, 1, 1024, 1, 1, 10, 0, 1),
)

#: the convolutional networks the estimator maps.
CONV_NETWORKS: tuple[str, ...] = ("lenet5", "vgg8")


def network_layers(name: str) -> list[LayerShape]:
    """The layers of a named network.

    ``vgg8``: :data:`VGG8_NETWORK_CSV` (NeuroSim's, no bias). ``lenet5``: the shapes the model trains
    (:func:`pulsetrain.model.conv.network_shapes` on 28x28 single-channel images, 10 classes, with the
    model's bias lines).
    """
    if name == "vgg8":
        return [
            LayerShape(
                input_rows=h,
                input_cols=w,
                in_channels=c,
                kernel_rows=kh,
                kernel_cols=kw,
                out_channels=o,
                stride=s,
            )
            for h, w, c, kh, kw, o, _pool, s in VGG8_NETWORK_CSV
        ]
    if name != "lenet5":
        raise ConfigError(
            f"--network must be one of {', '.join(CONV_NETWORKS)} or sizes like 64-32-10; not {name!r}"
        )
    from pulsetrain.model.conv import network_shapes

    shapes = network_shapes("lenet5", (1, 28, 28), 10, True)
    layers = []
    rows = cols = 28
    for in_ch, out_ch, kernel, pool, _after in shapes["convs"]:
        layers.append(
            LayerShape(
                input_rows=rows,
                input_cols=cols,
                in_channels=in_ch,
                kernel_rows=kernel,
                kernel_cols=kernel,
                out_channels=out_ch,
                bias_row=True,
            )
        )
        rows, cols = (rows - kernel + 1) // pool, (cols - kernel + 1) // pool
    for out_size, in_size in shapes["dense"]:
        layers.append(
            LayerShape(
                input_rows=1,
                input_cols=1,
                in_channels=in_size - 1,
                kernel_rows=1,
                kernel_cols=1,
                out_channels=out_size,
                bias_row=True,
            )
        )
    return layers


@dataclass(frozen=True, kw_only=True)
class ConvEstimateConfig:
    """What to estimate for a convolutional network (analog SGD)."""

    #: network name (:data:`CONV_NETWORKS`).
    network: str = "lenet5"
    #: technology table (shipped name or path).
    technology: str = "rpu_45nm"
    #: training images per epoch.
    samples_per_epoch: int = 60000
    #: ADC resolution; 0 takes the table's.
    adc_bits: int = 0
    #: input code width (bits moved per activation or error).
    dac_bits: int = 8
    #: pulse slots per update (aihwkit's BL).
    bl: int = 31
    #: mean firing probability of a pulsed line per slot (no measured counts at these sizes).
    firing_probability: float = 0.1
    #: mean |input| of a read as a fraction of full scale.
    input_activity: float = 0.5
    #: NeuroSim's novel mapping of the 3x3 layers.
    novel_mapping: bool = True

    def __post_init__(self) -> None:
        if self.network not in CONV_NETWORKS:
            raise ConfigError(f"network must be one of {', '.join(CONV_NETWORKS)}, not {self.network!r}")
        check_int("samples_per_epoch", self.samples_per_epoch, 1)
        check_int("adc_bits", self.adc_bits, 0, 16)
        check_int("dac_bits", self.dac_bits, 1, 16)
        check_int("bl", self.bl, 1, 1 << 12)
        check_range("firing_probability", self.firing_probability, 0.0, 1.0)
        check_range("input_activity", self.input_activity, 0.0, 1.0)


def _spend(terms: list[Term], category: str, what: str, count: float, per: float | converters.Bounds) -> None:
    if isinstance(per, converters.Bounds):
        terms.append(Term(category, what, count, per.nominal, per.low, per.high))
    else:
        terms.append(Term(category, what, count, per))


def _layer_energy(
    terms: list[Term], config: ConvEstimateConfig, tech: Technology, index: int, mapping: ChipMapping
) -> None:
    """Reads (forward; backward from the second layer on) and the per-position pulsed update of one layer."""
    placed = mapping.layers[index]
    layer = placed.shape
    vectors, rows, cols = layer.vectors, layer.matrix_rows, layer.out_channels
    array = tech.array
    bits = config.adc_bits or tech.adc.bits
    sub_rows, sub_cols = array.subarray_rows, array.subarray_cols
    cell_read = config.input_activity * array.read_voltage_V**2 * array.g_mean_S * array.read_pulse_ns * 1e3
    adc = converters.adc_energy_pJ(tech, bits, 1.0 / (min(rows, sub_rows) * array.g_mean_S))
    reads = [("forward", rows, cols, placed.row_blocks, placed.col_blocks, sub_cols)]
    if index > 0:
        reads.append(("backward", cols, rows, placed.col_blocks, placed.row_blocks, sub_rows))
    for label, inputs, outputs, in_blocks, out_blocks, line_cells in reads:
        name = f"layer {index} {label}"
        _spend(terms, "arrays", f"{name}: cell reads", vectors * rows * cols, cell_read)
        _spend(
            terms,
            "adcs",
            f"{name}: conversions (one per subarray output)",
            vectors * outputs * in_blocks,
            adc,
        )
        drive = converters.line_drive_energy_pJ(tech, min(outputs, line_cells), array.read_voltage_V)
        _spend(terms, "drivers", f"{name}: subarray line drives", vectors * inputs * out_blocks, drive)
        _spend(
            terms,
            "drivers",
            f"{name}: input DAC conversions",
            vectors * inputs,
            converters.dac_energy_pJ(tech, config.input_activity),
        )
    p, bl = config.firing_probability, config.bl
    full, half, _model = converters.coincidence_energy_pJ(tech)
    line_pulses = vectors * bl * (rows + cols) * p
    _spend(
        terms,
        "pulses",
        f"layer {index}: coincidences (one update per position)",
        vectors * bl * rows * cols * p * p,
        full,
    )
    mean_line = 0.5 * (min(rows, sub_rows) + min(cols, sub_cols))
    if half > 0:
        _spend(terms, "pulses", f"layer {index}: half-selected devices", line_pulses * mean_line, half)
    drive = converters.line_drive_energy_pJ(tech, mean_line, array.write_voltage_V / 2)
    _spend(terms, "drivers", f"layer {index}: update line pulses", line_pulses, drive)


def _areas(config: ConvEstimateConfig, tech: Technology, mapping: ChipMapping) -> list[Term]:
    """Reserved subarrays with their ADCs (forward and transposed read) and line drivers."""
    array = tech.array
    bits = config.adc_bits or tech.adc.bits
    k = tech.adc.columns_per_adc
    subarray_cells = array.subarray_rows * array.subarray_cols
    adcs_per_subarray = math.ceil(array.subarray_cols / k) + math.ceil(array.subarray_rows / k)
    terms = []
    for index, placed in enumerate(mapping.layers):
        count = placed.subarrays_reserved
        terms.append(
            Term("arrays", f"layer {index}: {count} subarrays", count * subarray_cells, array.cell_area_um2)
        )
        terms.append(
            Term(
                "adcs", f"layer {index}: ADCs", count * adcs_per_subarray, converters.adc_area_um2(tech, bits)
            )
        )
        lines = count * (array.subarray_rows + array.subarray_cols)
        terms.append(Term("drivers", f"layer {index}: line drivers", lines, converters.driver_area_um2(tech)))
        terms.append(Term("drivers", f"layer {index}: input DACs", lines, converters.dac_area_um2(tech)))
    return terms


def _latency_ns(config: ConvEstimateConfig, tech: Technology, mapping: ChipMapping) -> dict[str, float]:
    """Layer by layer: duplicated reads forward and backward, then one pulsed update per position."""
    latency = dict.fromkeys(CATEGORIES, 0.0)
    bits = config.adc_bits or tech.adc.bits
    conversions_ns = tech.adc.columns_per_adc * converters.adc_latency_ns(tech, bits)
    slot_ns = max(tech.array.write_pulse_ns, tech.digital.cycle_ns)
    for index, placed in enumerate(mapping.layers):
        reads = math.ceil(placed.shape.vectors / placed.duplication) * (2 if index > 0 else 1)
        latency["arrays"] += reads * tech.array.read_pulse_ns
        latency["adcs"] += reads * conversions_ns
        latency["pulses"] += placed.shape.vectors * config.bl * slot_ns
    return latency


def conv_estimate(config: ConvEstimateConfig) -> Estimate:
    """Area, energy and latency per training image of ``config.network`` with analog SGD."""
    tech = load_technology(config.technology)
    layers = network_layers(config.network)
    mapping = map_network(
        layers,
        subarray_rows=tech.array.subarray_rows,
        subarray_cols=tech.array.subarray_cols,
        novel_mapping=config.novel_mapping,
    )
    terms: list[Term] = []
    for index in range(len(layers)):
        _layer_energy(terms, config, tech, index, mapping)
    area_terms = _areas(config, tech, mapping)
    analog = sum(t.value for t in area_terms)
    hop_um = math.sqrt(analog / len(layers))
    moved = sum(l.vectors * (l.out_channels + (l.matrix_rows if i else 0)) for i, l in enumerate(layers))
    per_bit = (
        tech.driver.switching_ratio * hop_um * tech.array.wire_cap_fF_per_um * 1e-3 * tech.digital.vdd_V**2
    )
    _spend(terms, "movement", f"bits over one {hop_um:.3g} um tile hop", moved * config.dac_bits, per_bit)
    latency = _latency_ns(config, tech, mapping)
    notes = [
        f"mapping: NeuroSim V2.1 floorplan rules, {mapping.subarrays_reserved} subarrays reserved, "
        f"{mapping.subarrays_used} used by one copy of the weights; duplication per layer "
        + ", ".join(str(m.duplication) for m in mapping.layers),
        (
            f"pulse counts not measured: expected counts of one stochastic update per kernel position, "
            f"BL={config.bl}, "
            f"firing probability {config.firing_probability} (assumption)"
        ),
    ]
    not_costed = {
        "digital": "the periphery of conv layers is not synthesized here",
        "buffers": "input, activation and partial-sum buffers of the conv mapping are not modelled",
        "pooling, activation functions and the output error": "not modelled",
        "accumulation of partial sums across subarrays": "not modelled (NeuroSim's adder trees, shift-add)",
        "off-chip memory (DRAM)": "not modelled",
    }
    unverified = tuple(tech.unverified())
    if unverified:
        notes.append("technology figures not verified here (assumptions): " + ", ".join(unverified))
    return Estimate(
        config={
            "network": config.network,
            "algorithm": "sgd",
            "adc_bits": config.adc_bits or tech.adc.bits,
            "adc_model": tech.adc.model.value,
            "bl": config.bl,
            "samples_per_epoch": config.samples_per_epoch,
            "subarrays_reserved": mapping.subarrays_reserved,
            "duplication": [m.duplication for m in mapping.layers],
        },
        technology=tech.name,
        energy_terms=tuple(terms),
        area_terms=tuple(area_terms),
        latency_per_sample_ns=latency,
        latency_source="mapping formulas",
        cycles_per_sample=int(round(sum(latency.values()) / tech.digital.cycle_ns)),
        samples_per_epoch=config.samples_per_epoch,
        notes=tuple(notes),
        unverified=unverified,
        not_costed=not_costed,
    )
