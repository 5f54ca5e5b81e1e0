"""Switching activity of the periphery under the real training workload, recorded from the twins.

OpenSTA 2.0.17 reads no VCD or SAIF (see :mod:`pulsetrain.synth.activity`), so the activity of a block is
measured by simulating its RTL with a stimulus and setting the measured toggle rates on the netlist. The
default stimulus is random input bits; this module replaces it, where it can, by what the block receives
in training:

``pulse-generator``
    a training run of the model (``pulse_source = "twin"``, the bit-exact twin of the generator) records
    every update's per-line codes and signs (what :class:`~pulsetrain.model.twins.pulse.TwinPulseSource`
    hands the generator). The stimulus replays a sample of those updates through the RTL's protocol: the
    codes of each line on the ``codes`` stream, one line per cycle, then ``start`` with ``bl``, then the
    ``bl`` slots. Its activity is that of the update phase, the only phase the block works in.
``schedule-controller``
    its only input is ``start``, raised once per sample: the workload is that strobe, then the sample's
    cycles (the random stimulus toggled ``start`` at random instead).
``transfer-controller``
    the updates of A and the ADC codes of each column read its twin received in a training run.
``chopper``
    the x-line signs of recorded updates on its write path, the column of each transfer read on its read
    path and the flip event after it.
``sbe-unit``
    the (input, error) vectors the model's SBE estimator streamed in a training run, as the unit's input
    codes, fed through the ``samples`` stream at the unit's own pace.

``adc-readout``
    the ADC codes of the algorithm's own reads in a training run (:func:`record_read_codes`: every
    forward read, the transposed reads of the BP family, the reads of DFA's feedback tiles), each
    readout fed the codes of the reads it converts, at its own resolution, converted once closed loop
    against ideal comparators; the start strobes and comparator answers of every cycle are the stimulus.
    (The TTv2 family's transfer reads also pass the forward readout; its workload holds the forward
    reads only.) The block is listed with this figure but not added to the sums: its SAR logic is inside
    the converter figure (the survey's converters and NeuroSim's SAR fit are whole converters).
The recorded network has no bias line (``network.bias = false``) so that its layers match the estimator's
``64-32-10`` lines one to one.
"""

from __future__ import annotations

import functools
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pulsetrain.results import write_atomic

__all__ = [
    "RecordedReads",
    "RecordedSbeSamples",
    "RecordedTransfers",
    "RecordedUpdates",
    "chopper_workload",
    "adc_readout_workload",
    "adc_readout_workload_of_codes",
    "pulse_generator_workload",
    "record_read_codes",
    "record_sbe_samples",
    "record_transfers",
    "record_updates",
    "sbe_unit_cycles_per_sample",
    "sbe_unit_workload",
    "schedule_controller_workload",
    "transfer_controller_workload",
    "workload_file",
]

#: updates of the recorded run replayed through the RTL (spread evenly over the run).
REPLAYED_UPDATES = 16


@dataclass(frozen=True)
class RecordedUpdates:
    """The codes each layer's pulse generator received in a training run."""

    #: per layer: (updates, x_lines) x codes.
    x_codes: tuple[NDArray[np.int64], ...]
    #: per layer: (updates, d_lines) d codes.
    d_codes: tuple[NDArray[np.int64], ...]
    #: per layer: (updates, x_lines + d_lines) sign lines, x then d.
    negative: tuple[NDArray[np.bool_], ...]
    #: per layer: (updates,) slots of each update (BL management varies it).
    bls: tuple[NDArray[np.int64], ...]
    #: what was run.
    source: str

    def statistics(self, layer: int) -> dict[str, float]:
        """Mean code, share of zero codes and share of lines whose code changed between updates."""
        codes = np.hstack([self.x_codes[layer], self.d_codes[layer]])
        changed = np.mean(codes[1:] != codes[:-1]) if len(codes) > 1 else 0.0
        return {
            "updates": float(len(codes)),
            "mean_bl": float(self.bls[layer].mean()),
            "mean_code": float(codes.mean()),
            "zero_code_share": float(np.mean(codes == 0)),
            "changed_code_share": float(changed),
        }


