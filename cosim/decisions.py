"""The digital decisions a co-simulation compares between the RTL and the model's twin.

A pulse-train transaction holds one decision per slot of each line (fire or not) and one per sign line;
the first that differs stops a run with where it happened (:class:`Decision`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pulsetrain.model.periphery import PulseTrains

__all__ = ["Decision", "decisions_in", "first_difference"]


@dataclass(frozen=True)
class Decision:
    """The first periphery decision where RTL and model differ."""

    #: update index of that tile (0-based): the training step at batch 1 with one update per step
    update: int
    #: tile index in the algorithm's creation order (e.g. A and C of each layer for TTv2)
    tile: int
    #: which decision: ``x_fire[slot, line]``, ``d_negative[line]``...
    what: str
    rtl: Any
    model: Any
    #: layer: index among the tiles that issue updates (the RTL generator ``tile{layer}``), input first;
    #: for transfer decisions the TTv2-family layer (the RTL controller ``transfer{layer}``)
    layer: int = -1
    #: the RTL block that made the decision
    block: str = "pulse-generator"

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.update,
            "layer": self.layer,
            "tile": self.tile,
            "block": self.block,
            "what": self.what,
            "rtl": self.rtl,
            "model": self.model,
        }


def first_difference(
    update: int, tile: int, design: PulseTrains, model: PulseTrains, layer: int = -1
) -> Decision | None:
    """The first differing decision of two pulse-train transactions, or None when they agree."""
    for name in ("x_fire", "d_fire", "x_negative", "d_negative"):
        a, b = np.asarray(getattr(design, name)), np.asarray(getattr(model, name))
        if a.shape != b.shape:
            return Decision(update, tile, f"{name} shape", list(a.shape), list(b.shape), layer)
        differ = np.argwhere(a != b)
        if differ.size:
            index = tuple(int(i) for i in differ[0])
            label = f"{name}[slot {index[0]}, line {index[1]}]" if a.ndim == 2 else f"{name}[line {index[0]}]"
            return Decision(update, tile, label, bool(a[index]), bool(b[index]), layer)
    return None


def decisions_in(trains: PulseTrains) -> int:
    """Number of individual decisions in one transaction (each slot of each line, each sign line)."""
    return int(trains.x_fire.size + trains.d_fire.size + trains.x_negative.size + trains.d_negative.size)
