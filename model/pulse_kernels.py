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

The kernels need Numba; :data:`AVAILABLE` is False where it cannot be imported, and the tile then keeps
its NumPy path (same results, slower).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.pulses import scales_for

try:
    import numba
    from numba.core import types as numba_types
    from numba.extending import intrinsic
except ImportError:  # pragma: no cover - numba is a dependency; kept importable without it
    numba = None  # type: ignore[assignment]

#: True when the compiled kernels can be used (Numba importable).
AVAILABLE = numba is not None

#: Most (device, count) entries one call of :func:`coincidence_lists` may hold: the tile cuts a batch
#: into chunks of samples below this (at 20 bytes an entry, 2^21 entries are 40 MiB).
MAX_ENTRIES = 1 << 21


def _jit(function: Any) -> Any:
    """``numba.njit`` with the on-disk cache (compiled once per machine, not per process)."""
    return numba.njit(cache=True, nogil=True)(function)


if AVAILABLE:

    def _popcount_typing(typingctx: Any, value: Any) -> Any:
        """LLVM's ``ctpop`` of a 64-bit word (one POPCNT instruction)."""
        if not isinstance(value, numba_types.Integer):
            return None

        def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
            return builder.ctpop(arguments[0])

        return value(value), codegen

    _popcount: Any = intrinsic(_popcount_typing)

    @_jit
    def _scales(x_max, d_max, lr, dw_min, desired_bl, bl_management, update_management):  # type: ignore[no-untyped-def]
        """:func:`pulsetrain.model.pulses.scales_for` (same operations in the same order): BL (0: nothing
        to write), A, B."""
        if x_max == 0.0 or d_max == 0.0 or lr == 0.0:
            return 0, 0.0, 0.0
        if bl_management:
            bl = int(np.ceil(lr * x_max * d_max / dw_min))
            if bl < 1:
                bl = 1
            elif bl > desired_bl:
                bl = desired_bl
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
    def _pack(uniform, start, bl, lines_b, n_x, x_gain, d_gain, bits):  # type: ignore[no-untyped-def]
        """Bit ``t`` of line ``k``: ``uniform[start + t n_lines + k] < |lines_b[k]| gain`` (the NumPy
        path's comparison, its threshold rounded once)."""
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

    @_jit
    def _sign(value):  # type: ignore[no-untyped-def]
        """``np.sign(value, dtype=float32)`` of a line that fires (never 0)."""
        return np.float32(1.0) if value > 0.0 else np.float32(-1.0)

    @_jit
    def _emit(bits, lines_b, n_x, words, index_out, counts_out, entry):  # type: ignore[no-untyped-def]
        """Append the nonzero signed coincidence counts of one sample in row-major device order."""
        n_lines = bits.shape[0]
        active_x = np.empty(n_x, dtype=np.int64)
        x_signs = np.empty(n_x, dtype=np.float32)
        n_active = 0
        for i in range(n_x):
            for w in range(words):
                if bits[i, w] != 0:
                    active_x[n_active] = i
                    x_signs[n_active] = _sign(lines_b[i])
                    n_active += 1
                    break
        for j in range(n_lines - n_x):
            line = n_x + j
            fired = False
            for w in range(words):
                if bits[line, w] != 0:
                    fired = True
                    break
            if not fired:
                continue
            d_sign = _sign(lines_b[line])
            row_start = j * n_x
            if words == 1:
                d_word = bits[line, 0]
                for a in range(n_active):
                    count = _popcount(d_word & bits[active_x[a], 0])
                    if count != 0:
                        index_out[entry] = row_start + active_x[a]
                        counts_out[entry] = np.float32(count) * (x_signs[a] * d_sign)
                        entry += 1
                continue
            for a in range(n_active):
                i = active_x[a]
                count = 0
                for w in range(words):
                    count += _popcount(bits[line, w] & bits[i, w])
                if count != 0:
                    index_out[entry] = row_start + i
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
        n_lines = lines.shape[1]
        max_bl = 1
        for b in range(first, last):
            if bls[b] > max_bl:
                max_bl = bls[b]
        words = (max_bl + 63) >> 6
        bits = np.empty((n_lines, words), dtype=np.uint64)
        start = 0
        entry = 0
        for b in range(first, last):
            offsets[b - first] = entry
            bl = bls[b]
            if bl == 0:
                continue
            _pack(uniform, start, bl, lines[b], n_x, gains[b, 0], gains[b, 1], bits)
            start += bl * n_lines
            entry = _emit(bits, lines[b], n_x, (bl + 63) >> 6, index_out, counts_out, entry)
        offsets[last - first] = entry
        return entry

    @_jit
    def apply_constant_steps(w_flat, pulses, index, counts, normals, table, n_devices, noisy):  # type: ignore[no-untyped-def]
        """The constant-step response of :meth:`DeviceArray.apply_at` to every (device, count) entry, in
        order: ``w += |n| step + (noise sqrt(|n|)) ξ`` (the square root in float32, as NumPy takes it of
        the float32 counts), clipped to the device's bounds; ``pulses`` counts ``|n|``.

        ``table`` is ``DeviceArray.step_table()``: row ``device + n_devices (n > 0)`` holds the signed
        step, (unused), the noise scale, the lower and the upper bound.
        """
        for m in range(index.shape[0]):
            device = index[m]
            n = counts[m]
            magnitude = abs(n)
            row = device + n_devices if n > 0 else device
            new = w_flat[device]
            new += np.float64(magnitude) * table[row, 0]
            if noisy:
                new += table[row, 2] * np.float64(np.sqrt(magnitude)) * normals[m]
            if new < table[row, 3]:
                new = table[row, 3]
            if new > table[row, 4]:
                new = table[row, 4]
            w_flat[device] = new
            pulses[device] += magnitude

    @_jit
    def linear_arguments(index, counts, table, n_devices, mult_noise, arguments):  # type: ignore[no-untyped-def]
        """The arguments of the linear step's two ``expm1`` calls, as NumPy forms them, for entries
        ``m < size``: ``|n| log r`` into ``arguments[m]``, and ``|n| noise`` (multiplicative noise) or
        ``(2 |n|) log r`` into ``arguments[size + m]`` (``2 |n|`` is exact in float32, so the float32
        product NumPy forms first rounds nothing)."""
        size = index.shape[0]
        for m in range(size):
            n = counts[m]
            magnitude = np.float64(abs(n))
            row = index[m] + n_devices if n > 0 else index[m]
            arguments[m] = magnitude * table[row, 1]
            if mult_noise:
                arguments[size + m] = magnitude * table[row, 2]
            else:
                arguments[size + m] = (2.0 * magnitude) * table[row, 1]

    @_jit
    def apply_linear_steps(
        w_flat, pulses, index, counts, expm1s, normals, table, n_devices, noisy, mult_noise
    ):  # type: ignore[no-untyped-def]  # noqa: E501
        """The linear-step response of :meth:`DeviceArray.apply_at`, in order, given NumPy's ``expm1`` of
        the :func:`linear_arguments` (``move = expm1s[m]``, ``spread = expm1s[size + m]``):
        ``w += (f - w)(1 - r^n) + spread ξ``, clipped; ``table`` rows hold ``f``, ``log r``, the noise
        constant and the bounds."""
        size = index.shape[0]
        for m in range(size):
            device = index[m]
            n = counts[m]
            row = device + n_devices if n > 0 else device
            new = w_flat[device]
            distance = table[row, 0] - new
            moved = -expm1s[m]
            new += distance * moved
            if noisy:
                if mult_noise:
                    new += abs(distance) * (1.0 - moved) * np.sqrt(expm1s[size + m]) * normals[m]
                else:
                    new += table[row, 2] * np.sqrt(-expm1s[size + m]) * normals[m]
            if new < table[row, 3]:
                new = table[row, 3]
            if new > table[row, 4]:
                new = table[row, 4]
            w_flat[device] = new
            pulses[device] += abs(n)


