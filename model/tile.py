"""The analog tile: a crossbar of resistive devices behind its input/output periphery.

A :class:`Tile` holds the device states ``g`` (device units, shape ``(out_size, in_size)``), the sampled
device parameters (:class:`~pulsetrain.model.devices.DeviceArray`) and a digital output scale per output
line. The logical weight the network sees is

``W[j, i] = output_scale[j] * (g[j, i] - reference[j, i])``

where ``reference`` is the per-device offset of the reference the device is read against (zero unless
the device config sets ``reference_offset_std``). The output scale is the *weight mapping*
(:class:`~pulsetrain.model.tile_config.WeightMapping`: a fixed gain, NeuroSim's weight range, or aihwkit's
``weight_scaling_omega``): how much of the conductance range a unit weight uses (docs/science.md §1).

Reads (forward ``y = W x`` and backward ``z = Wᵀ d``) go through an :class:`IOConfig`: optional noise
management (each input vector scaled by its largest magnitude before the DAC and the output scaled back
after the ADC), input clipping, DAC quantization, additive output noise, output saturation and ADC
quantization. The analog part computes in device units; the output scale is applied digitally.

Updates (:meth:`Tile.update`) write ``W -= lr Σ_b d_b x_bᵀ`` as

* ``stochastic``: per sample a rank-1 coincidence update of BL pulse slots with update management
  (:mod:`pulsetrain.model.pulses`), the trains drawn by the tile's
  :class:`~pulsetrain.model.periphery.PulseSource` (float or bit-exact twin, interchangeable);
* ``deterministic``: per sample the rounded expected pulse count ``rint(lr |x_i d_j| / dw_min)`` (at most
  ``desired_bl``) goes to each device;
* ``ideal``: the exact float change of the device state, clipped to the device bounds (no pulses).

Each device's pulses are counted (:attr:`Tile.pulse_counts`, endurance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model import pulse_kernels, pulsed_update, read_kernels
from pulsetrain.model.devices import DeviceArray, DeviceConfig
from pulsetrain.model.periphery import ColumnAdc, PulseSource, PulseTrains, ReadAdc, ReadDistortion
from pulsetrain.model.pulses import FloatPulseSource, plan_pulses
from pulsetrain.model.tile_config import (
    IDEAL_IO,
    IOConfig,
    MappingConfig,
    NoiseManagement,
    UpdateConfig,
    UpdateMode,
    WeightMapping,
)

from pulsetrain.config import check_int

FloatArray = NDArray[np.float64]
_MAX = np.maximum.reduce  # ``a.max(axis)`` without the Python wrapper of ndarray.max (same result)
_FLOAT64 = np.dtype(np.float64)
#: reads of more values than this (a batch of conv patches) keep their temporaries small
_LARGE = 1 << 20
_ONE = np.float32(1.0)
_MINUS_ONE = np.float32(-1.0)


def as_rows(values: Any, size: int) -> FloatArray:
    """``values`` as float64 rows of ``size``, shape (batch, size).

    Arrays already in that form pass as they are, without the NumPy calls of ``asarray`` and
    ``reshape`` (the per-sample paths call this several times per sample).
    """
    if (
        type(values) is np.ndarray
        and values.dtype is _FLOAT64
        and values.ndim == 2
        and values.shape[1] == size
    ):
        return values
    return np.asarray(values, dtype=np.float64).reshape(-1, size)


@dataclass(frozen=True, eq=False)
class _ReadConstants:
    """What a tile derives once from a read periphery and a digital gain (see ``Tile._io_constants``)."""

    io: IOConfig
    gain: FloatArray | None
    dac_lsb: float | None
    inverse_dac_lsb: float
    adc_lsb: float | None
    inverse_adc_lsb: float
    #: ``gain * adc_lsb`` (None without a gain or an ADC)
    code_gain: FloatArray | None
    abs_max: bool


#: Called with every new tile, in creation order. Empty in the model; a co-simulation appends one that
#: attaches its RTL ADC readouts (``read_adc``) to the tiles of a run.
TILE_OBSERVERS: list[Callable[[Tile], None]] = []


def adc_codes(values: FloatArray, lsb: float) -> NDArray[np.int64]:
    """The model's ADC: codes ``rint(values / lsb)`` (``values`` is scratch: divided and rounded in place)."""
    values /= lsb
    np.rint(values, out=values)
    return values.astype(np.int64)