@functools.cache
def record_updates(
    network: tuple[int, ...], algorithm: str, samples: int = 300, seed: int = 0
) -> RecordedUpdates:
    """Train ``network`` with ``algorithm`` on the digits for ``samples`` samples and record every update.

    The model trains with the generator's twin as its pulse source; a recording wrapper around the twin's
    generator keeps the codes it is asked to fire (the training itself is unchanged).
    """
    import dataclasses

    from pulsetrain.model import pulses
    from pulsetrain.model.data import Dataset, load_dataset
    from pulsetrain.model.network import NetworkConfig
    from pulsetrain.model.training import TrainConfig, train
    from pulsetrain.model.twins.pulse import pulse_source_factory

    records: dict[int, list[tuple[Any, Any, Any, Any, int]]] = {}
    sources: list[Any] = []

    def recording_factory(seed_sequence: np.random.SeedSequence, in_size: int, out_size: int) -> Any:
        source = pulse_source_factory(seed_sequence, in_size, out_size)
        layer = len(sources)
        sources.append(source)
        generator = source.generator
        fire = generator.fire

        def recorded_fire(x_codes: Any, x_negative: Any, d_codes: Any, d_negative: Any, bl: int) -> Any:
            records.setdefault(layer, []).append(
                (x_codes.copy(), x_negative.copy(), d_codes.copy(), d_negative.copy(), bl)
            )
            return fire(x_codes, x_negative, d_codes, d_negative, bl)

        generator.fire = recorded_fire  # type: ignore[method-assign]
        return source

    data = load_dataset(Dataset.DIGITS)
    subset = dataclasses.replace(data, x_train=data.x_train[:samples], y_train=data.y_train[:samples])
    previous = pulses.PULSE_SOURCES.get("twin")
    pulses.PULSE_SOURCES["twin"] = recording_factory
    try:
        config = TrainConfig(
            algo=algorithm,
            epochs=1,
            seed=seed,
            pulse_source="twin",
            network=NetworkConfig(hidden=tuple(network[1:-1]), bias=False),
        )
        train(config, data=subset)
    finally:
        if previous is None:
            pulses.PULSE_SOURCES.pop("twin", None)
        else:
            pulses.PULSE_SOURCES["twin"] = previous
    # one source per tile, in creation order; a layer's generator is the first tile of its shape that
    # fired (the fast array A of the TTv2 family, whose C tile is created after it)
    layers = []
    for fan_in, fan_out in zip(network[:-1], network[1:], strict=True):
        shaped = [
            i for i, s in enumerate(sources) if (s.config.x_lines, s.config.d_lines) == (fan_in, fan_out)
        ]
        fired = [i for i in shaped if records.get(i)]
        if not fired:
            raise RuntimeError(f"the {algorithm} run fired no pulses on a {fan_in}x{fan_out} layer")
        layers.append(fired[0])
    return RecordedUpdates(
        x_codes=tuple(np.array([r[0] for r in records[i]]) for i in layers),
        d_codes=tuple(np.array([r[2] for r in records[i]]) for i in layers),
        negative=tuple(np.array([np.concatenate([r[1], r[3]]) for r in records[i]]) for i in layers),
        bls=tuple(np.array([r[4] for r in records[i]], dtype=np.int64) for i in layers),
        source=f"model training, {algorithm}, {'-'.join(map(str, network))} no bias, digits, seed {seed}",
    )


def pulse_generator_workload(
    config: Any, recorded: RecordedUpdates, layer: int
) -> dict[str, NDArray[np.int64]]:
    """Per-cycle input values of a pulse generator replaying ``REPLAYED_UPDATES`` recorded updates.

    Keys are the port paths of the component's signature joined with ``.`` (``codes.valid``).
    """
    from pulsetrain.rtl.pulse_generator import code_layout

    layout = code_layout(config)
    offsets = {name: field.offset for name, field in layout}
    x_codes, d_codes, negative = recorded.x_codes[layer], recorded.d_codes[layer], recorded.negative[layer]
    chosen = np.linspace(0, len(x_codes) - 1, min(REPLAYED_UPDATES, len(x_codes))).astype(int)
    lines = config.x_lines + config.d_lines
    bls = [int(recorded.bls[layer][update]) for update in chosen]
    starts = np.cumsum([0] + [lines + 1 + bl + 2 for bl in bls])
    total = int(starts[-1])
    ports = {
        name: np.zeros(total, dtype=np.int64) for name in ("codes.valid", "codes.payload", "start", "bl")
    }
    for n, update in enumerate(chosen):
        base = int(starts[n])
        codes = np.concatenate([x_codes[update], d_codes[update]])[:lines]
        for line in range(lines):
            payload = (line << offsets["line"]) | (int(codes[line]) << offsets["code"])
            payload |= int(negative[update][line]) << offsets["negative"]
            ports["codes.valid"][base + line] = 1
            ports["codes.payload"][base + line] = payload
        ports["start"][base + lines] = 1
        ports["bl"][base + lines : int(starts[n + 1])] = bls[n]
    return ports


