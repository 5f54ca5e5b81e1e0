"""Compiled kernels of the stochastic pulsed update: pulse trains as packed bits, coincidences by AND and
popcount, and the constant-step device response, all bit-identical to the NumPy path of
:meth:`pulsetrain.model.tile.Tile.update`.

The NumPy path draws a ``(BL, n_x + n_d)`` block of uniform numbers per sample, turns it into signed
float32 lines (``u < threshold``, times the line's sign) and counts the coincidences of every device with
one float32 matrix product ``d_linesᵀ x_lines``; the devices with a nonzero count then move
(:meth:`~pulsetrain.model.device_array.DeviceArray.apply_at`). Here the same uniform numbers become one
bit per slot of each line (a train of BL bits in ``ceil(BL / 64)`` 64-bit words), and the count of
device ``(j, i)`` is ``popcount(d_j AND x_i)`` times the two lines' signs. Only the lines that fire at
least once are visited, so the work follows the pulses rather than the array size. The devices come out
in the same row-major order as NumPy's ``nonzero`` of the count matrix, with the same integer counts, so
the Gaussian numbers the device response draws land on the same devices.

Why it stays exact:

* the firing decision ``u < |line| gain`` is the same IEEE comparison of the same two doubles
  (the threshold product is evaluated as NumPy evaluates it, one rounding);
* counts are integers (NumPy's float32 product is exact below 2^24 coincidences);
* BL and the gains of update management (:func:`pulsetrain.model.pulses.scales_for`) are the same
  sequence of IEEE operations (``ceil``, ``sqrt`` and the four basic operations round identically in
  Python, NumPy and LLVM);
* the constant-step response uses only the four operations, ``sqrt`` and comparisons, in NumPy's order,
  with NumPy's float32 square root of the pulse count (the count array of the NumPy path is float32),
  and no fused multiply-add (Numba does not contract ``a * b + c`` unless ``fastmath`` is set).

Transcendental functions (the linear step's ``expm1``) stay in NumPy, whose SIMD ``expm1`` differs from
the C library's in the last bit for about one input in ten.

The streamed kernels (``stream_*``) go further: instead of taking NumPy's uniform and normal numbers
(or NumPy Generators, whose unboxing costs microseconds per call), they step the generators' PCG64
states themselves (:func:`generator_state`: a live view of the bit generator's two 128-bit words) with
NumPy's own algorithms: the LCG step and XSL-RR output of ``pcg64_next64``, ``next_double``'s top 53
bits, and the 256-layer ziggurat of ``random_standard_normal`` with its tables (Numba ships the same
tables), its wedge tested with the C library's ``exp`` and its tail with ``log1p``, as NumPy's C code
does. NumPy's next draw goes on from where a kernel stopped. Within one update, per-slot bit sets of the
x lines that fire give each device row's coincidences without visiting the x lines that never share a
slot with it.

The kernels need Numba; :data:`AVAILABLE` is False where it cannot be imported, and the tile then keeps
its NumPy path (same results, slower). :mod:`pulsetrain.model.pulsed_update` drives them for a tile.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
from numpy.typing import NDArray

try:
    import numba
    from llvmlite import ir as llvm_ir
    from numba.core import cgutils
    from numba.core import types as numba_types
    from numba.extending import intrinsic
    from numba.np.random import _constants as ziggurat

    # the ziggurat tables of NumPy's ``random_standard_normal`` (Numba's Generator support holds the
    # same numbers; NumPy does not export them)
    _WI_DOUBLE, _KI_DOUBLE, _FI_DOUBLE = ziggurat.wi_double, ziggurat.ki_double, ziggurat.fi_double
    _ZIGGURAT_NOR_R, _ZIGGURAT_NOR_INV_R = ziggurat.ziggurat_nor_r, ziggurat.ziggurat_nor_inv_r
except ImportError:  # pragma: no cover - numba is a dependency; kept importable without it
    numba = None  # type: ignore[assignment]

#: True when the compiled kernels can be used (Numba importable).
AVAILABLE = numba is not None


def _jit(function: Any) -> Any:
    """``numba.njit`` with the on-disk cache (compiled once per machine, not per process)."""
    return numba.njit(cache=True, nogil=True)(function)


def _inline(function: Any) -> Any:
    """A helper of the kernels, inlined into its callers in Numba's IR: a call that passes arrays
    otherwise costs atomic reference-count updates per call (tens of nanoseconds per pulsed device)."""
    return numba.njit(cache=True, nogil=True, inline="always")(function)


if AVAILABLE:

    def _popcount_typing(typingctx: Any, value: Any) -> Any:
        """LLVM's ``ctpop`` of a 64-bit word (one POPCNT instruction)."""
        if not isinstance(value, numba_types.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
            return builder.ctpop(arguments[0])

        return value(value), codegen

    _popcount: Any = intrinsic(_popcount_typing)

    def _trailing_zeros_typing(typingctx: Any, value: Any) -> Any:
        """LLVM's ``cttz`` of a nonzero 64-bit word (one TZCNT instruction): the index of its lowest set
        bit."""
        if not isinstance(value, numba_types.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
            return builder.cttz(arguments[0], llvm_ir.Constant(llvm_ir.IntType(1), 1))

        return value(value), codegen

    _trailing_zeros: Any = intrinsic(_trailing_zeros_typing)

    def _prefetch_typing(typingctx: Any, array: Any, offset: Any) -> Any:
        """LLVM's ``prefetch`` (read, keep in all cache levels) of element ``offset`` of ``array``'s data
        (counted in elements from its start, whatever its shape): a hint, never a fault."""
        if not isinstance(array, numba_types.Array) or not isinstance(offset, numba_types.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
            data = context.make_array(signature.args[0])(context, builder, arguments[0]).data
            address = builder.bitcast(builder.gep(data, [arguments[1]]), cgutils.voidptr_t)
            flag = llvm_ir.IntType(32)
            prefetch = cgutils.get_or_insert_function(
                builder.module,
                llvm_ir.FunctionType(llvm_ir.VoidType(), [cgutils.voidptr_t, flag, flag, flag]),
                "llvm.prefetch.p0i8",
            )
            builder.call(prefetch, [address, flag(0), flag(3), flag(1)])
            return context.get_dummy_value()

        return numba_types.none(array, offset), codegen

    _prefetch: Any = intrinsic(_prefetch_typing)

    #: PCG64's 128-bit LCG multiplier (O'Neill's PCG_DEFAULT_MULTIPLIER_128, NumPy's ``PCG64``)
    _PCG_MULTIPLIER = 0x2360ED051FC65DA4_4385DF649FCCF645

    def _lcg_step_typing(typingctx: Any, low: Any, high: Any, increment_low: Any, increment_high: Any) -> Any:
        """PCG64's state transition ``s = s m + inc`` on 128-bit integers given as (low, high) words."""
        word = numba_types.uint64
        signature = numba_types.UniTuple(word, 2)(word, word, word, word)

        def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
            wide = llvm_ir.IntType(128)
            shift = llvm_ir.Constant(wide, 64)

            def join(low: Any, high: Any) -> Any:
                return builder.or_(builder.shl(builder.zext(high, wide), shift), builder.zext(low, wide))

            state = join(arguments[0], arguments[1])
            increment = join(arguments[2], arguments[3])
            state = builder.add(builder.mul(state, llvm_ir.Constant(wide, _PCG_MULTIPLIER)), increment)
            narrow = llvm_ir.IntType(64)
            words = [builder.trunc(state, narrow), builder.trunc(builder.lshr(state, shift), narrow)]
            return context.make_tuple(builder, signature.return_type, words)

        return signature, codegen

    _lcg_step: Any = intrinsic(_lcg_step_typing)

    @_inline
    def _next_word(low, high, increment_low, increment_high):  # type: ignore[no-untyped-def]
        """NumPy's ``pcg64_next64``: step the state, then output XSL-RR of the new state (the xor of
        its halves rotated right by its top 6 bits). Returns the new state and the word."""
        low, high = _lcg_step(low, high, increment_low, increment_high)
        folded = high ^ low
        rotation = high >> np.uint64(58)
        word = (folded >> rotation) | (folded << ((np.uint64(64) - rotation) & np.uint64(63)))
        return low, high, word

    @_inline
    def _next_double(low, high, increment_low, increment_high):  # type: ignore[no-untyped-def]
        """NumPy's ``next_double`` of PCG64: the top 53 bits of a word over 2^53 (``Generator.random``)."""
        low, high, word = _next_word(low, high, increment_low, increment_high)
        return low, high, np.float64(word >> np.uint64(11)) * (1.0 / 9007199254740992.0)

    @_inline
    def _next_normal(low, high, increment_low, increment_high):  # type: ignore[no-untyped-def]
        """NumPy's ``random_standard_normal`` (``Generator.standard_normal``): the 256-layer ziggurat,
        its wedges tested with the C library's ``exp`` and its tail with ``log1p``, as NumPy does."""
        while True:
            low, high, word = _next_word(low, high, increment_low, increment_high)
            layer = word & np.uint64(0xFF)
            word >>= np.uint64(8)
            negative = word & np.uint64(1)
            magnitude = (word >> np.uint64(1)) & np.uint64(0x000FFFFFFFFFFFFF)
            x = np.float64(magnitude) * _WI_DOUBLE[layer]
            if negative:
                x = -x
            if magnitude < _KI_DOUBLE[layer]:
                return low, high, x
            if layer == 0:
                while True:
                    low, high, u = _next_double(low, high, increment_low, increment_high)
                    xx = -_ZIGGURAT_NOR_INV_R * np.log1p(-u)
                    low, high, u = _next_double(low, high, increment_low, increment_high)
                    yy = -np.log1p(-u)
                    if yy + yy > xx * xx:
                        if (magnitude >> np.uint64(8)) & np.uint64(1):
                            return low, high, -(_ZIGGURAT_NOR_R + xx)
                        return low, high, _ZIGGURAT_NOR_R + xx
            else:
                low, high, u = _next_double(low, high, increment_low, increment_high)
                if (_FI_DOUBLE[layer - 1] - _FI_DOUBLE[layer]) * u + _FI_DOUBLE[layer] < np.exp(-0.5 * x * x):
                    return low, high, x

    @_jit
    def stream_uniform(state, out):  # type: ignore[no-untyped-def]
        """Fill ``out`` with the next uniform numbers of the PCG64 ``state`` (:func:`generator_state`),
        as ``Generator.random(out=out)`` would, and advance the state."""
        low, high, increment_low, increment_high = state[0], state[1], state[2], state[3]
        for k in range(out.shape[0]):
            low, high, out[k] = _next_double(low, high, increment_low, increment_high)
        state[0], state[1] = low, high

    @_jit
    def stream_normal(state, out):  # type: ignore[no-untyped-def]
        """Fill ``out`` with the next standard normal numbers of the PCG64 ``state``, as
        ``Generator.standard_normal(out=out)`` would, and advance the state."""
        low, high, increment_low, increment_high = state[0], state[1], state[2], state[3]
        for k in range(out.shape[0]):
            low, high, out[k] = _next_normal(low, high, increment_low, increment_high)
        state[0], state[1] = low, high

    @_inline
    def _scales(x_max, d_max, lr, dw_min, desired_bl, bl_management, update_management):  # type: ignore[no-untyped-def]
        """:func:`pulsetrain.model.pulses.scales_for` (same operations in the same order): BL (0: nothing
        to write), A, B."""
        if x_max == 0.0 or d_max == 0.0 or lr == 0.0:
            return 0, 0.0, 0.0
        if bl_management:
            ratio = lr * x_max * d_max / dw_min
            # compared before the conversion: a huge ratio would overflow int64 (Python's int does not)
            if ratio > desired_bl:
                bl = desired_bl
            else:
                bl = max(int(np.ceil(ratio)), 1)
        else:
            bl = desired_bl
        gain = np.sqrt(lr / (dw_min * bl))
        balance = np.sqrt(d_max / x_max) if update_management else 1.0
        return bl, gain * balance, gain / balance

    @_jit
    def plan_batch(lines, n_x, lr, dw_min, desired_bl, bl_management, update_management):  # type: ignore[no-untyped-def]
        """Per sample of the signed ``lines`` (batch, n_x + n_d): BL (0: skipped), the x gain and the d
        gain; and the BL of all samples together."""
        batch, n_lines = lines.shape
        bls = np.zeros(batch, dtype=np.int64)
        gains = np.zeros((batch, 2))
        total = 0
        for b in range(batch):
            x_max = 0.0
            for k in range(n_x):
                if abs(lines[b, k]) > x_max:
                    x_max = abs(lines[b, k])
            d_max = 0.0
            for k in range(n_x, n_lines):
                if abs(lines[b, k]) > d_max:
                    d_max = abs(lines[b, k])
            bl, x_gain, d_gain = _scales(
                x_max, d_max, lr, dw_min, desired_bl, bl_management, update_management
            )
            bls[b] = bl
            gains[b, 0] = x_gain
            gains[b, 1] = d_gain
            total += bl
        return bls, gains, total

    @_jit
    def _pack(rng, bl, lines_b, n_x, x_gain, d_gain, bits):  # type: ignore[no-untyped-def]
        """Draw the sample's ``bl x n_lines`` uniform numbers from the float source's ``rng`` (slot by
        slot, line by line: the order of the NumPy path's ``(bl, n_lines)`` block) and set bit ``t`` of
        line ``k`` when ``u < |lines_b[k]| gain`` (the NumPy path's comparison, its threshold rounded
        once). Numba's ``Generator.random`` is NumPy's ``next_double`` on the same bit generator."""
        n_lines = lines_b.shape[0]
        words = bits.shape[1]
        thresholds = np.empty(n_lines)
        for k in range(n_lines):
            thresholds[k] = abs(lines_b[k]) * (x_gain if k < n_x else d_gain)
            for w in range(words):
                bits[k, w] = 0
        for t in range(bl):
            word = t >> 6
            bit = np.uint64(1) << np.uint64(t & 63)
            for k in range(n_lines):
                if rng.random() < thresholds[k]:
                    bits[k, word] |= bit

    @_jit
    def _pack_drawn(uniform, start, bl, lines_b, n_x, x_gain, d_gain, bits):  # type: ignore[no-untyped-def]
        """:func:`_pack` with the uniform numbers already drawn (``uniform[start:]``, by NumPy)."""
        n_lines = lines_b.shape[0]
        words = bits.shape[1]
        thresholds = np.empty(n_lines)
        for k in range(n_lines):
            thresholds[k] = abs(lines_b[k]) * (x_gain if k < n_x else d_gain)
            for w in range(words):
                bits[k, w] = 0
        for t in range(bl):
            word = t >> 6
            bit = np.uint64(1) << np.uint64(t & 63)
            row = start + t * n_lines
            for k in range(n_lines):
                if uniform[row + k] < thresholds[k]:
                    bits[k, word] |= bit

    @_inline
    def _sign(value):  # type: ignore[no-untyped-def]
        """``np.sign(value, dtype=float32)`` of a line that fires (never 0)."""
        return np.float32(1.0) if value > 0.0 else np.float32(-1.0)

    @_inline
    def _active_x(bits, lines_b, n_x, words, active_x, x_signs):  # type: ignore[no-untyped-def]
        """The x lines that fire at least once (ascending) and their signs; returns how many."""
        n_active = 0
        for i in range(n_x):
            for w in range(words):
                if bits[i, w] != 0:
                    active_x[n_active] = i
                    x_signs[n_active] = _sign(lines_b[i])
                    n_active += 1
                    break
        return n_active

    @_jit
    def _emit(bits, lines_b, n_x, words, index_out, counts_out, entry):  # type: ignore[no-untyped-def]
        """Append the nonzero signed coincidence counts of one sample in row-major device order."""
        active_x = np.empty(n_x, dtype=np.int64)
        x_signs = np.empty(n_x, dtype=np.float32)
        n_active = _active_x(bits, lines_b, n_x, words, active_x, x_signs)
        for j in range(bits.shape[0] - n_x):
            line = n_x + j
            fired = False
            for w in range(words):
                fired = fired or bits[line, w] != 0
            if not fired:
                continue
            d_sign = _sign(lines_b[line])
            d_word = bits[line, 0]
            for a in range(n_active):
                # (no helper functions with array arguments in these loops: Numba would update the
                # arrays' reference counts atomically on every call)
                if words == 1:  # BL <= 64, the usual case
                    count = np.int64(_popcount(d_word & bits[active_x[a], 0]))
                else:
                    count = np.int64(0)
                    for w in range(words):
                        count += np.int64(_popcount(bits[line, w] & bits[active_x[a], w]))
                if count != 0:
                    index_out[entry] = j * n_x + active_x[a]
                    counts_out[entry] = np.float32(count) * (x_signs[a] * d_sign)
                    entry += 1
        return entry

    @_jit
    def coincidence_lists(uniform, bls, gains, lines, n_x, first, last, index_out, counts_out, offsets):  # type: ignore[no-untyped-def]  # noqa: E501
        """The signed coincidence counts of samples ``first..last-1`` as flat (device, count) lists.

        ``uniform`` holds the uniform numbers of those samples one after the other (``bls[b] n_lines``
        each, sample ``b``'s block in C order as ``(bls[b], n_lines)``). Sample ``b``'s entries go to
        ``offsets[b - first] .. offsets[b - first + 1]``. Returns the number of entries.
        """
        bits = np.empty((lines.shape[1], (max(bls.max(), 1) + 63) >> 6), dtype=np.uint64)
        start = 0
        entry = 0
        for b in range(first, last):
            offsets[b - first] = entry
            bl = bls[b]
            if bl == 0:
                continue
            _pack_drawn(uniform, start, bl, lines[b], n_x, gains[b, 0], gains[b, 1], bits)
            start += bl * lines.shape[1]
            entry = _emit(bits, lines[b], n_x, (bl + 63) >> 6, index_out, counts_out, entry)
        offsets[last - first] = entry
        return entry

    @_inline
    def _constant_value(old, magnitude, step, noise, low, high, normal, noisy):  # type: ignore[no-untyped-def]
        """:meth:`DeviceArray.apply_at`'s constant step: ``w + |n| step + (noise sqrt(|n|)) ξ`` in NumPy's
        order (the square root in the count's own type: float32 for the coincidence counts, as NumPy
        takes it), clipped. Scalars only (see ``_emit``)."""
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
    def _linear_value(old, target, noise, low, high, move, spread, normal, noisy, mult_noise):  # type: ignore[no-untyped-def]  # noqa: E501
        """:meth:`DeviceArray.apply_at`'s linear step, given NumPy's ``move = expm1(|n| log r)`` and
        ``spread = expm1(|n| noise)`` (multiplicative) or ``expm1(2 |n| log r)`` (additive): ``w + (f -
        w)(1 - r^n) + spread ξ`` in NumPy's order, clipped. Scalars only."""
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

    @_jit
    def fused_update(
        source_rng,
        device_rng,
        lines,
        bls,
        gains,
        n_x,
        w_flat,
        pulses,
        table,
        expm1s,
        linear,
        noisy,
        mult_noise,
    ):  # type: ignore[no-untyped-def]  # noqa: E501
        """A whole batch of stochastic rank-1 updates in one call: per sample the trains drawn and
        packed, every coincidence applied to its device as it is found (row-major, the order in which
        the NumPy path draws its normals), one device-noise draw per pulsed device from ``device_rng``.
        ``linear``: the linear step with ``expm1s`` from :func:`expm1_table`, else the constant step."""
        bits = np.empty((lines.shape[1], (max(bls.max(), 1) + 63) >> 6), dtype=np.uint64)
        active_x = np.empty(n_x, dtype=np.int64)
        x_signs = np.empty(n_x, dtype=np.float32)
        for b in range(lines.shape[0]):
            bl = bls[b]
            if bl == 0:
                continue
            lines_b = lines[b]
            _pack(source_rng, bl, lines_b, n_x, gains[b, 0], gains[b, 1], bits)
            words = (bl + 63) >> 6
            n_active = _active_x(bits, lines_b, n_x, words, active_x, x_signs)
            for j in range(lines.shape[1] - n_x):
                line = n_x + j
                fired = False
                for w in range(words):
                    fired = fired or bits[line, w] != 0
                if not fired:
                    continue
                d_sign = _sign(lines_b[line])
                d_word = bits[line, 0]
                for a in range(n_active):
                    if words == 1:
                        count = np.int64(_popcount(d_word & bits[active_x[a], 0]))
                    else:
                        count = np.int64(0)
                        for w in range(words):
                            count += np.int64(_popcount(bits[line, w] & bits[active_x[a], w]))
                    if count == 0:
                        continue
                    n = np.float32(count) * (x_signs[a] * d_sign)
                    device = j * n_x + active_x[a]
                    normal = device_rng.standard_normal() if noisy else 0.0
                    up = 1 if n > 0 else 0
                    low, high = table[device, 6], table[device, 7]
                    if linear:
                        w_flat[device] = _linear_value(
                            w_flat[device], table[device, up], table[device, 4 + up], low, high,
                            expm1s[device, up, count - 1, 0], expm1s[device, up, count - 1, 1], normal,
                            noisy, mult_noise,
                        )  # fmt: skip
                    else:
                        w_flat[device] = _constant_value(
                            w_flat[device], abs(n), table[device, up], table[device, 4 + up], low, high,
                            normal, noisy,
                        )  # fmt: skip
                    pulses[device] += abs(n)

    @_jit
    def apply_constant_steps(w_flat, pulses, index, counts, normals, table, noisy):  # type: ignore[no-untyped-def]
        """:func:`_constant_value` on every (device, count) entry, in order, with ``normals[m]``."""
        for m in range(index.shape[0]):
            device, n = index[m], counts[m]
            up = 1 if n > 0 else 0
            normal = normals[m] if noisy else 0.0
            w_flat[device] = _constant_value(
                w_flat[device], abs(n), table[device, up], table[device, 4 + up], table[device, 6],
                table[device, 7], normal, noisy,
            )  # fmt: skip
            pulses[device] += abs(n)

    @_jit
    def apply_linear_tabled(w_flat, pulses, index, counts, normals, table, expm1s, noisy, mult_noise):  # type: ignore[no-untyped-def]  # noqa: E501
        """:func:`_linear_value` on every entry, in order, with the ``expm1`` values of
        :func:`expm1_table`; False (nothing applied) when a count is not in the table."""
        steps = expm1s.shape[2]
        for m in range(index.shape[0]):
            magnitude = abs(counts[m])
            if magnitude > steps or magnitude != np.floor(magnitude):
                return False
        for m in range(index.shape[0]):
            device, n = index[m], counts[m]
            count = int(abs(n))
            up = 1 if n > 0 else 0
            normal = normals[m] if noisy else 0.0
            w_flat[device] = _linear_value(
                w_flat[device], table[device, up], table[device, 4 + up], table[device, 6], table[device, 7],
                expm1s[device, up, count - 1, 0], expm1s[device, up, count - 1, 1], normal, noisy, mult_noise,
            )  # fmt: skip
            pulses[device] += abs(n)
        return True

    @_jit
    def apply_linear_steps(w_flat, pulses, index, counts, expm1s, normals, table, noisy, mult_noise):  # type: ignore[no-untyped-def]  # noqa: E501
        """:func:`_linear_value` on every entry, in order, with ``expm1s[m]`` and ``expm1s[size + m]``
        from NumPy's ``expm1`` of the :func:`linear_arguments`."""
        size = index.shape[0]
        for m in range(size):
            device, n = index[m], counts[m]
            up = 1 if n > 0 else 0
            normal = normals[m] if noisy else 0.0
            w_flat[device] = _linear_value(
                w_flat[device], table[device, up], table[device, 4 + up], table[device, 6], table[device, 7],
                expm1s[m], expm1s[size + m], normal, noisy, mult_noise,
            )  # fmt: skip
            pulses[device] += abs(n)

    @_jit
    def apply_linear_steps_drawing(w_flat, pulses, index, counts, expm1s, rng, table, noisy, mult_noise):  # type: ignore[no-untyped-def]  # noqa: E501
        """:func:`apply_linear_steps` drawing each device's normal from ``rng`` as it goes (the order of
        NumPy's one block draw): for large lists, where Numba's inlined ziggurat beats a NumPy array."""
        size = index.shape[0]
        for m in range(size):
            device, n = index[m], counts[m]
            up = 1 if n > 0 else 0
            normal = rng.standard_normal() if noisy else 0.0
            w_flat[device] = _linear_value(
                w_flat[device], table[device, up], table[device, 4 + up], table[device, 6], table[device, 7],
                expm1s[m], expm1s[size + m], normal, noisy, mult_noise,
            )  # fmt: skip
            pulses[device] += abs(n)

    @_jit
    def linear_arguments(index, counts, table, mult_noise, arguments):  # type: ignore[no-untyped-def]
        """The arguments of the linear step's two ``expm1`` calls, as NumPy forms them, for entries
        ``m < size``: ``|n| log r`` into ``arguments[m]``, and ``|n| noise`` (multiplicative noise) or
        ``(2 |n|) log r`` into ``arguments[size + m]`` (``2 |n|`` is exact in float32, so the float32
        product NumPy forms first rounds nothing)."""
        size = index.shape[0]
        for m in range(size):
            n = counts[m]
            magnitude = np.float64(abs(n))
            up = 1 if n > 0 else 0
            arguments[m] = magnitude * table[index[m], 2 + up]
            if mult_noise:
                arguments[size + m] = magnitude * table[index[m], 4 + up]
            else:
                arguments[size + m] = (2.0 * magnitude) * table[index[m], 2 + up]

    @_jit
    def _draw_trains(  # type: ignore[no-untyped-def]
        source_state, lines, first, last, n_x, lr, dw_min, desired_bl, bl_management, update_management,
        thresholds, bits, slot_sets, bls,
    ):  # fmt: skip
        """For samples ``first..last-1`` of ``lines``: plan the sample (:func:`_scales`), draw its ``bl x
        n_lines`` uniform numbers from the PCG64 ``source_state`` (slot by slot, line by line: the NumPy
        path's ``(bl, n_lines)`` block; the state is advanced) and pack its trains: bit ``t`` of
        ``bits[b - first, k]`` when line ``k`` fires in slot ``t`` (``u < |line| gain``, the NumPy path's
        comparison), bit ``i`` of ``slot_sets[b - first, t]`` when x line ``i`` does, and the BL in
        ``bls[b - first]`` (0: nothing drawn). One call for many samples: a call that passes arrays
        costs atomic reference-count updates."""
        n_lines = lines.shape[1]
        low, high, increment_low, increment_high = (
            source_state[0], source_state[1], source_state[2], source_state[3]
        )  # fmt: skip
        for b in range(first, last):
            local = b - first
            x_max = 0.0
            for k in range(n_x):
                if abs(lines[b, k]) > x_max:
                    x_max = abs(lines[b, k])
            d_max = 0.0
            for k in range(n_x, n_lines):
                if abs(lines[b, k]) > d_max:
                    d_max = abs(lines[b, k])
            bl, x_gain, d_gain = _scales(
                x_max, d_max, lr, dw_min, desired_bl, bl_management, update_management
            )
            bls[local] = bl
            if bl == 0:
                continue
            words = (bl + 63) >> 6
            for k in range(n_lines):
                thresholds[k] = abs(lines[b, k]) * (x_gain if k < n_x else d_gain)
                for w in range(words):
                    bits[local, k, w] = 0
            for t in range(bl):
                for w in range(slot_sets.shape[2]):
                    slot_sets[local, t, w] = 0
            for t in range(bl):
                word = t >> 6
                slot = np.uint64(t & 63)
                # branch-free: whether a line fires is a coin flip the branch predictor cannot learn
                for k in range(n_x):
                    low, high, u = _next_double(low, high, increment_low, increment_high)
                    fire = np.uint64(u < thresholds[k])
                    bits[local, k, word] |= fire << slot
                    slot_sets[local, t, k >> 6] |= fire << np.uint64(k & 63)
                for k in range(n_x, n_lines):
                    low, high, u = _next_double(low, high, increment_low, increment_high)
                    bits[local, k, word] |= np.uint64(u < thresholds[k]) << slot
        source_state[0], source_state[1] = low, high

    @_jit
    def _emit_rows(  # type: ignore[no-untyped-def]
        bits, slot_sets, local, union, lines, b, n_x, j, words, index, counts, entries, table, mult_noise,
        arguments,
    ):  # fmt: skip
        """Append the nonzero signed coincidence counts of d lines ``j, j + 1, ...`` (device rows) in
        ascending device order, whole rows while one more fits ``index`` (``n_x`` entries): the x lines
        that share a slot with d line ``j`` are the union of the slot sets of its slots, each visited
        once by its set bit, its count ``popcount(train_j AND train_i)`` times the two lines' signs.
        The trains are sample ``local`` of :func:`_draw_trains`'s arrays, the lines row ``b`` of
        ``lines``. Returns the new number of entries and the next row. (One call per sample, not per
        row: a call that passes arrays costs atomic reference-count updates, about 80 ns for these.)

        With a nonempty ``arguments``, also the arguments of the linear step's two ``expm1`` calls for
        entry ``m`` at ``2m`` (``|n| log r``) and ``2m + 1`` (``|n| noise`` for multiplicative noise,
        else ``(2 |n|) log r``), formed as :func:`linear_arguments` forms them, from the step ``table``.
        """
        n_d = lines.shape[1] - n_x
        capacity = index.shape[0]
        while j < n_d and entries + n_x <= capacity:
            line = n_x + j
            one = np.uint64(1)
            x_words = slot_sets.shape[2]
            fired = False
            for w in range(words):
                train = bits[local, line, w]
                if train == 0:
                    continue
                if not fired:
                    fired = True
                    for v in range(x_words):
                        union[v] = 0
                while train != 0:
                    t = (w << 6) + _trailing_zeros(train)
                    train &= train - one
                    for v in range(x_words):
                        union[v] |= slot_sets[local, t, v]
            if not fired:
                j += 1
                continue
            d_sign = _sign(lines[b, line])
            row = j * n_x
            for v in range(x_words):
                members = union[v]
                while members != 0:
                    i = (v << 6) + _trailing_zeros(members)
                    members &= members - one
                    count = np.int64(0)
                    for w in range(words):
                        count += np.int64(_popcount(bits[local, line, w] & bits[local, i, w]))
                    n = np.float32(count) * (_sign(lines[b, i]) * d_sign)
                    index[entries] = row + i
                    counts[entries] = n
                    if arguments.shape[0] != 0:
                        magnitude = np.float64(abs(n))
                        up = 1 if n > 0 else 0
                        log_r = table[row + i, 2 + up]
                        arguments[2 * entries] = magnitude * log_r
                        if mult_noise:
                            arguments[2 * entries + 1] = magnitude * table[row + i, 4 + up]
                        else:
                            arguments[2 * entries + 1] = (2.0 * magnitude) * log_r
                    entries += 1
            j += 1
        return entries, j

    @_jit
    def _respond_constant(  # type: ignore[no-untyped-def]
        entries, index, counts, w_flat, pulses, table, noise_scale, noisy, low, high, increment_low,
        increment_high,
    ):  # fmt: skip
        """The constant step on the first ``entries`` (device, count) entries in order, each normal from
        the PCG64 state given as words (returned advanced); ``table`` the compact ``[step down, up,
        low, high]`` (noise constant ``noise_scale |step|``). The rows of the device
        :data:`PREFETCH_AHEAD` entries down the list are requested before they are needed. A function
        of its own (not inlined): its loop gets the registers to itself."""
        for m in range(entries):
            if m + PREFETCH_AHEAD < entries:
                ahead = index[m + PREFETCH_AHEAD]
                _prefetch(table, ahead * 4)
                _prefetch(w_flat, ahead)
                _prefetch(pulses, ahead)
            # unsigned indices: Numba leaves out the wraparound test of negative ones
            device, n = np.uint64(index[m]), counts[m]
            normal = 0.0
            if noisy:
                low, high, normal = _next_normal(low, high, increment_low, increment_high)
            up = np.uint64(1) if n > 0 else np.uint64(0)
            magnitude = abs(n)
            step = table[device, up]
            w_flat[device] = _constant_value(
                w_flat[device], magnitude, step, noise_scale * abs(step), table[device, np.uint64(2)],
                table[device, np.uint64(3)],
                normal, noisy,
            )  # fmt: skip
            pulses[device] += magnitude
        return low, high

    @_jit
    def _respond_linear(  # type: ignore[no-untyped-def]
        entries, index, counts, w_flat, pulses, table, expm1s, noisy, mult_noise, low, high, increment_low,
        increment_high,
    ):  # fmt: skip
        """:func:`_respond_constant` for the linear step, with ``table`` the full step table and
        ``expm1s`` the table of :func:`pulsetrain.model.pulsed_update.expm1_table`."""
        for m in range(entries):
            if m + PREFETCH_AHEAD < entries:
                ahead = index[m + PREFETCH_AHEAD]
                _prefetch(table, ahead * 8)
                _prefetch(w_flat, ahead)
                _prefetch(pulses, ahead)
            device, n = np.uint64(index[m]), counts[m]
            normal = 0.0
            if noisy:
                low, high, normal = _next_normal(low, high, increment_low, increment_high)
            up = np.uint64(1) if n > 0 else np.uint64(0)
            magnitude = abs(n)
            count = np.int64(magnitude)
            w_flat[device] = _linear_value(
                w_flat[device], table[device, up], table[device, np.uint64(4) + up], table[device, 6],
                table[device, 7], expm1s[device, up, count - 1, 0], expm1s[device, up, count - 1, 1], normal,
                noisy, mult_noise,
            )  # fmt: skip
            pulses[device] += magnitude
        return low, high

    @_jit
    def stream_update(
        lines,
        lr,
        source_state,
        device_state,
        n_x,
        dw_min,
        desired_bl,
        bl_management,
        update_management,
        w_flat,
        pulses,
        table,
        expm1s,
        linear,
        noisy,
        mult_noise,
        noise_scale,
        index,
        counts,
    ):  # type: ignore[no-untyped-def]
        """A whole batch of stochastic rank-1 updates in one call, with the generators' PCG64 states
        (:func:`generator_state`) stepped here: per sample the plan (:func:`plan_batch`), the trains
        drawn from ``source_state`` and packed (:func:`_draw_sample`), the sample's (device, count) list
        in row-major order (:func:`_emit_rows`: the work follows the pulses, not the array size) into
        ``index`` and ``counts`` (at least ``n_x n_d`` long), and every device moved in list order with
        its normal from ``device_state``; the rows of the device :data:`PREFETCH_AHEAD` entries further
        down the list are requested from memory before they are needed. The results of
        :func:`fused_update`, and of the NumPy path.

        ``table``: the linear step's :meth:`DeviceArray.step_table` (with ``expm1s`` from
        :func:`expm1_table`), or for the constant step its compact form ``[signed step down, up, low,
        high]`` (half a cache line), whose noise constant ``noise_scale |step|`` is the product the full
        table holds (``dw_min_std`` times the step).
        """
        batch, n_lines = lines.shape
        r_low, r_high, r_increment_low, r_increment_high = (
            device_state[0], device_state[1], device_state[2], device_state[3]
        )  # fmt: skip
        slots = max(desired_bl, 1)
        chunk = max(1, min(batch, TRAIN_CHUNK))
        bits = np.empty((chunk, n_lines, (slots + 63) >> 6), dtype=np.uint64)
        slot_sets = np.empty((chunk, slots, (n_x + 63) >> 6), dtype=np.uint64)
        bls = np.empty(chunk, dtype=np.int64)
        union = np.zeros((n_x + 63) >> 6, dtype=np.uint64)
        thresholds = np.empty(n_lines)
        no_arguments = np.empty(0)  # (a global array would be read-only)
        for first in range(0, batch, chunk):
            last = min(first + chunk, batch)
            _draw_trains(
                source_state, lines, first, last, n_x, lr, dw_min, desired_bl, bl_management,
                update_management, thresholds, bits, slot_sets, bls,
            )  # fmt: skip
            for b in range(first, last):
                bl = bls[b - first]
                if bl == 0:
                    continue
                entries, _ = _emit_rows(
                    bits, slot_sets, b - first, union, lines, b, n_x, 0, (bl + 63) >> 6, index, counts, 0,
                    table, False, no_arguments,
                )  # fmt: skip
                if entries == 0:
                    continue
                if linear:
                    r_low, r_high = _respond_linear(
                        entries, index, counts, w_flat, pulses, table, expm1s, noisy, mult_noise, r_low,
                        r_high, r_increment_low, r_increment_high,
                    )  # fmt: skip
                else:
                    r_low, r_high = _respond_constant(
                        entries, index, counts, w_flat, pulses, table, noise_scale, noisy, r_low, r_high,
                        r_increment_low, r_increment_high,
                    )  # fmt: skip
        device_state[0], device_state[1] = r_low, r_high

    @_jit
    def stream_trains(
        source_state,
        lines,
        n_x,
        lr,
        dw_min,
        desired_bl,
        bl_management,
        update_management,
        bits,
        slot_sets,
        bls,
    ):  # type: ignore[no-untyped-def]
        """:func:`_draw_trains` for every sample of ``lines`` (the source state stepped here): the
        trains into ``bits[b]`` (n_lines, words), the slot sets into ``slot_sets[b]`` (slots, x words),
        the BL into ``bls[b]``, for :func:`emit_linear_arguments`."""
        _draw_trains(
            source_state, lines, 0, lines.shape[0], n_x, lr, dw_min, desired_bl, bl_management,
            update_management, np.empty(lines.shape[1]), bits, slot_sets, bls,
        )  # fmt: skip

    @_jit
    def emit_linear_arguments(  # type: ignore[no-untyped-def]
        bits, slot_sets, bls, lines, n_x, table, mult_noise, position, index, counts, arguments
    ):
        """The (device, count) lists of the trains of :func:`stream_trains` from sample ``position[0]``,
        row ``position[1]`` on, whole rows while they fit ``index`` (at least ``n_x`` long), with the
        arguments of the linear step's two ``expm1`` calls interleaved in ``arguments`` (``2m``: ``|n|
        log r``; ``2m + 1``: ``|n| noise`` or ``(2 |n|) log r``, as :func:`linear_arguments` forms them).
        Moves ``position`` past what it emitted (``position[0] == batch``: all) and returns the number
        of entries. The device rows it reads are then in the cache for :func:`apply_linear_arguments`."""
        n_d = lines.shape[1] - n_x
        union = np.zeros(slot_sets.shape[2], dtype=np.uint64)
        entries = 0
        b, j = position[0], position[1]
        while b < lines.shape[0]:
            bl = bls[b]
            if bl != 0:
                words = (bl + 63) >> 6
                entries, j = _emit_rows(
                    bits, slot_sets, b, union, lines, b, n_x, j, words, index, counts, entries, table,
                    mult_noise, arguments,
                )  # fmt: skip
                if j < n_d:
                    break
            b += 1
            j = 0
        position[0], position[1] = b, j
        return entries

    @_jit
    def apply_linear_arguments(  # type: ignore[no-untyped-def]
        device_state, entries, index, counts, arguments, w_flat, pulses, table, noisy, mult_noise
    ):
        """:func:`_linear_value` on the first ``entries`` entries in order, with NumPy's ``expm1`` of the
        interleaved :func:`emit_linear_arguments` and each normal drawn from ``device_state``."""
        low, high, increment_low, increment_high = (
            device_state[0], device_state[1], device_state[2], device_state[3]
        )  # fmt: skip
        for m in range(entries):
            device, n = np.uint64(index[m]), counts[m]
            up = np.uint64(1) if n > 0 else np.uint64(0)
            normal = 0.0
            if noisy:
                low, high, normal = _next_normal(low, high, increment_low, increment_high)
            w_flat[device] = _linear_value(
                w_flat[device], table[device, up], table[device, np.uint64(4) + up], table[device, 6],
                table[device, 7], arguments[2 * m], arguments[2 * m + 1], normal, noisy, mult_noise,
            )  # fmt: skip
            pulses[device] += abs(n)
        device_state[0], device_state[1] = low, high


#: samples whose trains :func:`stream_update` draws and packs in one go (a call per sample would pay the
#: reference counting of its array arguments: about a quarter of LeNet-5's conv1 update)
TRAIN_CHUNK = 64

#: how many entries ahead of the one it moves :func:`stream_update` requests a device's rows from memory
#: (the devices of one sample lie scattered over arrays of megabytes: without the hint every one waits
#: for its cache lines)
PREFETCH_AHEAD = 8


def generator_state(generator: np.random.Generator) -> NDArray[np.uint64] | None:
    """A live view of the PCG64 state behind ``generator`` for the ``stream_*`` kernels: four 64-bit
    words (state low, state high, increment low, increment high) in the bit generator's own memory, so
    that a kernel that steps them leaves the generator exactly where NumPy's own draws would.

    None when the generator is not a PCG64 or its state is not laid out as two native 128-bit integers
    (checked against ``bit_generator.state``). The view does not keep the generator alive: keep a
    reference to the generator as long as the view is used, and never step one generator through two
    views in one call.
    """
    bit_generator = generator.bit_generator
    if type(bit_generator) is not np.random.PCG64:
        return None
    # NumPy's pcg64_state begins with a pointer to {state, inc} (pcg64_random_t)
    address = ctypes.c_void_p.from_address(bit_generator.ctypes.state_address).value
    if not address:
        return None
    view = np.ctypeslib.as_array((ctypes.c_uint64 * 4).from_address(address))
    state = bit_generator.state["state"]
    if (int(view[1]) << 64 | int(view[0])) != state["state"] or (int(view[3]) << 64 | int(view[2])) != state[
        "inc"
    ]:
        return None
    return view
