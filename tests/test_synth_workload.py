"""The recorded training workload that drives the activity simulation of the pulse generators."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pulsetrain.synth import workload

from pulsetrain.periphery.pulse import PulseGeneratorConfig


@pytest.fixture(scope="module")
def recorded() -> workload.RecordedUpdates:
    return workload.record_updates((64, 32, 10), "sgd", 60)


def test_every_update_of_the_run_is_recorded_per_layer(recorded: workload.RecordedUpdates) -> None:
    assert [c.shape for c in recorded.x_codes] == [(60, 64), (60, 32)]
    assert [c.shape for c in recorded.d_codes] == [(60, 32), (60, 10)]
    assert all(1 <= bl <= 31 for bls in recorded.bls for bl in bls)
    # a real run: many lines do not fire at all, and the codes change from one update to the next
    stats = recorded.statistics(0)
    assert 0.05 < stats["zero_code_share"] < 0.95 and stats["changed_code_share"] > 0.3


def test_the_replay_follows_the_generator_protocol(recorded: workload.RecordedUpdates) -> None:
    config = PulseGeneratorConfig(x_lines=64, d_lines=32)
    ports = workload.pulse_generator_workload(config, recorded, 0)
    updates = min(workload.REPLAYED_UPDATES, 60)
    starts = np.flatnonzero(ports["start"])
    assert len(starts) == updates
    # before each start, one code per line (x lines, then d lines) on the stream, in line order
    lines = config.x_lines + config.d_lines
    first = ports["codes.payload"][starts[0] - lines : starts[0]]
    assert ports["codes.valid"][starts[0] - lines : starts[0]].all()
    assert list(first & ((1 << 7) - 1)) == list(range(lines))  # the line field (7 bits for 96 lines)
    chosen = np.linspace(0, 59, updates).astype(int)
    assert [int(ports["bl"][s]) for s in starts] == [int(recorded.bls[0][u]) for u in chosen]


def test_the_workload_file_is_named_by_its_content(
    recorded: workload.RecordedUpdates, tmp_path: object
) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    ports = workload.schedule_controller_workload(500)
    path, digest = workload.workload_file(ports, folder)
    again_path, again = workload.workload_file({k: v.copy() for k, v in ports.items()}, folder)
    assert (path, digest) == (again_path, again)
    other = workload.workload_file(workload.schedule_controller_workload(400), folder)[1]
    assert other != digest


def test_a_transfer_controller_replays_the_updates_and_column_reads_of_a_run() -> None:
    from pulsetrain.periphery.transfer import TransferControllerConfig

    recorded = workload.record_transfers((64, 32, 10), "ttv2", 40)
    # transfer_every = 1: every update of A triggers one column read of out_size codes
    assert [len(layer) for layer in recorded.events] == [40, 40]
    assert all(codes is not None and codes.shape == (32,) for codes in recorded.events[0])
    config = TransferControllerConfig(in_size=64, out_size=32, adc_bits=8)
    ports = workload.transfer_controller_workload(config, recorded, 0)
    updates = min(workload.REPLAYED_UPDATES, 40)
    assert int(ports["update_done"].sum()) == updates
    assert int(ports["readout.valid"].sum()) == updates * 32 * 3  # each code held for a row's 3 cycles
    assert ports["readout.payload"].min() >= -128 and ports["readout.payload"].max() <= 127


def test_a_chopper_replays_the_update_signs_and_the_transfer_reads_of_a_run() -> None:
    from pulsetrain.periphery.chopper import ChopperConfig

    transfers = workload.record_transfers((64, 32, 10), "c-ttv2", 40)
    updates = workload.record_updates((64, 32, 10), "c-ttv2", 40)
    columns = transfers.columns[0]
    assert len(columns) == 40 and all(0 <= c < 64 for c in columns)
    ports = workload.chopper_workload(ChopperConfig(lines=64), transfers, updates, 0)
    replayed = min(workload.REPLAYED_UPDATES, 40)
    flips = np.flatnonzero(ports["flip"])
    assert len(flips) == replayed
    chosen = np.linspace(0, 39, replayed).astype(int)
    assert [int(ports["flip_line"][f]) for f in flips] == [columns[u] for u in chosen]
    # the read of each column precedes its flip event; the write path carries real update signs
    assert all(int(ports["read_line"][f - 1]) == int(ports["flip_line"][f]) for f in flips)
    assert ports["data_negative"].any()


def test_an_sbe_unit_is_fed_the_vectors_of_a_run_through_its_stream() -> None:
    from pulsetrain.rtl.sbe_unit import SbeUnit
    from pulsetrain.synth.activity import ActivityStimulus, parse_vcd_activity, simulate_activity
    from pulsetrain.synth.tools import cache_root

    from pulsetrain.periphery.sbe import SbeConfig

    recorded = workload.record_sbe_samples((64, 32, 10), 20)
    assert [c.shape for c in recorded.x_codes] == [(20, 64), (20, 32)]
    assert [c.shape for c in recorded.d_codes] == [(20, 32), (20, 10)]
    assert recorded.x_codes[0].any() and recorded.x_codes[0].min() >= -128
    config = SbeConfig(rows=32, cols=10)
    ports = workload.sbe_unit_workload(config, recorded, 1)
    assert len(ports["stream.samples"]) == min(workload.REPLAYED_UPDATES, 20) * (32 + 10)
    path, digest = workload.workload_file(ports, cache_root() / "tests" / "workloads")
    stimulus = ActivityStimulus(workload_file=str(path), workload_sha256=digest)
    vcd = simulate_activity(SbeUnit(config), cache_root() / "tests" / "sbe_activity.vcd", stimulus)
    activity = parse_vcd_activity(vcd)
    # closed loop: the unit took every one of the 16 samples (its count reaches 16 = 0b10000, not 32)
    count = next(bits for name, bits in activity.items() if name.endswith("count"))
    assert count[4].toggle_rate > 0 and count[5].toggle_rate == 0


def test_the_sbe_latency_is_measured_on_the_rtl_not_assumed() -> None:
    from pulsetrain.synth.estimator import Algorithm, EstimateConfig, estimate

    measured = workload.sbe_unit_cycles_per_sample((64, 32, 10), 0)
    # three passes over the vectors and three normalizations: well above one entry per cycle (96)
    assert measured > 64 + 32
    result = estimate(EstimateConfig(algorithm=Algorithm.SBE, use_synthesis=False))
    assert any(f"{measured:.0f} cycles, simulated on the SBE unit RTL" in note for note in result.notes)


def _delivered(config: Any, ports: dict[str, Any]) -> list[tuple[int, int]]:
    """(column, code) of every result the ADC readout delivers, replaying ``ports`` open loop."""
    from amaranth.sim import Simulator
    from pulsetrain.rtl.adc_readout import AdcReadout

    block = AdcReadout(config)
    delivered: list[tuple[int, int]] = []

    async def testbench(ctx):  # type: ignore[no-untyped-def]
        inputs = zip(ports["start"], ports["comparator"], ports["results.ready"], strict=True)
        for start, answer, ready in inputs:
            ctx.set(block.start, int(start))
            ctx.set(block.comparator, int(answer))
            ctx.set(block.results.ready, int(ready))
            if ctx.get(block.results.valid):
                payload = ctx.get(block.results.payload)
                delivered.append((int(payload.column), int(payload.code)))
            await ctx.tick()

    simulator = Simulator(block)
    simulator.add_clock(1e-8)
    simulator.add_testbench(testbench)
    simulator.run()
    return delivered


def test_an_adc_readout_replays_comparator_answers_that_convert_the_recorded_codes() -> None:

    from pulsetrain.periphery.adc import AdcReadoutConfig

    config = AdcReadoutConfig(columns=10, columns_per_adc=4, adc_bits=4)
    reads = (np.array([-8, -3, 0, 1, 7, 2, -1, 5, -6, 3]), np.array([0, 1, 2, 3, 4, 5, 6, 7, -8, 9]))
    recorded = workload.RecordedTransfers(events=((None, reads[0], None, reads[1]),), source="hand-made")
    ports = workload.adc_readout_workload(config, recorded, 0)
    assert int(ports["start"].sum()) == 2  # one readout per recorded read
    # replayed open loop (no comparator model), the block must deliver the reads in offset binary
    delivered = _delivered(config, ports)
    expected = [np.clip(read + 8, 0, 15) for read in reads]
    assert len(delivered) == 2 * config.columns
    for index, (column, code) in enumerate(delivered):
        assert code == expected[index // config.columns][column], (index, column)


def test_every_read_of_a_run_is_recorded_per_layer_and_direction() -> None:
    reads = workload.record_read_codes((64, 32, 10), "sgd", 20)
    assert [f.shape for f in reads.forward] == [(20, 32), (20, 10)]
    # BP reads the second layer transposed (32 codes); the first layer's transposed read is skipped
    assert [b.shape for b in reads.backward] == [(0, 64), (20, 32)] and reads.feedback == ()
    assert reads.full_scale == 255  # the model's 9-bit ADC
    assert all(np.abs(f).max() <= 255 and np.abs(f).max() > 0 for f in reads.forward)


def test_dfa_records_the_reads_of_its_feedback_tiles_instead_of_backward_reads() -> None:
    reads = workload.record_read_codes((64, 32, 10), "dfa", 20)
    assert [f.shape for f in reads.feedback] == [(20, 32)]
    assert all(b.shape[0] == 0 for b in reads.backward)


def test_recording_the_reads_leaves_the_training_unchanged() -> None:
    import dataclasses

    from pulsetrain.model import tile as tile_module
    from pulsetrain.model.data import Dataset, load_dataset
    from pulsetrain.model.network import NetworkConfig
    from pulsetrain.model.training import TrainConfig, train

    data = load_dataset(Dataset.DIGITS)
    subset = dataclasses.replace(data, x_train=data.x_train[:20], y_train=data.y_train[:20])
    config = TrainConfig(algo="sgd", epochs=1, seed=0, network=NetworkConfig(hidden=(32,), bias=False))
    plain = train(config, data=subset)["weights_sha256"]

    def attach(tile: object) -> None:
        tile.read_adc = workload._RecordingAdc(20)  # type: ignore[attr-defined]

    tile_module.TILE_OBSERVERS.append(attach)
    try:
        recorded = train(config, data=subset)["weights_sha256"]
    finally:
        tile_module.TILE_OBSERVERS.remove(attach)
    assert recorded == plain


def test_read_codes_are_converted_at_the_readouts_own_resolution() -> None:
    from pulsetrain.periphery.adc import AdcReadoutConfig

    config = AdcReadoutConfig(columns=4, columns_per_adc=4, adc_bits=4)
    # full scale of the 9-bit model ADC (255) is full scale of the 4-bit readout (7): offset binary 15, 1
    codes = [np.array([255, -255, 0, 128])]
    ports = workload.adc_readout_workload_of_codes(config, codes, model_full_scale=255)
    assert int(ports["start"].sum()) == 1
    # 128 / 255 of full scale is 3.5 -> 4 codes of 7 above mid-scale
    assert sorted(_delivered(config, ports)) == [(0, 15), (1, 1), (2, 8), (3, 12)]