def schedule_controller_workload(cycles_per_sample: int, samples: int = 4) -> dict[str, NDArray[np.int64]]:
    """``start`` raised once per sample, held low for the rest of the sample's cycles."""
    start = np.zeros(samples * max(cycles_per_sample, 2), dtype=np.int64)
    start[:: max(cycles_per_sample, 2)] = 1
    return {"start": start}


def workload_file(ports: dict[str, NDArray[np.int64]], folder: Path) -> tuple[Path, str]:
    """Write ``ports`` as a compressed NumPy archive named by its content; (path, SHA-256)."""
    digest_of = hashlib.sha256()
    for name, values in sorted(ports.items()):
        digest_of.update(name.encode())
        digest_of.update(np.ascontiguousarray(values, dtype=np.int64).tobytes())
    digest = digest_of.hexdigest()
    path = folder / f"{digest[:24]}.npz"
    if not path.is_file():
        buffer = io.BytesIO()
        arrays: dict[str, Any] = {name.replace(".", "__"): v for name, v in sorted(ports.items())}
        np.savez_compressed(buffer, **arrays)
        write_atomic(path, buffer.getvalue())
    return path, digest


@dataclass(frozen=True)
class RecordedTransfers:
    """What each layer's transfer controller received in a training run: updates and column reads."""

    #: per layer: one entry per update of A, the ADC codes of the column read it triggered (or None).
    events: tuple[tuple[NDArray[np.int64] | None, ...], ...]
    #: what was run.
    source: str
    #: per layer: the column read after each update of A (-1: no read), aligned with ``events``.
    columns: tuple[tuple[int, ...], ...] = ()


@functools.cache
def record_transfers(
    network: tuple[int, ...], algorithm: str, samples: int = 100, seed: int = 0
) -> RecordedTransfers:
    """Train ``network`` with a TTv2-family ``algorithm`` and the transfer controller's twin; record it.

    Every update of A (``step``) and every column read handed to the twin (its ADC codes) is kept, per
    layer, through the model's own seam (:func:`~pulsetrain.model.algorithms.tiki_taka.
    serving_transfer_periphery`); the training itself is unchanged.
    """
    import dataclasses

    from pulsetrain.model.algorithms.configs import TikiTakaSettings, TransferServerKind
    from pulsetrain.model.algorithms.tiki_taka import serving_transfer_periphery
    from pulsetrain.model.data import Dataset, load_dataset
    from pulsetrain.model.network import NetworkConfig
    from pulsetrain.model.training import TrainConfig, train
    from pulsetrain.model.twins.transfer import TwinTransferPeriphery

    events: list[list[NDArray[np.int64] | None]] = []
    columns: list[list[int]] = []

    def recording_factory(config: Any, rng: np.random.Generator) -> Any:
        twin = TwinTransferPeriphery(config)
        layer: list[NDArray[np.int64] | None] = []
        read_columns: list[int] = []
        events.append(layer)
        columns.append(read_columns)
        step, transfer, lean = twin.step, twin.transfer, twin.transfer_pulses

        def recorded_step() -> Any:
            layer.append(None)
            read_columns.append(-1)
            return step()

        def keep(column: int, readout: Any) -> None:
            layer[-1] = np.asarray(readout, dtype=np.int64).copy()
            read_columns[-1] = int(column)

        def recorded_transfer(column: int, readout: Any) -> Any:
            keep(column, readout)
            return transfer(column, readout)

        def recorded_lean(column: int, readout: Any) -> Any:
            keep(column, readout)
            return lean(column, readout)

        twin.step, twin.transfer, twin.transfer_pulses = recorded_step, recorded_transfer, recorded_lean  # type: ignore[method-assign]
        return twin

    data = load_dataset(Dataset.DIGITS)
    subset = dataclasses.replace(data, x_train=data.x_train[:samples], y_train=data.y_train[:samples])
    config = TrainConfig(
        algo=algorithm,
        epochs=1,
        seed=seed,
        network=NetworkConfig(hidden=tuple(network[1:-1]), bias=False),
        tiki_taka=TikiTakaSettings(periphery=TransferServerKind.TWIN),
    )
    with serving_transfer_periphery(TransferServerKind.TWIN, recording_factory):
        train(config, data=subset)
    return RecordedTransfers(
        events=tuple(tuple(layer) for layer in events[: len(network) - 1]),
        columns=tuple(tuple(layer) for layer in columns[: len(network) - 1]),
        source=f"model training, {algorithm}, {'-'.join(map(str, network))} no bias, digits, seed {seed}",
    )


