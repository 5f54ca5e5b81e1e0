"""Compiled kernels of the convolution layers: the per-image glue of :mod:`pulsetrain.model.conv` and the
analog reads of a tile's patch rows, bit-identical to the NumPy path they replace.

At batch 1 a LeNet-5 training step spends most of its time outside the pulsed updates: unfolding the
image into patch rows, pooling and routing the pooled errors back, folding the backward reads onto the
image, and drawing the read noise of every output of the patch reads (37 k normal numbers per image,
which NumPy's ``Generator.normal`` draws at ~9 ns each and Numba's ``Generator.standard_normal`` at ~3 ns,
from the same bit generator with the same ziggurat, so the same numbers). The kernels here do that work
in compiled loops; the matrix products stay NumPy's (the same BLAS call, so the same sums).

Why it stays exact:

* copies (unfold, transposes, the max-pool routing) move values without arithmetic;
* every elementwise step is the same IEEE operation in NumPy's order: the read's input scaling
  (``x / max|x|``, clipping, the DAC's ``rint``), the read noise ``out + (0 + σ ξ)`` (NumPy's ``normal``
  is ``loc + scale ξ``), the saturation, the ADC's ``rint`` and the digital gain ``out * (scale gain)``;
  the derivative ``1 - y²`` and its product with the routed error; Numba contracts no ``a * b + c``
  into a fused multiply-add unless ``fastmath`` is set;
* the fold adds every patch's contribution to a pixel in the order of :func:`~pulsetrain.model.conv.fold`
  (kernel row, then kernel column), starting from ``+0``;
* transcendental functions (``tanh``) stay in NumPy, whose SIMD versions can differ from the C library's
  in the last bit.

:class:`~pulsetrain.model.conv.ConvNet` uses these kernels when :data:`AVAILABLE` and its ``compiled``
flag is set (the default); ``compiled = False`` keeps the NumPy path, the reference the tests hold the
kernels to (``tests/test_model_conv_kernels.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model import pulse_kernels

FloatArray = NDArray[np.float64]

#: True when the compiled kernels can be used (Numba importable).
AVAILABLE = pulse_kernels.AVAILABLE

if AVAILABLE:
    import numba

    def _jit(function: Any) -> Any:
        """``numba.njit`` with the on-disk cache (compiled once per machine, not per process)."""
        return numba.njit(cache=True, nogil=True)(function)

    @_jit
    def unfold_rows(images, kernel, bias):  # type: ignore[no-untyped-def]
        """:func:`~pulsetrain.model.conv.unfold` of ``images`` (B, C, H, W), with a bias column of ones
        appended when ``bias`` (what :meth:`~pulsetrain.model.conv.Conv2d.patches` returns)."""
        batch, channels, rows, cols = images.shape
        out_rows, out_cols = rows - kernel + 1, cols - kernel + 1
        width = channels * kernel * kernel
        patches = np.empty((batch * out_rows * out_cols, width + (1 if bias else 0)))
        p = 0
        for b in range(batch):
            for r in range(out_rows):
                for c in range(out_cols):
                    q = 0
                    for ch in range(channels):
                        for i in range(kernel):
                            for j in range(kernel):
                                patches[p, q] = images[b, ch, r + i, c + j]
                                q += 1
                    if bias:
                        patches[p, width] = 1.0
                    p += 1
        return patches

    @_jit
    def scale_inputs(inputs, abs_max, bound, clip, dac, inverse_dac, out, scale):  # type: ignore[no-untyped-def]
        """The DAC side of ``Tile._read``: with ``abs_max`` each row divided by its largest magnitude
        (kept in ``scale``, at least 1e-300), then clipped at ``±bound`` (when ``clip``), then quantized
        ``rint(v / dac) dac`` (when ``dac > 0``), into ``out``."""
        batch, size = inputs.shape
        for b in range(batch):
            row_scale = 1.0
            if abs_max:
                top = 0.0
                for k in range(size):
                    magnitude = abs(inputs[b, k])
                    if magnitude > top:
                        top = magnitude
                row_scale = max(top, 1e-300)
                scale[b] = row_scale
            for k in range(size):
                value = inputs[b, k] / row_scale if abs_max else inputs[b, k]
                if clip:
                    if value > bound:
                        value = bound
                    if value < -bound:
                        value = -bound
                if dac > 0.0:
                    value *= inverse_dac
                    value = np.rint(value)
                    value *= dac
                out[b, k] = value

    @_jit
    def finish_read(out, rng, noise, out_bound, adc, inverse_adc, gain, abs_max, scale):  # type: ignore[no-untyped-def]
        """The ADC side of ``Tile._read`` on the product ``out`` (in place): read noise ``0 + σ ξ`` drawn
        from ``rng`` in C order (when ``noise > 0``), saturation at ``±out_bound``, the ADC's
        ``rint(v / adc)`` (when ``adc > 0``), and the digital gain (``scale[b] gain[j]`` with ``abs_max``,
        else ``gain[j]``; ``gain`` already holds ``gain * adc`` when the ADC quantizes)."""
        batch, size = out.shape
        for b in range(batch):
            for j in range(size):
                value = out[b, j]
                if noise > 0.0:
                    value += 0.0 + noise * rng.standard_normal()
                if value > out_bound:
                    value = out_bound
                if value < -out_bound:
                    value = -out_bound
                if adc > 0.0:
                    value *= inverse_adc
                    value = np.rint(value)
                value *= scale[b] * gain[j] if abs_max else gain[j]
                out[b, j] = value

    @_jit
    def finish_read_quiet(out, out_bound, adc, inverse_adc, gain, abs_max, scale):  # type: ignore[no-untyped-def]
        """:func:`finish_read` without read noise (no Generator to pass: that costs microseconds)."""
        batch, size = out.shape
        for b in range(batch):
            for j in range(size):
                value = out[b, j]
                if value > out_bound:
                    value = out_bound
                if value < -out_bound:
                    value = -out_bound
                if adc > 0.0:
                    value *= inverse_adc
                    value = np.rint(value)
                value *= scale[b] * gain[j] if abs_max else gain[j]
                out[b, j] = value

    @_jit
    def channels_first(rows, batch, out_rows, out_cols):  # type: ignore[no-untyped-def]
        """Patch rows (B·H'·W', C) as a C-contiguous (B, C, H', W') map (a copy, no arithmetic)."""
        channels = rows.shape[1]
        maps = np.empty((batch, channels, out_rows, out_cols))
        p = 0
        for b in range(batch):
            for r in range(out_rows):
                for c in range(out_cols):
                    for ch in range(channels):
                        maps[b, ch, r, c] = rows[p, ch]
                    p += 1
        return maps

    @_jit
    def max_pool_mask(images, size):  # type: ignore[no-untyped-def]
        """:func:`~pulsetrain.model.conv.max_pool`: the pooled maxima and the one-hot routing mask of the
        first maximum of every window (``np.argmax``'s choice: the first NaN, else the first largest)."""
        batch, channels, rows, cols = images.shape
        pooled_rows, pooled_cols = rows // size, cols // size
        pooled = np.empty((batch, channels, pooled_rows, pooled_cols))
        mask = np.zeros((batch, channels, pooled_rows, pooled_cols, size * size))
        for b in range(batch):
            for ch in range(channels):
                for r in range(pooled_rows):
                    for c in range(pooled_cols):
                        best = images[b, ch, r * size, c * size]
                        first = 0
                        if not np.isnan(best):
                            for k in range(1, size * size):
                                value = images[b, ch, r * size + k // size, c * size + k % size]
                                if np.isnan(value):
                                    best, first = value, k
                                    break
                                if value > best:
                                    best, first = value, k
                        pooled[b, ch, r, c] = best
                        mask[b, ch, r, c, first] = 1.0
        return pooled, mask

    @_jit
    def routed_delta(grads, mask, activated, tanh):  # type: ignore[no-untyped-def]
        """:func:`~pulsetrain.model.conv.max_pool_backward` of ``grads`` times the activation's derivative
        at ``activated`` (``1 - y²`` for tanh, else ``y (1 - y)`` for the sigmoid): the convolution's
        error at its pre-activation. The mask multiplies every window position (``mask g``, signed zeros
        and all), as the NumPy path does."""
        batch, channels, rows, cols = activated.shape
        pooled_rows, pooled_cols = grads.shape[2], grads.shape[3]
        size = 1
        while size * size < mask.shape[4]:
            size += 1
        delta = np.empty((batch, channels, rows, cols))
        for b in range(batch):
            for ch in range(channels):
                for r in range(rows):
                    for c in range(cols):
                        pr, pc = r // size, c // size
                        if pr < pooled_rows and pc < pooled_cols:
                            routed = mask[b, ch, pr, pc, (r % size) * size + c % size] * grads[b, ch, pr, pc]
                        else:
                            routed = 0.0
                        post = activated[b, ch, r, c]
                        slope = 1.0 - post * post if tanh else post * (1.0 - post)
                        delta[b, ch, r, c] = routed * slope
        return delta

    @_jit
    def scaled_delta_rows(delta, output_scale):  # type: ignore[no-untyped-def]
        """Errors (B, C, H', W') as the backward read's input rows (B·H'·W', C), times the output scale
        (``Tile.backward``'s ``d * output_scale``)."""
        batch, channels, out_rows, out_cols = delta.shape
        rows = np.empty((batch * out_rows * out_cols, channels))
        p = 0
        for b in range(batch):
            for r in range(out_rows):
                for c in range(out_cols):
                    for ch in range(channels):
                        rows[p, ch] = delta[b, ch, r, c] * output_scale[ch]
                    p += 1
        return rows

    @_jit
    def fold_rows(back, batch, channels, rows, cols, kernel):  # type: ignore[no-untyped-def]
        """:func:`~pulsetrain.model.conv.fold` of the backward reads ``back`` (B·H'·W', ≥ C·k·k; a bias
        column beyond is ignored): every pixel sums its patches' values from ``+0`` in kernel-row, then
        kernel-column order, as the NumPy fold's k·k strided adds do."""
        out_rows, out_cols = rows - kernel + 1, cols - kernel + 1
        images = np.zeros((batch, channels, rows, cols))
        for i in range(kernel):
            for j in range(kernel):
                p = 0
                for b in range(batch):
                    for r in range(out_rows):
                        for c in range(out_cols):
                            for ch in range(channels):
                                images[b, ch, r + i, c + j] += back[p, (ch * kernel + i) * kernel + j]
                            p += 1
        return images

    @_jit
    def update_lines(patches, delta, divisor):  # type: ignore[no-untyped-def]
        """``Tile.update``'s signed lines of a convolution: per patch its input row then its errors
        (``delta`` (B, C, H', W') in patch order), each divided by the tile's line divisor (a division by
        1 is skipped: IEEE division by 1 returns its operand)."""
        batch, channels, out_rows, out_cols = delta.shape
        n_x = patches.shape[1]
        lines = np.empty((patches.shape[0], n_x + channels))
        unit = True
        for k in range(n_x):
            unit = unit and divisor[k] == 1.0
        p = 0
        for b in range(batch):
            for r in range(out_rows):
                for c in range(out_cols):
                    for k in range(n_x):
                        lines[p, k] = patches[p, k] if unit else patches[p, k] / divisor[k]
                    for ch in range(channels):
                        lines[p, n_x + ch] = delta[b, ch, r, c] / divisor[n_x + ch]
                    p += 1
        return lines


def read_rows(tile: Any, inputs: FloatArray, transpose: bool) -> FloatArray:
    """``tile.forward(inputs)`` (``transpose`` False) or ``tile.backward(inputs)`` with the read's
    elementwise steps compiled: the same random numbers and results. ``inputs`` are float64 rows; for the
    backward read they must already be multiplied by the output scale (``Tile.backward`` does that
    first). Only for a :class:`~pulsetrain.model.tile.Tile` without a read distortion or an RTL ADC
    (see :func:`compiled_reads`)."""
    if transpose:
        io, gain = tile.backward_io, tile._unit_gain
    else:
        io, gain = tile.forward_io, tile.output_scale
    constants = tile._io_constants(io, gain)
    batch = inputs.shape[0]
    scaled = np.empty(inputs.shape)
    scale = np.ones(batch)
    abs_max = constants.abs_max
    bound = float(io.inp_bound)
    clip = bound < 1.0 if abs_max else True
    dac = constants.dac_lsb if constants.dac_lsb is not None else 0.0
    scale_inputs(inputs, abs_max, bound, clip, dac, constants.inverse_dac_lsb, scaled, scale)
    matrix = tile._read_matrix
    out = scaled @ matrix if transpose else scaled @ matrix.T
    if constants.code_gain is not None:
        adc, factor = constants.adc_lsb, constants.code_gain
    else:
        adc, factor = 0.0, gain
    if io.out_noise > 0.0:
        finish_read(
            out, tile.rng, io.out_noise, io.out_bound, adc, constants.inverse_adc_lsb, factor, abs_max, scale
        )
    else:
        finish_read_quiet(out, io.out_bound, adc, constants.inverse_adc_lsb, factor, abs_max, scale)
    return out


def compiled_reads(array: Any) -> bool:
    """Whether :func:`read_rows` serves ``array``'s reads: a plain tile whose reads have no
    distortion and no RTL ADC attached (a co-simulation's), with Numba available."""
    from pulsetrain.model.tile import Tile

    return AVAILABLE and type(array) is Tile and array.read_distortion is None and array.read_adc is None


def compiled_update(array: Any) -> bool:
    """Whether :func:`update_lines` and the compiled stochastic update serve ``array``'s update: a plain
    tile in stochastic mode drawing from exactly the float pulse source (``Tile.update``'s fast path)."""
    from pulsetrain.model.pulses import FloatPulseSource
    from pulsetrain.model.tile import Tile, UpdateMode

    return (
        AVAILABLE
        and type(array) is Tile
        and array.update_config.mode is UpdateMode.STOCHASTIC
        and type(array.pulse_source) is FloatPulseSource
    )
