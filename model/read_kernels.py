"""Compiled steps around the analog read of a tile, bit-identical to :meth:`pulsetrain.model.tile.Tile._read`.

A small read (a batch of one, as in per-sample training and the TTv2 family's transfers) costs a dozen
NumPy calls around one matrix product: the call overhead, not the arithmetic, sets its speed. Here the
steps before the product (the abs-max scaling, the input bound, the DAC) are one compiled call, the
product stays NumPy's (its BLAS summation order is part of the result), and the steps after it (the
read noise drawn from the tile's generator, the output bound, the ADC, the digital gain) are a second
compiled call. Every step is the same IEEE operation, in the same order, as the NumPy path: divisions,
products, ``rint`` (round half to even), comparisons; the read noise is NumPy's ``normal(0, σ)``, that
is ``0.0 + σ z`` with ``z`` from :func:`pulsetrain.model.pulse_kernels.stream_normal`'s ziggurat. The
tile's generator is stepped through its live PCG64 state
(:func:`pulsetrain.model.pulse_kernels.generator_state`), so NumPy's next draw goes on from there.

:func:`read` returns None where the tile is outside what the kernels cover (a read distortion, a custom
read ADC, a generator that is not a PCG64, Numba missing); the tile then takes its NumPy path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model import pulse_kernels

#: True when the compiled read steps can be used
AVAILABLE = pulse_kernels.AVAILABLE

if AVAILABLE:
    from pulsetrain.model.pulse_kernels import _jit, _next_normal

    @_jit
    def prepare_inputs(inputs, abs_max, bound, dac, inverse_dac, prepared, scales):  # type: ignore[no-untyped-def]
        """The DAC's view of ``inputs`` (batch, n) into ``prepared``: with ``abs_max`` each row divided
        by its largest magnitude (at least 1e-300; kept in ``scales``), then bounded to ``±bound`` (with
        ``abs_max`` only for ``bound < 1``, since the scaled inputs are within ±1), then with ``dac > 0``
        rounded to the DAC's grid (``rint(x / lsb) lsb`` as ``rint(x (1 / lsb)) lsb``)."""
        batch, size = inputs.shape
        clip = bound < 1.0 if abs_max else True
        for b in range(batch):
            scale = 1.0
            if abs_max:
                scale = 0.0
                for k in range(size):
                    magnitude = abs(inputs[b, k])
                    # np.maximum.reduce: NaN propagates
                    if magnitude > scale or magnitude != magnitude:
                        scale = magnitude
                if scale < 1e-300:  # np.maximum(scale, 1e-300) (a NaN stays NaN)
                    scale = 1e-300
                scales[b] = scale
            for k in range(size):
                value = inputs[b, k] / scale if abs_max else inputs[b, k]
                if clip:
                    if value > bound:
                        value = bound
                    if value < -bound:
                        value = -bound
                if dac > 0.0:
                    value = np.rint(value * inverse_dac) * dac
                prepared[b, k] = value

    @_jit
    def finish_outputs(  # type: ignore[no-untyped-def]
        out, state, out_noise, out_bound, adc, inverse_adc, gain, scales, abs_max
    ):
        """The periphery after the product, in place on ``out`` (batch, m): plus ``normal(0, out_noise)``
        from the PCG64 ``state`` in C order (``out_noise > 0``), bounded to ``±out_bound``, with ``adc >
        0`` rounded to ADC codes (``rint(y (1 / lsb))``), then times ``scales[b] gain[j]`` (``abs_max``)
        or ``gain[j]`` (``gain`` is the digital gain per ADC code when there is an ADC)."""
        low, high, increment_low, increment_high = state[0], state[1], state[2], state[3]
        batch, size = out.shape
        for b in range(batch):
            for j in range(size):
                value = out[b, j]
                if out_noise > 0.0:
                    low, high, normal = _next_normal(low, high, increment_low, increment_high)
                    value += 0.0 + out_noise * normal
                # np.minimum / np.maximum: a NaN stays NaN
                if value > out_bound:
                    value = out_bound
                if value < -out_bound:
                    value = -out_bound
                if adc > 0.0:
                    value = np.rint(value * inverse_adc)
                out[b, j] = value * (scales[b] * gain[j]) if abs_max else value * gain[j]
        state[0], state[1] = low, high


_NO_SCALES = np.ones(1)


def read(tile: Any, inputs: NDArray[np.float64], transpose: bool, io: Any, constants: Any) -> Any:
    """``Tile._read`` of ``inputs`` through the compiled steps, or None when the tile needs its NumPy
    path (see the module's docstring). ``constants`` is the tile's ``_io_constants(io, gain)``."""
    if tile.read_distortion is not None or tile.read_adc is not None:
        return None
    rng = tile.rng
    cached = tile.__dict__.get("_read_stream")
    if cached is None or cached[0] is not rng:
        cached = tile._read_stream = (rng, pulse_kernels.generator_state(rng))
    state = cached[1]
    if state is None or inputs.dtype != np.float64 or inputs.ndim != 2:
        return None
    dac = constants.dac_lsb
    abs_max = constants.abs_max
    prepared = np.empty(inputs.shape)
    scales = np.empty(inputs.shape[0]) if abs_max else _NO_SCALES
    dac_lsb = 0.0 if dac is None else dac
    prepare_inputs(inputs, abs_max, io.inp_bound, dac_lsb, constants.inverse_dac_lsb, prepared, scales)
    matrix = tile._read_matrix
    out = prepared @ matrix if transpose else prepared @ matrix.T
    code_gain = constants.code_gain
    adc = constants.adc_lsb
    gain = constants.gain if code_gain is None else code_gain
    finish_outputs(
        out, state, float(io.out_noise), float(io.out_bound), 0.0 if code_gain is None else adc,
        constants.inverse_adc_lsb, gain, scales, abs_max,
    )  # fmt: skip
    return out
