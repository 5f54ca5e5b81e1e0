"""Shared config of the per-sample training-schedule controller (BP and DFA).

One training sample on an MLP of ``N`` weight layers is a sequence of *operations* on the layers'
tiles: forward reads, the output-error computation, backward reads (BP) or feedback projections (DFA),
and the pulsed rank-1 updates. The controller sequences them in *phases*: every operation of a phase
is started by a one-cycle strobe in the phase's first cycle and the phase ends when all of them are
done; then the next phase starts. The phase plan and each operation's cycle cost are derived here, from
one frozen config, so that the model's schedule (:mod:`pulsetrain.model.schedule`), the controller's
digital twin (:mod:`pulsetrain.model.twins.schedule`) and the RTL (:mod:`pulsetrain.rtl.schedule_controller`)
cannot disagree about them.

Backpropagation (sequential)::

    FWD 0 | FWD 1 | ... | FWD N-1 | ERR | BWD N-1 | UPD N-1 | BWD N-2 | UPD N-2 | ... | UPD 0

Layer ``l``'s backward read (``W_lᵀ δ_l``, giving ``δ_{l-1}``) uses the weights before their update, so
it precedes ``UPD l``; layer 0 needs no backward read (nobody consumes ``δ_{-1}``). Latency
``T_fwd + T_err + (N-1)·T_bwd + N·T_upd``: the ``~T_fwd + N·(T_bwd + T_upd)`` of Wolters et al.
(arXiv 2212.14337).

Direct feedback alignment (parallel)::

    FWD 0 | ... | FWD N-1 | ERR | PROJ 0..N-2 (together) | UPD 0..N-1 (together)

every hidden layer projects the output error through its fixed ``B_l`` at the same time (the output
layer needs no projection: ``δ_{N-1} = e ⊙ f'``), then every layer updates at the same time. Latency
``T_fwd + T_err + T_proj + T_upd``: the backward part no longer grows with ``N``, the speed-up of that
part approaches ``N`` (Wolters et al., abstract). Phases end at a barrier (the output layer's update
waits for the projections even though it could start earlier); the total is the same because the
update phase waits for its slowest member anyway.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from pulsetrain.config import ConfigError, check_int
from pulsetrain.periphery.adc import AdcMode


class ScheduleMode(enum.Enum):
    """Which learning rule's schedule the controller runs."""

    #: backpropagation: backward reads and updates layer after layer, from the output down.
    BP = "bp"
    #: direct feedback alignment: all projections together, then all updates together.
    DFA = "dfa"


class OperationKind(enum.Enum):
    """One kind of operation a layer's periphery performs during a training sample."""

    #: forward read ``y = W_l x`` through DAC, array, ADC and the digital activation.
    FORWARD = "fwd"
    #: output error ``e = ŷ - y`` (digital, once per sample; ``layer`` is the output layer).
    ERROR = "err"
    #: backward read ``W_lᵀ δ_l`` through the transposed periphery (BP only).
    BACKWARD = "bwd"
    #: feedback projection ``B_l e`` on the layer's read-only feedback tile or digitally (DFA only).
    PROJECTION = "proj"
    #: pulsed rank-1 update ``-η δ_l h_{l-1}ᵀ`` of the layer's array (BL pulse slots).
    UPDATE = "upd"


#: order of the strobe bits of one layer in the controller's ports and the twin's records.
OPERATION_KINDS: tuple[OperationKind, ...] = tuple(OperationKind)


class FeedbackPath(enum.Enum):
    """Where DFA's fixed random feedback matrices ``B_l`` live and are evaluated.

    One enum for the model (``dfa.feedback``: what the projection computes) and the schedule
    (``timing.feedback``: what it costs).
    """

    #: on their own read-only analog tiles, read through the same periphery (DAC, noise, ADC) as the
    #: weight tiles: costs area, energy and a read's cycles, adds read noise and quantization to the
    #: projected error.
    ANALOG = "analog"
    #: an ideal digital matrix-vector product (float in the model; ``feedback_macs_per_cycle`` products
    #: per cycle in the schedule): the upper bound for DFA's accuracy.
    DIGITAL = "digital"


class Completion(enum.Enum):
    """How the controller learns that an operation has finished."""

    #: each operation takes exactly its cycle cost from this config; the controller times it itself.
    FIXED = "fixed"
    #: the per-layer unit raises its ``done`` line; the controller waits for it (any latency).
    HANDSHAKE = "handshake"


