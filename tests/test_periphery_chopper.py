"""Chopper config validation and the twin's flip statistics and regular period."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pulsetrain.model.twins.chopper import TwinChopper

from pulsetrain.config import ConfigError
from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode
from pulsetrain.periphery.lfsr import LfsrConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lines": 0}, "chopper.lines"),
        ({"flip_probability": 1.5}, "chopper.flip_probability"),
        ({"flip_probability": -0.1}, "chopper.flip_probability"),
        ({"probability_bits": 0}, "chopper.probability_bits"),
        ({"probability_bits": 12, "lfsr": LfsrConfig(width=8)}, "chopper.lfsr.width"),
    ],
    ids=["zero-lines", "p-above-1", "p-negative", "zero-bits", "lfsr-narrower-than-draw"],
)
def test_bad_config_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ChopperConfig(**kwargs)  # type: ignore[arg-type]


def test_lfsr_seed_zero_refused() -> None:
    with pytest.raises(ConfigError, match="lfsr.seed"):
        ChopperConfig(lfsr=LfsrConfig(seed=0))


@pytest.mark.parametrize("probability", [0.02, 0.1, 0.5])
def test_random_flip_rate_matches_probability(probability: float) -> None:
    config = ChopperConfig(lines=8, flip_probability=probability, probability_bits=10)
    twin = TwinChopper(config)
    events = 20000
    flips = sum(twin.event(i % 8) for i in range(events))
    expected = config.flip_code / 2**config.probability_bits
    # binomial standard deviation; 5 sigma keeps the false-failure rate negligible for a fixed seed
    sigma = math.sqrt(events * expected * (1 - expected))
    assert abs(flips - events * expected) < 5 * sigma


@pytest.mark.parametrize("probability", [0.25, 0.1, 0.3])
def test_regular_flips_every_ceil_one_over_p_sweeps(probability: float) -> None:
    config = ChopperConfig(lines=4, mode=ChopperMode.REGULAR, flip_probability=probability)
    twin = TwinChopper(config)
    period = math.ceil(1 / probability)
    history = []
    for _sweep in range(3 * period):
        for line in range(4):
            twin.event(line)
        history.append(twin.negative.copy())
    flips_line0 = [s for s in range(1, len(history)) if history[s][0] != history[s - 1][0]]
    assert np.diff(flips_line0).tolist() == [period] * (len(flips_line0) - 1)
    assert all(np.all(h == h[0]) for h in history)  # all lines switch in the same sweep
