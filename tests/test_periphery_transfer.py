"""TTv2-family transfer periphery: config, sequencing, fixed point, offset physics, float vs twin."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers.transfer import run_reads
from pulsetrain.model.transfer import FloatTransferPeriphery, TransferPeriphery, TransferSequencer
from pulsetrain.model.twins.transfer import TwinTransferPeriphery

from pulsetrain.config import ConfigError, apply_overrides
from pulsetrain.periphery.transfer import ChopperFlipMode, TransferControllerConfig, TransferMode

SERVERS = {
    "float": lambda config: FloatTransferPeriphery(config, seed=3),
    "twin": TwinTransferPeriphery,
}
MODES = [pytest.param(mode, id=mode.value) for mode in TransferMode]


# --------------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("in_size", "0", "in_size"),
        ("adc_bits", "0", "adc_bits"),
        ("h_bits", "0", "h_bits"),
        ("in_chop_prob", "1.5", "in_chop_prob"),
        ("out_chop_prob", "-0.1", "out_chop_prob"),
        ("h_memory_words", "10", "too small for H"),
        ("transfer_lr_per_lsb", "0.0001", "rounds to 0"),
        ("in_chop_seed", "0", "in_chop_seed"),
    ],
    ids=lambda v: str(v),
)
def test_config_refuses_bad_values(key: str, value: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        apply_overrides(TransferControllerConfig(), {key: value})


def test_config_refuses_agad_without_flips() -> None:
    with pytest.raises(ConfigError, match="agad"):
        TransferControllerConfig(mode=TransferMode.AGAD, in_chop_prob=0.0)


def test_config_accepts_mode_by_name() -> None:
    config = apply_overrides(TransferControllerConfig(), {"mode": "c-ttv2", "chopper_flip": "regular"})
    assert config.mode is TransferMode.CHOPPED_TTV2
    assert config.chopper_flip is ChopperFlipMode.REGULAR


# --------------------------------------------------------------------------------------------------
# Sequencing (shared by all servers)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("server", list(SERVERS), ids=str)
def test_servers_satisfy_protocol(server: str) -> None:
    assert isinstance(SERVERS[server](TransferControllerConfig()), TransferPeriphery)


@pytest.mark.parametrize(
    ("every", "reads"), [(1, 1), (3, 1), (2, 3)], ids=["every1", "every3", "every2-reads3"]
)
def test_requests_every_n_updates_cycle_columns(every: int, reads: int) -> None:
    config = TransferControllerConfig(in_size=5, out_size=2, transfer_every=every, n_reads_per_transfer=reads)
    periphery = TwinTransferPeriphery(config)
    seen: list[int] = []
    for update in range(1, 31):
        request = periphery.step()
        assert (request is not None) == (update % every == 0)
        if request is not None:
            assert len(request.columns) == reads
            for column in request.columns:
                periphery.transfer(column, np.zeros(2, dtype=np.int64))
                seen.append(column)
    assert seen == [i % 5 for i in range(len(seen))]


def test_transfer_out_of_order_is_refused() -> None:
    periphery = TwinTransferPeriphery(TransferControllerConfig(in_size=4, out_size=2))
    with pytest.raises(ValueError, match="call step"):
        periphery.transfer(0, np.zeros(2, dtype=np.int64))
    periphery.step()
    with pytest.raises(ValueError, match="expected column 0"):
        periphery.transfer(1, np.zeros(2, dtype=np.int64))


def test_twin_refuses_codes_outside_adc_range() -> None:
    periphery = TwinTransferPeriphery(TransferControllerConfig(in_size=2, out_size=2, adc_bits=4))
    periphery.step()
    with pytest.raises(ValueError, match="ADC codes"):
        periphery.transfer(0, np.array([8, 0]))


def test_regular_flips_every_period_passes() -> None:
    config = TransferControllerConfig(
        mode=TransferMode.CHOPPED_TTV2,
        in_size=3,
        out_size=1,
        in_chop_prob=0.25,
        chopper_flip=ChopperFlipMode.REGULAR,
    )
    results = run_reads(TwinTransferPeriphery(config), [np.zeros(1, dtype=np.int64)] * 24)
    flipped_passes = [i // 3 for i, result in enumerate(results) if result.in_flipped]
    # period max(ceil(1/0.25), 2) = 4 passes: all three columns flip in passes 3 and 7.
    assert flipped_passes == [3, 3, 3, 7, 7, 7]


def test_ttv2_never_chops() -> None:
    config = TransferControllerConfig(mode=TransferMode.TTV2, in_size=2, out_size=2, in_chop_prob=1.0)
    periphery = TwinTransferPeriphery(config)
    run_reads(periphery, [np.ones(2, dtype=np.int64)] * 20)
    assert np.all(periphery.signs().in_signs == 1) and np.all(periphery.signs().out_signs == 1)


@pytest.mark.parametrize("server", list(SERVERS), ids=str)
def test_random_flip_rate_matches_probability(server: str) -> None:
    config = TransferControllerConfig(mode=TransferMode.CHOPPED_TTV2, in_size=4, out_size=1, in_chop_prob=0.2)
    results = run_reads(SERVERS[server](config), [np.zeros(1, dtype=np.int64)] * 4000)
    rate = np.mean([result.in_flipped for result in results])
    # binomial std of the rate over 4000 draws: sqrt(0.2 * 0.8 / 4000) = 0.0063; 4 sigma.
    assert abs(rate - 0.2) < 4 * 0.0063


# --------------------------------------------------------------------------------------------------
# Fixed point of the twin
# --------------------------------------------------------------------------------------------------


def test_twin_accumulates_exactly_and_fires_at_threshold() -> None:
    # lr = 0.25 per LSB (exact), threshold 1: code 1 -> +0.25 per read; fires on the 4th read.
    config = TransferControllerConfig(in_size=1, out_size=1, transfer_lr_per_lsb=0.25)
    results = run_reads(TwinTransferPeriphery(config), [np.array([1])] * 8)
    assert [r.h_column[0] for r in results] == [0.25, 0.5, 0.75, 0.0, 0.25, 0.5, 0.75, 0.0]
    assert [int(r.pulses[0]) for r in results] == [0, 0, 0, 1, 0, 0, 0, 1]


def test_twin_h_saturates_instead_of_wrapping() -> None:
    # H: 8 bits, 2 fractional -> [-32, 31.75]; one read of -128 LSB x lr 1 = -128 saturates at -32.
    config = TransferControllerConfig(
        in_size=1, out_size=1, adc_bits=8, h_bits=8, h_frac_bits=2, transfer_lr_per_lsb=1.0,
        thres_scale=31.75, forget_buffer=False,
    )  # fmt: skip
    (result,) = run_reads(TwinTransferPeriphery(config), [np.array([-128])])
    assert int(result.pulses[0]) == -1
    assert result.h_column[0] == -32.0 + 31.75


def test_twin_multi_pulse_and_subtract_with_momentum() -> None:
    config = TransferControllerConfig(
        in_size=1, out_size=1, transfer_lr_per_lsb=1.0, max_pulses_per_transfer=3, forget_buffer=False,
        momentum=0.5,
    )  # fmt: skip
    (result,) = run_reads(TwinTransferPeriphery(config), [np.array([5])])
    # H = 5 -> 3 pulses (capped), H -= (1 - 0.5) * 3 = 3.5
    assert int(result.pulses[0]) == 3 and result.h_column[0] == 3.5


# --------------------------------------------------------------------------------------------------
# Physics: offsets and choppers
# --------------------------------------------------------------------------------------------------


def offset_pulses(
    mode: TransferMode, server: str, gradient: float, offset: float, reads: int = 6000
) -> float:
    """Net pulses per read to C when every read of A is ``c * gradient + offset`` (LSB units).

    A holds the chopped gradient (the update path multiplies it by the chopper sign) plus a constant
    offset (a reference that does not sit at the symmetry point); the read path demodulates. H keeps
    its remainder after firing (``forget_buffer=False``) so that the transfer is linear: with the
    default forget_buffer the remainder is dropped and a chopped signal loses part of its amplitude.
    """
    config = TransferControllerConfig(
        mode=mode, in_size=4, out_size=1, in_chop_prob=0.1, transfer_lr_per_lsb=0.125,
        chopper_flip=ChopperFlipMode.RANDOM, reads_held_after_flip=1, forget_buffer=False,
    )  # fmt: skip
    periphery = SERVERS[server](config)
    total = 0
    done = 0
    while done < reads:
        request = periphery.step()
        if request is None:
            continue
        for column in request.columns:
            sign = periphery.signs().in_signs[column]
            value = np.array([round(sign * gradient + offset)])
            total += int(periphery.transfer(column, value).pulses[0])
            done += 1
    return total / reads


@pytest.mark.parametrize("server", list(SERVERS), ids=str)
def test_ttv2_transfers_an_offset_as_if_it_were_gradient(server: str) -> None:
    # 0.125 pulses per read per LSB: an offset of 4 LSB alone transfers 0.5 pulses per read.
    assert offset_pulses(TransferMode.TTV2, server, gradient=0.0, offset=4.0) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("server", list(SERVERS), ids=str)
def test_chopper_averages_out_a_constant_offset(server: str) -> None:
    # Without gradient, chopped H sees +offset and -offset in random periods of ~10 reads: the net
    # transfer is a random walk, |mean| ~ 0.5 / sqrt(number of periods = 600 per column) ~ 0.02; bound
    # 0.05, a tenth of TTv2's 0.5.
    assert abs(offset_pulses(TransferMode.CHOPPED_TTV2, server, gradient=0.0, offset=4.0)) < 0.05


@pytest.mark.parametrize("server", list(SERVERS), ids=str)
def test_chopped_ttv2_still_transfers_the_gradient(server: str) -> None:
    rate = offset_pulses(TransferMode.CHOPPED_TTV2, server, gradient=2.0, offset=4.0)
    # gradient 2 LSB x 0.125 = 0.25 pulses per read; offset leaves the random-walk residue (< 0.05).
    assert rate == pytest.approx(0.25, abs=0.05)


@pytest.mark.parametrize("server", list(SERVERS), ids=str)
def test_agad_is_insensitive_to_a_reference_offset(server: str) -> None:
    clean = offset_pulses(TransferMode.AGAD, server, gradient=2.0, offset=0.0)
    shifted = offset_pulses(TransferMode.AGAD, server, gradient=2.0, offset=40.0)
    # AGAD subtracts the read at the last flip, so the offset drops out exactly up to rounding of the
    # running mean; the transfer rates agree to 0.02 pulses per read (1 in 8 reads of the 0.125 lr).
    assert clean > 0.05
    assert shifted == pytest.approx(clean, abs=0.02)


# --------------------------------------------------------------------------------------------------
# Float server versus twin
# --------------------------------------------------------------------------------------------------


def transfer_gain(periphery: TransferSequencer, drift: np.ndarray, noise_seed: int, reads: int) -> float:
    """Pulses to C per read per LSB of drift: the slope of the per-row pulse totals against the drift.

    Each read is the chopped drift (what A holds when the update path applies the chopper signs) plus
    Gaussian read noise of 4 LSB.
    """
    noise = np.random.default_rng(noise_seed)
    total = np.zeros(drift.shape)
    for _ in range(reads):
        request = periphery.step()
        assert request is not None
        (column,) = request.columns
        signs = periphery.signs()
        chopped = signs.in_signs[column] * signs.out_signs * drift
        read = np.round(chopped + noise.normal(0, 4, drift.shape)).astype(np.int64)
        total += periphery.transfer(column, read).pulses
    return float(total @ drift / (drift @ drift) / reads)


@pytest.mark.parametrize("mode", MODES)
def test_float_server_matches_twin_statistically(mode: TransferMode) -> None:
    base = TransferControllerConfig(
        mode=mode, in_size=4, out_size=8, in_chop_prob=0.2, out_chop_prob=0.1, transfer_lr_per_lsb=0.1,
        forget_buffer=False,
    )  # fmt: skip
    drift = np.linspace(-3, 3, base.out_size)
    runs = 4
    gains: dict[str, list[float]] = {"float": [], "twin": []}
    for run in range(runs):
        seeded = dataclasses.replace(base, in_chop_seed=101 + 7 * run, out_chop_seed=2002 + 13 * run)
        gains["float"].append(transfer_gain(FloatTransferPeriphery(base, seed=run), drift, run, 2000))
        gains["twin"].append(transfer_gain(TwinTransferPeriphery(seeded), drift, run, 2000))
    means = {name: float(np.mean(values)) for name, values in gains.items()}
    # The servers differ by their chopper draws (different random streams) and by the rounding of the
    # learning rate (0.1 -> 102/1024, 0.4 %). Bound: 4 standard errors of the difference of the means
    # (from the spread over runs) plus the 0.4 % rounding, floored at 1 % of the gain.
    spread = np.sqrt(sum(np.var(values, ddof=1) for values in gains.values()) / runs)
    bound = max(4 * spread, 0.01 * abs(means["twin"])) + 0.004 * abs(means["twin"])
    assert means["twin"] > 0.05  # the drift is transferred at all (about lr = 0.1 per read)
    assert abs(means["float"] - means["twin"]) < bound


def test_twin_and_float_h_buffers_have_the_layer_shape() -> None:
    config = dataclasses.replace(TransferControllerConfig(), in_size=3, out_size=5)
    for make in SERVERS.values():
        assert make(config).h_buffer().shape == (5, 3)


# --------------------------------------------------------------------------------------------------
# The training loop's lean paths take exactly the decisions of the full ones
# --------------------------------------------------------------------------------------------------


def lean_and_full_runs(mode: TransferMode, server: str, reads: int = 400) -> tuple[list, list]:
    """The same reads through ``transfer`` and through ``transfer_pulses`` of twin servers."""
    config = TransferControllerConfig(
        mode=mode, in_size=3, out_size=6, in_chop_prob=0.2, out_chop_prob=0.1, transfer_lr_per_lsb=0.1,
        max_pulses_per_transfer=2, forget_buffer=False, momentum=0.25,
    )  # fmt: skip
    values = np.random.default_rng(5).integers(-40, 41, size=(reads, config.out_size))
    full_server, lean_server = SERVERS[server](config), SERVERS[server](config)
    full: list[tuple[list[int], bool]] = []
    lean: list[tuple[list[int], bool]] = []
    for read in values:
        for periphery, record in ((full_server, full), (lean_server, lean)):
            request = periphery.step()
            assert request is not None
            (column,) = request.columns
            if periphery is full_server:
                result = periphery.transfer(column, read)
                record.append((result.pulses.tolist(), result.in_flipped or bool(result.out_flipped.any())))
            else:
                pulses, changed = periphery.transfer_pulses(column, read)
                record.append(([0] * config.out_size if pulses is None else pulses.tolist(), changed))
    np.testing.assert_array_equal(full_server.h_buffer(), lean_server.h_buffer())
    return full, lean


@pytest.mark.parametrize("server", list(SERVERS), ids=str)
@pytest.mark.parametrize("mode", MODES)
def test_transfer_pulses_decides_as_transfer(mode: TransferMode, server: str) -> None:
    full, lean = lean_and_full_runs(mode, server)
    assert any(any(pulses) for pulses, _ in full)  # the reads do fire pulses
    assert lean == full


def test_transfer_pulses_reports_no_pulses_as_none() -> None:
    periphery = FloatTransferPeriphery(TransferControllerConfig(in_size=1, out_size=2), seed=0)
    periphery.step()
    pulses, changed = periphery.transfer_pulses(0, np.zeros(2, dtype=np.int64))
    assert pulses is None and not changed


def test_read_column_codes_reads_as_read_column() -> None:
    from pulsetrain.model.devices import SoftBoundsDevice
    from pulsetrain.model.pulses import FloatPulseSource
    from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig

    def tile(adc_bits: int | None) -> Tile:
        io = IOConfig(adc_bits=adc_bits, out_noise=0.1)
        rng = np.random.default_rng(11)
        made = Tile(
            6, 4, device=SoftBoundsDevice(), forward_io=io, backward_io=io, update=UpdateConfig(),
            output_scale=1.0, pulse_source=FloatPulseSource(np.random.default_rng(1)), rng=rng,
        )  # fmt: skip
        made.set_device_weights(np.random.default_rng(2).uniform(-0.5, 0.5, (6, 4)))
        return made

    for adc_bits in (9, None):
        full, lean = tile(adc_bits), tile(adc_bits)
        for column in (0, 3, 1):
            read = full.read_column(column)
            expected = read.codes if read.codes is not None else read.values
            np.testing.assert_array_equal(lean.read_column_codes(column), expected)