@dataclass(frozen=True, kw_only=True)
class OperationTiming:
    """Cycle costs of the periphery operations, in clock cycles of the digital periphery."""

    #: ADC resolution in bits (SAR: one cycle per bit; ramp: ``2**adc_bits`` cycles).
    adc_bits: int = 8
    #: conversion scheme of the ADCs (the readout's own :class:`~pulsetrain.periphery.adc.AdcMode`).
    adc_kind: AdcMode = AdcMode.SAR
    #: output lines multiplexed onto one ADC (the ``k`` of "k columns per ADC"): conversions per read.
    columns_per_adc: int = 8
    #: sample-and-hold / settle cycles before each conversion.
    adc_sample_cycles: int = 1
    #: cycles to drive the DAC codes onto the input lines and integrate the array's currents.
    read_integration_cycles: int = 4
    #: digital cycles after a read (activation or its derivative, scaling).
    activation_cycles: int = 1
    #: pulse slots of one stochastic rank-1 update (aihwkit's BL, at most 31 there).
    bl: int = 31
    #: clock cycles per pulse slot (pulse width plus gap).
    cycles_per_slot: int = 1
    #: cycles to load the pulse generators' probability codes before the first slot.
    update_setup_cycles: int = 2
    #: digital cycles to compute the output error and its derivative factor.
    error_cycles: int = 2
    #: where DFA's feedback projection runs.
    feedback: FeedbackPath = FeedbackPath.ANALOG
    #: products per cycle of the digital feedback path (used only with ``feedback = digital``).
    feedback_macs_per_cycle: int = 16

    def __post_init__(self) -> None:
        check_int("timing.adc_bits", self.adc_bits, 1, 16)
        if not isinstance(self.adc_kind, AdcMode):
            raise ConfigError(f"timing.adc_kind must be one of sar, ramp; not {self.adc_kind!r}")
        check_int("timing.columns_per_adc", self.columns_per_adc, 1, 4096)
        check_int("timing.adc_sample_cycles", self.adc_sample_cycles, 0, 1 << 16)
        check_int("timing.read_integration_cycles", self.read_integration_cycles, 0, 1 << 16)
        check_int("timing.activation_cycles", self.activation_cycles, 0, 1 << 16)
        check_int("timing.bl", self.bl, 1, 1 << 16)
        check_int("timing.cycles_per_slot", self.cycles_per_slot, 1, 1 << 16)
        check_int("timing.update_setup_cycles", self.update_setup_cycles, 0, 1 << 16)
        check_int("timing.error_cycles", self.error_cycles, 1, 1 << 16)
        if not isinstance(self.feedback, FeedbackPath):
            raise ConfigError(f"timing.feedback must be one of analog, digital; not {self.feedback!r}")
        check_int("timing.feedback_macs_per_cycle", self.feedback_macs_per_cycle, 1, 1 << 16)

    @property
    def conversion_cycles(self) -> int:
        """Cycles of one ADC conversion including its sample-and-hold."""
        convert = self.adc_bits if self.adc_kind is AdcMode.SAR else 1 << self.adc_bits
        return self.adc_sample_cycles + convert

    def conversions(self, lines: int) -> int:
        """Sequential conversions to read ``lines`` outputs with ``ceil(lines / k)`` ADCs in parallel."""
        adcs = math.ceil(lines / self.columns_per_adc)
        return math.ceil(lines / adcs)

    def read_cycles(self, output_lines: int) -> int:
        """Cycles of one array read (forward, backward or analog projection) with ``output_lines`` outputs."""
        return (
            self.read_integration_cycles
            + self.conversions(output_lines) * self.conversion_cycles
            + self.activation_cycles
        )

    def update_cycles(self) -> int:
        """Cycles of one stochastic rank-1 update (independent of the array size: all lines fire at once)."""
        return self.update_setup_cycles + self.bl * self.cycles_per_slot


