"""The float source's stochastic update of a tile through the compiled kernels of
:mod:`pulsetrain.model.pulse_kernels`, and the NumPy path they reproduce bit for bit.

:func:`stochastic_update` takes, wherever the tile's two generators are distinct PCG64s and its step
rule has a compiled response, the streamed kernels: the generators' states are stepped inside the
compiled code (:func:`~pulsetrain.model.pulse_kernels.generator_state`), one call per update plans,
draws, finds the coincidences and moves the devices
(:func:`~pulsetrain.model.pulse_kernels.stream_update`), and the linear step without an ``expm1`` table
goes in L2-sized rounds with NumPy's ``expm1`` between two compiled calls
(:func:`_stream_linear_untabled`). Otherwise it plans the batch, then either runs one fused compiled
call that draws the trains through Numba's Generator and applies every coincidence (large updates), or
draws the uniform numbers with NumPy, lists the coincidences and applies the lists.
:func:`apply_entries` serves the tile's other pulses (TTv2's transfers into C, the twin's coincidences).
:func:`stochastic_update_reference` is the NumPy path: the tile's only path without Numba, and the
tests' reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model import pulse_kernels as kernels
from pulsetrain.model.pulses import scales_for

#: Most (device, count) entries one call of :func:`coincidence_lists` may hold: the tile cuts a batch
#: into chunks of samples below this (at 20 bytes an entry, 2^21 entries are 40 MiB).
MAX_ENTRIES = 1 << 21


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
#: take :func:`~pulsetrain.model.pulse_kernels.stream_update` (the generators' PCG64 states stepped in
#: the compiled code: no NumPy draw, no Generator passed) wherever the tile allows it; the tests turn it
#: off to hold the other paths against the NumPy reference too
STREAMED = True


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
        #: the table :func:`~pulsetrain.model.pulse_kernels.stream_update` reads: the constant step's
        #: signed steps and bounds alone (its noise constant is ``dw_min_std`` times the step)
        self.stream_table = self.table
        if self.table is not None and not self.linear:
            self.stream_table = np.ascontiguousarray(self.table[:, [0, 1, 6, 7]])
        self.noise_scale = float(devices.dw_min_std)
        self.index = np.empty(0, dtype=np.int64)
        #: the ``expm1`` arguments of the streamed linear step without a table
        self.arguments = np.empty(0)
        self._streams: tuple[Any, Any, tuple[Any, Any] | None] | None = None
        self._stream_arguments: tuple[Any, Any, Any, Any, tuple[Any, ...] | None] | None = None
        self.counts = np.empty(0, dtype=np.float32)
        self.offsets = np.empty(1, dtype=np.int64)

    @staticmethod
    def of(tile: Any) -> TileKernels:
        """The tile's kernels state, rebuilt when its devices or update config were replaced."""
        state: TileKernels | None = tile.__dict__.get("_kernels")
        if state is None or state.devices is not tile.devices or state.config is not tile.update_config:
            state = tile._kernels = TileKernels(tile)
        return state

    def streams(self, tile: Any) -> tuple[Any, Any] | None:
        """The live PCG64 states (:func:`~pulsetrain.model.pulse_kernels.generator_state`) of the tile's
        pulse source and device generator, or None when either is not a PCG64 or both are one
        generator (the kernels would step one state through two copies). Kept with the generators they
        view (a generator replaced on the tile is looked up anew)."""
        source, device = tile.pulse_source.rng, tile.rng
        cached = self._streams
        if cached is None or cached[0] is not source or cached[1] is not device:
            views = None
            if source.bit_generator is not device.bit_generator:
                source_view, device_view = kernels.generator_state(source), kernels.generator_state(device)
                if source_view is not None and device_view is not None:
                    views = (source_view, device_view)
            cached = self._streams = (source, device, views)
        return cached[2]

    def stream_arguments(self, tile: Any) -> tuple[Any, ...] | None:
        """The arguments of :func:`~pulsetrain.model.pulse_kernels.stream_update` after the lines and
        the learning rate, or None when the tile cannot take it (:data:`STREAMED` off, a step rule
        without a compiled response or without an ``expm1`` table, generators that cannot stream).
        Kept while the tile's generators and state arrays stay the same objects (a batch-1 update
        costs a few microseconds of Python around its compiled call)."""
        cached = self._stream_arguments
        if (
            cached is not None
            and cached[0] is tile.pulse_source.rng
            and cached[1] is tile.rng
            and cached[2] is tile._g_flat
            and cached[3] is tile._pulses
        ):
            return cached[4]
        arguments = None
        streams = self.streams(tile) if self.compiled and self.expm1s is not None else None
        if streams is not None:
            self.ensure(self.n_devices, 1)
            config = self.config
            arguments = (
                *streams, tile.in_size, self.dw_min, config.desired_bl, config.bl_management,
                config.update_management, tile._g_flat, tile._pulses, self.stream_table, self.expm1s,
                self.linear, self.noisy, self.mult_noise, self.noise_scale, self.index, self.counts,
            )  # fmt: skip
        self._stream_arguments = (tile.pulse_source.rng, tile.rng, tile._g_flat, tile._pulses, arguments)
        return arguments

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
            kernels.apply_constant_steps(
                tile._g_flat, tile._pulses, index, counts, normals, self.table, self.noisy
            )
            return
        expm1s = self.expm1s
        if expm1s is not None and kernels.apply_linear_tabled(
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


#: entries per round of the streamed linear step without an ``expm1`` table (lists, ``expm1`` arguments
#: and the device rows of one round stay in a core's L2 cache: 2^14 entries are about 450 kB of lists
#: and, at 64 bytes a row, 1 MB of device rows)
LINEAR_ENTRIES = 1 << 14
#: samples whose trains :func:`~pulsetrain.model.pulse_kernels.stream_trains` packs at once
TRAIN_SAMPLES = 256


def _stream_linear_untabled(
    tile: Any, state: TileKernels, streams: tuple[Any, Any], signed_inputs: NDArray[np.float64], lr: float
) -> None:
    """The linear step without an ``expm1`` table through the streamed kernels: the trains of up to
    :data:`TRAIN_SAMPLES` samples drawn and packed at once, then rounds of at most
    :data:`LINEAR_ENTRIES` entries (in sample and row order): the lists and the ``expm1`` arguments
    (compiled), NumPy's ``expm1`` of them (the function the NumPy path calls, element by element), the
    device responses (compiled, normals drawn as they go)."""
    config = state.config
    n_x = tile.in_size
    n_lines = signed_inputs.shape[1]
    slots = max(config.desired_bl, 1)
    capacity = max(LINEAR_ENTRIES, n_x)
    state.ensure(capacity, 1)
    if state.arguments.shape[0] < 2 * capacity:
        state.arguments = np.empty(2 * capacity)
    arguments = state.arguments
    index, counts = state.index[:capacity], state.counts[:capacity]
    position = np.zeros(2, dtype=np.int64)
    for first in range(0, signed_inputs.shape[0], TRAIN_SAMPLES):
        part = signed_inputs[first : first + TRAIN_SAMPLES]
        bits = np.empty((part.shape[0], n_lines, (slots + 63) >> 6), dtype=np.uint64)
        slot_sets = np.empty((part.shape[0], slots, (n_x + 63) >> 6), dtype=np.uint64)
        bls = np.empty(part.shape[0], dtype=np.int64)
        kernels.stream_trains(
            streams[0], part, n_x, lr, state.dw_min, config.desired_bl, config.bl_management,
            config.update_management, bits, slot_sets, bls,
        )  # fmt: skip
        position[:] = 0
        while position[0] < part.shape[0]:
            entries = kernels.emit_linear_arguments(
                bits, slot_sets, bls, part, n_x, state.table, state.mult_noise, position, index, counts,
                arguments,
            )  # fmt: skip
            if entries == 0:
                continue
            used = arguments[: 2 * entries]
            np.expm1(used, out=used)
            kernels.apply_linear_arguments(
                streams[1], entries, index, counts, arguments, tile._g_flat, tile._pulses, state.table,
                state.noisy, state.mult_noise,
            )  # fmt: skip


def stochastic_update(tile: Any, signed_inputs: NDArray[np.float64], lr: float) -> None:
    """The float source's stochastic update of ``tile`` through the kernels: the same random numbers,
    decisions and device states as :func:`stochastic_update_reference`.

    ``signed_inputs`` (batch, in_size + out_size) as there: per sample the x lines then the d lines,
    signed so that + counts are up-steps. With :data:`STREAMED` and generators that allow it, constant-
    and linear-step devices take the streamed kernels (see the module's docstring). Otherwise the whole
    batch is planned at once (BL and gains depend on the inputs only). A large update of constant- or
    linear-step devices then runs in one compiled call
    that draws every sample's trains and applies every coincidence as it is found
    (:func:`fused_update`); otherwise the uniform numbers are drawn by NumPy (one call per chunk of
    samples: the same stream as one draw per sample), the coincidences listed and the lists applied.
    Tiles whose devices draw write noise (interleaved with the step noise per sample) or step pulse by
    pulse (exp, pow) apply them one sample at a time through
    :meth:`~pulsetrain.model.device_array.DeviceArray.apply_at`.
    """
    state = tile.__dict__.get("_kernels")
    if state is None or state.devices is not tile.devices or state.config is not tile.update_config:
        state = TileKernels.of(tile)
    if STREAMED:
        arguments = state.stream_arguments(tile)
        if arguments is not None:
            kernels.stream_update(signed_inputs, lr, *arguments)
            if tile._has_reference:
                tile._refresh()
            return
        streams = state.streams(tile) if state.compiled else None
        if streams is not None:  # the linear step without an expm1 table
            _stream_linear_untabled(tile, state, streams, signed_inputs, lr)
            if tile._has_reference:
                tile._refresh()
            return
    config = state.config
    n_x = tile.in_size
    bls, gains, total_bl = kernels.plan_batch(
        signed_inputs, n_x, lr, state.dw_min, config.desired_bl, config.bl_management,
        config.update_management,
    )  # fmt: skip
    if total_bl == 0:
        return
    batch, n_lines = signed_inputs.shape
    n_devices = state.n_devices
    if state.compiled and state.expm1s is not None and batch * n_devices >= FUSED_FROM:
        kernels.fused_update(
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
            size = kernels.coincidence_lists(
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
    kernels.linear_arguments(index, counts, table, devices.mult_noise, arguments)
    used = arguments[: 2 * size if noisy else size]
    np.expm1(used, out=used)
    mult_noise = devices.mult_noise
    if isinstance(normals, np.random.Generator):
        kernels.apply_linear_steps_drawing(
            w_flat, pulses, index, counts, arguments, normals, table, noisy, mult_noise
        )
    else:
        kernels.apply_linear_steps(
            w_flat, pulses, index, counts, arguments, normals, table, noisy, mult_noise
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
