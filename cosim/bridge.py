"""The analog bridge: pin activity of the periphery RTL in, calls of the model's analog array out.

Nothing analog is modelled here. The bridge watches the RTL's pulse lines and hands what it saw to the
model's :class:`~pulsetrain.model.tile.Tile` through the same methods pure-model runs use
(:meth:`~pulsetrain.model.tile.Tile.apply_trains`), so device steps, their spreads and their
cycle-to-cycle noise come from the same code and the same random generator in both kinds of run.

:class:`PulseLineBridge`
    a background coroutine on a pulse generator's ``slot_valid`` / ``x_fire`` / ``d_fire`` / sign lines;
    it collects the slots of one train and, at ``slot_last``, applies the train's coincidences to the tile
    (a train is applied whole, as :meth:`Tile.update` applies it in pure-model runs, so non-linear devices
    see the same order of operations).
"""

from __future__ import annotations

from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.kit import read_int
from pulsetrain.model.periphery import PulseTrains


def _unpack(value: int, width: int) -> np.ndarray:
    return np.array([(value >> i) & 1 for i in range(width)], dtype=bool)


class PulseLineBridge:
    """Applies every pulse train the RTL emits on ``prefix`` lines to ``tile`` (a model Tile).

    Parameters
    ----------
    dut
        cocotb handle of the top.
    tile
        The model's tile whose devices the pulses hit; its ``in_size`` / ``out_size`` must equal the
        generator's x / d line counts.
    prefix
        Port prefix of the generator in the top.
    """

    def __init__(self, dut: Any, tile: Any, prefix: str = "") -> None:
        self.tile = tile
        self.clock = dut.clk
        self.slot_valid = getattr(dut, f"{prefix}slot_valid")
        self.slot_last = getattr(dut, f"{prefix}slot_last")
        self.x_fire = getattr(dut, f"{prefix}x_fire")
        self.d_fire = getattr(dut, f"{prefix}d_fire")
        self.x_negative = getattr(dut, f"{prefix}x_negative")
        self.d_negative = getattr(dut, f"{prefix}d_negative")
        #: trains applied so far
        self.trains_applied = 0
        #: slots seen so far
        self.slots_seen = 0
        self._task = cocotb.start_soon(self._watch())

    async def _watch(self) -> None:
        x_slots: list[np.ndarray] = []
        d_slots: list[np.ndarray] = []
        in_size, out_size = self.tile.in_size, self.tile.out_size
        while True:
            await FallingEdge(self.clock)
            if not read_int(self.slot_valid):
                continue
            self.slots_seen += 1
            x_slots.append(_unpack(read_int(self.x_fire), in_size))
            d_slots.append(_unpack(read_int(self.d_fire), out_size))
            if read_int(self.slot_last):
                trains = PulseTrains(
                    x_fire=np.array(x_slots),
                    d_fire=np.array(d_slots),
                    x_negative=_unpack(read_int(self.x_negative), in_size),
                    d_negative=_unpack(read_int(self.d_negative), out_size),
                )
                self.tile.apply_trains(trains)
                self.trains_applied += 1
                x_slots, d_slots = [], []