@dataclass(frozen=True)
class ColumnRead:
    """The result of a one-hot read of one input line (a "column" of the array in TTv2 terms)."""

    #: (out_size,) read values in device units (``codes * lsb`` when the ADC quantizes)
    values: FloatArray
    #: (out_size,) integer ADC codes, or ``None`` for an ideal ADC
    codes: NDArray[np.int64] | None
    #: device units per ADC code, or ``None`` for an ideal ADC
    lsb: float | None


class Tile:
    """An analog crossbar of ``out_size x in_size`` devices with its read and write periphery.

    Parameters
    ----------
    out_size, in_size:
        Shape of the logical weight matrix ``W`` (``y = W x``).
    device:
        The device model; its device-to-device variation is sampled here from ``rng``.
    forward_io, backward_io:
        Periphery of the forward read (``W x``) and of the backward read (``Wᵀ d``).
    update:
        Update settings.
    output_scale:
        Digital output scale (logical weight per device unit), one value for all output lines or one per
        line; or a :class:`MappingConfig` that derives it from the device (and, for ``initial-omega``,
        from the weights each :meth:`set_weights` programs).
    pulse_source:
        Where stochastic pulse trains come from (float or twin, see
        :class:`~pulsetrain.model.periphery.PulseSource`).
    rng:
        Generator for the device sampling, read noise and cycle-to-cycle write noise.

    Attributes
    ----------
    g:
        (out_size, in_size) device states in device units. Read it freely; change it only through
        :meth:`set_weights`, :meth:`set_device_weights` or the pulse methods (the tile keeps views of it).
    devices:
        The sampled device parameters (:class:`~pulsetrain.model.devices.DeviceArray`).
    output_scale:
        (out_size,) digital output scale.
    """

    def __init__(
        self,
        out_size: int,
        in_size: int,
        *,
        device: DeviceConfig,
        forward_io: IOConfig,
        backward_io: IOConfig,
        update: UpdateConfig,
        output_scale: float | FloatArray | MappingConfig,
        pulse_source: PulseSource,
        rng: np.random.Generator,
    ) -> None:
        check_int("tile out_size", out_size, 1)
        check_int("tile in_size", in_size, 1)
        self.out_size = out_size
        self.in_size = in_size
        self.device = device
        self.forward_io = forward_io
        self.backward_io = backward_io
        self.update_config = update
        self.pulse_source = pulse_source
        #: where the ADC codes of column reads come from: None for the model's quantizer
        #: (:func:`adc_codes`), or a :class:`~pulsetrain.model.periphery.ColumnAdc` (a co-simulation's RTL)
        self.column_adc: ColumnAdc | None = None
        #: where the ADC codes of forward and backward reads come from: None for the model's quantizer, or
        #: a :class:`~pulsetrain.model.periphery.ReadAdc` (a co-simulation's RTL)
        self.read_adc: ReadAdc | None = None
        #: analog effects the read formula leaves out (IR drop, :mod:`pulsetrain.model.irdrop`); None: off
        self.read_distortion: ReadDistortion | None = None
        self.rng = rng
        self.devices: DeviceArray = device.sample((out_size, in_size), rng)
        #: the weight mapping when one was given (``initial-omega`` rescales on :meth:`set_weights`)
        self.mapping: MappingConfig | None = None
        if isinstance(output_scale, MappingConfig):
            self.mapping = output_scale
            output_scale = output_scale.gain(device)
        #: (out_size,) digital output scale: logical weight per device unit
        self.output_scale: FloatArray = np.broadcast_to(
            np.asarray(output_scale, dtype=np.float64), (out_size,)
        ).copy()
        # start every device at its read reference (logical weight 0) until programmed
        self.g: FloatArray = self.devices.clip(self.devices.reference.copy())
        # float64 counts are exact up to 2^53 pulses and save a cast per update
        self._pulses = np.zeros(out_size * in_size)
        self._unit_gain = np.ones(in_size)
        #: std of the non-accumulating write noise (device units, 0: none) and the apparent offset of
        #: every device it currently adds to reads (aihwkit's ``write_noise_std`` times ``dw_min``)
        self._write_noise = float(getattr(self.devices, "write_noise", 0.0))
        self._apparent = np.zeros(out_size * in_size) if self._write_noise > 0.0 else None
        self._has_reference = bool(np.any(self.devices.reference)) or self._apparent is not None
        #: where the d lines start in an x-then-d line vector (the segments of the per-sample maxima)
        self._segments = np.array([0, in_size])
        #: scratch: the firing gain of every x and d line of one update
        self._gains = np.empty(in_size + out_size)
        #: scratch: the signed coincidence counts of one update
        self._coincidences = np.empty((out_size, in_size), dtype=np.float32)
        self._coincidences_flat = self._coincidences.reshape(-1)  # a view
        self._refresh()
        for observer in TILE_OBSERVERS:
            observer(self)

    # ------------------------------------------------------------------ state
    def __getstate__(self) -> dict[str, Any]:
        # views of g are rebuilt on unpickling (pickle would store them as independent copies)
        state = self.__dict__.copy()
        state.pop("_g_flat", None)
        state.pop("_read_matrix", None)
        state.pop("_io_cache", None)
        state.pop("_management_cache", None)
        state.pop("_divisor_cache", None)
        state.pop("_coincidences_flat", None)
        state.pop("_kernels", None)
        state.pop("_read_stream", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        # checkpoints written before the ADC seams (or the write noise) existed
        self.__dict__.setdefault("_apparent", None)
        self.__dict__.setdefault("mapping", None)
        self.__dict__.setdefault("_write_noise", 0.0)
        self.__dict__.setdefault("column_adc", None)
        self.__dict__.setdefault("read_adc", None)
        self.__dict__.setdefault("read_distortion", None)
        if "_coincidences" in state:
            self._coincidences_flat = self._coincidences.reshape(-1)
        self._refresh()

    def _refresh(self) -> None:
        """Recompute the matrix the reads see after the device states changed."""
        if self._apparent is not None:
            self._read_matrix = self.g - self.devices.reference + self._apparent.reshape(self.g.shape)
        else:
            self._read_matrix = self.g - self.devices.reference if self._has_reference else self.g
        self._g_flat = self.g.reshape(-1)  # a view: the aggregated pulse path writes through it

    @property
    def reference(self) -> FloatArray:
        """(out_size, in_size) per-device reference offsets (device units)."""
        return self.devices.reference

    @property
    def pulse_counts(self) -> NDArray[np.int64]:
        """(out_size, in_size) number of pulses each device has received (endurance)."""
        return self._pulses.reshape(self.out_size, self.in_size).astype(np.int64)

    @property
    def total_pulses(self) -> int:
        """All pulses this tile has received."""
        return int(self._pulses.sum())

    def device_weights(self) -> FloatArray:
        """(out_size, in_size) read value of every device, ``g - reference``, in device units."""
        return np.array(self._read_matrix, copy=True)

    def weights(self) -> FloatArray:
        """(out_size, in_size) logical weights ``output_scale[j] (g - reference)`` (noise-free)."""
        return self.output_scale[:, None] * self._read_matrix

    def set_weights(self, weights: FloatArray) -> None:
        """Program the devices to the logical ``weights`` (exactly, then clipped to each device's bounds)."""
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (self.out_size, self.in_size):
            raise ValueError(f"weights must have shape {(self.out_size, self.in_size)}, not {weights.shape}")
        gain = None if self.mapping is None else self.mapping.gain_for_weights(weights)
        if gain is not None:
            self.output_scale = np.full(self.out_size, gain)  # a new object: the read caches key on it
        self.g = self.devices.clip(weights / self.output_scale[:, None] + self.devices.reference)
        self._draw_write_noise(None)
        self._refresh()

    def set_device_weights(self, values: FloatArray) -> None:
        """Program the read values ``g - reference`` (device units) directly, clipped to the bounds."""
        self.g = self.devices.clip(np.asarray(values, dtype=np.float64) + self.devices.reference)
        self._draw_write_noise(None)
        self._refresh()

    def _draw_write_noise(self, flat_index: NDArray[np.int64] | None) -> None:
        """New write noise on the devices ``flat_index`` (all for None) when the device model has some:
        aihwkit draws it each time a device is pulsed and when weights are set
        (``apply_write_noise_on_set``)."""
        if self._apparent is None:
            return
        if flat_index is None:
            self._apparent[:] = self._write_noise * self.rng.standard_normal(self._apparent.size)
        else:
            self._apparent[flat_index] = self._write_noise * self.rng.standard_normal(flat_index.size)

    # ------------------------------------------------------------------ reads
    def _io_constants(self, io: IOConfig, gain: FloatArray | None = None) -> _ReadConstants:
        """The constants of a read through ``io`` with digital ``gain``, kept per (io, gain) object pair:
        the properties, divisions and the gain per ADC code cost more than the arithmetic of a batch-1
        read."""
        cache: dict[tuple[int, int], _ReadConstants] | None = self.__dict__.get("_io_cache")
        if cache is None:
            cache = {}
            self._io_cache = cache
        key = (id(io), id(gain))
        constants = cache.get(key)
        if constants is None or constants.io is not io or constants.gain is not gain:
            dac, adc = io.dac_lsb, io.adc_lsb
            constants = cache[key] = _ReadConstants(
                io=io,
                gain=gain,
                dac_lsb=dac,
                inverse_dac_lsb=1.0 / dac if dac else 0.0,
                adc_lsb=adc,
                inverse_adc_lsb=1.0 / adc if adc else 0.0,
                code_gain=None if gain is None or adc is None else gain * adc,
                abs_max=io.noise_management is NoiseManagement.ABS_MAX,
            )
        return constants

    def _read(self, inputs: FloatArray, transpose: bool, io: IOConfig, gain: FloatArray) -> FloatArray:
        """Analog MVM through ``io``: ``inputs`` (batch, n) in, (batch, m) out times the digital ``gain``.

        Written with few NumPy calls (ufuncs in place, no ``np.clip`` wrapper): at batch 1 the call
        overhead, not the arithmetic, sets the speed.
        """
        constants = self._io_constants(io, gain)
        if read_kernels.AVAILABLE and inputs.size < _LARGE:
            # two compiled calls around the product: the same numbers (see read_kernels)
            out = read_kernels.read(self, inputs, transpose, io, constants)
            if out is not None:
                return out
        dac = constants.dac_lsb
        bound = io.inp_bound
        if constants.abs_max:
            # each input vector scaled by its largest magnitude (all-zero rows: any scale gives 0)
            if inputs.size < _LARGE:
                scale = _MAX(np.abs(inputs), axis=1, keepdims=True)
            else:  # the same maxima without an |inputs|-sized temporary (a batch of conv patches)
                scale = np.maximum(
                    _MAX(inputs, axis=1, keepdims=True), -np.minimum.reduce(inputs, axis=1, keepdims=True)
                )
            np.maximum(scale, 1e-300, out=scale)
            inputs = inputs / scale
            clip = bound < 1.0  # after the scaling every |input| <= 1
        else:
            scale = None
            inputs = inputs.copy()
            clip = True
        if clip:
            np.minimum(inputs, bound, out=inputs)
            np.maximum(inputs, -bound, out=inputs)
        if dac is not None:
            inputs *= constants.inverse_dac_lsb
            np.rint(inputs, out=inputs)
            inputs *= dac
        out = inputs @ self._read_matrix if transpose else inputs @ self._read_matrix.T
        if self.read_distortion is not None:
            out = self.read_distortion.distort(inputs, transpose, out)
        if io.out_noise > 0.0:
            # a large batch draws its noise in row blocks: the same numbers (C order), a smaller temporary
            step = max(1, _LARGE // out.shape[1])
            for first in range(0, out.shape[0], step):
                block = out[first : first + step]
                block += self.rng.normal(0.0, io.out_noise, block.shape)
        np.minimum(out, io.out_bound, out=out)
        np.maximum(out, -io.out_bound, out=out)
        if constants.code_gain is not None:
            if self.read_adc is None:
                out *= constants.inverse_adc_lsb
                np.rint(out, out=out)
            else:
                out = self.read_adc.convert(transpose, out, io.adc_lsb)  # type: ignore[arg-type]
            gain = constants.code_gain  # gain * adc_lsb, the digital gain per ADC code
        out *= gain if scale is None else scale * gain
        return out

    def forward(self, x: FloatArray) -> FloatArray:
        """``y = W x`` for a batch: ``x`` (batch, in_size) -> (batch, out_size), through the forward IO."""
        return self._read(np.asarray(x, dtype=np.float64), False, self.forward_io, self.output_scale)

    def backward(self, d: FloatArray) -> FloatArray:
        """``z = Wᵀ d`` for a batch: ``d`` (batch, out_size) -> (batch, in_size), through the backward IO.

        The output scale is applied digitally to ``d`` before the DAC (``Wᵀ d = gᵀ (S d)``).
        """
        d = np.asarray(d, dtype=np.float64) * self.output_scale
        return self._read(d, True, self.backward_io, self._unit_gain)

    def read_column(self, k: int, io: IOConfig | None = None) -> ColumnRead:
        """One-hot read of input line ``k`` through the forward periphery (or ``io``): ``g[:, k] - ref``.

        Returns the ADC codes and their lsb in device units (no output scale, no noise management: the
        one-hot input is 1 exactly). Used by the TTv2 family to read a column of array A.
        """
        check_int("column", k, 0, self.in_size - 1)
        io = self.forward_io if io is None else io
        values = self._column_values(k, io)
        lsb = io.adc_lsb
        if lsb is None:
            return ColumnRead(values=values, codes=None, lsb=None)
        codes = adc_codes(values, lsb) if self.column_adc is None else self.column_adc.convert(k, values, lsb)
        # int64 codes times a float: already a new float64 array (no astype copy needed)
        return ColumnRead(values=np.multiply(codes, lsb, dtype=np.float64), codes=codes, lsb=lsb)

    def read_column_codes(self, k: int) -> NDArray[np.int64] | FloatArray:
        """What :meth:`read_column` of ``k`` reads through the forward periphery, in its rawest form.

        The (out_size,) int64 ADC codes, or for an ideal ADC the read values in device units. The same
        random numbers and results as :meth:`read_column`, without its checks and record: the per-sample
        transfer of the TTv2 family reads a column of A after every update, with a column index its
        periphery has already bounded.
        """
        io = self.forward_io
        values = self._column_values(k, io)
        lsb = self._io_constants(io).adc_lsb
        if lsb is None:
            return values
        return adc_codes(values, lsb) if self.column_adc is None else self.column_adc.convert(k, values, lsb)

    def _column_values(self, k: int, io: IOConfig) -> FloatArray:
        """``g[:, k] - ref`` plus the read noise of ``io``, saturated at ``±out_bound`` (a new array)."""
        column = self._read_matrix[:, k] if self.read_distortion is None else self.read_distortion.column(k)
        if io.out_noise > 0.0:
            # noise first, then the column added: the same sum as column + noise (addition commutes)
            values = self.rng.standard_normal(self.out_size)
            values *= io.out_noise
            values += column
        else:
            values = np.array(column, dtype=np.float64)
        # saturation as two in-place ufuncs (np.clip's Python wrapper costs more than the work here)
        np.maximum(values, -io.out_bound, out=values)
        np.minimum(values, io.out_bound, out=values)
        return values

    # ------------------------------------------------------------------ writes
    def apply_pulses_at(self, flat_index: NDArray[np.int64], signed_counts: FloatArray) -> None:
        """Apply ``signed_counts[m]`` pulses (+ up, - down) to device ``flat_index[m]`` (row-major)."""
        if flat_index.size == 0:
            return
        # integer-valued float32 counts from the coincidence product are used as they are
        self._apply_counted(flat_index, np.asarray(signed_counts))
        if self._has_reference:
            self._draw_write_noise(flat_index)
            self._refresh()

    def apply_pulse_counts(self, counts: NDArray[Any]) -> None:
        """Apply a (out_size, in_size) matrix of signed pulse counts (integers or integer-valued floats)."""
        flat = np.asarray(counts).reshape(-1)
        index = np.flatnonzero(flat)
        self.apply_pulses_at(index, flat[index])

    def apply_column_pulses(self, k: int, counts: NDArray[Any]) -> None:
        """Apply signed pulse counts ``counts`` (out_size,) to the devices of input line ``k``.

        Used to write array C of the TTv2 family: the transfer sends ``sign · n`` pulses to column ``k``.
        """
        check_int("column", k, 0, self.in_size - 1)
        if type(counts) is not np.ndarray or counts.ndim != 1:
            counts = np.asarray(counts).reshape(-1)
        rows = counts.nonzero()[0]
        if rows.size == 0:
            return
        flat_index = rows * self.in_size
        flat_index += k
        self._apply_counted(flat_index, counts[rows])
        if self._has_reference:
            self._draw_write_noise(flat_index)
            self._refresh()

    def _apply_counted(self, flat_index: NDArray[np.int64], signed_counts: NDArray[Any]) -> None:
        """``DeviceArray.apply_at`` on the devices ``flat_index`` and their pulse counts, compiled where
        the step rule allows (the same normals drawn, the same states: see ``pulsed_update``)."""
        devices = self.devices
        if pulse_kernels.AVAILABLE and devices.step in pulsed_update.COMPILED_STEPS:
            pulsed_update.apply_entries(self, flat_index, signed_counts)
        else:
            self._pulses[flat_index] += devices.apply_at(self._g_flat, flat_index, signed_counts, self.rng)

    def apply_trains(self, trains: PulseTrains) -> None:
        """Apply the coincidences of pulse trains (from any pulse source, or the RTL in co-simulation)."""
        self.apply_pulse_counts(self.coincidences(trains))

    @staticmethod
    def coincidences(trains: PulseTrains) -> NDArray[np.float32]:
        """(out_size, in_size) signed coincidence counts of ``trains`` as integer-valued float32.

        One BLAS product ``(BL x out)ᵀ (BL x in)`` with the signs folded in: device ``(j, i)`` steps up
        when ``x_negative[i] != d_negative[j]``. float32 is exact for counts below 2^24.
        """
        x_lines = trains.x_fire.astype(np.float32)
        x_lines *= np.where(trains.x_negative, np.float32(-1.0), np.float32(1.0))
        d_lines = trains.d_fire.astype(np.float32)
        d_lines *= np.where(trains.d_negative, np.float32(1.0), np.float32(-1.0))
        return d_lines.T @ x_lines

    def update(
        self,
        x: FloatArray,
        d: FloatArray,
        lr: float,
        *,
        line_signs: tuple[FloatArray, FloatArray] | None = None,
    ) -> None:
        """Write ``W -= lr Σ_b d_b x_bᵀ`` for a batch (``x`` (batch, in_size), ``d`` (batch, out_size)).

        Stochastic and deterministic modes write one rank-1 update per sample, in order (the device
        state after sample b sets the step sizes for sample b + 1).

        ``line_signs = (in_signs, out_signs)``, float arrays of ±1, writes the chopped update
        ``(out_signs ⊙ d_b)(in_signs ⊙ x_b)ᵀ`` instead (the TTv2 family's choppers on the x and d
        lines). The tile keeps what it derives from them until it is passed another tuple: pass the
        same tuple object while the signs hold and a new one when they change (never change its arrays
        in place).
        """
        x = as_rows(x, self.in_size)
        d = as_rows(d, self.out_size)
        mode = self.update_config.mode
        # exactly the float source (not a subclass that may draw differently): take its fast path
        if mode is UpdateMode.STOCHASTIC and type(self.pulse_source) is FloatPulseSource:
            # x / (±1) and d / (∓ s) are exactly ±x and -(±d / s): the chopped x lines and the device
            # update's d lines (d over the output scale, negated) with one concatenation and one
            # division (IEEE division is exact by ±1 and symmetric in sign)
            lines = np.concatenate((x, d), axis=1)
            lines /= self._line_divisor(line_signs)
            self._update_float(lines, lr)
            return
        if line_signs is not None:
            x = x * line_signs[0]
            d = d * line_signs[1]
        # the device sees the logical change divided by the output scale
        d = d / self.output_scale
        if mode is UpdateMode.IDEAL:
            self.g = self.devices.clip(self.g - lr * (d.T @ x))
            self._refresh()
            return
        dw_min = self.device.dw_min
        config = self.update_config
        management = self._management(config)
        for x_b, d_b in zip(x, d, strict=True):
            if mode is UpdateMode.DETERMINISTIC:
                counts = np.rint(np.outer(d_b, x_b) * (-lr / dw_min))
                np.minimum(counts, config.desired_bl, out=counts)
                np.maximum(counts, -config.desired_bl, out=counts)
                self.apply_pulse_counts(counts)
                continue
            plan = plan_pulses(x_b, d_b, lr, dw_min, **management)
            if plan is None:
                continue
            x_negative = x_b < 0
            d_negative = d_b < 0
            trains = self.pulse_source.trains(
                plan.x_probability, x_negative, plan.d_probability, d_negative, plan.bl
            )
            # signed lines (float32 is exact for counts < 2^24): x lines carry sign(x), d lines -sign(d),
            # so the product counts +1 for each coincidence that steps up (-x d > 0)
            x_lines32 = trains.x_fire * np.where(x_negative, _MINUS_ONE, _ONE)
            d_lines32 = trains.d_fire * np.where(d_negative, _ONE, _MINUS_ONE)
            flat = (d_lines32.T @ x_lines32).reshape(-1)
            index = flat.nonzero()[0]
            self.apply_pulses_at(index, flat[index])

    def _management(self, config: UpdateConfig) -> dict[str, Any]:
        """Update management keywords of ``config`` (built once per config object, not per update)."""
        cached = self.__dict__.get("_management_cache")
        if cached is None or cached[0] is not config:
            management = {
                "desired_bl": config.desired_bl,
                "bl_management": config.bl_management,
                "update_management": config.update_management,
            }
            cached = self._management_cache = (config, management)
        return cached[1]

    def _line_divisor(self, line_signs: tuple[FloatArray, FloatArray] | None) -> FloatArray:
        """``[in_signs, -out_signs * output_scale]`` (signs 1 without ``line_signs``), kept per tuple."""
        cached = self.__dict__.get("_divisor_cache")
        if cached is not None and cached[0] is line_signs and cached[1] is self.output_scale:
            return cached[2]  # type: ignore[no-any-return]
        if line_signs is None:
            divisor = np.concatenate((np.ones(self.in_size), -self.output_scale))
        else:
            in_signs, out_signs = line_signs
            divisor = np.concatenate((in_signs, -(out_signs * self.output_scale)))
        self._divisor_cache = (line_signs, self.output_scale, divisor)
        return divisor

    def _update_float(self, signed_inputs: FloatArray, lr: float) -> None:
        """Stochastic update with the float source's signed lines (see
        :func:`~pulsetrain.model.pulsed_update.stochastic_update`): through the compiled kernels, or
        without Numba through their NumPy reference (the same random numbers, decisions and states)."""
        if pulse_kernels.AVAILABLE:
            pulsed_update.stochastic_update(self, signed_inputs, lr)
        else:
            pulsed_update.stochastic_update_reference(self, signed_inputs, lr)


# the configs live in tile_config; importers of this module keep finding them here
__all__ = ["IDEAL_IO", "TILE_OBSERVERS", "ColumnRead", "IOConfig", "MappingConfig", "NoiseManagement"]
__all__ += ["Tile", "UpdateConfig", "UpdateMode", "WeightMapping", "adc_codes", "as_rows"]
