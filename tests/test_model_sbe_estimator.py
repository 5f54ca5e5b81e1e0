"""The streaming batch eigen-estimator of SBE on its own: exactness, convergence, rank k."""

from __future__ import annotations

import numpy as np
import pytest
from pulsetrain.model.algorithms.sbe import StreamingEigenEstimator


def _low_rank_stream(
    rng: np.random.Generator, out_size: int, in_size: int, batch: int, strengths: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """A batch whose gradient sum_j d_j x_j^T is dominated by len(strengths) fixed directions."""
    generator = np.random.default_rng(1234)  # the directions stay fixed across batches
    left = np.linalg.qr(generator.standard_normal((out_size, len(strengths))))[0]
    right = np.linalg.qr(generator.standard_normal((in_size, len(strengths))))[0]
    codes = rng.standard_normal((batch, len(strengths))) * np.asarray(strengths)
    xs = codes @ right.T + 0.05 * rng.standard_normal((batch, in_size))
    ds = codes @ left.T + 0.05 * rng.standard_normal((batch, out_size))
    return xs, ds


def test_batch_of_one_is_the_exact_outer_product() -> None:
    # With one sample the gradient is rank 1, and one pass of the iteration lands on it exactly.
    rng = np.random.default_rng(0)
    estimator = StreamingEigenEstimator(7, 11, 1, rng)
    x, d = rng.standard_normal(11), rng.standard_normal(7)
    estimator.start_batch()
    estimator.add(x, d)
    np.testing.assert_allclose(estimator.result().matrix(), np.outer(d, x), atol=1e-12)


@pytest.mark.parametrize("rank", [1, 2, 4], ids=lambda k: f"rank{k}")
def test_warm_started_estimate_captures_the_gradient_almost_as_well_as_the_truncated_svd(rank: int) -> None:
    # Batches drawn around fixed directions (a gradient that is nearly low-rank, as a layer's is). Once
    # warm, the streamed rank-k summary leaves at most 2 % more of the batch gradient's energy
    # (|G - M|^2 / |G|^2) unexplained than the optimal rank-k approximation (truncated SVD). 2 %: the
    # single streamed pass per batch converges on the directions of the *expected* gradient, while the
    # SVD follows each batch's sampling noise (64 samples); measured excess 0.2-0.9 % for k = 1, 2, 4.
    rng = np.random.default_rng(1)
    estimator = StreamingEigenEstimator(10, 30, rank, np.random.default_rng(2))
    excess = []
    for _ in range(30):
        xs, ds = _low_rank_stream(rng, 10, 30, 64, (4.0, 2.0, 1.0, 0.5, 0.25))
        estimator.start_batch()
        estimator.add_batch(xs, ds)
        gradient = ds.T @ xs / len(xs)
        u, s, vt = np.linalg.svd(gradient)
        best = (u[:, :rank] * s[:rank]) @ vt[:rank]
        energy = np.linalg.norm(gradient) ** 2
        streamed = np.linalg.norm(gradient - estimator.result().matrix()) ** 2 / energy
        optimal = np.linalg.norm(gradient - best) ** 2 / energy
        excess.append(streamed - optimal)
    assert np.mean(excess[-10:]) < 0.02, excess


def test_singular_value_estimate_tracks_the_leading_singular_value() -> None:
    rng = np.random.default_rng(3)
    estimator = StreamingEigenEstimator(10, 30, 1, np.random.default_rng(4))
    ratios = []
    for _ in range(20):
        xs, ds = _low_rank_stream(rng, 10, 30, 128, (3.0, 1.0))
        estimator.start_batch()
        estimator.add_batch(xs, ds)
        top = np.linalg.svd(ds.T @ xs / len(xs), compute_uv=False)[0]
        ratios.append(estimator.result().singular_values[0] / top)
    # within 10 % of sigma_1 once warm (same tolerance reasoning as above)
    assert abs(np.mean(ratios[-5:]) - 1.0) < 0.10, ratios


def test_rank_k_factors_are_orthonormal() -> None:
    rng = np.random.default_rng(5)
    estimator = StreamingEigenEstimator(8, 16, 4, rng)
    estimator.start_batch()
    estimator.add_batch(rng.standard_normal((32, 16)), rng.standard_normal((32, 8)))
    factors = estimator.result().x_factors
    np.testing.assert_allclose(factors.T @ factors, np.eye(4), atol=1e-10)


def test_memory_is_vectors_not_a_matrix() -> None:
    # The point of SBE: state O(rows + cols) per rank, never the (out, in) gradient matrix.
    estimator = StreamingEigenEstimator(50, 200, 2, np.random.default_rng(6))
    state = [value for value in vars(estimator).values() if isinstance(value, np.ndarray)]
    assert max(array.size for array in state) <= 2 * 200


def test_rank_larger_than_the_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="rank"):
        StreamingEigenEstimator(3, 10, 4, np.random.default_rng(0))


def test_result_before_any_sample_is_an_error() -> None:
    estimator = StreamingEigenEstimator(3, 10, 1, np.random.default_rng(0))
    estimator.start_batch()
    with pytest.raises(RuntimeError, match="no sample"):
        estimator.result()
