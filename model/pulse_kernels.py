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

    @_inline
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


def chunks(bls: NDArray[np.int64], entries_per_sample: int) -> list[tuple[int, int]]:
    """Runs of samples whose worst-case entry lists fit :data:`MAX_ENTRIES` (at least one sample each)."""
    per_chunk = max(1, MAX_ENTRIES // max(entries_per_sample, 1))
    batch = bls.shape[0]
    return [(first, min(first + per_chunk, batch)) for first in range(0, batch, per_chunk)]


#: the step rules with a compiled response (the others go pulse by pulse in NumPy)
COMPILED_STEPS = ("constant", "linear")
#: largest table of NumPy ``expm1`` values (bytes) a linear-step array keeps: LeNet-5's largest layer
#: (128 x 513, 65 MB at BL 31) has one; a 512 x 512 array (260 MB) computes its ``expm1`` per update
#: instead, since reading a table that large from memory costs more than the ``expm1`` itself
MAX_EXPM1_TABLE_BYTES = 80 * 2**20
_NO_TABLE = np.zeros((1, 2, 1, 2))


def expm1_table(devices: Any, steps: int) -> NDArray[np.float64] | None:
    """NumPy's ``expm1`` of the linear step's arguments for every device, direction and count
    ``1..steps``, shape ``(N, 2, steps, 2)``: ``[device, up, n - 1, 0] = expm1(n log r)`` and ``[...,
    1]`` ``expm1(n noise)`` (multiplicative noise) or ``expm1(2n log r)`` (additive). NumPy evaluates
    ``expm1`` element by element, whatever the array's length or alignment (its SIMD routine differs
    from the C library's in the last bit, so the table must come from NumPy too), so an entry equals
    what :meth:`DeviceArray.apply_at` computes for that device and count. Kept on the device array;
    None when it would exceed :data:`MAX_EXPM1_TABLE_BYTES`."""
    cache: dict[int, Any] = devices.__dict__.setdefault("_expm1_tables", {})
    if steps in cache:
        return cache[steps]  # type: ignore[no-any-return]
    table = devices.step_table()
    if table.shape[0] * 4 * steps * 8 > MAX_EXPM1_TABLE_BYTES:
        cache[steps] = None
        return None
    counts = np.arange(1, steps + 1, dtype=np.float64)
    log_r, noise = table[:, 2:4, None], table[:, 4:6, None]
    spread = noise * counts if devices.mult_noise else log_r * (2.0 * counts)
    cache[steps] = np.stack((np.expm1(log_r * counts), np.expm1(spread)), axis=-1)
    return cache[steps]  # type: ignore[no-any-return]


#: batch x devices from which :func:`stochastic_update` takes :func:`fused_update`: passing NumPy
#: Generators into a compiled function costs some microseconds per call (Numba types and unboxes them
#: anew), which only a large update repays; smaller ones draw through NumPy and apply lists
FUSED_FROM = 1 << 18
_NO_NORMALS = np.empty(0)


class TileKernels:
    """What the kernels need of one tile, derived once (the per-sample path of a small tile is set by
    its Python overhead): the device tables, the flags and the reused entry buffers."""

    def __init__(self, tile: Any) -> None:
        self.devices = devices = tile.devices
        self.config = config = tile.update_config
        self.dw_min = float(tile.device.dw_min)
        self.n_devices = tile.out_size * tile.in_size
        self.compiled = devices.step in COMPILED_STEPS and tile._apparent is None
        self.linear = devices.step == "linear"
        self.noisy = devices.dw_min_std > 0.0
        self.mult_noise = bool(devices.mult_noise)
        self.table = devices.step_table() if devices.step in COMPILED_STEPS else None
        self.expm1s = expm1_table(devices, config.desired_bl) if self.linear else _NO_TABLE
        self.index = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.float32)
        self.offsets = np.empty(1, dtype=np.int64)

    @staticmethod
    def of(tile: Any) -> TileKernels:
        """The tile's kernels state, rebuilt when its devices or update config were replaced."""
        state: TileKernels | None = tile.__dict__.get("_kernels")
        if state is None or state.devices is not tile.devices or state.config is not tile.update_config:
            state = tile._kernels = TileKernels(tile)
        return state

    def ensure(self, size: int, samples: int) -> None:
        """Entry buffers for ``size`` entries of ``samples`` samples."""
        if self.index.shape[0] < size:
            self.index = np.empty(size, dtype=np.int64)
            self.counts = np.empty(size, dtype=np.float32)
        if self.offsets.shape[0] < samples + 1:
            self.offsets = np.empty(samples + 1, dtype=np.int64)

    def apply(self, tile: Any, index: NDArray[np.int64], counts: NDArray[Any]) -> None:
        """:func:`apply_entries` on the tile's devices with the derived tables."""
        size = index.shape[0]
        if self.linear and self.expm1s is None and size >= FUSED_FROM:
            # a large list without a table: normals drawn inside the loop (see FUSED_FROM)
            _apply_linear_untabled(
                self.devices, tile._g_flat, tile._pulses, index, counts, tile.rng, self.table
            )
            return
        normals = tile.rng.standard_normal(size) if self.noisy else _NO_NORMALS
        if not self.linear:
            apply_constant_steps(tile._g_flat, tile._pulses, index, counts, normals, self.table, self.noisy)
            return
        expm1s = self.expm1s
        if expm1s is not None and apply_linear_tabled(
            tile._g_flat,
            tile._pulses,
            index,
            counts,
            normals,
            self.table,
            expm1s,
            self.noisy,
            self.mult_noise,
        ):
            return
        _apply_linear_untabled(self.devices, tile._g_flat, tile._pulses, index, counts, normals, self.table)