def chunks(bls: NDArray[np.int64], entries_per_sample: int) -> list[tuple[int, int]]:
    """Runs of samples whose worst-case entry lists fit :data:`MAX_ENTRIES` (at least one sample each)."""
    per_chunk = max(1, MAX_ENTRIES // max(entries_per_sample, 1))
    batch = bls.shape[0]
    return [(first, min(first + per_chunk, batch)) for first in range(0, batch, per_chunk)]


class _Scratch:
    """Reused entry buffers of one tile (grown on demand, never shrunk)."""

    def __init__(self) -> None:
        self.index = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.float32)
        self.arguments = np.empty(0)
        self.offsets = np.empty(1, dtype=np.int64)

    def ensure(self, size: int, samples: int) -> None:
        if self.index.shape[0] < size:
            self.index = np.empty(size, dtype=np.int64)
            self.counts = np.empty(size, dtype=np.float32)
            self.arguments = np.empty(2 * size)
        if self.offsets.shape[0] < samples + 1:
            self.offsets = np.empty(samples + 1, dtype=np.int64)


def stochastic_update(tile: Any, signed_inputs: NDArray[np.float64], lr: float) -> None:
    """The float source's stochastic update of ``tile`` through the kernels: the same random numbers,
    decisions and device states as :func:`stochastic_update_reference`.

    ``signed_inputs`` (batch, in_size + out_size) as there: per sample the x lines then the d lines,
    signed so that + counts are up-steps. The whole batch is planned at once (BL and gains depend on the
    inputs only), its uniform numbers drawn in one call per chunk of samples (the same stream as one
    draw per sample), its coincidences listed, and the device response applied sample after sample in
    one compiled loop. Tiles whose devices draw write noise (interleaved with the step noise per
    sample) or step pulse by pulse (exp, pow) take the lists one sample at a time through
    :meth:`~pulsetrain.model.device_array.DeviceArray.apply_at`.
    """
    config = tile.update_config
    n_x = tile.in_size
    n_devices = tile.out_size * n_x
    bls, gains, total_bl = plan_batch(
        signed_inputs, n_x, lr, tile.device.dw_min, config.desired_bl, config.bl_management,
        config.update_management,
    )  # fmt: skip
    if total_bl == 0:
        return
    scratch: _Scratch | None = tile.__dict__.get("_kernel_scratch")
    if scratch is None:
        scratch = tile._kernel_scratch = _Scratch()
    devices = tile.devices
    compiled = devices.step in COMPILED_STEPS and tile._apparent is None
    n_lines = signed_inputs.shape[1]
    batch = bls.shape[0]
    runs = [(0, batch)] if batch * n_devices <= MAX_ENTRIES else chunks(bls, n_devices)
    for first, last in runs:
        draws = (total_bl if len(runs) == 1 else int(bls[first:last].sum())) * n_lines
        if draws == 0:
            continue
        uniform = tile.pulse_source.uniform(draws)
        scratch.ensure((last - first) * n_devices, last - first)
        offsets = scratch.offsets
        size = coincidence_lists(
            uniform, bls, gains, signed_inputs, n_x, first, last, scratch.index, scratch.counts, offsets
        )
        index, counts = scratch.index[:size], scratch.counts[:size]
        if compiled:
            apply_entries(devices, tile._g_flat, tile._pulses, index, counts, tile.rng, scratch)
        else:
            _apply_per_sample(tile, index, counts, offsets[: last - first + 1])
    if compiled and tile._has_reference:
        tile._refresh()


