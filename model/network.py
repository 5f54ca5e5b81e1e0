"""Multi-layer perceptrons over weight arrays (analog tiles or float matrices), softmax cross-entropy.

An :class:`MLP` is a stack of :class:`WeightArray` objects (anything with ``forward``, ``backward``,
``update`` on batches: a :class:`~pulsetrain.model.tile.Tile`, a :class:`FloatWeights`, or an
algorithm's compound such as TTv2's A/C pair) with an activation after every hidden layer and a linear
output layer whose logits feed softmax cross-entropy. A bias is an extra input line held at 1 (as on an
analog tile, where the bias is one more row of devices), so array ``l`` has ``in_size = n_{l-1} + 1``.

Shapes: batches are rows, ``x`` is ``(batch, features)``; an array's weight matrix is ``(out, in)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from pulsetrain.config import ConfigError, check_choice, check_int

FloatArray = NDArray[np.float64]


class Activation(enum.Enum):
    """Activation of the hidden layers."""

    SIGMOID = "sigmoid"
    TANH = "tanh"
    RELU = "relu"


def activate(pre: FloatArray, activation: Activation) -> FloatArray:
    """``f(pre)`` elementwise."""
    if activation is Activation.SIGMOID:
        return 0.5 * (1.0 + np.tanh(0.5 * pre))  # the tanh form never overflows
    if activation is Activation.TANH:
        return np.tanh(pre)
    return np.maximum(pre, 0.0)


def derivative(post: FloatArray, activation: Activation) -> FloatArray:
    """``f'(pre)`` written in terms of the activation's output ``post = f(pre)``."""
    if activation is Activation.SIGMOID:
        return post * (1.0 - post)
    if activation is Activation.TANH:
        return 1.0 - post * post
    return (post > 0.0).astype(np.float64)


#: networks known by name (``--network``, built by :mod:`pulsetrain.model.conv`); "": the MLP of ``hidden``.
#: ``784-800-10`` is the smallest MNIST MLP of Wolters et al. (arXiv 2212.14337).
NAMED_NETWORKS = ("", "lenet5", "mlp784", "784-800-10")

#: Defaults a named network brings (dotted config keys; any source the user gives still wins).
#: ``lenet5`` trains with the mapping and learning rate of aihwkit's example 4, which it reproduces
#: (IBM/aihwkit ``examples/04_lenet5_training.py`` at 0001885d: ``SingleRPUConfig`` without weight
#: scaling, so one logical weight is one device unit, and lr 0.01). With the code's default output
#: scale 3 every backward read carries 3x the read noise in weight units (the periphery is aihwkit's:
#: ``BackwardIOParameters`` is ``IOParameters``, out_noise 0.06, with bound management off), and analog
#: SGD on LeNet-5 did not learn: Fashion-MNIST, 1000 images, 1 epoch, validation accuracy 9.8 % at the
#: code's defaults (scale 3, lr 0.05), 13.4 % at scale 3 and lr 0.01, 71.8 % with these (fp: 74.8 %;
#: ``benchmarks/bench_lenet.py --mapping-grid``).
NAMED_NETWORK_DEFAULTS: dict[str, dict[str, float]] = {"lenet5": {"mapping.output_scale": 1.0, "lr": 0.01}}


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """Shape of the multi-layer perceptron (input and output sizes come from the data set)."""

    #: Sizes of the hidden layers, input side first (``--hidden 32 --hidden 16`` or ``"32,16"``).
    hidden: tuple[int, ...] = (32,)
    #: Activation after every hidden layer (the output layer is linear, into softmax).
    activation: Activation = Activation.TANH
    #: Whether every layer has a bias (an extra input line held at 1).
    bias: bool = True
    #: A network by name (``lenet5``, ``mlp784``, ``784-800-10``) instead of the MLP of ``hidden``; "" for
    #: that MLP.
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.hidden, tuple):
            object.__setattr__(self, "hidden", tuple(self.hidden))
        for size in self.hidden:
            check_int("network.hidden", size, 1, 100_000)
        check_choice("network.activation", self.activation, list(Activation))
        if self.name not in NAMED_NETWORKS:
            names = ", ".join(name for name in NAMED_NETWORKS if name)
            raise ConfigError(
                f"network.name must be one of {names} (empty: the MLP of network.hidden), not {self.name!r}"
            )


@runtime_checkable
class WeightArray(Protocol):
    """What an MLP needs from one layer's weights ``W`` (out_size, in_size)."""

    in_size: int
    out_size: int

    def forward(self, x: FloatArray) -> FloatArray:
        """``x`` (batch, in_size) -> ``x Wᵀ`` (batch, out_size)."""
        ...

    def backward(self, d: FloatArray) -> FloatArray:
        """``d`` (batch, out_size) -> ``d W`` (batch, in_size)."""
        ...

    def update(self, x: FloatArray, d: FloatArray, lr: float) -> None:
        """``W -= lr Σ_b d_b x_bᵀ``."""
        ...

    def weights(self) -> FloatArray:
        """The logical weight matrix (out_size, in_size)."""
        ...


