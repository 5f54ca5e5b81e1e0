"""The shared LFSR config: taps, validation, periods, per-line seeds and the twin's leap tables."""

from __future__ import annotations

import numpy as np
import pytest
from pulsetrain.model.twins.lfsr import TwinLfsrBank

from pulsetrain.config import ConfigError
from pulsetrain.periphery.lfsr import (
    MAXIMAL_TAPS,
    LfsrConfig,
    LfsrForm,
    advance,
    is_maximal_length,
    line_seeds,
    step,
)


@pytest.mark.parametrize("width", sorted(MAXIMAL_TAPS), ids=lambda w: f"w{w}")
def test_table_taps_are_primitive(width: int) -> None:
    assert is_maximal_length(width, MAXIMAL_TAPS[width])


@pytest.mark.parametrize(("width", "taps"), [(8, (8, 7)), (16, (16, 8)), (5, (5, 4, 3, 2, 1))])
def test_non_primitive_taps_detected(width: int, taps: tuple[int, ...]) -> None:
    # x^8+x^7+1 = (x^2+x+1)(...) is reducible; x^16+x^8+1 too; x^5+x^4+x^3+x^2+x+1 = (x+1)(x^4+x^2+1).
    assert not is_maximal_length(width, taps)


@pytest.mark.parametrize("form", list(LfsrForm), ids=lambda f: f.value)
@pytest.mark.parametrize("width", [3, 4, 7, 8, 12, 16], ids=lambda w: f"w{w}")
def test_period_is_maximal(form: LfsrForm, width: int) -> None:
    config = LfsrConfig(width=width, form=form, seed=1)
    state, seen = config.seed, set()
    while state not in seen:
        seen.add(state)
        state = step(config, state)
    assert state == config.seed
    assert len(seen) == config.period


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, "lfsr.width"),
        ({"width": 33}, "lfsr.width"),
        ({"seed": 0}, "lfsr.seed"),
        ({"width": 8, "seed": 256}, "lfsr.seed"),
        ({"width": 8, "taps": (8, 7)}, "lfsr.taps"),
        ({"width": 8, "taps": (7, 6)}, "lfsr.taps"),
        ({"steps_per_advance": 0}, "lfsr.steps_per_advance"),
    ],
    ids=[
        "width-zero",
        "width-too-big",
        "seed-zero",
        "seed-too-wide",
        "taps-not-maximal",
        "taps-miss-width",
        "no-steps",
    ],
)
def test_bad_config_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LfsrConfig(**kwargs)  # type: ignore[arg-type]


def test_line_seeds_are_distinct_and_on_the_sequence() -> None:
    config = LfsrConfig(width=10, seed=0x155)
    seeds = line_seeds(config, 37)
    assert len(set(seeds)) == 37
    stride = config.period // 37
    assert seeds[1] == advance(config, config.seed, stride)
    assert seeds[5] == advance(config, seeds[4], stride)


def test_line_seeds_depend_on_seed() -> None:
    assert line_seeds(LfsrConfig(seed=3), 8) != line_seeds(LfsrConfig(seed=4), 8)


@pytest.mark.parametrize("form", list(LfsrForm), ids=lambda f: f.value)
@pytest.mark.parametrize("steps", [1, 3, 8], ids=lambda s: f"k{s}")
def test_twin_bank_matches_scalar_reference(form: LfsrForm, steps: int) -> None:
    config = LfsrConfig(width=21, form=form, seed=0x1ABCD, steps_per_advance=steps)
    bank = TwinLfsrBank(config, 5)
    trajectory = np.concatenate([bank.run(7), bank.run(11)])
    for line, seed in enumerate(line_seeds(config, 5)):
        state = seed
        for n in range(18):
            state = advance(config, state)
            assert int(trajectory[n, line]) == state


def test_twin_bank_enable_mask_and_reset() -> None:
    bank = TwinLfsrBank(LfsrConfig(width=8, seed=9), 3)
    start = bank.states
    after = bank.advance(np.array([True, False, True]))
    assert after[1] == start[1]
    assert after[0] != start[0]
    bank.reset()
    assert np.array_equal(bank.states, start)