_NO_NORMALS = np.empty(0)
#: the step rules with a compiled response (the others go pulse by pulse in NumPy)
COMPILED_STEPS = ("constant", "linear")


def apply_entries(
    devices: Any,
    w_flat: NDArray[np.float64],
    pulses: NDArray[np.float64],
    index: NDArray[np.int64],
    counts: NDArray[Any],
    rng: np.random.Generator,
    scratch: _Scratch | None = None,
) -> None:
    """``DeviceArray.apply_at`` of a constant- or linear-step array followed by ``pulses[index] += |n|``,
    compiled: the same normals drawn (one per entry, when the devices are noisy), the same states.
    ``index`` must not repeat a device (as ``apply_at`` requires too)."""
    size = index.shape[0]
    if size == 0:
        return
    table = devices.step_table()
    n_devices = table.shape[0] >> 1
    noisy = devices.dw_min_std > 0.0
    normals = rng.standard_normal(size) if noisy else _NO_NORMALS
    if devices.step == "constant":
        apply_constant_steps(w_flat, pulses, index, counts, normals, table, n_devices, noisy)
        return
    if scratch is None:
        scratch = _Scratch()
    scratch.ensure(size, 0)
    # both expm1 arguments in one buffer: one NumPy call (its expm1 is position independent)
    arguments = scratch.arguments[: 2 * size if noisy else size]
    linear_arguments(index, counts, table, n_devices, devices.mult_noise, scratch.arguments)
    np.expm1(arguments, out=arguments)
    apply_linear_steps(
        w_flat, pulses, index, counts, scratch.arguments, normals, table, n_devices, noisy, devices.mult_noise
    )


