"""SBE on analog tiles: rank-k updates per batch, update counting, equivalence with SGD at batch 1."""

from __future__ import annotations

import numpy as np
import pytest
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.algorithms.configs import SbeSettings
from pulsetrain.model.algorithms.sbe import StreamingBatchEigenupdate
from pulsetrain.model.devices import DEVICES
from pulsetrain.model.network import NetworkConfig
from pulsetrain.model.training import TrainConfig

from pulsetrain.config import ConfigError


def _batches(count: int, batch: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(99).random((10, 20))
    out = []
    for _ in range(count):
        labels = rng.integers(10, size=batch)
        x = np.clip(prototypes[labels] + 0.1 * rng.standard_normal((batch, 20)), 0.0, 1.0)
        out.append((x, labels.astype(np.int64)))
    return out


def _algorithm(algo: str, rank: int = 1, hidden: tuple[int, ...] = (16,), **fields: object):  # type: ignore[no-untyped-def]
    config = TrainConfig(
        algo=algo, network=NetworkConfig(hidden=hidden), sbe=SbeSettings(rank=rank), **fields
    )  # type: ignore[arg-type]
    return create_algorithm(config, (20, *hidden, 10), np.random.SeedSequence(4))


def test_batch_of_one_writes_the_same_pulses_as_analog_sgd() -> None:
    # At batch 1 the streamed rank-1 summary is the sample's outer product itself (up to rounding) and
    # update management scales the pulse probabilities identically, so SBE and SGD draw the same pulse
    # trains from the same seeds: weights equal to floating-point rounding of the probabilities.
    sbe = _algorithm("sbe")
    sgd = _algorithm("sgd")
    for x, labels in _batches(100, 1):
        sbe.train_batch(x, labels)
        sgd.train_batch(x, labels)
    for mine, theirs in zip(sbe.weights(), sgd.weights(), strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-9)


@pytest.mark.parametrize("rank", [1, 2, 4], ids=lambda k: f"rank{k}")
def test_counts_rank_updates_per_layer_per_batch(rank: int) -> None:
    algorithm = _algorithm("sbe", rank=rank, hidden=(16, 8))
    assert isinstance(algorithm, StreamingBatchEigenupdate)
    for x, labels in _batches(7, 32):
        algorithm.train_batch(x, labels)
    extra = algorithm.extra_results()
    assert extra["batches"] == 7
    assert extra["array_updates"] == 7 * rank * 3


@pytest.mark.parametrize("device", sorted(DEVICES), ids=str)
def test_runs_on_every_device(device: str) -> None:
    algorithm = _algorithm("sbe", rank=2, hidden=(16, 8), device=DEVICES[device]())
    losses = [algorithm.train_batch(x, y) for x, y in _batches(10, 16)]
    assert np.all(np.isfinite(losses))
    assert all(arrays["W"] > 0 for arrays in algorithm.pulse_counts().values())


def test_sbe_learns_with_one_update_per_batch() -> None:
    # 300 batches of 16 with one rank-1 array update per layer each (300 updates, against 4800 for
    # mini-batch SGD): the mean loss of the last 20 batches must be below half that of the first 20
    # (chance ln 10 = 2.3).
    algorithm = _algorithm("sbe", lr=1.0)
    losses = [algorithm.train_batch(x, y) for x, y in _batches(300, 16)]
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])


def test_bad_rank_is_refused() -> None:
    with pytest.raises(ConfigError, match="sbe.rank"):
        SbeSettings(rank=0)
