"""Compiled kernels of the named networks (:mod:`pulsetrain.model.conv`): the per-image glue, the analog
reads of a tile's rows, and the TTv2 family's per-row loop (:class:`CompiledLayerLoop`), bit-identical to
the NumPy path they replace.

At batch 1 a LeNet-5 training step spends most of its time outside the pulsed updates: unfolding the
image into patch rows, pooling and routing the pooled errors back, folding the backward reads onto the
image, and drawing the read noise of every output of the patch reads (37 k normal numbers per image,
which NumPy's ``Generator.normal`` draws at ~9 ns each). The kernels here do that work in compiled
loops, the normal numbers from the tile generator's own PCG64 state stepped in place with NumPy's
ziggurat (:func:`~pulsetrain.model.pulse_kernels.generator_state`, ``_next_normal``: the same numbers,
and the generator left where NumPy's own draws would leave it); the matrix products stay NumPy's (the
same BLAS call, so the same sums).

A TTv2-family layer (:class:`~pulsetrain.model.algorithms.tiki_taka.TikiTakaLayer`) writes one row per
patch: the chopped pulsed update of A, a step of the transfer counter, and per transfer a column read of
A, the periphery's H update and chopper events, and the pulses into C. In Python that loop cost ~40 µs
per patch (642 patches per LeNet-5 image); :class:`CompiledLayerLoop` runs it in one call per layer and
image. Its random numbers come from the same generators in the same order: the pulse source's uniform
numbers (slot by slot, line by line), A's device normals and read noise, C's device normals and the
periphery's flips, all drawn in the loop from those generators' PCG64 states (four distinct
generators, each stepped through one view). The linear step's ``expm1`` values come from
NumPy's table (:func:`~pulsetrain.model.pulsed_update.expm1_table`), read count-major: the device-major
layout puts each pulsed device ~1 KB apart, one cache miss per device on a 65 MB table for LeNet-5's
128x513 layer.

Why it stays exact:

* copies (unfold, transposes, the max-pool routing) move values without arithmetic;
* every elementwise step is the same IEEE operation in NumPy's order: the read's input scaling
  (``x / max|x|``, clipping, the DAC's ``rint``), the read noise ``out + (0 + σ ξ)`` (NumPy's ``normal``
  is ``loc + scale ξ``), the saturation, the ADC's ``rint`` and the digital gain ``out * (scale gain)``;
  the derivative ``1 - y²`` and its product with the routed error; Numba contracts no ``a * b + c``
  into a fused multiply-add unless ``fastmath`` is set;
* the fold adds every patch's contribution to a pixel in the order of :func:`~pulsetrain.model.conv.fold`
  (kernel row, then kernel column), starting from ``+0``;
* transcendental functions (``tanh``, the linear step's ``expm1``) stay in NumPy, whose SIMD versions
  can differ from the C library's in the last bit;
* the TTv2 loop's lines ``x / c`` and ``d / (-(o s))`` (chopper signs ``c, o = ±1``) are ``±x`` and
  ``∓(d / s)`` exactly (IEEE division is symmetric in sign), and its device responses, read, H update
  and firing rule are the NumPy expressions of ``DeviceArray.apply_at``, ``Tile.read_column_codes`` and
  ``FloatTransferPeriphery._accumulate`` evaluated in the same order.

:class:`~pulsetrain.model.conv.ConvNet` uses these kernels when :data:`AVAILABLE` and its ``compiled``
flag is set (the default); ``compiled = False`` keeps the NumPy path, the reference the tests hold the
kernels to (``tests/test_model_conv_kernels.py``; ``benchmarks/bench_conv.py --numpy-conv`` times it).
Arrays the kernels do not serve (float weights, the twin or RTL transfer periphery, RTL ADCs, read
distortions, write noise, other step rules) keep the NumPy path within a compiled run.
"""

from __future__ import annotations

