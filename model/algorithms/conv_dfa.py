"""Direct feedback alignment on the networks known by name, with feedback into the convolutions.

As on an MLP (:mod:`pulsetrain.model.algorithms.dfa`), the output error ``e`` reaches every hidden layer
through its own fixed random matrix ``B_l``, never trained. A convolution's "layer" is its output
feature map before pooling, ``(out_channels, rows, columns)``, flattened: ``B_l`` has
``out_channels·rows·columns`` rows, and the error of the convolution at each output pixel is

    δ_l = reshape(B_l e) ⊙ f'(a_l)

(``a_l`` the activated map before pooling). Every pixel gets its own projected error, so no error is
routed back through the pooling or through the convolutions above it: all layers update in parallel
after the forward pass, each convolution with one pulsed update per patch. The hidden fully connected
layers get ``(B_l e) ⊙ f'(h_l)``, the output layer ``e``. The feedback lives on read-only analog tiles or
is an ideal digital product (``dfa.feedback``), as for the MLP
(:func:`~pulsetrain.model.algorithms.dfa.build_feedback`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pulsetrain.model.algorithms.base import FloatArray
from pulsetrain.model.algorithms.conv_backprop import NamedNetworkAlgorithm
from pulsetrain.model.algorithms.dfa import FeedbackProjection, build_feedback
from pulsetrain.model.conv import ConvTrace
from pulsetrain.model.network import WeightArray, derivative


class NamedNetworkDfa(NamedNetworkAlgorithm):
    """DFA on a named network: analog tiles, fixed random feedback into every hidden layer."""

    def __init__(self, config: Any, layer_sizes: tuple[int, ...], seed: np.random.SeedSequence) -> None:
        super().__init__(config, layer_sizes, seed)
        #: (out_channels, rows, columns) of every convolution's output, which its feedback fills
        self.map_shapes = self.net.feature_map_shapes()
        sizes = [int(np.prod(shape)) for shape in self.map_shapes]
        sizes += [array.out_size for array in self.net.dense[:-1]]
        self.feedback: FeedbackProjection = build_feedback(self, tuple(sizes), layer_sizes[-1])

    def make_array(self, out_size: int, in_size: int, weights: FloatArray) -> WeightArray:
        tile = self.make_tile(out_size, in_size)
        tile.set_weights(weights)
        return tile

    def errors(self, trace: ConvTrace, error: FloatArray) -> tuple[list[FloatArray], list[FloatArray]]:
        """The errors of every convolution (per output pixel) and every dense layer from ``e`` alone."""
        activation = self.config.network.activation
        projected = self.feedback.project(error)
        batch = error.shape[0]
        n_conv = len(self.map_shapes)
        conv_deltas = [
            p.reshape(batch, *shape) * derivative(activated, activation)
            for p, shape, activated in zip(projected[:n_conv], self.map_shapes, trace.activated, strict=True)
        ]
        dense_deltas = [
            p * derivative(h, activation) for p, h in zip(projected[n_conv:], trace.outputs[:-1], strict=True)
        ]
        dense_deltas.append(error)
        return conv_deltas, dense_deltas

    def step(self, trace: ConvTrace, grad_logits: FloatArray) -> None:
        conv_deltas, dense_deltas = self.errors(trace, grad_logits)
        self.net.update(trace, conv_deltas, dense_deltas, self.config.lr)

    def extra_results(self) -> dict[str, Any]:
        """The network's layers, the feedback path and which layers it feeds."""
        results = super().extra_results()
        results["feedback"] = self.config.dfa.feedback.value
        results["feedback_rows"] = [int(m.shape[0]) for m in self.feedback.matrices]
        return results
