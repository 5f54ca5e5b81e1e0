"""Digital twin of the training-schedule controller (:mod:`pulsetrain.rtl.schedule_controller`).

The controller walks the phase plan of :class:`~pulsetrain.periphery.schedule.ScheduleConfig`. In a phase's
first cycle it raises the start strobe of every operation of the phase; the phase ends in the cycle in
which the last of them is done, and the next phase's strobes follow in the very next cycle. An operation
with latency ``L`` (``L >= 1``) is done in the ``L``-th cycle counted from its strobe cycle (``L = 1``: in
the strobe cycle itself), so a phase lasts ``max(L)`` cycles. With ``completion = fixed`` the latencies are
the config's operation costs; with ``completion = handshake`` they are whatever the per-layer units take,
passed in here as the same stimulus the bench gives the RTL.

The controller's cycle counter counts the cycles from the first strobe to the end of the last phase.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pulsetrain.config import ConfigError
from pulsetrain.periphery.schedule import Completion, OperationKind, ScheduleConfig

__all__ = ["ScheduleControllerTwin", "ScheduleRun", "Strobe"]


@dataclass(frozen=True, order=True)
class Strobe:
    """A start strobe: in cycle ``cycle`` (0 = first strobe) the controller starts ``kind`` on ``layer``."""

    cycle: int
    layer: int
    kind: OperationKind = OperationKind.FORWARD

    def key(self) -> tuple[int, int, str]:
        """Sortable, comparable tuple (cycle, layer, kind value)."""
        return (self.cycle, self.layer, self.kind.value)


@dataclass(frozen=True)
class ScheduleRun:
    """What the controller did for one sample."""

    #: every start strobe, ordered by cycle, then kind, then layer.
    strobes: tuple[Strobe, ...]
    #: the cycle counter at the end of the sample.
    cycles: int


class ScheduleControllerTwin:
    """Bit-exact transaction model of the schedule controller.

    Parameters
    ----------
    config
        The controller's config (mode, layer sizes, completion, operation costs).
    """

    def __init__(self, config: ScheduleConfig) -> None:
        self._config = config

    @property
    def config(self) -> ScheduleConfig:
        """The config this twin mirrors."""
        return self._config

    def run_sample(self, latencies: Mapping[tuple[int, OperationKind], int] | None = None) -> ScheduleRun:
        """Sequence one training sample.

        Parameters
        ----------
        latencies
            ``(layer, kind) -> cycles`` each operation takes until its unit is done (handshake mode;
            missing entries take the config's fixed cost). Must be ``None`` in fixed mode, where the
            controller times every operation itself.
        """
        config = self._config
        if config.completion is Completion.FIXED and latencies is not None:
            raise ConfigError("latencies apply to completion = handshake only; fixed mode times itself")
        latencies = latencies or {}
        strobes: list[Strobe] = []
        cycle = 0
        for phase in config.phases():
            durations = []
            for layer, kind in phase:
                latency = latencies.get((layer, kind), config.operation_cycles(kind, layer))
                if latency < 1:
                    raise ConfigError(f"latency of {kind.value} on layer {layer} must be >= 1, not {latency}")
                durations.append(latency)
                strobes.append(Strobe(cycle, layer, kind))
            cycle += max(durations)
        saturated = min(cycle, (1 << config.counter_bits) - 1)
        order = {kind: index for index, kind in enumerate(OperationKind)}
        strobes.sort(key=lambda s: (s.cycle, order[s.kind], s.layer))
        return ScheduleRun(strobes=tuple(strobes), cycles=saturated)
