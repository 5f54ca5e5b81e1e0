"""Per-sample training schedules of an MLP in periphery clock cycles: backpropagation versus DFA.

The schedule is the ordered list of operations of one training sample, each with its layer, kind, start
cycle and duration, built from the phase plan and the operation costs of
:class:`pulsetrain.periphery.schedule.ScheduleConfig` (the same plan the RTL schedule controller runs, so
the cycle counts here are what the controller counts with fixed operation costs).

Backpropagation needs ``T_fwd + T_err + (N-1)·T_bwd + N·T_upd`` cycles for ``N`` weight layers; DFA needs
``T_fwd + T_err + T_proj + T_upd`` (Wolters et al., arXiv 2212.14337: "a factor approaching N for
N-layered networks"). The forward pass is the same for both, so the speed-up of the *whole* sample is
bounded by ``(T_fwd + N·(T_bwd + T_upd)) / (T_fwd + T_proj + T_upd)``; the speed-up of the part after the
forward pass (``training_cycles``) is what approaches ``N``. :func:`latency_by_depth` reports both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pulsetrain.periphery.schedule import (
    OperationKind,
    OperationTiming,
    ScheduleConfig,
    ScheduleMode,
)

__all__ = [
    "Operation",
    "TrainingSchedule",
    "latency_by_depth",
    "mlp_sizes",
    "training_schedule",
]


@dataclass(frozen=True)
class Operation:
    """One operation of a training sample: which layer, what, when and for how long (cycles)."""

    #: weight layer (0 = first); the output layer for the error computation.
    layer: int
    #: forward / error / backward / projection / update.
    kind: OperationKind
    #: cycle at which the controller's start strobe for this operation is high (0 = first cycle).
    start: int
    #: cycles the operation takes.
    duration: int

    @property
    def end(self) -> int:
        """First cycle after the operation."""
        return self.start + self.duration


@dataclass(frozen=True)
class TrainingSchedule:
    """The schedule of one training sample."""

    #: the config it was built from.
    config: ScheduleConfig
    #: every operation, ordered by start cycle, then layer.
    operations: tuple[Operation, ...]

    @property
    def total_cycles(self) -> int:
        """Cycles from the first strobe to the end of the last operation (the controller's count)."""
        return max(op.end for op in self.operations)

    @property
    def forward_cycles(self) -> int:
        """Cycles of the forward pass (identical for BP and DFA)."""
        return max(op.end for op in self.operations if op.kind is OperationKind.FORWARD)

    @property
    def training_cycles(self) -> int:
        """Cycles after the forward pass: error, backward or projection, and updates."""
        return self.total_cycles - self.forward_cycles

    def count(self, kind: OperationKind) -> int:
        """Number of operations of ``kind`` in the sample."""
        return sum(op.kind is kind for op in self.operations)

    def as_rows(self) -> list[dict[str, object]]:
        """The operations as plain rows (for JSON)."""
        return [
            {"layer": op.layer, "kind": op.kind.value, "start": op.start, "duration": op.duration}
            for op in self.operations
        ]


def training_schedule(config: ScheduleConfig) -> TrainingSchedule:
    """Build the per-sample schedule of ``config`` with its fixed operation costs.

    Each phase starts when the previous one ends; all operations of a phase start together and the
    phase lasts as long as its slowest operation.
    """
    operations: list[Operation] = []
    start = 0
    for phase in config.phases():
        durations = [config.operation_cycles(kind, layer) for layer, kind in phase]
        for (layer, kind), duration in zip(phase, durations, strict=True):
            operations.append(Operation(layer, kind, start, duration))
        start += max(durations)
    return TrainingSchedule(config=config, operations=tuple(operations))


def mlp_sizes(depth: int, *, inputs: int = 64, hidden: int = 32, outputs: int = 10) -> tuple[int, ...]:
    """Layer sizes of an MLP with ``depth`` weight layers: ``inputs, hidden x (depth-1), outputs``."""
    if depth < 1:
        from pulsetrain.config import ConfigError

        raise ConfigError(f"depth must be an integer >= 1, not {depth!r}")
    return (inputs, *([hidden] * (depth - 1)), outputs)


def latency_by_depth(
    depths: tuple[int, ...] = (2, 3, 4, 5, 6),
    *,
    timing: OperationTiming | None = None,
    inputs: int = 64,
    hidden: int = 32,
    outputs: int = 10,
) -> list[dict[str, float | int]]:
    """BP and DFA cycles per sample for MLPs of each depth, and the DFA speed-ups.

    Returns one row per depth with ``bp_cycles``, ``dfa_cycles``, ``speedup`` (whole sample),
    ``bp_training_cycles``, ``dfa_training_cycles`` and ``training_speedup`` (after the forward pass).
    """
    timing = timing or OperationTiming()
    rows: list[dict[str, float | int]] = []
    for depth in depths:
        base = ScheduleConfig(
            mode=ScheduleMode.BP,
            layer_sizes=mlp_sizes(depth, inputs=inputs, hidden=hidden, outputs=outputs),
            timing=timing,
        )
        bp = training_schedule(base)
        dfa = training_schedule(dataclasses.replace(base, mode=ScheduleMode.DFA))
        rows.append(
            {
                "depth": depth,
                "bp_cycles": bp.total_cycles,
                "dfa_cycles": dfa.total_cycles,
                "speedup": bp.total_cycles / dfa.total_cycles,
                "bp_training_cycles": bp.training_cycles,
                "dfa_training_cycles": dfa.training_cycles,
                "training_speedup": bp.training_cycles / dfa.training_cycles,
            }
        )
    return rows
