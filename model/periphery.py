"""The seam between the training loop and the digital periphery of each tile.

The training loop never handles pulses, codes or LFSR states itself: it asks the periphery of a tile
for *transactions*, small records in and out, at the granularity at which a cocotb bench can also drive
the RTL without per-cycle Python. Each protocol has three servers:

``Float*``
    fast path for sweeps: NumPy random numbers and floating point; statistically right, never bit-exact.
``Twin*``
    the digital twin: the same LFSRs, widths, fixed-point formats and sequencing as the RTL generated
    from the same config in :mod:`pulsetrain.periphery`; bit for bit identical decisions for one seed.
``cosim``
    the simulated Verilog, served by :mod:`pulsetrain.cosim` behind the same protocol.

Digital state (LFSR states, chopper signs, H, column pointer, references) belongs to the periphery;
analog state (conductances, their spreads, noise) belongs to the array (:class:`pulsetrain.model.tile`),
which is the same object behind all three servers.

Conventions
-----------
A layer's logical weight matrix is ``W`` with shape ``(out_size, in_size)``; ``y = W x``. The update
``dW = -lr * d xᵀ`` is applied by coincidences of pulse trains on the *x lines* (``in_size`` of them)
and the *d lines* (``out_size``). Device ``(j, i)`` receives ``sum_t x_fire[t, i] & d_fire[t, j]``
coincidences, each one step *up* when ``x_negative[i] != d_negative[j]`` (``-x_i d_j > 0``) and *down*
otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, eq=False)
class PulseTrains:
    """The pulse trains of one rank-1 update: which line fires in which of the ``bl`` slots, and signs."""

    #: (bl, in_size) bool: x line i fires in slot t.
    x_fire: NDArray[np.bool_]
    #: (bl, out_size) bool: d line j fires in slot t.
    d_fire: NDArray[np.bool_]
    #: (in_size,) bool: sign line of each x line (True: the value was negative).
    x_negative: NDArray[np.bool_]
    #: (out_size,) bool: sign line of each d line.
    d_negative: NDArray[np.bool_]

    @property
    def bl(self) -> int:
        """Number of pulse slots."""
        return int(self.x_fire.shape[0])

    def coincidences(self) -> NDArray[np.int64]:
        """(out_size, in_size) signed coincidence counts: +n means n steps up, -n n steps down."""
        counts = self.d_fire.T.astype(np.int64) @ self.x_fire.astype(np.int64)
        up = self.x_negative[None, :] != self.d_negative[:, None]
        return np.where(up, counts, -counts)

    def same_as(self, other: PulseTrains) -> bool:
        """True when both hold exactly the same decisions (used by twin-versus-RTL scoreboards)."""
        return (
            np.array_equal(self.x_fire, other.x_fire)
            and np.array_equal(self.d_fire, other.d_fire)
            and np.array_equal(self.x_negative, other.x_negative)
            and np.array_equal(self.d_negative, other.d_negative)
        )


@runtime_checkable
class PulseSource(Protocol):
    """Turns firing probabilities (already scaled by update management) into pulse trains.

    ``x_probability`` and ``d_probability`` are in [0, 1]; ``bl`` is the number of slots. The float server
    draws NumPy random numbers; the twin quantizes each probability to the pulse generator's fixed-point
    code and runs the same seeded LFSRs and comparators as the RTL.
    """

    def trains(
        self,
        x_probability: NDArray[np.float64],
        x_negative: NDArray[np.bool_],
        d_probability: NDArray[np.float64],
        d_negative: NDArray[np.bool_],
        bl: int,
    ) -> PulseTrains: ...


@runtime_checkable
class ColumnAdc(Protocol):
    """Converts the analog values of one column read (one-hot input) into ADC codes.

    A tile's column reads (:meth:`pulsetrain.model.tile.Tile.read_column`) use the model's own quantizer
    (:func:`pulsetrain.model.tile.adc_codes`, ``rint(value / lsb)``) unless the tile's ``column_adc`` is
    set: a co-simulation sets it to the simulated ADC readout of the layer, so that the codes the transfer
    periphery gets come from the Verilog, converted from the same analog values (read noise and
    saturation already applied by the model).
    """

    def convert(self, column: int, values: NDArray[np.float64], lsb: float) -> NDArray[np.int64]:
        """Signed codes (out_size,) of the read of input line ``column``; ``values`` in device units."""
        ...


@runtime_checkable
class ReadAdc(Protocol):
    """Converts the analog outputs of a tile's forward or backward read into ADC codes.

    The model quantizes with ``rint(value / lsb)`` unless the tile's ``read_adc`` is set: a co-simulation
    sets it to simulated ADC readouts, one per tile and direction, so that the codes of the network's
    forward and backward passes come from the Verilog, converted from the same analog values.
    """

    def convert(self, transpose: bool, values: NDArray[np.float64], lsb: float) -> NDArray[np.float64]:
        """Codes (as floats) of a (batch, lines) read: forward (``transpose`` False) or backward."""
        ...


@runtime_checkable
class ReadDistortion(Protocol):
    """Analog effects of the array's read path that the read formula ``u (g - ref)`` leaves out.

    A tile reads through it when its ``read_distortion`` is set (None by default: the formula alone);
    :class:`pulsetrain.model.irdrop.IrDropRead` adds the wires' IR drop.
    """

    def distort(
        self, inputs: NDArray[np.float64], transpose: bool, out: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """The read of ``inputs`` (batch, lines) given its ideal result ``out`` (before noise and ADC)."""
        ...

    def column(self, k: int) -> NDArray[np.float64]:
        """The analog values (out_size,) of a one-hot read of input line ``k`` (before noise and ADC)."""
        ...
