"""MLP forward/backward over float weights against finite differences; softmax cross-entropy."""

from __future__ import annotations

import numpy as np
import pytest
from pulsetrain.model.network import (
    MLP,
    Activation,
    FloatWeights,
    NetworkConfig,
    activate,
    derivative,
    initial_weights,
    softmax_cross_entropy,
)

from pulsetrain.config import ConfigError


def _loss(mlp: MLP, x: np.ndarray, labels: np.ndarray) -> float:
    return softmax_cross_entropy(mlp.forward(x), labels)[0]


@pytest.mark.parametrize("activation", list(Activation), ids=lambda a: a.value)
def test_derivative_matches_finite_differences(activation: Activation) -> None:
    pre = np.linspace(-3, 3, 13) + 0.05  # avoid relu's kink at 0
    h = 1e-6
    numeric = (activate(pre + h, activation) - activate(pre - h, activation)) / (2 * h)
    np.testing.assert_allclose(derivative(activate(pre, activation), activation), numeric, atol=1e-6)


def test_softmax_cross_entropy_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 5))
    labels = np.array([0, 3, 4, 1])
    _, grad = softmax_cross_entropy(logits, labels)
    numeric = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        shifted = logits.copy()
        shifted[index] += 1e-6
        up = softmax_cross_entropy(shifted, labels)[0]
        shifted[index] -= 2e-6
        numeric[index] = (up - softmax_cross_entropy(shifted, labels)[0]) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-7)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
def test_backprop_update_is_the_gradient_step(bias: bool) -> None:
    rng = np.random.default_rng(1)
    sizes = [(7, 4 + bias), (3, 7 + bias)]
    arrays = [FloatWeights(initial_weights(rng, out, inp, bias)) for out, inp in sizes]
    mlp = MLP(arrays, Activation.TANH, bias)  # type: ignore[arg-type]
    x = rng.uniform(0, 1, size=(5, 4))
    labels = np.array([0, 1, 2, 1, 0])
    before = [a.weights() for a in arrays]
    numeric = []
    for array in arrays:
        grad = np.zeros_like(array.w)
        for index in np.ndindex(array.w.shape):
            array.w[index] += 1e-6
            up = _loss(mlp, x, labels)
            array.w[index] -= 2e-6
            grad[index] = (up - _loss(mlp, x, labels)) / 2e-6
            array.w[index] += 1e-6
        numeric.append(grad)
    trace = mlp.trace(x)
    _, grad_logits = softmax_cross_entropy(trace.outputs[-1], labels)
    mlp.update(trace, mlp.backprop(trace, grad_logits), lr=0.1)
    for array, start, grad in zip(arrays, before, numeric, strict=True):
        np.testing.assert_allclose(array.weights(), start - 0.1 * grad, atol=1e-8)


def test_hidden_size_zero_is_refused() -> None:
    with pytest.raises(ConfigError, match="network.hidden"):
        NetworkConfig(hidden=(32, 0))


def test_initial_bias_column_is_zero() -> None:
    weights = initial_weights(np.random.default_rng(0), 10, 65, bias=True)
    assert np.all(weights[:, -1] == 0) and np.all(np.abs(weights) <= np.sqrt(6 / 74))
