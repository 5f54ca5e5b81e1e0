"""The catalogue of formal proofs of the periphery and of the broken variants each one must catch.

A :class:`Proof` names a harness of :mod:`pulsetrain.rtl.properties` at a small configuration, how
SymbiYosys checks it (``prove``: k-induction, a proof for every trace length; ``bmc``: every trace up to
the depth) and how far. :data:`PROOFS` is what the tests and ``pulsetrain formal`` run;
:data:`MUTANTS` pairs every property with at least one bug from :mod:`pulsetrain.rtl.mutants`. The
harnesses are written for any size, but a proof holds for the configuration it ran on: the sizes here
are small (2-3 lines, 2-4-bit codes, 6-bit H) because the solver's time grows steeply with state and
depth, and the logic is the same generator at every size. ``slow_depth`` is the deeper bound run behind
``--long``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from amaranth.lib import wiring
from pulsetrain.rtl import mutants
from pulsetrain.rtl.properties import (
    AdcReadoutProperties,
    ChopperSignProperties,
    Property,
    PulseGeneratorProperties,
    SbeUnitProperties,
    ScheduleControllerProperties,
    TransferControllerProperties,
)

from pulsetrain.config import ConfigError
from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig
from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode
from pulsetrain.periphery.lfsr import LfsrConfig, LfsrForm
from pulsetrain.periphery.pulse import PulseGeneratorConfig, PulseMode
from pulsetrain.periphery.sbe import Normalization, SbeConfig
from pulsetrain.periphery.schedule import Completion, OperationTiming, ScheduleConfig, ScheduleMode
from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode

__all__ = ["MUTANTS", "PROOFS", "Mutant", "Proof", "get_proof"]

#: SAR readout of 3 columns on 2 ADCs (the last ADC idle in one phase), 3-bit codes.
ADC_SAR = AdcReadoutConfig(columns=3, columns_per_adc=2, adc_bits=3, settle_cycles=1, compare_cycles=1)
#: ramp readout of the same array, 2-bit codes.
ADC_RAMP = AdcReadoutConfig(
    columns=3, columns_per_adc=2, adc_bits=2, mode=AdcMode.RAMP, settle_cycles=1, compare_cycles=1
)
#: c-TTv2 on 2 x 2 devices; 6-bit H (range -32..31) that one read of 4-bit code can saturate
#: (increment up to 8 x 8 = 64), threshold 8, at most 2 pulses, input choppers flipping at p = 0.5.
TRANSFER = TransferControllerConfig(
    mode=TransferMode.CHOPPED_TTV2,
    in_size=2,
    out_size=2,
    adc_bits=4,
    h_bits=6,
    h_frac_bits=3,
    transfer_lr_per_lsb=1.0,
    thres_scale=1.0,
    max_pulses_per_transfer=2,
    in_chop_prob=0.5,
    chop_prob_bits=2,
    in_chop_seed=1,
    out_chop_seed=2,
)
#: 3 chopper lines, random flips at p = 0.5 from a 10-bit LFSR.
CHOPPER_RANDOM = ChopperConfig(
    lines=3,
    mode=ChopperMode.RANDOM,
    flip_probability=0.5,
    probability_bits=2,
    lfsr=LfsrConfig(width=10, seed=0x2A5, steps_per_advance=2),
)
#: 3 chopper lines, regular flips every second sweep.
CHOPPER_REGULAR = ChopperConfig(lines=3, mode=ChopperMode.REGULAR, flip_probability=0.5, probability_bits=2)
#: deterministic trains of up to 7 slots on 1 x line and 2 d lines.
PULSE_DETERMINISTIC = PulseGeneratorConfig(
    x_lines=1, d_lines=2, bl_counter_bits=3, bl_max=7, mode=PulseMode.DETERMINISTIC
)
#: stochastic trains of up to 7 slots, 2-bit probabilities from 8-bit LFSRs.
PULSE_STOCHASTIC = PulseGeneratorConfig(
    x_lines=1,
    d_lines=2,
    bl_counter_bits=3,
    bl_max=7,
    probability_bits=2,
    mode=PulseMode.STOCHASTIC,
    lfsr=LfsrConfig(width=8, form=LfsrForm.FIBONACCI, seed=0x5B, steps_per_advance=2),
)
#: SBE unit of a 2 x 2 layer, 2-bit inputs, 6-bit vectors, one-sample batches, shift normalization.
SBE = SbeConfig(
    rows=2, cols=2, input_bits=2, frac_bits=1, vector_bits=6, batch_bits=0, normalization=Normalization.SHIFT
)
_TIMING = OperationTiming(
    adc_bits=2,
    columns_per_adc=2,
    adc_sample_cycles=1,
    read_integration_cycles=1,
    activation_cycles=1,
    bl=3,
    update_setup_cycles=1,
    error_cycles=2,
)
#: DFA on a 2-2-1 network: 27 cycles per sample, so the 4-bit cycle counter saturates (limit 15).
SCHEDULE_DFA = ScheduleConfig(mode=ScheduleMode.DFA, layer_sizes=(2, 2, 1), counter_bits=4, timing=_TIMING)
#: BP on the same network: 31 cycles per sample.
SCHEDULE_BP = ScheduleConfig(mode=ScheduleMode.BP, layer_sizes=(2, 2, 1), counter_bits=4, timing=_TIMING)

#: BP on the same network with handshake completion (every operation's done line free).
SCHEDULE_BP_HANDSHAKE = ScheduleConfig(
    mode=ScheduleMode.BP,
    layer_sizes=(2, 2, 1),
    completion=Completion.HANDSHAKE,
    counter_bits=4,
    timing=_TIMING,
)

#: the default configs (what ``pulsetrain rtl`` emits): the k-induction proofs also hold at full size
ADC_DEFAULT = AdcReadoutConfig()
TRANSFER_DEFAULT = TransferControllerConfig(mode=TransferMode.CHOPPED_TTV2)
CHOPPER_DEFAULT = ChopperConfig()
SBE_DEFAULT = SbeConfig()
#: 64 + 64 lines, stochastic, trains up to 31 slots (a bounded proof: 36 cycles hold the longest train)
PULSE_DEFAULT = PulseGeneratorConfig()


@dataclass(frozen=True, kw_only=True)
class Proof:
    """One property of one block at one small configuration."""

    #: name on the command line and of the run folder.
    name: str
    #: the property stated.
    property: Property
    #: the block's config (the specification the harness checks against).
    config: Any
    #: the harness class (takes the config, the property and optionally a broken block).
    harness: Callable[..., wiring.Component]
    #: ``"prove"`` (k-induction) or ``"bmc"`` (bounded model check).
    mode: str
    #: induction length or BMC bound, cycles (in the default suite).
    depth: int
    #: deeper BMC bound run behind ``--long`` (0: none; a k-induction proof is already unbounded).
    slow_depth: int = 0
    #: bound within which every ``Cover`` statement of the harness must be reached.
    cover_depth: int = 30

    @property
    def mutant_check(self) -> tuple[str, int]:
        """Mode and depth that must find a broken variant's counterexample: the proof's own bounded
        check, or for a k-induction proof a bounded check to the cover depth (a failed induction step
        alone is not a counterexample: it may start from an unreachable state)."""
        if self.mode == "bmc":
            return self.mode, self.depth
        return "bmc", self.cover_depth

    def build(self, block: wiring.Component | None = None) -> wiring.Component:
        """The harness on the real block, or on ``block`` (a broken variant)."""
        return self.harness(self.config, self.property, block=block)


PROOFS: tuple[Proof, ...] = (
    Proof(
        name="adc-sar-stream-handshake",
        property=Property.STREAM_HANDSHAKE,
        config=ADC_SAR,
        harness=AdcReadoutProperties,
        mode="prove",
        depth=4,
    ),
    Proof(
        name="adc-default-stream-handshake",
        property=Property.STREAM_HANDSHAKE,
        config=ADC_DEFAULT,
        harness=AdcReadoutProperties,
        mode="prove",
        depth=4,
    ),
    Proof(
        name="adc-sar-round",
        property=Property.ADC_ROUND,
        config=ADC_SAR,
        harness=AdcReadoutProperties,
        mode="bmc",
        depth=20,
        slow_depth=40,
    ),
    Proof(
        name="adc-ramp-round",
        property=Property.ADC_ROUND,
        config=ADC_RAMP,
        harness=AdcReadoutProperties,
        mode="bmc",
        depth=20,
        slow_depth=40,
    ),
    Proof(
        name="transfer-stream-handshake",
        property=Property.STREAM_HANDSHAKE,
        config=TRANSFER,
        harness=TransferControllerProperties,
        mode="prove",
        depth=4,
    ),
    Proof(
        name="transfer-default-stream-handshake",
        property=Property.STREAM_HANDSHAKE,
        config=TRANSFER_DEFAULT,
        harness=TransferControllerProperties,
        mode="prove",
        depth=4,
    ),
    Proof(
        name="sbe-stream-handshake",
        property=Property.STREAM_HANDSHAKE,
        config=SBE,
        harness=SbeUnitProperties,
        mode="prove",
        depth=4,
    ),
    Proof(
        name="sbe-default-stream-handshake",
        property=Property.STREAM_HANDSHAKE,
        config=SBE_DEFAULT,
        harness=SbeUnitProperties,
        mode="prove",
        depth=4,
    ),
    Proof(
        name="transfer-h-saturation",
        property=Property.H_SATURATION,
        config=TRANSFER,
        harness=TransferControllerProperties,
        mode="bmc",
        # 30 cycles reach a second read of a column after its chopper flipped (the first such read
        # is at step 24 with these seeds): a read path chopped with other signs fails only there
        depth=30,
        slow_depth=45,
    ),
    Proof(
        name="transfer-pulse-limit",
        property=Property.PULSE_LIMIT,
        config=TRANSFER,
        harness=TransferControllerProperties,
        mode="bmc",
        depth=14,
        slow_depth=45,
    ),
    Proof(
        name="chopper-random-consistency",
        property=Property.CHOPPER_CONSISTENCY,
        config=CHOPPER_RANDOM,
        harness=ChopperSignProperties,
        mode="prove",
        depth=3,
    ),
    Proof(
        name="chopper-regular-consistency",
        property=Property.CHOPPER_CONSISTENCY,
        config=CHOPPER_REGULAR,
        harness=ChopperSignProperties,
        mode="prove",
        depth=3,
    ),
    Proof(
        name="chopper-default-consistency",
        property=Property.CHOPPER_CONSISTENCY,
        config=CHOPPER_DEFAULT,
        harness=ChopperSignProperties,
        mode="prove",
        depth=3,
    ),
    Proof(
        name="pulse-deterministic-train-length",
        property=Property.TRAIN_LENGTH,
        config=PULSE_DETERMINISTIC,
        harness=PulseGeneratorProperties,
        mode="bmc",
        depth=20,
        slow_depth=40,
    ),
    Proof(
        name="pulse-stochastic-train-length",
        property=Property.TRAIN_LENGTH,
        config=PULSE_STOCHASTIC,
        harness=PulseGeneratorProperties,
        mode="bmc",
        depth=20,
        slow_depth=40,
    ),
    Proof(
        name="pulse-default-train-length",
        property=Property.TRAIN_LENGTH,
        config=PULSE_DEFAULT,
        harness=PulseGeneratorProperties,
        mode="bmc",
        depth=36,
        slow_depth=70,
        cover_depth=36,
    ),
    Proof(
        name="pulse-deterministic-count",
        property=Property.PULSE_COUNT,
        config=PULSE_DETERMINISTIC,
        harness=PulseGeneratorProperties,
        mode="bmc",
        # 12 cycles hold three code writes and a full 7-slot train; the solver's time grows steeply
        # beyond (measured at load 4.8: depth 12 in 10 s, 14 in 88 s)
        depth=12,
        slow_depth=14,
    ),
    Proof(
        name="schedule-dfa-cycle-counter",
        property=Property.CYCLE_COUNTER,
        config=SCHEDULE_DFA,
        harness=ScheduleControllerProperties,
        mode="bmc",
        depth=32,
        slow_depth=64,
        cover_depth=32,
    ),
    Proof(
        name="schedule-dfa-completion",
        property=Property.SCHEDULE_COMPLETION,
        config=SCHEDULE_DFA,
        harness=ScheduleControllerProperties,
        mode="bmc",
        depth=32,
        slow_depth=64,
        cover_depth=32,
    ),
    Proof(
        name="schedule-bp-completion",
        property=Property.SCHEDULE_COMPLETION,
        config=SCHEDULE_BP,
        harness=ScheduleControllerProperties,
        mode="bmc",
        depth=36,
        slow_depth=72,
        cover_depth=36,
    ),
    Proof(
        name="schedule-bp-handshake-completion",
        property=Property.SCHEDULE_COMPLETION,
        config=SCHEDULE_BP_HANDSHAKE,
        harness=ScheduleControllerProperties,
        mode="bmc",
        depth=16,
        slow_depth=32,
        cover_depth=16,
    ),
)


def get_proof(name: str) -> Proof:
    """The proof called ``name``; a ConfigError lists the known names otherwise."""
    for proof in PROOFS:
        if proof.name == name:
            return proof
    raise ConfigError(f"--proof must be one of {', '.join(p.name for p in PROOFS)}; not {name!r}")


@dataclass(frozen=True, kw_only=True)
class Mutant:
    """A broken variant of a block and the proof that must fail on it."""

    #: short name of the bug.
    name: str
    #: the proof (by name) that must catch it.
    proof: str
    #: what is broken, in one sentence.
    bug: str
    #: builds the broken block from the proof's config.
    build: Callable[[Any], wiring.Component]


def _config_mutant(config_class: type, block_class: type) -> Callable[[Any], wiring.Component]:
    """A broken block: the real block generated from a config subclass with a wrong derived value."""

    def build(config: Any) -> wiring.Component:
        values = {
            field.name: getattr(config, field.name) for field in dataclasses.fields(config) if field.init
        }
        component: wiring.Component = block_class(config_class(**values))
        return component

    return build


def _source(name: str) -> tuple[str, str, Callable[[Any], wiring.Component]]:
    return name, mutants.SOURCE_MUTANTS[name][4], mutants.source_mutant_factory(name)


def _mutants() -> tuple[Mutant, ...]:
    from pulsetrain.rtl.adc_readout import AdcReadout
    from pulsetrain.rtl.pulse_generator import PulseGenerator
    from pulsetrain.rtl.schedule_controller import ScheduleController
    from pulsetrain.rtl.transfer_controller import TransferController

    chopper, chopper_bug, chopper_build = _source("read-path-ignores-input-chopper")
    handshake, handshake_bug, handshake_build = _source("phase-ends-before-its-operations")
    pulse_limit, pulse_limit_bug, pulse_limit_build = _source("one-pulse-level-too-many")
    slot, slot_bug, slot_build = _source("slot-counter-one-bit-short")
    wraps, wraps_bug, wraps_build = _source("cycle-counter-wraps")
    return (
        Mutant(
            name="withdrawn-valid",
            proof="adc-sar-stream-handshake",
            bug="the ADC result valid drops for a cycle after a stalled cycle",
            build=mutants.WithdrawnValidReadout,
        ),
        Mutant(
            name="floor-adc-count",
            proof="adc-sar-round",
            bug="ADCs counted with floor instead of ceil: the last column is never read",
            build=_config_mutant(mutants.FloorAdcCountConfig, AdcReadout),
        ),
        Mutant(
            name="unsigned-saturation",
            proof="transfer-h-saturation",
            bug="H saturates at the bounds of an unsigned word: a large H wraps to the other sign",
            build=_config_mutant(mutants.UnsignedSaturationConfig, TransferController),
        ),
        Mutant(name=chopper, proof="transfer-h-saturation", bug=chopper_bug, build=chopper_build),
        Mutant(name=pulse_limit, proof="transfer-pulse-limit", bug=pulse_limit_bug, build=pulse_limit_build),
        Mutant(
            name="stale-read-path",
            proof="chopper-random-consistency",
            bug="the chopper's read path uses the signs of the previous cycle",
            build=mutants.StaleReadChopper,
        ),
        Mutant(name=slot, proof="pulse-deterministic-train-length", bug=slot_bug, build=slot_build),
        Mutant(
            name="short-code-register",
            proof="pulse-deterministic-count",
            bug="the pulse generator's code registers are one bit short",
            build=_config_mutant(mutants.ShortCodeConfig, PulseGenerator),
        ),
        Mutant(name=wraps, proof="schedule-dfa-cycle-counter", bug=wraps_bug, build=wraps_build),
        Mutant(
            name=handshake, proof="schedule-bp-handshake-completion", bug=handshake_bug, build=handshake_build
        ),
        Mutant(
            name="short-last-phase",
            proof="schedule-dfa-completion",
            bug="the fixed cost of the last phase is one cycle short",
            build=_config_mutant(mutants.ShortLastPhaseConfig, ScheduleController),
        ),
    )


#: Broken variants, each paired with the proof that must fail on it: at least one per property, and one
#: more where a proof covers a second block or mode (the controller's chopped read, handshake completion).
MUTANTS: tuple[Mutant, ...] = _mutants()