class FloatWeights:
    """An exact floating-point weight matrix (the ``fp`` baseline and digital parts of algorithms)."""

    def __init__(self, weights: FloatArray) -> None:
        self.w = np.array(weights, dtype=np.float64)
        self.out_size, self.in_size = self.w.shape

    def forward(self, x: FloatArray) -> FloatArray:
        return x @ self.w.T

    def backward(self, d: FloatArray) -> FloatArray:
        return d @ self.w

    def update(self, x: FloatArray, d: FloatArray, lr: float) -> None:
        self.w -= lr * (d.T @ x)

    def weights(self) -> FloatArray:
        return self.w.copy()

    def set_weights(self, weights: FloatArray) -> None:
        self.w = np.array(weights, dtype=np.float64)


def layer_sizes(n_inputs: int, hidden: tuple[int, ...], n_outputs: int) -> tuple[int, ...]:
    """All layer widths, input to output: ``(n_inputs, *hidden, n_outputs)``."""
    return (n_inputs, *hidden, n_outputs)


def initial_weights(rng: np.random.Generator, out_size: int, in_size: int, bias: bool) -> FloatArray:
    """Glorot-uniform weights ``U(±sqrt(6 / (fan_in + fan_out)))``, bias column (last) at 0."""
    fan_in = in_size - 1 if bias else in_size
    limit = np.sqrt(6.0 / (fan_in + out_size))
    weights = rng.uniform(-limit, limit, size=(out_size, in_size))
    if bias:
        weights[:, -1] = 0.0
    return weights


def softmax_cross_entropy(logits: FloatArray, labels: NDArray[np.int64]) -> tuple[float, FloatArray]:
    """Mean cross-entropy of softmax(logits) against integer ``labels`` and its gradient wrt the logits."""
    # ufunc reductions called directly: ndarray.max/.sum are Python wrappers around exactly these
    # (same results), and at batch 1 the wrappers cost more than the arithmetic
    shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = np.add.reduce(exp, axis=1, keepdims=True)
    batch = logits.shape[0]
    rows = np.arange(batch)
    loss = float(np.add.reduce(np.log(total[:, 0]) - shifted[rows, labels])) / batch
    grad = exp / total
    grad[rows, labels] -= 1.0
    grad /= batch
    return loss, grad


@dataclass
class Trace:
    """What a forward pass keeps for the backward pass and the updates."""

    #: per layer, the (batch, in_size) input the array saw (bias column included)
    inputs: list[FloatArray]
    #: per layer, the (batch, out_size) output after the activation (logits for the last layer)
    outputs: list[FloatArray]


class MLP:
    """A multi-layer perceptron over weight arrays."""

    def __init__(self, arrays: list[WeightArray], activation: Activation, bias: bool) -> None:
        self.arrays = arrays
        self.activation = activation
        self.bias = bias

    def _with_bias(self, h: FloatArray) -> FloatArray:
        if not self.bias:
            return h
        with_bias = np.empty((h.shape[0], h.shape[1] + 1))
        with_bias[:, :-1] = h
        with_bias[:, -1] = 1.0
        return with_bias

    def trace(self, x: FloatArray) -> Trace:
        """Forward pass keeping every layer's input and output."""
        inputs: list[FloatArray] = []
        outputs: list[FloatArray] = []
        h = x
        last = len(self.arrays) - 1
        for index, array in enumerate(self.arrays):
            layer_input = self._with_bias(h)
            pre = array.forward(layer_input)
            h = pre if index == last else activate(pre, self.activation)
            inputs.append(layer_input)
            outputs.append(h)
        return Trace(inputs=inputs, outputs=outputs)

    def forward(self, x: FloatArray) -> FloatArray:
        """Logits (batch, n_classes)."""
        return self.trace(x).outputs[-1]

    def backprop(self, trace: Trace, grad_logits: FloatArray) -> list[FloatArray]:
        """Errors ``δ_l`` (batch, out_size_l) of every layer by backpropagation through the arrays.

        ``δ_last = grad_logits``; ``δ_l = (W_{l+1}ᵀ δ_{l+1})[:, :n_l] ⊙ f'(h_l)`` (the bias line dropped),
        each ``Wᵀ δ`` read through the array's backward periphery.
        """
        deltas: list[FloatArray] = [grad_logits]
        for index in range(len(self.arrays) - 1, 0, -1):
            back = self.arrays[index].backward(deltas[0])
            if self.bias:
                back = back[:, :-1]
            deltas.insert(0, back * derivative(trace.outputs[index - 1], self.activation))
        return deltas

    def update(self, trace: Trace, deltas: list[FloatArray], lr: float) -> None:
        """``W_l -= lr Σ_b δ_l xᵀ_l`` for every layer."""
        for array, layer_input, delta in zip(self.arrays, trace.inputs, deltas, strict=True):
            array.update(layer_input, delta, lr)
