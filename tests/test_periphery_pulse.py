"""Pulse generator config, quantization and the twin's statistics (rates, coincidences, protocol)."""

from __future__ import annotations

import numpy as np
import pytest
from pulsetrain.model.periphery import PulseSource
from pulsetrain.model.twins.pulse import TwinPulseGenerator, TwinPulseSource

from pulsetrain.config import ConfigError
from pulsetrain.periphery.lfsr import LfsrConfig
from pulsetrain.periphery.pulse import LineStreams, PulseGeneratorConfig, PulseMode, quantize


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x_lines": 0}, "pulse.x_lines"),
        ({"d_lines": 0}, "pulse.d_lines"),
        ({"bl_counter_bits": 0}, "pulse.bl_counter_bits"),
        ({"bl_counter_bits": 4, "bl_max": 31}, "pulse.bl_max"),
        ({"bl_max": 0}, "pulse.bl_max"),
        ({"probability_bits": 0}, "pulse.probability_bits"),
        ({"probability_bits": 12, "lfsr": LfsrConfig(width=8)}, "pulse.lfsr.width"),
        ({"x_lines": 200, "d_lines": 100, "lfsr": LfsrConfig(width=8)}, "pulse.lfsr.width"),
        ({"decorrelator": LfsrConfig(width=31)}, "coprime"),
        ({"probability_bits": 12, "decorrelator": LfsrConfig(width=11)}, "pulse.decorrelator.width"),
        ({"streams": "combined"}, "pulse.streams"),
    ],
    ids=[
        "zero-x",
        "zero-d",
        "zero-counter",
        "bl-beyond-counter",
        "zero-bl",
        "zero-bits",
        "lfsr-narrow",
        "too-few-seeds",
        "decorrelator-same-period-family",
        "decorrelator-narrow",
        "streams-not-enum",
    ],
)
def test_bad_config_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PulseGeneratorConfig(**kwargs)  # type: ignore[arg-type]


def test_shifted_streams_and_deterministic_mode_need_no_decorrelator() -> None:
    # the decorrelator is only checked (and only built) for combined stochastic streams
    for config in (
        PulseGeneratorConfig(streams=LineStreams.SHIFTED, decorrelator=LfsrConfig(width=31)),
        PulseGeneratorConfig(mode=PulseMode.DETERMINISTIC, decorrelator=LfsrConfig(width=31)),
    ):
        assert config.decorrelator_seeds() == ()


def test_decorrelator_seeds_are_distinct_and_independent_of_the_line_count() -> None:
    few = PulseGeneratorConfig(x_lines=4, d_lines=4).decorrelator_seeds()
    many = PulseGeneratorConfig(x_lines=64, d_lines=64).decorrelator_seeds()
    assert len(set(many)) == 128 and many[:8] == few


@pytest.mark.parametrize("probability", [-0.1, 1.01, float("nan")], ids=["negative", "above-1", "nan"])
def test_probability_outside_unit_interval_refused(probability: float) -> None:
    with pytest.raises(ValueError, match="probabilities"):
        quantize(PulseGeneratorConfig(), np.array([0.5, probability]), 10)


def test_bl_beyond_bl_max_refused() -> None:
    with pytest.raises(ConfigError, match="bl"):
        TwinPulseSource(PulseGeneratorConfig(x_lines=2, d_lines=2)).trains(
            np.zeros(2), np.zeros(2, bool), np.zeros(2), np.zeros(2, bool), 32
        )


def test_quantize_codes() -> None:
    stochastic = PulseGeneratorConfig(probability_bits=4)
    assert quantize(stochastic, np.array([0.0, 0.03, 0.5, 1.0]), 10).tolist() == [0, 0, 8, 16]
    deterministic = PulseGeneratorConfig(mode=PulseMode.DETERMINISTIC)
    assert quantize(deterministic, np.array([0.0, 0.26, 0.5, 1.0]), 10).tolist() == [0, 3, 5, 10]


def test_twin_source_is_a_pulse_source() -> None:
    assert isinstance(TwinPulseSource(PulseGeneratorConfig()), PulseSource)