def transfer_controller_workload(
    config: Any, recorded: RecordedTransfers, layer: int
) -> dict[str, NDArray[np.int64]]:
    """Per-cycle inputs of a transfer controller replaying ``REPLAYED_UPDATES`` recorded updates.

    Each update: an ``update_done`` strobe, then (when the update triggered a read) the column's codes on
    ``readout``, each held for the three cycles the controller spends per row, clipped to the block's
    ``adc_bits``; ``result.ready`` stays high. Open loop: the codes follow the controller's row rhythm, not
    its handshake, which the recorded order of the codes matches.
    """
    layer_events = recorded.events[layer]
    chosen = np.linspace(0, len(layer_events) - 1, min(REPLAYED_UPDATES, len(layer_events))).astype(int)
    low, high = -(1 << (config.adc_bits - 1)), (1 << (config.adc_bits - 1)) - 1
    valid: list[int] = []
    payload: list[int] = []
    strobe: list[int] = []
    for update in chosen:
        strobe += [1, 0]
        valid += [0, 0]
        payload += [0, 0]
        codes = layer_events[update]
        if codes is None:
            continue
        for code in np.clip(codes[: config.out_size], low, high):
            strobe += [0, 0, 0]
            valid += [1, 1, 1]
            payload += [int(code)] * 3
        strobe += [0] * 4
        valid += [0] * 4
        payload += [0] * 4
    total = len(strobe)
    return {
        "update_done": np.array(strobe, dtype=np.int64),
        "readout.valid": np.array(valid, dtype=np.int64),
        "readout.payload": np.array(payload, dtype=np.int64),
        "result.ready": np.ones(total, dtype=np.int64),
    }


def chopper_workload(
    config: Any, transfers: RecordedTransfers, updates: RecordedUpdates, layer: int
) -> dict[str, NDArray[np.int64]]:
    """Per-cycle inputs of an input chopper replaying ``REPLAYED_UPDATES`` recorded updates of A.

    Each update: the x-line signs of a recorded update on ``data_negative`` for its ``BL`` slots (the
    gradient written through the chopped lines), then, where the update triggered a transfer, the read
    column on ``read_line`` for the three cycles per row of the column read and one ``flip`` strobe with
    ``flip_line`` = that column (the event after the read). The updates' signs come from the pulse
    generator's recording and the reads from the transfer controller's, two runs of the same algorithm and
    seed (the recordings are kept apart).
    """
    layer_events, layer_columns = transfers.events[layer], transfers.columns[layer]
    chosen = np.linspace(0, len(layer_events) - 1, min(REPLAYED_UPDATES, len(layer_events))).astype(int)
    negative = updates.negative[layer][:, : config.lines]
    weights = 1 << np.arange(config.lines, dtype=object)
    names = ("flip", "flip_line", "flip_all", "data_negative", "read_line")
    ports: dict[str, list[int]] = {name: [] for name in names}

    def hold(cycles: int, **values: int) -> None:
        for name in names:
            ports[name] += [values.get(name, 0)] * cycles

    for n, update in enumerate(chosen):
        signs = int(np.asarray(negative[n % len(negative)], dtype=object).dot(weights))
        hold(int(updates.bls[layer][n % len(negative)]) + 2, data_negative=signs)
        column, codes = layer_columns[update], layer_events[update]
        if column < 0 or codes is None:
            continue
        hold(3 * len(codes), read_line=column)
        hold(1, flip=1, flip_line=column)
        hold(2)
    return {name: np.array(values, dtype=np.int64) for name, values in ports.items()}


@dataclass(frozen=True)
class RecordedSbeSamples:
    """The (input, error) vectors each layer's SBE unit received in a training run, as the unit's codes."""

    #: per layer: (samples, rows) input codes.
    x_codes: tuple[NDArray[np.int64], ...]
    #: per layer: (samples, cols) error codes.
    d_codes: tuple[NDArray[np.int64], ...]
    #: what was run.
    source: str