import weakref
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

    from pulsetrain.model.pulse_kernels import _next_double, _next_normal

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
    def finish_read(out, state, noise, out_bound, adc, inverse_adc, gain, abs_max, scale):  # type: ignore[no-untyped-def]
        """The ADC side of ``Tile._read`` on the product ``out`` (in place): read noise ``0 + σ ξ`` drawn
        from the tile's PCG64 ``state`` (:func:`~pulsetrain.model.pulse_kernels.generator_state`, stepped
        in place as NumPy's ``normal`` would) in C order (when ``noise > 0``), saturation at
        ``±out_bound``, the ADC's ``rint(v / adc)`` (when ``adc > 0``), and the digital gain (``scale[b]
        gain[j]`` with ``abs_max``, else ``gain[j]``; ``gain`` already holds ``gain * adc`` when the ADC
        quantizes)."""
        batch, size = out.shape
        low, high, increment_low, increment_high = state[0], state[1], state[2], state[3]
        for b in range(batch):
            for j in range(size):
                value = out[b, j]
                if noise > 0.0:
                    low, high, normal = _next_normal(low, high, increment_low, increment_high)
                    value += 0.0 + noise * normal
                if value > out_bound:
                    value = out_bound
                if value < -out_bound:
                    value = -out_bound
                if adc > 0.0:
                    value *= inverse_adc
                    value = np.rint(value)
                value *= scale[b] * gain[j] if abs_max else gain[j]
                out[b, j] = value
        state[0], state[1] = low, high

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
    state = pulse_kernels.generator_state(tile.rng) if io.out_noise > 0.0 else None
    if io.out_noise > 0.0 and state is None:
        return tile._read(inputs, transpose, io, gain)  # type: ignore[no-any-return]  # not a PCG64
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
            out, state, io.out_noise, io.out_bound, adc, constants.inverse_adc_lsb, factor, abs_max, scale
        )
    else:
        finish_read_quiet(out, io.out_bound, adc, constants.inverse_adc_lsb, factor, abs_max, scale)
    return out


def compiled_reads(array: Any) -> bool:
    """Whether :func:`read_rows` serves ``array``'s reads: a plain tile whose reads have no
    distortion and no RTL ADC attached (a co-simulation's), with Numba available."""
    from pulsetrain.model.tile import Tile

    return AVAILABLE and type(array) is Tile and array.read_distortion is None and array.read_adc is None


def _tiles_of(array: Any) -> tuple[Any, Any, float] | None:
    """(C, A, gamma) of a TTv2-family layer whose tiles both take :func:`read_rows`, else None."""
    from pulsetrain.model.algorithms.tiki_taka import TikiTakaLayer

    if type(array) is TikiTakaLayer and compiled_reads(array.slow) and compiled_reads(array.fast):
        return array.slow, array.fast, array.gamma
    return None


def serves_reads(array: Any) -> bool:
    """Whether :func:`forward_rows` and :func:`backward_maps` read ``array`` through the kernels (a tile,
    or a TTv2-family layer of two such tiles)."""
    return compiled_reads(array) or _tiles_of(array) is not None


def forward_rows(array: Any, patches: FloatArray) -> FloatArray:
    """``array.forward(patches)`` through :func:`read_rows` (an array :func:`serves_reads` takes): a
    TTv2-family layer reads ``C x``, then ``+ gamma (A x)`` when ``gamma > 0``, as its ``forward``."""
    layer = _tiles_of(array)
    if layer is None:
        return read_rows(array, patches, False)
    slow, fast, gamma = layer
    out = read_rows(slow, patches, False)
    if gamma > 0.0:
        out = out + gamma * read_rows(fast, patches, False)
    return out


def backward_rows(array: Any, delta: FloatArray) -> FloatArray:
    """``array.backward`` of the errors ``delta`` (B, C, H', W') as patch rows, through
    :func:`read_rows` (each tile's rows times its own output scale, as ``Tile.backward`` forms them)."""
    layer = _tiles_of(array)
    if layer is None:
        return read_rows(array, scaled_delta_rows(delta, array.output_scale), True)
    slow, fast, gamma = layer
    out = read_rows(slow, scaled_delta_rows(delta, slow.output_scale), True)
    if gamma > 0.0:
        out = out + gamma * read_rows(fast, scaled_delta_rows(delta, fast.output_scale), True)
    return out