@dataclass(frozen=True, kw_only=True)
class ScheduleConfig:
    """Training-schedule controller for one MLP: mode, layer sizes and operation costs."""

    #: BP (sequential backward) or DFA (parallel projections and updates).
    mode: ScheduleMode = ScheduleMode.DFA
    #: neurons per layer from input to output, e.g. ``(64, 32, 10)``: ``len - 1`` weight layers.
    layer_sizes: tuple[int, ...] = (64, 32, 10)
    #: fixed costs timed by the controller, or a done handshake with each per-layer unit.
    completion: Completion = Completion.FIXED
    #: width of the cycle counter (cycles per sample); it saturates instead of wrapping.
    counter_bits: int = 24
    #: cycle costs of the operations.
    timing: OperationTiming = field(default_factory=OperationTiming)

    def __post_init__(self) -> None:
        if not isinstance(self.mode, ScheduleMode):
            raise ConfigError(f"schedule.mode must be one of bp, dfa; not {self.mode!r}")
        if not isinstance(self.completion, Completion):
            raise ConfigError(f"schedule.completion must be one of fixed, handshake; not {self.completion!r}")
        if not isinstance(self.layer_sizes, tuple) or not 2 <= len(self.layer_sizes) <= 33:
            raise ConfigError(
                f"schedule.layer_sizes must be a tuple of 2..33 layer sizes (1..32 weight layers), "
                f"not {self.layer_sizes!r}"
            )
        for index, size in enumerate(self.layer_sizes):
            check_int(f"schedule.layer_sizes[{index}]", size, 1, 1 << 16)
        check_int("schedule.counter_bits", self.counter_bits, 4, 48)
        if not isinstance(self.timing, OperationTiming):
            raise ConfigError(f"schedule.timing must be an OperationTiming, not {self.timing!r}")
        longest = max(self.operation_cycles(kind, layer) for layer, kind in self.operations())
        if longest.bit_length() > self.counter_bits:
            raise ConfigError(
                f"schedule.counter_bits must hold the longest operation ({longest} cycles, "
                f"{longest.bit_length()} bits), not {self.counter_bits}"
            )

    @property
    def depth(self) -> int:
        """Number of weight layers ``N``."""
        return len(self.layer_sizes) - 1

    def operation_cycles(self, kind: OperationKind, layer: int) -> int:
        """Cycle cost of ``kind`` on weight layer ``layer`` (0 = first), from :class:`OperationTiming`."""
        timing = self.timing
        if not 0 <= layer < self.depth:
            raise ConfigError(f"layer must be in 0..{self.depth - 1}, not {layer!r}")
        fan_in, fan_out = self.layer_sizes[layer], self.layer_sizes[layer + 1]
        if kind is OperationKind.FORWARD:
            return timing.read_cycles(fan_out)
        if kind is OperationKind.BACKWARD:
            return timing.read_cycles(fan_in)
        if kind is OperationKind.ERROR:
            return timing.error_cycles
        if kind is OperationKind.UPDATE:
            return timing.update_cycles()
        # projection B_l e: B_l has fan_out rows (layer l's error lines) and d_out columns
        outputs = self.layer_sizes[-1]
        if timing.feedback is FeedbackPath.ANALOG:
            return timing.read_cycles(fan_out)
        products = fan_out * outputs
        return math.ceil(products / timing.feedback_macs_per_cycle) + timing.activation_cycles

    def phases(self) -> tuple[tuple[tuple[int, OperationKind], ...], ...]:
        """The phase plan: per phase, the ``(layer, kind)`` operations started together."""
        n = self.depth
        plan: list[tuple[tuple[int, OperationKind], ...]] = [
            ((layer, OperationKind.FORWARD),) for layer in range(n)
        ]
        plan.append(((n - 1, OperationKind.ERROR),))
        if self.mode is ScheduleMode.BP:
            for layer in reversed(range(n)):
                if layer > 0:
                    plan.append(((layer, OperationKind.BACKWARD),))
                plan.append(((layer, OperationKind.UPDATE),))
        else:
            if n > 1:
                plan.append(tuple((layer, OperationKind.PROJECTION) for layer in range(n - 1)))
            plan.append(tuple((layer, OperationKind.UPDATE) for layer in range(n)))
        return tuple(plan)

    def operations(self) -> tuple[tuple[int, OperationKind], ...]:
        """Every ``(layer, kind)`` of one sample, in phase order."""
        return tuple(op for phase in self.phases() for op in phase)

    def phase_cycles(self) -> tuple[int, ...]:
        """Cycles of each phase with fixed costs: its slowest operation."""
        return tuple(
            max(self.operation_cycles(kind, layer) for layer, kind in phase) for phase in self.phases()
        )
