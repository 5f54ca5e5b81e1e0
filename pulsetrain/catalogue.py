"""The catalogue: every learning algorithm and every periphery block, declared once.

Each layer of pulsetrain keys its registry by these names and reads the lists below: the model's algorithm
registry (:mod:`pulsetrain.model.algorithms`), the RTL blocks ``pulsetrain rtl`` emits
(:mod:`pulsetrain.rtl.blocks`), the synthesis sweeps (:mod:`pulsetrain.synth.blocks`), the block benches
(:mod:`pulsetrain.cosim.benches`), the RTL-in-the-loop training (:mod:`pulsetrain.cosim.training`) and
the command-line help. Adding an algorithm or a block is one entry here plus its own modules
(docs/architecture.md walks through both).

This module is the bottom layer, beside the shared configs: it imports nothing of ``model/``, ``rtl/``,
``cosim/`` or ``synth/``. Implementations are named by ``"module:attribute"`` strings and imported only
when :func:`load` is called, so that validating a config or listing names stays cheap and no layer is
pulled in by another's name list.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
from dataclasses import dataclass
from typing import Any

from pulsetrain.config import ConfigError

__all__ = [
    "ALGORITHMS",
    "BLOCKS",
    "DEVICE_KINDS",
    "SWEEP_KNOBS",
    "SYNTH_TARGETS",
    "AlgorithmFamily",
    "AlgorithmSpec",
    "BlockSpec",
    "SweepFields",
    "algorithm_names",
    "block_for_config",
    "block_names",
    "get_algorithm",
    "get_block",
    "load",
]


def load(reference: str) -> Any:
    """The attribute named by ``"module:attribute"``, imported on first use."""
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


# --------------------------------------------------------------------------------------------------
# Periphery blocks
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SweepFields:
    """Which fields of a block's config carry each synthesis sweep knob (dotted paths, may be empty).

    A sweep over ``array_size`` sets every field in :attr:`array_size` to the same value, and so on; a
    block without a field for a knob keeps its config in that sweep.
    """

    #: fields holding the size of the array the block serves (lines, rows, columns).
    array_size: tuple[str, ...] = ()
    #: fields holding the ADC resolution in bits.
    adc_bits: tuple[str, ...] = ()
    #: fields holding the longest pulse train (BL).
    bl: tuple[str, ...] = ()
    #: fields holding the width of the transfer buffer H in bits.
    h_bits: tuple[str, ...] = ()

    def of(self, knob: str) -> tuple[str, ...]:
        """The fields of sweep knob ``knob`` (one of :data:`SWEEP_KNOBS`)."""
        if knob not in SWEEP_KNOBS:
            raise ConfigError(f"sweep knob must be one of {', '.join(SWEEP_KNOBS)}; not {knob!r}")
        fields: tuple[str, ...] = getattr(self, knob)
        return fields


#: the synthesis sweep knobs, in the order ``pulsetrain synth --sweep`` lists them.
SWEEP_KNOBS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SweepFields))


@dataclass(frozen=True, kw_only=True)
class BlockSpec:
    """One periphery block: its one name in every layer, and where each layer's piece of it lives."""

    #: The block's name everywhere: ``pulsetrain rtl --block``, ``pulsetrain synth --block``,
    #: ``pulsetrain cosim --bench``, emitted file names, per-block counts in results.
    name: str
    #: One line for ``--list``.
    description: str
    #: ``"module:Class"`` of the frozen config shared by twin and RTL; ``Class()`` is a working default.
    config: str
    #: ``"module:callable"`` taking the config and returning the Amaranth ``wiring.Component``.
    component: str
    #: ``"module:Class"`` of the model's bit-exact twin; None where the block has none of its own.
    twin: str | None = None
    #: cocotb test module of the block's bench (run by ``pulsetrain cosim --bench NAME``); None: no bench.
    bench: str | None = None
    #: the config fields the synthesis sweeps set.
    sweep: SweepFields = SweepFields()

    @property
    def toplevel(self) -> str:
        """Name of the emitted Verilog top module (the block name as an identifier)."""
        return self.name.replace("-", "_")

    def config_class(self) -> type:
        """The config class (imported on first use)."""
        cls: type = load(self.config)
        return cls