def backward_dense_rows(array: Any, d: FloatArray) -> FloatArray:
    """``array.backward(d)`` of a fully connected layer's errors ``d`` (batch, out_size) through
    :func:`read_rows` (``d`` times each tile's output scale, as ``Tile.backward`` forms it)."""
    d = np.asarray(d, dtype=np.float64)
    layer = _tiles_of(array)
    if layer is None:
        return read_rows(array, d * array.output_scale, True)
    slow, fast, gamma = layer
    out = read_rows(slow, d * slow.output_scale, True)
    if gamma > 0.0:
        out = out + gamma * read_rows(fast, d * fast.output_scale, True)
    return out


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


# ---------------------------------------------------------------------------------------------------
# The TTv2 family's per-patch loop: A's pulsed updates, the transfer counter, the column reads of A, the
# float transfer periphery's H and chopper decisions, and the pulses into C, one compiled call per layer
# and image. Every step is the NumPy path's (see CompiledLayerLoop); the device responses are written
# here from DeviceArray.apply_at's formulas, in its order.

if AVAILABLE:
    from numba.core import types as numba_types
    from numba.extending import intrinsic

    def _bit_count_typing(typingctx: Any, value: Any) -> Any:
        """LLVM's ``ctpop`` of a 64-bit word: the coincidences of two packed pulse trains."""
        if not isinstance(value, numba_types.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
            return builder.ctpop(arguments[0])

        return value(value), codegen

    _bit_count: Any = intrinsic(_bit_count_typing)

    def _inline(function: Any) -> Any:
        """A scalar helper inlined into its caller in Numba's IR."""
        return numba.njit(cache=True, nogil=True, inline="always")(function)

    @_inline
    def _constant_step(old, magnitude, step, noise, low, high, normal, noisy):  # type: ignore[no-untyped-def]
        """``DeviceArray.apply_at``'s constant step of one device: ``w + |n| step + noise sqrt(|n|) ξ``,
        the square root in the count's own type (float32 for A's coincidence counts, as NumPy takes it
        of the float32 count array), then clipped to ``[low, high]``."""
        new = old
        new += np.float64(magnitude) * step
        if noisy:
            new += noise * np.float64(np.sqrt(magnitude)) * normal
        if new < low:
            new = low
        if new > high:
            new = high
        return new

    @_inline
    def _linear_step(old, target, noise, low, high, move, spread, normal, noisy, mult_noise):  # type: ignore[no-untyped-def]  # noqa: E501
        """``DeviceArray.apply_at``'s linear step with NumPy's ``move = expm1(|n| log r)`` and ``spread``
        (``expm1(|n| noise)`` multiplicative, ``expm1(2 |n| log r)`` additive) from its table:
        ``w + (f - w)(-move) + spread ξ`` in NumPy's order, then clipped."""
        new = old
        distance = target - new
        moved = -move
        new += distance * moved
        if noisy:
            if mult_noise:
                new += abs(distance) * (1.0 - moved) * np.sqrt(spread) * normal
            else:
                new += noise * np.sqrt(-spread) * normal
        if new < low:
            new = low
        if new > high:
            new = high
        return new

    @_inline
    def _pulse_slots(x_max, d_max, lr, dw_min, desired_bl, bl_management):  # type: ignore[no-untyped-def]
        """The BL of :func:`pulsetrain.model.pulses.scales_for` (0: nothing to write)."""
        if x_max == 0.0 or d_max == 0.0 or lr == 0.0:
            return 0
        if not bl_management:
            return desired_bl
        ratio = lr * x_max * d_max / dw_min
        if ratio > desired_bl:  # compared before the conversion: a huge ratio would overflow int64
            return desired_bl
        return max(int(np.ceil(ratio)), 1)

    @_jit
    def error_quotients(d_rows, output_scale):  # type: ignore[no-untyped-def]
        """The errors over the output scale, ``d / s``, of every row.

        ``Tile.update``'s lines are ``x / c_i`` and ``d / (-(o_j s_j))`` with chopper signs ``c, o = ±1``:
        exactly ``c_i x`` and ``-o_j (d / s_j)`` (IEEE division and multiplication are symmetric in
        sign), so each row's ``d / s`` is divided once here and the signs applied in the loop."""
        quotients = np.empty(d_rows.shape)
        for p in range(d_rows.shape[0]):
            for j in range(d_rows.shape[1]):
                quotients[p, j] = d_rows[p, j] / output_scale[j]
        return quotients

    @_jit
    def tiki_taka_patches(  # type: ignore[no-untyped-def]
        x_rows, quotients, s_state,
        a_state, a_g, a_reference, a_pulses, a_table, a_expm1s, a_linear, a_noisy, a_mult_noise,
        fast_lr, dw_min, desired_bl, bl_management, update_management,
        read_noise, read_bound, adc_lsb, ideal_divisor,
        c_state, c_g, c_pulses, c_table, c_expm1s, c_linear, c_noisy, c_mult_noise,
        p_state, h, mean, reference, in_signs, out_signs, has_reference, switched, held_reads, counters,
        transfer_every, n_reads, agad, uses_in, uses_out, regular_period, in_chop_prob, out_chop_prob,
        reads_held, h_low, h_high, mean_weight, transfer_lr, threshold, max_pulses, momentum, forget, cap,
    ):  # fmt: skip
        """One TTv2-family layer's writes of a batch of rows (a convolution's patches), in order: per row
        the chopped stochastic update of A (``Tile.update`` with line signs), one step of the transfer
        counter, and for every column it hands out the read of A (noise, saturation, ADC), the float
        periphery's H update, firing and chopper events, and the pulses into C's column.

        ``counters`` holds the periphery's (updates since transfer, pointer, passes) and is updated in
        place, as are every state array. Returns (column reads, whether a chopper flipped)."""
        n_x = x_rows.shape[1]
        n_d = quotients.shape[1]
        n_lines = n_x + n_d
        in_size = n_x
        lines = np.empty(n_lines)
        words = (max(desired_bl, 1) + 63) >> 6
        bits = np.empty((n_lines, words), dtype=np.uint64)
        active_x = np.empty(n_x, dtype=np.int64)
        x_signs = np.empty(n_x, dtype=np.float32)
        x_words = np.empty(n_x, dtype=np.uint64)
        pair_counts = np.empty(n_x, dtype=np.uint64)
        values = np.empty(n_d)
        signal = np.empty(n_d)
        steps = np.empty(n_d)
        has_a_reference = a_reference.shape[0] > 0
        column_reads = 0
        flipped = False
        thresholds = np.empty(n_lines)
        # the generators' PCG64 states, stepped in registers and written back at the end
        s_low, s_high, s_inc_low, s_inc_high = s_state[0], s_state[1], s_state[2], s_state[3]
        a_low, a_high, a_inc_low, a_inc_high = a_state[0], a_state[1], a_state[2], a_state[3]
        c_low, c_high, c_inc_low, c_inc_high = c_state[0], c_state[1], c_state[2], c_state[3]
        p_low, p_high, p_inc_low, p_inc_high = p_state[0], p_state[1], p_state[2], p_state[3]
        for p in range(x_rows.shape[0]):
            # ---- the chopped update of A: lines = [x, d] / [in_signs, -(out_signs * scale)]
            x_max = 0.0
            for k in range(n_x):
                lines[k] = x_rows[p, k] if in_signs[k] > 0 else -x_rows[p, k]
                if abs(lines[k]) > x_max:
                    x_max = abs(lines[k])
            d_max = 0.0
            for j in range(n_d):
                lines[n_x + j] = quotients[p, j] if out_signs[j] < 0 else -quotients[p, j]
                if abs(lines[n_x + j]) > d_max:
                    d_max = abs(lines[n_x + j])
            bl = _pulse_slots(x_max, d_max, fast_lr, dw_min, desired_bl, bl_management)
            if bl > 0:
                gain = np.sqrt(fast_lr / (dw_min * bl))
                balance = np.sqrt(d_max / x_max) if update_management else 1.0
                x_gain, d_gain = gain * balance, gain / balance
                used = (bl + 63) >> 6
                # the source's (bl, n_lines) block of uniform numbers (slot by slot), packed line by line
                # without branches
                for k in range(n_lines):
                    thresholds[k] = abs(lines[k]) * (x_gain if k < n_x else d_gain)
                    for w in range(used):
                        bits[k, w] = 0
                for t in range(bl):
                    word = t >> 6
                    shift = np.uint64(t & 63)
                    for k in range(n_lines):
                        s_low, s_high, u = _next_double(s_low, s_high, s_inc_low, s_inc_high)
                        bits[k, word] |= np.uint64(u < thresholds[k]) << shift
                n_active = 0
                for i in range(n_x):
                    for w in range(used):
                        if bits[i, w] != 0:
                            active_x[n_active] = i
                            x_signs[n_active] = np.float32(1.0) if lines[i] > 0.0 else np.float32(-1.0)
                            x_words[n_active] = bits[i, 0]
                            n_active += 1
                            break
                # coincidences in row-major device order (the order of the NumPy path's normals)
                for j in range(n_d):
                    line = n_x + j
                    fired = False
                    for w in range(used):
                        fired = fired or bits[line, w] != 0
                    if not fired:
                        continue
                    d_sign = np.float32(1.0) if lines[line] > 0.0 else np.float32(-1.0)
                    if used == 1:
                        d_word = bits[line, 0]
                        for a in range(n_active):
                            pair_counts[a] = _bit_count(d_word & x_words[a])
                    else:
                        for a in range(n_active):
                            total = np.uint64(0)
                            for w in range(used):
                                total += _bit_count(bits[line, w] & bits[active_x[a], w])
                            pair_counts[a] = total
                    for a in range(n_active):
                        if pair_counts[a] == 0:
                            continue
                        count = np.int64(pair_counts[a])
                        n = np.float32(count) * (x_signs[a] * d_sign)
                        device = j * n_x + active_x[a]
                        normal = 0.0
                        if a_noisy:
                            a_low, a_high, normal = _next_normal(a_low, a_high, a_inc_low, a_inc_high)
                        up = 1 if n > 0 else 0
                        if a_linear:
                            a_g[device] = _linear_step(
                                a_g[device], a_table[device, up], a_table[device, 4 + up],
                                a_table[device, 6], a_table[device, 7], a_expm1s[count - 1, device, up, 0],
                                a_expm1s[count - 1, device, up, 1], normal, a_noisy, a_mult_noise,
                            )  # fmt: skip
                        else:
                            a_g[device] = _constant_step(
                                a_g[device], abs(n), a_table[device, up], a_table[device, 4 + up],
                                a_table[device, 6], a_table[device, 7], normal, a_noisy,
                            )  # fmt: skip
                        a_pulses[device] += abs(n)
            # ---- the transfer counter (TransferSequencer.step)
            counters[0] += 1
            if counters[0] < transfer_every:
                continue
            counters[0] = 0
            pointer = counters[1]
            counters[1] = (pointer + n_reads) % in_size
            for r in range(n_reads):
                column = (pointer + r) % in_size
                # ---- the one-hot read of A's column: noise first, then the column, saturated, ADC codes
                for j in range(n_d):
                    stored = a_g[j * in_size + column]
                    if has_a_reference:
                        stored = stored - a_reference[j * in_size + column]
                    if read_noise > 0.0:
                        a_low, a_high, value = _next_normal(a_low, a_high, a_inc_low, a_inc_high)
                        value *= read_noise
                        value += stored
                    else:
                        value = stored
                    if value < -read_bound:
                        value = -read_bound
                    if value > read_bound:
                        value = read_bound
                    if adc_lsb > 0.0:
                        value /= adc_lsb
                        value = np.rint(value)
                    else:
                        value = value / ideal_divisor
                    values[j] = value
                # ---- the float periphery's read (TransferSequencer._advance, FloatTransferPeriphery)
                accumulated = True
                if agad:
                    if switched[column]:
                        switched[column] = False
                        has_reference[column] = True
                        held_reads[column] = reads_held
                        for j in range(n_d):
                            reference[column, j] = mean[column, j]
                    held = held_reads[column]
                    accumulated = has_reference[column] and held == 0
                    if held > 0:
                        held_reads[column] = held - 1
                in_sign = np.float64(in_signs[column])
                if accumulated:
                    top = 0.0
                    for j in range(n_d):
                        signal[j] = values[j] - reference[column, j] if agad else values[j]
                        row_gain = (in_sign * transfer_lr) * np.float64(out_signs[j])
                        value = row_gain * signal[j]
                        value += h[column, j]
                        if value < h_low:
                            value = h_low
                        if value > h_high:
                            value = h_high
                        h[column, j] = value
                        step = abs(value)
                        if threshold != 1.0:
                            step /= threshold
                        steps[j] = step
                        if step > top:
                            top = step
                    if top >= 1.0:
                        for j in range(n_d):
                            step = np.floor(steps[j])
                            if top >= max_pulses + 1.0 and step > max_pulses:
                                step = max_pulses
                            value = h[column, j]
                            pulses = np.copysign(step, value)
                            if step > 0.0:
                                if forget:
                                    value = value * momentum
                                else:
                                    value -= ((1.0 - momentum) * threshold) * pulses
                                    if cap > 0.0:
                                        if value < -cap:
                                            value = -cap
                                        if value > cap:
                                            value = cap
                                h[column, j] = value
                            elif not forget:
                                h[column, j] = value - ((1.0 - momentum) * threshold) * pulses
                            if pulses != 0.0:
                                # ---- the pulses into C's column (Tile.apply_column_pulses), row order
                                device = j * in_size + column
                                normal = 0.0
                                if c_noisy:
                                    c_low, c_high, normal = _next_normal(c_low, c_high, c_inc_low, c_inc_high)
                                up = 1 if pulses > 0.0 else 0
                                magnitude = abs(pulses)
                                if c_linear:
                                    c_count = int(magnitude)
                                    c_g[device] = _linear_step(
                                        c_g[device], c_table[device, up], c_table[device, 4 + up],
                                        c_table[device, 6], c_table[device, 7],
                                        c_expm1s[c_count - 1, device, up, 0],
                                        c_expm1s[c_count - 1, device, up, 1], normal, c_noisy, c_mult_noise,
                                    )  # fmt: skip
                                else:
                                    c_g[device] = _constant_step(
                                        c_g[device], magnitude, c_table[device, up], c_table[device, 4 + up],
                                        c_table[device, 6], c_table[device, 7], normal, c_noisy,
                                    )  # fmt: skip
                                c_pulses[device] += magnitude
                if agad:
                    for j in range(n_d):
                        mean[column, j] += (values[j] - mean[column, j]) * mean_weight
                # ---- the column's chopper event, then the output choppers after the last column
                if uses_in:
                    if regular_period > 0:
                        flip = counters[2] % regular_period == regular_period - 1
                    else:
                        p_low, p_high, uniform_flip = _next_double(p_low, p_high, p_inc_low, p_inc_high)
                        flip = uniform_flip < in_chop_prob
                    if flip:
                        in_signs[column] = -in_signs[column]
                        switched[column] = True
                        flipped = True
                if column == in_size - 1:
                    if uses_out:
                        for j in range(n_d):
                            p_low, p_high, uniform_flip = _next_double(p_low, p_high, p_inc_low, p_inc_high)
                            if uniform_flip < out_chop_prob:
                                out_signs[j] = -out_signs[j]
                                flipped = True
                    counters[2] += 1
                column_reads += 1
        s_state[0], s_state[1] = s_low, s_high
        a_state[0], a_state[1] = a_low, a_high
        c_state[0], c_state[1] = c_low, c_high
        p_state[0], p_state[1] = p_low, p_high
        return column_reads, flipped


class CompiledLayerLoop:
    """One TTv2-family layer's per-row writes (:meth:`TikiTakaLayer.update
    <pulsetrain.model.algorithms.tiki_taka.TikiTakaLayer.update>` over a convolution's patches) in one
    compiled call, :func:`tiki_taka_patches`: the same random numbers from the same generators, the same
    device states, H, references, chopper signs and counters as the Python loop.

    :meth:`serves` says which layers it takes: tile A stochastic from exactly the float pulse source,
    both tiles with constant or linear steps and no write noise, reads without distortion or an RTL ADC,
    and exactly the float transfer periphery (the twin and a co-simulation's RTL keep the Python loop).
    """

    @staticmethod
    def serves(layer: Any) -> bool:
        """Whether :meth:`run` can take ``layer``'s writes."""
        if not AVAILABLE:
            return False
        from pulsetrain.model import pulsed_update
        from pulsetrain.model.algorithms.tiki_taka import TikiTakaLayer
        from pulsetrain.model.pulses import FloatPulseSource
        from pulsetrain.model.tile import Tile, UpdateMode
        from pulsetrain.model.transfer import FloatTransferPeriphery

        if type(layer) is not TikiTakaLayer or type(layer.periphery) is not FloatTransferPeriphery:
            return False
        fast, slow = layer.fast, layer.slow
        if type(fast) is not Tile or type(slow) is not Tile or layer.periphery._pending:
            return False
        if (
            fast.update_config.mode is not UpdateMode.STOCHASTIC
            or type(fast.pulse_source) is not FloatPulseSource
        ):
            return False
        if fast.read_distortion is not None or fast.column_adc is not None:
            return False
        for tile in (fast, slow):
            if tile.devices.step not in ("constant", "linear") or tile._apparent is not None:
                return False
        if fast.devices.step == "linear":
            table = pulsed_update.expm1_table(fast.devices, fast.update_config.desired_bl)
            if table is None:
                return False
        if slow.devices.step == "linear":
            table = pulsed_update.expm1_table(slow.devices, slow.update_config.desired_bl)
            if table is None or table.shape[2] < layer.periphery.config.max_pulses_per_transfer:
                return False  # C's counts beyond the table take NumPy's expm1 in the Python loop
        # the loop steps the PCG64 states of A's pulse source, A's, C's and the periphery's generators in
        # place: four distinct PCG64 generators (one stepped through two views would lose draws)
        generators = (fast.pulse_source.rng, fast.rng, slow.rng, layer.periphery._rng)
        if len({id(generator.bit_generator) for generator in generators}) < len(generators):
            return False
        return all(pulse_kernels.generator_state(generator) is not None for generator in generators)

    @staticmethod
    def run(layer: Any, x_rows: FloatArray, d_rows: FloatArray) -> None:
        """Write rows ``x_rows`` (rows, in_size) and errors ``d_rows`` (rows, out_size) into ``layer`` as
        its ``update`` would, row by row (the learning rate is already in the periphery's transfer rate;
        A is written with the layer's ``fast_lr``). Only for layers :meth:`serves` takes."""

        fast, slow, periphery = layer.fast, layer.slow, layer.periphery
        config = periphery.config
        in_signs, out_signs = periphery._in_signs, periphery._out_signs
        tables = []
        for tile in (fast, slow):
            devices = tile.devices
            linear = devices.step == "linear"
            expm1s = _count_major_expm1(devices, tile.update_config.desired_bl) if linear else None
            tables.append((devices.step_table(), expm1s if expm1s is not None else _NO_TABLE, linear))
        (a_table, a_expm1s, a_linear), (c_table, c_expm1s, c_linear) = tables
        a_reference = (
            np.ascontiguousarray(fast.devices.reference).reshape(-1) if fast._has_reference else _NO_REFERENCE
        )
        io = fast.forward_io
        adc_lsb = io.adc_lsb if io.adc_lsb is not None else 0.0
        has_reference = np.array(periphery._has_reference, dtype=np.bool_)
        switched = np.array(periphery._switched, dtype=np.bool_)
        held_reads = np.array(periphery._held_reads, dtype=np.int64)
        counters = np.array([periphery._updates_since_transfer, periphery._pointer, periphery._passes])
        fast_lr, dw_min = float(layer.fast_lr), float(fast.device.dw_min)
        update = fast.update_config
        quotients = error_quotients(d_rows, fast.output_scale)
        generators = (fast.pulse_source.rng, fast.rng, slow.rng, periphery._rng)
        states = [pulse_kernels.generator_state(generator) for generator in generators]
        reads, flipped = tiki_taka_patches(
            x_rows, quotients, states[0],
            states[1], fast._g_flat, a_reference, fast._pulses, a_table, a_expm1s, a_linear,
            fast.devices.dw_min_std > 0.0, bool(fast.devices.mult_noise),
            fast_lr, dw_min, update.desired_bl, update.bl_management,
            update.update_management, float(io.out_noise), float(io.out_bound), float(adc_lsb),
            float(layer._dw_min),
            states[2], slow._g_flat, slow._pulses, c_table, c_expm1s, c_linear,
            slow.devices.dw_min_std > 0.0, bool(slow.devices.mult_noise),
            states[3], periphery._h, periphery._mean, periphery._reference, in_signs, out_signs,
            has_reference, switched, held_reads, counters,
            config.transfer_every, config.n_reads_per_transfer, periphery._agad, periphery._uses_in_chopper,
            periphery._uses_out_chopper, periphery._regular_period, float(config.in_chop_prob),
            float(config.out_chop_prob), config.reads_held_after_flip, periphery._h_low, periphery._h_high,
            periphery._mean_weight, periphery._lr, periphery._threshold, periphery._max_pulses,
            periphery._momentum, bool(periphery._forget), periphery._cap,
        )  # fmt: skip
        periphery._has_reference = has_reference.tolist()
        periphery._switched = switched.tolist()
        periphery._held_reads = held_reads.tolist()
        periphery._updates_since_transfer, periphery._pointer, periphery._passes = (int(c) for c in counters)
        if flipped:
            periphery._out_signs_changed()
            layer._signs = None  # the layer asks the periphery for its signs again
        for tile in (fast, slow):
            if tile._has_reference:
                tile._refresh()
        layer.samples += x_rows.shape[0]
        layer.column_reads += reads


_NO_TABLE = np.zeros((1, 1, 2, 2))
_NO_REFERENCE = np.empty(0)
#: per device array: its linear step's ``expm1`` table count-major (see :func:`_count_major_expm1`)
_COUNT_MAJOR: weakref.WeakKeyDictionary[Any, dict[int, FloatArray]] = weakref.WeakKeyDictionary()


def _count_major_expm1(devices: Any, steps: int) -> FloatArray | None:
    """:func:`~pulsetrain.model.pulsed_update.expm1_table` of ``devices`` laid out ``(steps, devices, 2,
    2)`` (a copy of the same values): the devices one row of A's update pulses lie next to each other
    when their counts agree, so a large array's table is read in a few streams instead of one cache miss
    per device (~1 KB apart in the device-major layout). Kept per device array outside its pickled
    state; None where there is no table."""
    from pulsetrain.model import pulsed_update

    tables = _COUNT_MAJOR.setdefault(devices, {})
    if steps not in tables:
        table = pulsed_update.expm1_table(devices, steps)
        if table is None:
            return None
        tables[steps] = np.ascontiguousarray(table.transpose(2, 0, 1, 3))
    return tables[steps]