@functools.cache
def record_sbe_samples(
    network: tuple[int, ...], samples: int = 100, seed: int = 0, input_bits: int = 8
) -> RecordedSbeSamples:
    """Train ``network`` with SBE (batch 1) on the digits and keep what each layer's estimator streamed.

    The model's SBE estimator is floating point; the vectors it is handed are quantized here as the unit's
    inputs are, ``round(v 2^(input_bits - 1))`` clipped to the ``input_bits`` two's-complement range (no
    gain stage: small errors become small codes, as they would in the unit).
    """
    import dataclasses

    from pulsetrain.model.algorithms.sbe import StreamingEigenEstimator
    from pulsetrain.model.data import Dataset, load_dataset
    from pulsetrain.model.network import NetworkConfig
    from pulsetrain.model.training import TrainConfig, train

    streamed: dict[int, list[tuple[Any, Any]]] = {}
    original = StreamingEigenEstimator.add_batch
    estimators: list[int] = []

    def recording_add_batch(self: Any, xs: Any, ds: Any) -> None:
        if id(self) not in estimators:
            estimators.append(id(self))
        layer = estimators.index(id(self))
        streamed.setdefault(layer, []).extend(zip(np.array(xs), np.array(ds), strict=True))
        original(self, xs, ds)

    data = load_dataset(Dataset.DIGITS)
    subset = dataclasses.replace(data, x_train=data.x_train[:samples], y_train=data.y_train[:samples])
    StreamingEigenEstimator.add_batch = recording_add_batch  # type: ignore[method-assign]
    try:
        config = TrainConfig(
            algo="sbe", epochs=1, seed=seed, network=NetworkConfig(hidden=tuple(network[1:-1]), bias=False)
        )
        train(config, data=subset)
    finally:
        StreamingEigenEstimator.add_batch = original  # type: ignore[method-assign]
    limit = 1 << (input_bits - 1)

    def codes(values: list[Any]) -> NDArray[np.int64]:
        return np.clip(np.round(np.array(values) * limit), -limit, limit - 1).astype(np.int64)

    layers = [streamed[i] for i in sorted(streamed)]
    return RecordedSbeSamples(
        x_codes=tuple(codes([x for x, _ in layer]) for layer in layers),
        d_codes=tuple(codes([d for _, d in layer]) for layer in layers),
        source=f"model training, sbe batch 1, {'-'.join(map(str, network))} no bias, digits, seed {seed}",
    )


def sbe_unit_workload(config: Any, recorded: RecordedSbeSamples, layer: int) -> dict[str, NDArray[np.int64]]:
    """A ``start_batch`` strobe, then ``REPLAYED_UPDATES`` recorded samples as items of the ``samples``
    stream (the d codes, then the x codes, the order the unit's passes take them in), fed at its pace."""
    x_codes, d_codes = recorded.x_codes[layer], recorded.d_codes[layer]
    chosen = np.linspace(0, len(x_codes) - 1, min(REPLAYED_UPDATES, len(x_codes))).astype(int)
    items = np.concatenate(
        [np.concatenate([d_codes[i][: config.cols], x_codes[i][: config.rows]]) for i in chosen]
    )
    return {"start_batch": np.array([1, 0], dtype=np.int64), "stream.samples": items.astype(np.int64)}


@functools.cache
def sbe_unit_cycles_per_sample(network: tuple[int, ...], layer: int) -> float:
    """Clock cycles the SBE unit RTL of ``layer`` takes per sample, replaying recorded samples.

    The unit's passes (project d, update X, update D, each followed by a normalization) take a number of
    cycles that depends on its datapath; this simulates its RTL on :func:`sbe_unit_workload` (fed at its
    own pace) and divides the cycles until it is idle by the samples replayed.
    """
    from pulsetrain.rtl.blocks import get_block
    from pulsetrain.rtl.sbe_unit import SbeUnit
    from pulsetrain.synth.activity import ActivityStimulus, simulate_activity
    from pulsetrain.synth.tools import cache_root

    from pulsetrain.config import apply_overrides

    fan_in, fan_out = network[layer], network[layer + 1]
    config = apply_overrides(get_block("sbe-unit").default_config(), {"rows": fan_in, "cols": fan_out})
    recorded = record_sbe_samples(network)
    ports = sbe_unit_workload(config, recorded, layer)
    path, digest = workload_file(ports, cache_root() / "workloads")
    stimulus = ActivityStimulus(workload_file=str(path), workload_sha256=digest)
    vcd = simulate_activity(
        SbeUnit(config), cache_root() / "workloads" / f"{digest[:24]}-cycles.vcd", stimulus
    )
    end_fs = 0
    with vcd.open() as handle:
        for line in handle:
            if line.startswith("#"):
                end_fs = int(line[1:])
    samples = min(REPLAYED_UPDATES, len(recorded.x_codes[layer]))
    # simulate_activity clocks the design at 10 ns; the VCD's time unit is the femtosecond
    return end_fs * 1e-15 / 1e-8 / samples