def _apply_per_sample(tile: Any, index: NDArray[np.int64], counts: NDArray[np.float32], offsets: Any) -> None:
    """Apply each sample's entries through ``DeviceArray.apply_at`` (write noise drawn per sample)."""
    for b in range(offsets.shape[0] - 1):
        low, high = offsets[b], offsets[b + 1]
        if high == low:
            continue
        sample_index = index[low:high].copy()
        tile._pulses[sample_index] += tile.devices.apply_at(
            tile._g_flat, sample_index, counts[low:high], tile.rng
        )
        if tile._has_reference:
            tile._draw_write_noise(sample_index)
            tile._refresh()


def stochastic_update_reference(tile: Any, signed_inputs: NDArray[np.float64], lr: float) -> None:
    """The NumPy path that :func:`stochastic_update` reproduces: per sample one uniform draw of the float
    source (:meth:`~pulsetrain.model.pulses.FloatPulseSource.signed_lines`), the signed float32 lines,
    one float32 product ``d_linesᵀ x_lines`` for the coincidence counts, and
    :meth:`~pulsetrain.model.device_array.DeviceArray.apply_at` on the devices with a nonzero count.

    ``signed_inputs`` (batch, in_size + out_size) holds per sample the x lines followed by the d lines
    in device units with the sign each line carries (``-d``: + counts are up-steps), laid out like the
    source's uniform draw. Used where Numba is missing, and by the tests as the reference.
    """
    n_x = tile.in_size
    config = tile.update_config
    source = tile.pulse_source
    magnitudes = np.abs(signed_inputs)
    signs = np.sign(signed_inputs, dtype=np.float32)
    # the largest |x| and |d| of every sample: one reduction over the two segments of each row
    maxima = np.maximum.reduceat(magnitudes, tile._segments, axis=1).tolist()
    gains = tile._gains
    coincidences = tile._coincidences
    flat = tile._coincidences_flat
    for b, (x_max, d_max) in enumerate(maxima):
        scales = scales_for(
            x_max, d_max, lr, tile.device.dw_min, config.desired_bl, config.bl_management,
            config.update_management,
        )  # fmt: skip
        if scales is None:
            continue
        bl, gains[:n_x], gains[n_x:] = scales
        lines = source.signed_lines(magnitudes[b], signs[b], gains, bl)
        # signed coincidence counts of every device (integers: exact in float32 in any summation order)
        np.matmul(lines[:, n_x:].T, lines[:, :n_x], out=coincidences)
        # nonzero of the boolean mask (a count of -0.0 is zero for both)
        index = (flat != 0.0).nonzero()[0]
        if index.size:
            tile._pulses[index] += tile.devices.apply_at(tile._g_flat, index, flat[index], tile.rng)
            if tile._has_reference:
                tile._draw_write_noise(index)
                tile._refresh()