@pytest.mark.parametrize("probability_bits", [4, 8], ids=lambda b: f"b{b}")
def test_stochastic_rate_matches_probability(probability_bits: int) -> None:
    config = PulseGeneratorConfig(x_lines=16, d_lines=16, probability_bits=probability_bits)
    source = TwinPulseSource(config)
    rng = np.random.default_rng(11)
    x_p, d_p = rng.random(16), rng.random(16)
    updates, bl = 400, 31
    x_count = np.zeros(16)
    d_count = np.zeros(16)
    for _ in range(updates):
        trains = source.trains(x_p, x_p < 0.5, d_p, d_p < 0.5, bl)
        x_count += trains.x_fire.sum(axis=0)
        d_count += trains.d_fire.sum(axis=0)
    slots = updates * bl
    # expected rate is the quantized probability; 5 binomial sigmas per line (32 lines, fixed seed)
    for count, p in ((x_count, x_p), (d_count, d_p)):
        q = quantize(config, p, bl) / 2**probability_bits
        sigma = np.sqrt(slots * q * (1 - q)) + 1e-9
        assert np.all(np.abs(count - slots * q) < 5 * sigma + 1e-9)


def test_stochastic_coincidences_are_products() -> None:
    # independent lines: mean coincidences per update = bl * p * q (Gokmen & Vlasov 2016)
    config = PulseGeneratorConfig(x_lines=8, d_lines=8)
    source = TwinPulseSource(config)
    x_p = np.linspace(0.1, 0.9, 8)
    d_p = np.linspace(0.9, 0.2, 8)
    updates, bl = 600, 20
    total = np.zeros((8, 8))
    for _ in range(updates):
        total += np.abs(source.trains(x_p, np.zeros(8, bool), d_p, np.zeros(8, bool), bl).coincidences())
    x_q = quantize(config, x_p, bl) / 256
    d_q = quantize(config, d_p, bl) / 256
    expected = updates * bl * np.outer(d_q, x_q)
    sigma = np.sqrt(expected * (1 - np.outer(d_q, x_q)))
    assert np.all(np.abs(total - expected) < 5 * sigma)


def test_deterministic_coincidences_are_floor_of_product() -> None:
    config = PulseGeneratorConfig(x_lines=11, d_lines=11, mode=PulseMode.DETERMINISTIC)
    generator = TwinPulseGenerator(config)
    bl = 10
    counts = np.arange(11)
    trains = generator.fire(counts, np.zeros(11, bool), counts, np.zeros(11, bool), bl)
    assert np.array_equal(trains.x_fire.sum(axis=0), counts)
    assert np.array_equal(trains.d_fire.sum(axis=0), counts)
    # equal signs: every coincidence is a step down (-x d < 0)
    assert np.array_equal(-trains.coincidences(), (counts[:, None] * counts[None, :]) // bl)


def test_lfsr_state_persists_between_updates() -> None:
    config = PulseGeneratorConfig(x_lines=3, d_lines=3)
    one = TwinPulseGenerator(config)
    codes = np.full(3, 128)
    neg = np.zeros(3, bool)
    first = one.fire(codes, neg, codes, neg, 7)
    second = one.fire(codes, neg, codes, neg, 5)
    joined = TwinPulseGenerator(config).fire(codes, neg, codes, neg, 12)
    assert np.array_equal(np.concatenate([first.x_fire, second.x_fire]), joined.x_fire)


def test_same_seed_same_trains_different_seed_different() -> None:
    def trains(seed: int) -> np.ndarray:
        config = PulseGeneratorConfig(
            x_lines=32, d_lines=8, lfsr=LfsrConfig(width=32, seed=seed, steps_per_advance=8)
        )
        p = np.full(32, 0.5)
        return TwinPulseSource(config).trains(p, p < 0, np.full(8, 0.5), np.zeros(8, bool), 31).x_fire

    assert np.array_equal(trains(5), trains(5))
    assert not np.array_equal(trains(5), trains(6))


def test_factory_serves_the_training_loop() -> None:
    from pulsetrain.model.twins.pulse import pulse_source_factory

    source = pulse_source_factory(np.random.SeedSequence(4), 5, 3)
    again = pulse_source_factory(np.random.SeedSequence(4), 5, 3)
    p = np.full(5, 0.5)
    q = np.full(3, 0.5)
    first = source.trains(p, p < 0, q, q < 0, 100)
    assert first.x_fire.shape == (100, 5)
    assert first.d_fire.shape == (100, 3)
    assert first.same_as(again.trains(p, p < 0, q, q < 0, 100))