def adc_readout_workload(
    config: Any, recorded: RecordedTransfers, layer: int
) -> dict[str, NDArray[np.int64]]:
    """Per-cycle inputs of an ADC readout converting ``REPLAYED_UPDATES`` recorded transfer reads.

    The codes are those of the transfer reads of a recorded TTv2-family run (one code per output line of
    the layer, signed, ``transfer.adc_bits`` wide), put on the unsigned converter in offset binary
    (signed 0 at mid-scale) and clipped to its range; see :func:`adc_readout_workload_of_codes`.
    """
    reads = [codes for codes in recorded.events[layer] if codes is not None]
    return adc_readout_workload_of_codes(config, reads)


def adc_readout_workload_of_codes(
    config: Any, reads: list[NDArray[np.int64]], model_full_scale: int = 0
) -> dict[str, NDArray[np.int64]]:
    """Per-cycle inputs of an ADC readout converting ``REPLAYED_UPDATES`` of ``reads`` (signed codes).

    With ``model_full_scale`` (the recording ADC's largest code) each code is first converted to the
    block's own resolution (the same analog level: ``code x (2^(adc_bits - 1) - 1) / model_full_scale``,
    rounded); else it is taken as it is. The codes go onto the unsigned converter in offset binary (signed
    0 at mid-scale), clipped to its range. The block runs once, closed loop, in Amaranth's simulator
    against ideal comparators (analog level = the code: ``level >= trial code``); the ``start`` strobes,
    comparator answers and ``results.ready`` of every cycle are what is recorded. Replayed open loop,
    those inputs drive the deterministic block through the same trial codes again.
    """
    from amaranth.sim import Simulator
    from pulsetrain.rtl.adc_readout import AdcReadout

    chosen = np.linspace(0, len(reads) - 1, min(REPLAYED_UPDATES, len(reads))).astype(int)
    mid = 1 << (config.adc_bits - 1)
    scale = (mid - 1) / model_full_scale if model_full_scale > 0 else 1.0
    levels = [
        np.clip(np.rint(np.resize(reads[i], config.columns) * scale) + mid, 0, config.full_scale_code).astype(
            int
        )
        for i in (chosen if reads else [])
    ]
    block = AdcReadout(config)
    start: list[int] = []
    answers: list[int] = []

    async def testbench(ctx):  # type: ignore[no-untyped-def]
        ctx.set(block.results.ready, 1)
        for level in levels:
            started = False
            while not started or ctx.get(block.busy):
                go = int(not started and not ctx.get(block.busy))
                started = started or bool(go)
                phase = ctx.get(block.mux_select)
                bits = 0
                for adc in range(config.adcs):
                    column = config.column(adc, phase)
                    if column < config.columns and level[column] >= ctx.get(block.trial_code[adc]):
                        bits |= 1 << adc
                ctx.set(block.start, go)
                ctx.set(block.comparator, bits)
                start.append(go)
                answers.append(bits)
                await ctx.tick()

    simulator = Simulator(block)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return {
        "start": np.array(start, dtype=np.int64),
        "comparator": np.array(answers, dtype=np.int64),
        "results.ready": np.ones(len(start), dtype=np.int64),
    }


@dataclass(frozen=True)
class RecordedReads:
    """The ADC codes of every forward, backward and feedback read of a training run, per layer."""

    #: per layer: (reads, fan_out) codes of the forward reads.
    forward: tuple[NDArray[np.int64], ...]
    #: per layer: (reads, fan_in) codes of the backward (transposed) reads; (0, fan_in) where none.
    backward: tuple[NDArray[np.int64], ...]
    #: per hidden layer (DFA with analog feedback): (reads, fan_out) codes of the reads of ``B_l``.
    feedback: tuple[NDArray[np.int64], ...]
    #: largest code of the recording ADC (``2^(io.adc_bits - 1) - 1``).
    full_scale: int
    #: what was run.
    source: str