BLOCKS: dict[str, BlockSpec] = {
    spec.name: spec
    for spec in (
        BlockSpec(
            name="lfsr",
            description="one maximal-length LFSR (Galois or Fibonacci, leap-forward)",
            config="pulsetrain.periphery.lfsr:LfsrConfig",
            component="pulsetrain.rtl.lfsr:Lfsr",
            twin="pulsetrain.model.twins.lfsr:TwinLfsrBank",
            bench="pulsetrain.cosim.bench_lfsr",
        ),
        BlockSpec(
            name="pulse-generator",
            description=(
                "row and column update pulse trains (stochastic LFSR comparators / deterministic counts)"
            ),
            config="pulsetrain.periphery.pulse:PulseGeneratorConfig",
            component="pulsetrain.rtl.pulse_generator:PulseGenerator",
            twin="pulsetrain.model.twins.pulse:TwinPulseGenerator",
            bench="pulsetrain.cosim.bench_pulse",
            sweep=SweepFields(array_size=("x_lines", "d_lines"), bl=("bl_max",)),
        ),
        BlockSpec(
            name="adc-readout",
            description="column multiplexing and SAR / ramp ADC sequencing, (column, code) stream",
            config="pulsetrain.periphery.adc:AdcReadoutConfig",
            component="pulsetrain.rtl.adc_readout:AdcReadout",
            twin="pulsetrain.model.twins.adc:TwinAdcReadout",
            bench="pulsetrain.cosim.bench_adc",
            sweep=SweepFields(array_size=("columns",), adc_bits=("adc_bits",)),
        ),
        BlockSpec(
            name="chopper",
            description="chopper sign registers, random / regular flips, XOR on write and read paths",
            config="pulsetrain.periphery.chopper:ChopperConfig",
            component="pulsetrain.rtl.chopper:ChopperSign",
            twin="pulsetrain.model.twins.chopper:TwinChopper",
            bench="pulsetrain.cosim.bench_chopper",
            sweep=SweepFields(array_size=("lines",)),
        ),
        BlockSpec(
            name="schedule-controller",
            description="BP / DFA per-sample training-schedule controller (mode bp / dfa)",
            config="pulsetrain.periphery.schedule:ScheduleConfig",
            component="pulsetrain.rtl.schedule_controller:ScheduleController",
            twin="pulsetrain.model.twins.schedule:ScheduleControllerTwin",
            # its bench (pulsetrain.cosim.bench_schedule) runs as ``pulsetrain cosim --schedule``
            sweep=SweepFields(adc_bits=("timing.adc_bits",), bl=("timing.bl",)),
        ),
        BlockSpec(
            name="sbe-unit",
            description="streaming batch eigenupdate unit (rank 1: running X, D, sigma)",
            config="pulsetrain.periphery.sbe:SbeConfig",
            component="pulsetrain.rtl.sbe_unit:SbeUnit",
            twin="pulsetrain.model.twins.sbe:SbeUnitTwin",
            bench="pulsetrain.cosim.bench_sbe",
            sweep=SweepFields(array_size=("rows", "cols")),
        ),
        BlockSpec(
            name="tile-periphery",
            description=(
                "one layer's periphery: pulse generator, ADC readout, transfer controller with chopper"
            ),
            config="pulsetrain.rtl.tile_periphery:TilePeripheryConfig",
            component="pulsetrain.rtl.tile_periphery:TilePeriphery",
            sweep=SweepFields(array_size=("in_size", "out_size")),
        ),
        BlockSpec(
            name="transfer-controller",
            description=(
                "TTv2 / c-TTv2 / AGAD transfer controller (H buffer, threshold, choppers, AGAD reference)"
            ),
            config="pulsetrain.periphery.transfer:TransferControllerConfig",
            component="pulsetrain.rtl.transfer_controller:TransferController",
            twin="pulsetrain.model.twins.transfer:TwinTransferPeriphery",
            bench="pulsetrain.cosim.bench_transfer",
            sweep=SweepFields(array_size=("in_size", "out_size"), adc_bits=("adc_bits",), h_bits=("h_bits",)),
        ),
    )
}


def block_names() -> list[str]:
    """Names of every block, sorted."""
    return sorted(BLOCKS)


