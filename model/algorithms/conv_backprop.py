"""fp and analog SGD on the networks known by name (``--network lenet5`` / ``mlp784``).

Every layer, convolutions included, is one weight array: a float matrix for ``fp``, an analog tile for
``sgd`` (:meth:`~pulsetrain.model.algorithms.base.Algorithm.make_tile`, so the config's device, periphery
and pulse source apply). The convolutions write one pulsed update per patch (see
:mod:`pulsetrain.model.conv`). Images are taken as square: ``n_features`` is ``channels·side²`` with
one channel, or three when one does not make a square (CIFAR-10's 3x32x32).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.algorithms.base import Algorithm, FloatArray
from pulsetrain.model.conv import build_network
from pulsetrain.model.network import FloatWeights, WeightArray, initial_weights, softmax_cross_entropy
from pulsetrain.model.tile import Tile

from pulsetrain.config import ConfigError


def square_image_shape(n_features: int) -> tuple[int, int, int]:
    """(channels, side, side) of a flattened square image of ``n_features`` pixels (1 or 3 channels)."""
    for channels in (1, 3):
        side = math.isqrt(n_features // channels)
        if channels * side * side == n_features:
            return (channels, side, side)
    raise ConfigError(
        f"a named network needs square images of 1 or 3 channels; {n_features} features are not"
    )


class NamedNetworkBackprop(Algorithm):
    """Backpropagation through a named network: exact floats (``fp``) or analog tiles (``sgd``)."""

    name: ClassVar[str] = "named-network"

    def __init__(self, config: Any, layer_sizes: tuple[int, ...], seed: np.random.SeedSequence) -> None:
        super().__init__(config, layer_sizes, seed)
        rng = self.spawn_rng()
        bias = config.network.bias
        self.tiles: list[Tile] = []

        def make_array(out_size: int, in_size: int) -> WeightArray:
            weights = initial_weights(rng, out_size, in_size, bias)
            if config.algo == "fp":
                return FloatWeights(weights)
            tile = self.make_tile(out_size, in_size)
            tile.set_weights(weights)
            self.tiles.append(tile)
            return tile

        self.net = build_network(
            config.network.name,
            square_image_shape(layer_sizes[0]),
            layer_sizes[-1],
            make_array=make_array,
            activation=config.network.activation,
            bias=bias,
        )

    def train_batch(self, x: FloatArray, labels: NDArray[np.int64]) -> float:
        trace = self.net.trace(x)
        loss, grad = softmax_cross_entropy(trace.outputs[-1], labels)
        conv_deltas, dense_deltas = self.net.backprop(trace, grad)
        self.net.update(trace, conv_deltas, dense_deltas, self.config.lr)
        return loss

    def predict(self, x: FloatArray) -> FloatArray:
        return self.net.forward(x)

    def weights(self) -> list[FloatArray]:
        return [array.weights() for array in self.net.arrays()]

    def pulse_counts(self) -> dict[str, dict[str, int]]:
        return {f"layer{i}": {"W": tile.total_pulses} for i, tile in enumerate(self.tiles)} or {
            f"layer{i}": {"W": 0} for i in range(len(self.net.arrays()))
        }

    def device_pulse_counts(self) -> dict[str, dict[str, NDArray[np.int64]]]:
        return {f"layer{i}": {"W": tile.pulse_counts.copy()} for i, tile in enumerate(self.tiles)}