class _RecordingAdc:
    """The model's ADC (``rint(value / lsb)``, the same arithmetic as :meth:`Tile._read`), keeping the first
    ``limit`` codes of each direction: the training reads (the accuracy passes come after them)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.codes: dict[bool, list[NDArray[np.int64]]] = {False: [], True: []}

    def convert(self, transpose: bool, values: NDArray[np.float64], lsb: float) -> NDArray[np.float64]:
        values *= 1.0 / lsb
        np.rint(values, out=values)
        kept = self.codes[transpose]
        for row in values[: max(self.limit - len(kept), 0)]:
            kept.append(row.astype(np.int64))
        return values


@functools.cache
def record_read_codes(
    network: tuple[int, ...], algorithm: str, samples: int = 100, seed: int = 0
) -> RecordedReads:
    """Train ``network`` with ``algorithm`` (batch 1) on the digits and keep the ADC codes of its reads.

    Every tile created in the run reads through a recording ADC that converts as the model does (the
    training is unchanged: the tile's ``read_adc`` seam, :class:`~pulsetrain.model.periphery.ReadAdc`).
    A layer's tile is the first of its shape that was read forward (the TTv2 family's first array); DFA's
    feedback tiles ``B_l`` (``fan_out x n_out``, created after the layers) are the other tiles read
    forward.
    """
    import dataclasses

    from pulsetrain.model import tile as tile_module
    from pulsetrain.model.data import Dataset, load_dataset
    from pulsetrain.model.network import NetworkConfig
    from pulsetrain.model.training import TrainConfig, train

    tiles: list[tuple[Any, _RecordingAdc]] = []

    def attach(tile: Any) -> None:
        recorder = _RecordingAdc(samples)
        tile.read_adc = recorder
        tiles.append((tile, recorder))

    data = load_dataset(Dataset.DIGITS)
    subset = dataclasses.replace(data, x_train=data.x_train[:samples], y_train=data.y_train[:samples])
    config = TrainConfig(
        algo=algorithm, epochs=1, seed=seed, network=NetworkConfig(hidden=tuple(network[1:-1]), bias=False)
    )
    tile_module.TILE_OBSERVERS.append(attach)
    try:
        train(config, data=subset)
    finally:
        tile_module.TILE_OBSERVERS.remove(attach)
    if not tiles or tiles[0][0].forward_io.adc_bits is None:
        raise RuntimeError(f"the {algorithm} run read through no ADC: no read codes to record")
    full_scale = (1 << (tiles[0][0].forward_io.adc_bits - 1)) - 1
    used: set[int] = set()

    def codes(rows: list[NDArray[np.int64]], width: int) -> NDArray[np.int64]:
        return np.array(rows, dtype=np.int64).reshape(len(rows), width)

    forward, backward = [], []
    for fan_in, fan_out in zip(network[:-1], network[1:], strict=True):
        index = next(
            (
                i
                for i, (t, r) in enumerate(tiles)
                if i not in used and (t.out_size, t.in_size) == (fan_out, fan_in) and r.codes[False]
            ),
            None,
        )
        if index is None:
            raise RuntimeError(f"the {algorithm} run read no {fan_out}x{fan_in} tile forward")
        used.add(index)
        recorder = tiles[index][1]
        forward.append(codes(recorder.codes[False], fan_out))
        backward.append(codes(recorder.codes[True], fan_in))
    feedback = []
    for fan_out in network[1:-1] if algorithm == "dfa" else ():
        index = next(
            (
                i
                for i, (t, r) in enumerate(tiles)
                if i not in used and (t.out_size, t.in_size) == (fan_out, network[-1]) and r.codes[False]
            ),
            None,
        )
        if index is not None:  # digital feedback (dfa.feedback = digital) reads no tile
            used.add(index)
            feedback.append(codes(tiles[index][1].codes[False], fan_out))
    return RecordedReads(
        forward=tuple(forward),
        backward=tuple(backward),
        feedback=tuple(feedback),
        full_scale=full_scale,
        source=f"model training, {algorithm}, {'-'.join(map(str, network))} no bias, digits, seed {seed}",
    )