def get_block(name: str, *, option: str = "--block") -> BlockSpec:
    """The block called ``name``; a ConfigError naming ``option`` and the known names otherwise."""
    if name not in BLOCKS:
        raise ConfigError(f"{option} must be one of {', '.join(block_names())}; not {name!r}")
    return BLOCKS[name]


def block_for_config(config: object) -> BlockSpec | None:
    """The block whose config class ``config`` is an instance of (by name: nothing is imported)."""
    reference = f"{type(config).__module__}:{type(config).__qualname__}"
    return next((spec for spec in BLOCKS.values() if spec.config == reference), None)


# --------------------------------------------------------------------------------------------------
# Learning algorithms
# --------------------------------------------------------------------------------------------------


class AlgorithmFamily(enum.Enum):
    """How an algorithm computes and writes its weight updates."""

    #: error backpropagation, one pulsed rank-1 update per sample (or a float update for ``fp``).
    BACKPROP = "backprop"
    #: Tiki-Taka v2 and its offset-corrected variants: a fast array A, a digital buffer H, array C.
    TIKI_TAKA = "tiki-taka"
    #: direct feedback alignment: hidden layers learn from the output error through fixed matrices.
    DFA = "dfa"
    #: streaming batch eigenupdates: one rank-k update per mini-batch.
    SBE = "sbe"


@dataclass(frozen=True, kw_only=True)
class AlgorithmSpec:
    """One learning algorithm: its ``--algo`` name and which parts of the kit support it."""

    #: The name everywhere: ``--algo``, ``training.algorithms`` of the report, results and plots.
    name: str
    #: The algorithm's family.
    family: AlgorithmFamily
    #: One line for help texts.
    description: str
    #: ``"module:Class"`` of the implementation (subclass of ``pulsetrain.model.algorithms.base.Algorithm``).
    implementation: str
    #: Section of the training config holding its settings (``--set SECTION.field=...``); None: none.
    config_section: str | None = None
    #: Periphery blocks (:data:`BLOCKS` names) its hardware needs per layer, beyond the analog arrays.
    blocks: tuple[str, ...] = ()
    #: ``pulsetrain cosim --algo`` can train it with the periphery RTL in the loop.
    cosim: bool = False
    #: ``pulsetrain estimate`` knows its area, energy and latency.
    estimator: bool = False
    #: ``pulsetrain report`` trains it by default.
    report: bool = True
    #: ``"module:Class"`` training it on the networks known by name (``--network lenet5``: convolution
    #: and fully connected tiles); None: on the MLP of ``--hidden`` only, refused on a named network.
    named_network: str | None = None
    #: What the named-network implementation does differently from the algorithm's name (said in the
    #: results); empty when nothing.
    named_network_note: str = ""

    def __post_init__(self) -> None:
        unknown = [name for name in self.blocks if name not in BLOCKS]
        if unknown:
            raise ConfigError(f"algorithm {self.name!r} names unknown blocks {unknown}")


#: what every algorithm on analog arrays needs: the sample's schedule, update pulses, read ADCs
_PULSED_BLOCKS = ("schedule-controller", "pulse-generator", "adc-readout")
#: the TTv2 family adds a transfer controller (H, threshold; choppers in c-TTv2 and AGAD)
_TIKI_TAKA_BLOCKS = (*_PULSED_BLOCKS, "transfer-controller")
#: where the named-network (convolutional) implementations live
_NAMED = "pulsetrain.model.algorithms"


def _tiki_taka(name: str, class_name: str, description: str, *, chopped: bool = False) -> AlgorithmSpec:
    """A member of the TTv2 family: the transfer controller, and choppers when ``chopped``."""
    return AlgorithmSpec(
        name=name,
        family=AlgorithmFamily.TIKI_TAKA,
        description=description,
        implementation=f"pulsetrain.model.algorithms.tiki_taka:{class_name}",
        config_section="tiki_taka",
        blocks=_TIKI_TAKA_BLOCKS + (("chopper",) if chopped else ()),
        cosim=True,
        estimator=True,
        named_network=f"{_NAMED}.conv_backprop:NamedNetworkTikiTaka",
    )