def stochastic_update(tile: Any, signed_inputs: NDArray[np.float64], lr: float) -> None:
    """The float source's stochastic update of ``tile`` through the kernels: the same random numbers,
    decisions and device states as :func:`stochastic_update_reference`.

    ``signed_inputs`` (batch, in_size + out_size) as there: per sample the x lines then the d lines,
    signed so that + counts are up-steps. The whole batch is planned at once (BL and gains depend on the
    inputs only). A large update of constant- or linear-step devices then runs in one compiled call
    that draws every sample's trains and applies every coincidence as it is found
    (:func:`fused_update`); otherwise the uniform numbers are drawn by NumPy (one call per chunk of
    samples: the same stream as one draw per sample), the coincidences listed and the lists applied.
    Tiles whose devices draw write noise (interleaved with the step noise per sample) or step pulse by
    pulse (exp, pow) apply them one sample at a time through
    :meth:`~pulsetrain.model.device_array.DeviceArray.apply_at`.
    """
    state = TileKernels.of(tile)
    config = state.config
    n_x = tile.in_size
    bls, gains, total_bl = plan_batch(
        signed_inputs, n_x, lr, state.dw_min, config.desired_bl, config.bl_management,
        config.update_management,
    )  # fmt: skip
    if total_bl == 0:
        return
    batch, n_lines = signed_inputs.shape
    n_devices = state.n_devices
    if state.compiled and state.expm1s is not None and batch * n_devices >= FUSED_FROM:
        fused_update(
            tile.pulse_source.rng, tile.rng, signed_inputs, bls, gains, n_x, tile._g_flat, tile._pulses,
            state.table, state.expm1s, state.linear, state.noisy, state.mult_noise,
        )  # fmt: skip
    else:
        runs = [(0, batch)] if batch * n_devices <= MAX_ENTRIES else chunks(bls, n_devices)
        for first, last in runs:
            draws = (total_bl if len(runs) == 1 else int(bls[first:last].sum())) * n_lines
            if draws == 0:
                continue
            uniform = tile.pulse_source.uniform(draws)
            state.ensure((last - first) * n_devices, last - first)
            offsets = state.offsets[: last - first + 1]
            size = coincidence_lists(
                uniform, bls, gains, signed_inputs, n_x, first, last, state.index, state.counts, offsets
            )
            if size == 0:
                continue
            if state.compiled:
                state.apply(tile, state.index[:size], state.counts[:size])
            else:
                _apply_per_sample(tile, state.index[:size], state.counts[:size], offsets)
    if state.compiled and tile._has_reference:
        tile._refresh()


def apply_entries(tile: Any, index: NDArray[np.int64], counts: NDArray[Any]) -> None:
    """``DeviceArray.apply_at`` of the tile's constant- or linear-step devices on ``index`` followed by
    ``pulses[index] += |n|``, compiled: the same normals drawn (one per entry, when the devices are
    noisy), the same states. ``index`` must not repeat a device (as ``apply_at`` requires too)."""
    if index.shape[0]:
        TileKernels.of(tile).apply(tile, index, counts)


def _apply_linear_untabled(
    devices: Any, w_flat: Any, pulses: Any, index: Any, counts: Any, normals: Any, table: Any
) -> None:
    """The linear step with NumPy's ``expm1`` of this call's arguments (counts beyond the table);
    ``normals`` an array, or the Generator to draw them from inside the loop."""
    size = index.shape[0]
    noisy = devices.dw_min_std > 0.0
    # both expm1 arguments in one buffer: one NumPy call (its expm1 is position independent)
    arguments = np.empty(2 * size)
    linear_arguments(index, counts, table, devices.mult_noise, arguments)
    used = arguments[: 2 * size if noisy else size]
    np.expm1(used, out=used)
    mult_noise = devices.mult_noise
    if isinstance(normals, np.random.Generator):
        apply_linear_steps_drawing(
            w_flat, pulses, index, counts, arguments, normals, table, noisy, mult_noise
        )
    else:
        apply_linear_steps(w_flat, pulses, index, counts, arguments, normals, table, noisy, mult_noise)


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
