"""The SBE unit's fixed-point twin tracks the float SBE equations (docs/science.md §2)."""

from __future__ import annotations

import numpy as np
import pytest
from pulsetrain.model.algorithms.sbe import StreamingEigenEstimator
from pulsetrain.model.twins.sbe import SbeUnitTwin, normalize

from pulsetrain.config import ConfigError
from pulsetrain.periphery.sbe import Normalization, SbeConfig

ROWS, COLS, BATCH = 24, 10, 32


def float_reference(
    batches: list[tuple[np.ndarray, np.ndarray]], cols: int
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """docs/science.md's rank-1 equations in float64, warm-started, first D = (1, ..., 1)."""
    d_vec = np.ones(cols)
    results = []
    for xs, ds in batches:
        x_vec = np.zeros(xs.shape[1])
        sigma = 0.0
        for j, (x, d) in enumerate(zip(xs, ds, strict=True)):
            keep, new = j / (j + 1), 1 / (j + 1)
            x_vec = keep * x_vec + new * x * (d @ d_vec) / np.linalg.norm(d_vec)
            x_unit = x_vec / np.linalg.norm(x_vec)
            d_vec = keep * d_vec + new * d * (x @ x_unit)
            sigma += (d @ d_vec / np.linalg.norm(d_vec)) * (x @ x_unit)
        results.append((x_vec / np.linalg.norm(x_vec), d_vec, sigma / len(xs)))
    return results


def make_batches(seed: int, count: int, twin: SbeUnitTwin) -> list[tuple[np.ndarray, np.ndarray]]:
    """Quantized samples with a dominant rank-1 gradient direction plus noise."""
    rng = np.random.default_rng(seed)
    u, v = rng.standard_normal(COLS), rng.standard_normal(ROWS)
    u /= np.linalg.norm(u) / 0.8
    v /= np.linalg.norm(v) / 0.8
    scale = 1 << twin.config.input_frac_bits
    batches = []
    for _ in range(count):
        alpha = rng.uniform(-1, 1, BATCH)
        xs = alpha[:, None] * v + 0.08 * rng.standard_normal((BATCH, ROWS))
        ds = np.sign(alpha)[:, None] * 0.6 * u + 0.08 * rng.standard_normal((BATCH, COLS))
        # the float reference sees exactly the quantized inputs the twin sees
        batches.append((twin.quantize(xs) / scale, twin.quantize(ds) / scale))
    return batches


def run_twin(
    twin: SbeUnitTwin, batches: list[tuple[np.ndarray, np.ndarray]]
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    scale = 1 << twin.config.input_frac_bits
    out = []
    for xs, ds in batches:
        twin.start_batch()
        for x, d in zip(xs, ds, strict=True):
            twin.add(np.round(x * scale).astype(int).tolist(), np.round(d * scale).astype(int).tolist())
        out.append(twin.estimate())
    return out


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed{s}")
def test_exact_twin_tracks_the_float_equations(seed: int) -> None:
    twin = SbeUnitTwin(SbeConfig(rows=ROWS, cols=COLS, batch_bits=5, frac_bits=14))
    batches = make_batches(seed, 4, twin)
    for (x_fix, d_fix, s_fix), (x_ref, d_ref, s_ref) in zip(
        run_twin(twin, batches), float_reference(batches, COLS), strict=True
    ):
        # 14 fraction bits: rounding of ~1e-4 relative per step over 32 samples; 1e-3 leaves margin
        assert x_fix @ x_ref > 1 - 1e-3
        assert np.linalg.norm(d_fix - d_ref) < 1e-2 * np.linalg.norm(d_ref)
        assert s_fix == pytest.approx(s_ref, rel=1e-2)


@pytest.mark.parametrize("mode", list(Normalization), ids=lambda m: m.value)
def test_twin_finds_the_batch_gradients_top_singular_pair(mode: Normalization) -> None:
    twin = SbeUnitTwin(SbeConfig(rows=ROWS, cols=COLS, batch_bits=5, normalization=mode))
    batches = make_batches(7, 4, twin)
    estimates = run_twin(twin, batches)
    for (xs, ds), (x_unit, d_mean, _) in zip(batches[1:], estimates[1:], strict=True):  # after warm-up
        u, s, vt = np.linalg.svd(ds.T @ xs / BATCH)
        # a clear spectral gap (s0/s1 > 5 here): one warm-started pass per batch aligns to within 1 %
        assert abs(x_unit @ vt[0]) > 0.99
        assert abs(d_mean @ u[:, 0]) > 0.99 * np.linalg.norm(d_mean)
        ratio = np.linalg.norm(d_mean) / s[0]
        if mode is Normalization.EXACT:
            assert ratio == pytest.approx(1.0, abs=0.1)
        else:
            # the power-of-two norm scales each sample's step by (1/2, 1]: magnitudes come out low
            assert 0.45 < ratio <= 1.05


def test_twin_agrees_with_the_algorithms_float_sbe() -> None:
    twin = SbeUnitTwin(SbeConfig(rows=ROWS, cols=COLS, batch_bits=5))
    batches = make_batches(3, 5, twin)
    estimator = StreamingEigenEstimator(COLS, ROWS, 1, np.random.default_rng(0))
    for xs, ds in batches:
        estimator.start_batch()
        estimator.add_batch(xs, ds)
    result = estimator.result()
    x_unit, d_mean, sigma = run_twin(twin, batches)[-1]
    # different cold starts (ones versus random): compare once both are warm, on the last batch
    assert abs(x_unit @ result.x_factors[:, 0]) > 0.99
    assert np.linalg.norm(d_mean) == pytest.approx(np.linalg.norm(result.d_factors[:, 0]), rel=0.05)
    assert sigma == pytest.approx(result.singular_values[0], rel=0.05)


@pytest.mark.parametrize(
    ("numerator", "norm_sq", "exact", "shifted"),
    [(100, 16, 25, 25), (-100, 16, -25, -25), (100, 17, 25, 12), (5, 0, 0, 0)],
    ids=["square", "negative", "non-square", "zero-norm"],
)
def test_normalize(numerator: int, norm_sq: int, exact: int, shifted: int) -> None:
    assert normalize(numerator, norm_sq, 0, Normalization.EXACT) == exact
    assert normalize(numerator, norm_sq, 0, Normalization.SHIFT) == shifted


@pytest.mark.parametrize(
    "kwargs",
    [{"rank": 2}, {"rows": 0}, {"frac_bits": 3}, {"vector_bits": 16}, {"normalization": "exact"}],
    ids=["rank2", "zero-rows", "frac-below-input", "vector-too-narrow", "mode-not-enum"],
)
def test_bad_configs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SbeConfig(**kwargs)  # type: ignore[arg-type]


def test_twin_refuses_a_batch_longer_than_configured() -> None:
    twin = SbeUnitTwin(SbeConfig(rows=2, cols=2, batch_bits=1))
    twin.add([1, 2], [3, 4])
    twin.add([1, 2], [3, 4])
    with pytest.raises(ConfigError, match="max_batch"):
        twin.add([1, 2], [3, 4])