# The order is the order of the report's tables and of every help text.
ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec(
            name="fp",
            family=AlgorithmFamily.BACKPROP,
            description="floating-point backpropagation (digital reference, no analog arrays)",
            implementation="pulsetrain.model.algorithms.backprop:FloatingPointBackprop",
            named_network=f"{_NAMED}.conv_backprop:NamedNetworkBackprop",
        ),
        AlgorithmSpec(
            name="sgd",
            family=AlgorithmFamily.BACKPROP,
            description="analog SGD: backpropagation with pulsed rank-1 updates",
            implementation="pulsetrain.model.algorithms.backprop:AnalogSGD",
            blocks=_PULSED_BLOCKS,
            cosim=True,
            estimator=True,
            named_network=f"{_NAMED}.conv_backprop:NamedNetworkBackprop",
        ),
        AlgorithmSpec(
            name="dfa",
            family=AlgorithmFamily.DFA,
            description="direct feedback alignment through fixed random feedback matrices",
            implementation="pulsetrain.model.algorithms.dfa:DirectFeedbackAlignment",
            config_section="dfa",
            blocks=_PULSED_BLOCKS,
            cosim=True,
            estimator=True,
            named_network=f"{_NAMED}.conv_dfa:NamedNetworkDfa",
        ),
        _tiki_taka("ttv2", "TikiTakaV2", "Tiki-Taka v2: fast array A, digital buffer H, slow array C"),
        _tiki_taka(
            "c-ttv2",
            "ChoppedTikiTakaV2",
            "chopped TTv2: choppers average out A's reference offset",
            chopped=True,
        ),
        _tiki_taka("agad", "Agad", "AGAD: choppers and a digital reference taken at each flip", chopped=True),
        AlgorithmSpec(
            name="sbe",
            family=AlgorithmFamily.SBE,
            description="streaming batch eigenupdates: one rank-k pulsed update per mini-batch",
            implementation="pulsetrain.model.algorithms.sbe:StreamingBatchEigenupdate",
            config_section="sbe",
            blocks=(*_PULSED_BLOCKS, "sbe-unit"),
            estimator=True,
            named_network=f"{_NAMED}.conv_sbe:NamedNetworkSbe",
            named_network_note=(
                "sbe writes the fully connected layers; the convolution layers use per-patch analog SGD"
            ),
        ),
    )
}


def algorithm_names(
    *,
    family: AlgorithmFamily | None = None,
    cosim: bool | None = None,
    estimator: bool | None = None,
    report: bool | None = None,
    block: str | None = None,
    named_network: bool | None = None,
) -> tuple[str, ...]:
    """``--algo`` names in catalogue order; each keyword keeps only those that match it.

    ``family``: of that family; ``cosim`` / ``estimator`` / ``report`` / ``named_network``: with (True)
    or without (False) that support; ``block``: whose hardware needs that block.
    """
    return tuple(
        spec.name
        for spec in ALGORITHMS.values()
        if (family is None or spec.family is family)
        and (cosim is None or spec.cosim == cosim)
        and (estimator is None or spec.estimator == estimator)
        and (report is None or spec.report == report)
        and (block is None or block in spec.blocks)
        and (named_network is None or (spec.named_network is not None) == named_network)
    )


def get_algorithm(name: str, *, option: str = "algo") -> AlgorithmSpec:
    """The algorithm called ``name``; a ConfigError naming ``option`` and the known names otherwise."""
    if name not in ALGORITHMS:
        raise ConfigError(f"{option} must be one of {', '.join(ALGORITHMS)}; not {name!r}")
    return ALGORITHMS[name]


# --------------------------------------------------------------------------------------------------
# Names owned by one layer that others validate against without importing it
# --------------------------------------------------------------------------------------------------

#: device models of the behavioral model (``pulsetrain train --device``; ``pulsetrain.model.devices.DEVICES``
#: has the same keys, held equal by tests/test_core_catalogue.py).
DEVICE_KINDS: tuple[str, ...] = (
    "ideal",
    "constant-step",
    "linear-step",
    "soft-bounds",
    "exp-step",
    "pow-step",
    "reram-sb",
    "reram-es",
    "capacitor",
    "ecram-mo",
)
#: synthesis targets (``pulsetrain synth --target``; the values of ``pulsetrain.synth.flows.Target``,
#: held equal by tests/test_core_catalogue.py).
SYNTH_TARGETS: tuple[str, ...] = ("generic", "ice40", "ecp5", "nangate45", "sky130")
