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
:class:`AdcComparatorBridge`
    answers an ADC readout's comparator trials from the model's analog read (sample and hold of one
    forward read per readout).
:class:`ColumnPulseBridge`
    applies the transfer controller's pulses for array C (``c_pulse_*`` records) to the model's C tile.
"""

from __future__ import annotations

from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge
from pulsetrain.cosim.kit import read_int
from pulsetrain.model.periphery import PulseTrains

from pulsetrain.periphery.adc import AdcReadoutConfig


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

    def __init__(self, dut: Any, tile: Any, prefix: str = "", *, has_slot_last: bool = True) -> None:
        self.tile = tile
        self.clock = dut.clk
        self.slot_valid = getattr(dut, f"{prefix}slot_valid")
        # without a slot_last line (the tile periphery top) a train ends when slot_valid drops
        self.slot_last = getattr(dut, f"{prefix}slot_last") if has_slot_last else None
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
        x_negative = d_negative = None
        while True:
            await FallingEdge(self.clock)
            if not read_int(self.slot_valid):
                if self.slot_last is None and x_slots:
                    self._apply(x_slots, d_slots, x_negative, d_negative)
                    x_slots, d_slots = [], []
                continue
            self.slots_seen += 1
            x_slots.append(_unpack(read_int(self.x_fire), in_size))
            d_slots.append(_unpack(read_int(self.d_fire), out_size))
            x_negative = _unpack(read_int(self.x_negative), in_size)
            d_negative = _unpack(read_int(self.d_negative), out_size)
            if self.slot_last is not None and read_int(self.slot_last):
                self._apply(x_slots, d_slots, x_negative, d_negative)
                x_slots, d_slots = [], []

    def _apply(self, x_slots: list[Any], d_slots: list[Any], x_negative: Any, d_negative: Any) -> None:
        trains = PulseTrains(
            x_fire=np.array(x_slots), d_fire=np.array(d_slots), x_negative=x_negative, d_negative=d_negative
        )
        self.tile.apply_trains(trains)
        self.trains_applied += 1


def dac_level(code: int, config: AdcReadoutConfig, lsb: float) -> float:
    """Analog level of a trial code: offset binary around mid-scale, edges half an LSB below each code.

    With this DAC the conversion ``max{c : value >= level(c)}`` rounds ``value / lsb`` to the nearest code.
    """
    mid = 1 << (config.adc_bits - 1)
    return (code - mid - 0.5) * lsb


class AdcComparatorBridge:
    """Answers the RTL's comparator trials from the model's analog read.

    When ``sample`` rises in phase 0 (a readout begins) it calls ``read()`` (a model forward read, one
    analog value per column: the array's outputs are sampled and held) and keeps the result; in every
    cycle it drives each ADC's comparator with ``held[column] >= dac_level(trial_code)`` for the column
    that ADC's multiplexer selects, so the value is ready when ``compare`` samples it.
    Ports are ``{prefix}mux_select``, ``sample``, ``trial_code``, ``compare``, ``comparator``.
    """

    def __init__(self, dut: Any, config: AdcReadoutConfig, read: Any, lsb: float, prefix: str = "") -> None:
        self.dut = dut
        self.config = config
        self.read = read
        self.lsb = lsb
        self.held: np.ndarray | None = None
        self.readouts = 0
        self.trials = 0
        self._port = {
            n: getattr(dut, f"{prefix}{n}")
            for n in ("mux_select", "sample", "trial_code", "compare", "comparator")
        }
        self._port["comparator"].value = 0
        self._task = cocotb.start_soon(self._serve())

    async def _serve(self) -> None:
        config, port = self.config, self._port
        bits = config.adc_bits
        mask = (1 << bits) - 1
        sampling_before = False
        while True:
            await FallingEdge(self.dut.clk)
            sampling = bool(read_int(port["sample"]))
            phase = read_int(port["mux_select"])
            if sampling and not sampling_before and phase == 0:
                self.held = np.asarray(self.read(), dtype=np.float64)
                self.readouts += 1
            sampling_before = sampling
            if self.held is None:
                continue
            trials = read_int(port["trial_code"])
            answer = 0
            for adc in range(config.adcs):
                column = config.column(adc, phase)
                if column >= config.columns:
                    continue
                code = (trials >> (adc * bits)) & mask
                if self.held[column] >= dac_level(code, config, self.lsb):
                    answer |= 1 << adc
            if read_int(port["compare"]):
                self.trials += 1
            port["comparator"].value = answer


class ColumnPulseBridge:
    """Applies ``count`` signed pulses to device ``(row, column)`` of a model tile per valid record."""

    def __init__(self, dut: Any, tile: Any, prefix: str = "c_pulse_") -> None:
        self.dut = dut
        self.tile = tile
        self._port = {n: getattr(dut, f"{prefix}{n}") for n in ("valid", "row", "column", "count")}
        self.records = 0
        self._task = cocotb.start_soon(self._watch())

    async def _watch(self) -> None:
        count_port = self._port["count"]
        width = len(count_port)
        while True:
            await FallingEdge(self.dut.clk)
            if not read_int(self._port["valid"]):
                continue
            count = read_int(count_port)
            if count >> (width - 1):
                count -= 1 << width
            index = read_int(self._port["row"]) * self.tile.in_size + read_int(self._port["column"])
            self.tile.apply_pulses_at(np.array([index], dtype=np.int64), np.array([float(count)]))
            self.records += 1
