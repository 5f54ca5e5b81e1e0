"""IR drop on the wires of a crossbar: a calibrated first-order correction of the model's reads.

The behavioral model reads ``y_j = Σ_i u_i (g_ij - ref_ij)`` (device units): every device sees its full
DAC voltage and every column sits at the sense amplifier's virtual ground. On a real array the read
currents flow through the resistance of the row and column wires, so a device far from its row driver
and from its column's sense node sees less than the applied voltage. This module adds that effect to a
tile's reads, off by default (a tile without a read distortion reads bit for bit as before).

Geometry (the same one :mod:`pulsetrain.spice` draws for ngspice)
------------------------------------------------------------------
* Each weight is a *column pair*: the device ``g_ij`` on a plus column and a reference device at
  ``ref_ij`` (the model's read reference; the symmetry point when the device has no reference offset)
  on a minus column next to it; the column pair's sense amplifiers subtract the two currents. Physical
  column ``2 j`` is output ``j``'s plus column, ``2 j + 1`` its minus column.
* Row ``i`` is driven at its left end (before physical column 0) with the DAC voltage ``V_read u_i``;
  every cell adds one wire segment of ``row_segment_ohm``.
* Each column ends at the bottom (after row ``R - 1``) in a virtual-ground transimpedance amplifier;
  every cell adds one segment of ``column_segment_ohm``.
* Device state ``w`` maps linearly onto ``[g_off_S, g_on_S]`` over the tile's device range
  (:class:`ConductanceMapping`); an optional series access resistance (1T1R cells) is in series with
  every device.

First order
-----------
The currents of the ideal read ``I_ip = G_ip V_i`` flow through the wires; the voltage they drop on the
row wire up to cell ``(i, p)`` and on the column wire from that cell to the sense node lower the
voltage across the device, and the corrected current is ``G_ip (V_i - α (ΔV_row + ΔV_column))``. This is
one Jacobi step of the resistive network from the ideal solution; it overestimates the drop a little
(the ideal currents are larger than the real ones), which the calibration factor ``α``, fitted to
ngspice by ``pulsetrain spice sweep``, takes up. Everything is computed in normalized units (voltages per
``V_read``, conductances per device unit of conductance), so the read voltage drops out.

Backward reads (``Wᵀ d``) drive the columns and sense the rows: a different geometry that the SPICE
check does not cover; this option leaves them ideal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from pulsetrain.config import ConfigError, check_int, check_range

if TYPE_CHECKING:
    from pulsetrain.model.tile import Tile

FloatArray = NDArray[np.float64]

#: Samples of a batch corrected at once: bounds the (batch, rows, 2 columns) scratch arrays.
_CHUNK = 32


@dataclass(frozen=True, kw_only=True)
class ArrayPhysics:
    """Physical read path of a crossbar tile: device conductance range and wire resistances.

    Presets with their sources: :func:`pulsetrain.spice.circuit.technology_physics`.
    """

    #: Conductance of a device at the top of the tile's device range, siemens.
    g_on_S: float = 7.4074e-8
    #: Conductance at the bottom of the range, siemens (``0 < g_off_S < g_on_S``).
    g_off_S: float = 9.2593e-9
    #: Resistance of the row wire across one cell, ohm (``0``: ideal wire).
    row_segment_ohm: float = 0.0
    #: Resistance of the column wire across one cell, ohm (``0``: ideal wire).
    column_segment_ohm: float = 0.0
    #: Series resistance of each cell's access transistor, ohm (``0`` for a cross-point cell).
    access_ohm: float = 0.0

    def __post_init__(self) -> None:
        check_range("array.g_on_S", self.g_on_S, 0.0, None, low_open=True)
        check_range("array.g_off_S", self.g_off_S, 0.0, self.g_on_S, low_open=True, high_open=True)
        check_range("array.row_segment_ohm", self.row_segment_ohm, 0.0, 1e6)
        check_range("array.column_segment_ohm", self.column_segment_ohm, 0.0, 1e6)
        check_range("array.access_ohm", self.access_ohm, 0.0, 1e9)

    @property
    def on_off_ratio(self) -> float:
        """``g_on_S / g_off_S``."""
        return self.g_on_S / self.g_off_S


@dataclass(frozen=True, kw_only=True)
class ConductanceMapping:
    """Device state (device units) to conductance: ``w_low -> g_off_S`` and ``w_high -> g_on_S``, linear."""

    #: Lowest device state of the tile (maps to ``g_off_S``).
    w_low: float
    #: Highest device state of the tile (maps to ``g_on_S``).
    w_high: float
    #: The physical range.
    physics: ArrayPhysics

    def __post_init__(self) -> None:
        if not (np.isfinite(self.w_low) and np.isfinite(self.w_high) and self.w_high > self.w_low):
            raise ConfigError(
                f"mapping range must be finite with w_high > w_low, not {self.w_low}..{self.w_high}"
            )

    @classmethod
    def for_tile(cls, tile: Tile, physics: ArrayPhysics) -> ConductanceMapping:
        """The mapping of ``tile``: its sampled device bounds (or, unbounded, its present states) span
        the physical range, so that every state the devices can reach has a conductance in range."""
        devices = tile.devices
        reference = tile.reference
        if np.all(np.isfinite(devices.w_min)) and np.all(np.isfinite(devices.w_max)):
            low = min(float(devices.w_min.min()), float(reference.min()))
            high = max(float(devices.w_max.max()), float(reference.max()))
        else:
            extreme = max(float(np.abs(tile.g).max()), float(np.abs(reference).max()), 1e-12)
            low, high = -extreme, extreme
        return cls(w_low=low, w_high=high, physics=physics)

    @property
    def siemens_per_unit(self) -> float:
        """Conductance of one device unit, ``(g_on - g_off) / (w_high - w_low)``."""
        return (self.physics.g_on_S - self.physics.g_off_S) / (self.w_high - self.w_low)

    def conductance_S(self, states: FloatArray) -> FloatArray:
        """Device conductances (siemens) of ``states`` (device units), without the access resistance."""
        fraction = (np.asarray(states, dtype=np.float64) - self.w_low) / (self.w_high - self.w_low)
        return self.physics.g_off_S + fraction * (self.physics.g_on_S - self.physics.g_off_S)

    def normalized(self, states: FloatArray) -> FloatArray:
        """Cell conductances (device and access resistance in series) per ``siemens_per_unit``."""
        conductance = self.conductance_S(states)
        if self.physics.access_ohm > 0.0:
            conductance = conductance / (1.0 + conductance * self.physics.access_ohm)
        return conductance / self.siemens_per_unit


def pair_conductances(mapping: ConductanceMapping, states: FloatArray, reference: FloatArray) -> FloatArray:
    """(rows, 2 outputs) normalized cell conductances in physical column order (plus, minus, plus, ...).

    ``states`` and ``reference`` are (outputs, rows) like a tile's ``g``: the array's rows are the
    tile's input lines.
    """
    plus = mapping.normalized(np.asarray(states).T)
    minus = mapping.normalized(np.asarray(reference).T)
    cells = np.empty((plus.shape[0], 2 * plus.shape[1]))
    cells[:, 0::2] = plus
    cells[:, 1::2] = minus
    return cells


def _wire_drops(currents: FloatArray, row_segment: float, column_segment: float) -> FloatArray:
    """(batch, rows, columns) voltage the wires drop between driver, cell and sense node."""
    drop = np.zeros_like(currents)
    if row_segment > 0.0:
        # segment s of a row carries every current drawn at or beyond cell s
        beyond = np.cumsum(currents[:, :, ::-1], axis=2)[:, :, ::-1]
        drop += row_segment * np.cumsum(beyond, axis=2)
    if column_segment > 0.0:
        # segment s of a column (below row s) carries every current drawn at or above row s
        above = np.cumsum(currents, axis=1)
        drop += column_segment * np.cumsum(above[:, ::-1, :], axis=1)[:, ::-1, :]
    return drop


def column_losses(
    inputs: FloatArray, cells: FloatArray, row_segment: float, column_segment: float, steps: int = 1
) -> tuple[FloatArray, FloatArray]:
    """Current lost to the wires on every physical column, and its relative size.

    ``inputs`` (batch, rows) are the DAC values (per ``V_read``), ``cells`` the (rows, 2 outputs)
    normalized conductances, ``row_segment`` / ``column_segment`` the segment resistances times the
    conductance of one device unit (dimensionless). ``steps`` Jacobi steps from the ideal currents
    (1: first order; each further step recomputes the drops from the currents of the step before,
    which converges to the network's solution while the relative drops stay well below 1).
    Returns ``(lost, ratio)``, both (batch, 2 outputs): ``lost`` the signed current the drops take
    from the column (device units), ``ratio`` the drops' conductance-weighted size relative to the
    applied voltages (the loop gain of the correction).
    """
    inputs = np.atleast_2d(inputs)
    lost = np.empty((inputs.shape[0], cells.shape[1]))
    ratio = np.empty_like(lost)
    for start in range(0, inputs.shape[0], _CHUNK):
        u = inputs[start : start + _CHUNK]
        currents = u[:, :, None] * cells[None, :, :]  # ideal cell currents per V_read G_unit
        drop = _wire_drops(currents, row_segment, column_segment)
        for _ in range(steps - 1):
            currents = cells[None, :, :] * (u[:, :, None] - drop)
            drop = _wire_drops(currents, row_segment, column_segment)
        lost[start : start + _CHUNK] = np.einsum("brp,rp->bp", drop, cells)
        applied = np.abs(u) @ cells
        ratio[start : start + _CHUNK] = np.einsum("brp,rp->bp", np.abs(drop), cells) / np.maximum(
            applied, 1e-300
        )
    return lost, ratio


def first_order_drop(
    inputs: FloatArray,
    cells: FloatArray,
    row_segment: float,
    column_segment: float,
    saturation: float = 0.0,
    steps: int = 1,
) -> FloatArray:
    """(batch, outputs) read-value change from the wires (see the module docstring).

    Arguments as :func:`column_losses`; ``saturation`` (``κ``) shrinks each column's loss by
    ``1 / (1 + κ ratio)``: the one-step estimate overshoots by about its own relative size when the
    drops are large (the drops lower the currents that cause them). The result is negative where the
    wires lower a positive read.
    """
    lost, ratio = column_losses(inputs, cells, row_segment, column_segment, steps)
    if saturation > 0.0:
        lost = lost / (1.0 + saturation * ratio)
    return -(lost[:, 0::2] - lost[:, 1::2])


def read_change(
    inputs: FloatArray,
    mapping: ConductanceMapping,
    states: FloatArray,
    reference: FloatArray,
    calibration: float = 1.0,
    saturation: float = 0.0,
    steps: int = 1,
) -> FloatArray:
    """(batch, outputs) what the physical read adds to the model's ``u (g - ref)``: the access
    resistance's compression of each cell (exact) plus the wires' first-order drop (resistances times
    ``calibration``, losses shrunk by ``saturation``, see :func:`first_order_drop`)."""
    inputs = np.atleast_2d(inputs)
    cells = pair_conductances(mapping, states, reference)
    change = first_order_drop(
        inputs,
        cells,
        mapping.physics.row_segment_ohm * mapping.siemens_per_unit * calibration,
        mapping.physics.column_segment_ohm * mapping.siemens_per_unit * calibration,
        saturation,
        steps,
    )
    if mapping.physics.access_ohm > 0.0:
        # without access resistance the pair difference is g - ref exactly (the offsets cancel)
        change += inputs @ ((cells[:, 0::2] - cells[:, 1::2]) - (states - reference).T)
    return change


@dataclass(frozen=True, kw_only=True)
class IrDropConfig:
    """The IR-drop option of a tile's forward and column reads."""

    #: The physical array (conductance range and wires).
    physics: ArrayPhysics
    #: Factor ``α`` on the wire resistances of the first-order drop (1: the plain estimate).
    calibration: float = 1.0
    #: Shrink ``κ`` of each column's loss, ``1 / (1 + κ ratio)`` (0: the plain estimate). ``α`` and ``κ``
    #: are fitted to ngspice by ``pulsetrain spice sweep`` (docs/spice/sweep.md gives the values).
    saturation: float = 0.0
    #: Jacobi steps of the wire network (1: first order, the calibrated default; more for arrays whose
    #: drops the first order cannot follow, see docs/spice/README.md; use α = 1, κ = 0 with them).
    steps: int = 1

    def __post_init__(self) -> None:
        check_range("ir_drop.calibration", self.calibration, 0.0, 10.0)
        check_range("ir_drop.saturation", self.saturation, 0.0, 100.0)
        check_int("ir_drop.steps", self.steps, 1, 100)


class IrDropRead:
    """A tile's read distortion (:class:`pulsetrain.model.periphery.ReadDistortion`) from IR drop.

    Conductances follow the tile's states: they are derived from ``tile.g`` at every read (pulses write
    ``g`` in place; the cost is a few passes over the array per sample, more than the read itself).
    """

    def __init__(self, tile: Tile, config: IrDropConfig) -> None:
        self.tile = tile
        self.config = config
        self.mapping = ConductanceMapping.for_tile(tile, config.physics)
        self._factors = (config.calibration, config.saturation, config.steps)

    def distort(self, inputs: FloatArray, transpose: bool, out: FloatArray) -> FloatArray:
        """``out`` (the ideal read of ``inputs``) with the physical read's change added (forward only)."""
        if transpose:
            return out
        tile = self.tile
        return out + read_change(inputs, self.mapping, tile.g, tile.reference, *self._factors)

    def column(self, k: int) -> FloatArray:
        """The analog values of a one-hot read of input line ``k`` (no noise, no saturation)."""
        tile = self.tile
        one_hot = np.zeros((1, tile.in_size))
        one_hot[0, k] = 1.0
        ideal = tile.g[:, k] - tile.reference[:, k]
        return ideal + read_change(one_hot, self.mapping, tile.g, tile.reference, *self._factors)[0]


@contextmanager
def ir_drop_on_new_tiles(config: IrDropConfig) -> Iterator[None]:
    """Within the block, every new tile reads through :class:`IrDropRead` of ``config``."""
    from pulsetrain.model.tile import TILE_OBSERVERS

    def attach(tile: Tile) -> None:
        tile.read_distortion = IrDropRead(tile, config)

    observer: Callable[[Tile], None] = attach
    TILE_OBSERVERS.append(observer)
    try:
        yield
    finally:
        TILE_OBSERVERS.remove(observer)
