"""The learning algorithms on the networks known by name (``--network lenet5`` / ``mlp784`` / ``784-800-10``).

Every layer, convolutions included, is one weight array of the algorithm's kind: a float matrix for
``fp``, an analog tile for ``sgd`` (:meth:`~pulsetrain.model.algorithms.base.Algorithm.make_tile`, so the
config's device, periphery and pulse source apply), a TTv2-family layer (tiles A and C and their transfer
periphery, :func:`~pulsetrain.model.algorithms.tiki_taka.build_tiki_taka_layer`) for ``ttv2``, ``c-ttv2``
and ``agad``. A convolution hands its array one row per image patch (see :mod:`pulsetrain.model.conv`):
one pulsed rank-1 update of the tile (of A for the TTv2 family) per patch, and for the TTv2 family one
step of the transfer counter per patch, as aihwkit counts ``transfer_every`` in matrix-vector products
for its TTv2 / c-TTv2 / AGAD presets (``units_in_mbatch=False`` in ``build_config``,
IBM/aihwkit ``src/aihwkit/simulator/configs/helpers.py`` at 4545f11b).

``dfa`` and ``sbe`` differ in how they compute or write the errors: :mod:`.conv_dfa`, :mod:`.conv_sbe`.
Which class trains which algorithm here is declared in :data:`pulsetrain.catalogue.ALGORITHMS`
(``named_network``). Images are taken as square: ``n_features`` is ``channels·side²`` with one channel,
or three when one does not make a square (CIFAR-10's 3x32x32).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.algorithms.base import Algorithm, FloatArray
from pulsetrain.model.algorithms.tiki_taka import TikiTakaLayer, build_tiki_taka_layer, tiki_taka_results
from pulsetrain.model.conv import ConvNet, ConvTrace, build_network
from pulsetrain.model.network import FloatWeights, WeightArray, initial_weights, softmax_cross_entropy
from pulsetrain.model.tile import Tile

from pulsetrain import catalogue
from pulsetrain.config import ConfigError
from pulsetrain.periphery.transfer import TransferMode


def square_image_shape(n_features: int) -> tuple[int, int, int]:
    """(channels, side, side) of a flattened square image of ``n_features`` pixels (1 or 3 channels)."""
    for channels in (1, 3):
        side = math.isqrt(n_features // channels)
        if channels * side * side == n_features:
            return (channels, side, side)
    raise ConfigError(
        f"a named network needs square images of 1 or 3 channels; {n_features} features are not"
    )


class NamedNetworkAlgorithm(Algorithm):
    """A named network whose arrays :meth:`make_array` builds; the training step is :meth:`step`.

    Arrays are built input side first, the initial weights (Glorot, bias 0) drawn from one generator
    spawned first, so every algorithm starts from the same weights for one seed.
    """

    name: ClassVar[str] = "named-network"

    def __init__(self, config: Any, layer_sizes: tuple[int, ...], seed: np.random.SeedSequence) -> None:
        super().__init__(config, layer_sizes, seed)
        rng = self.spawn_rng()
        bias = config.network.bias

        def make_array(out_size: int, in_size: int) -> WeightArray:
            return self.make_array(out_size, in_size, initial_weights(rng, out_size, in_size, bias))

        self.net: ConvNet = build_network(
            config.network.name,
            square_image_shape(layer_sizes[0]),
            layer_sizes[-1],
            make_array=make_array,
            activation=config.network.activation,
            bias=bias,
        )

    def make_array(self, out_size: int, in_size: int, weights: FloatArray) -> WeightArray:
        """One layer's weight array holding ``weights`` (out_size, in_size)."""
        raise NotImplementedError

    def step(self, trace: ConvTrace, grad_logits: FloatArray) -> None:
        """Errors and updates of every layer after the forward pass (backpropagation by default)."""
        conv_deltas, dense_deltas = self.net.backprop(trace, grad_logits)
        self.net.update(trace, conv_deltas, dense_deltas, self.config.lr)

    def train_batch(self, x: FloatArray, labels: NDArray[np.int64]) -> float:
        trace = self.net.trace(x)
        loss, grad = softmax_cross_entropy(trace.outputs[-1], labels)
        self.step(trace, grad)
        return loss

    def predict(self, x: FloatArray) -> FloatArray:
        """Logits of ``x``, in chunks of :meth:`~pulsetrain.model.conv.ConvNet.evaluation_chunk` images:
        a batch's patch matrices grow with it (4096 LeNet-5 images: ~1.7 GB), so an evaluation of a
        whole data set is split to stay within a fixed memory budget."""
        chunk = self.net.evaluation_chunk()
        if x.shape[0] <= chunk:
            return self.net.forward(x)
        return np.concatenate(
            [self.net.forward(x[start : start + chunk]) for start in range(0, x.shape[0], chunk)]
        )

    def weights(self) -> list[FloatArray]:
        return [array.weights() for array in self.net.arrays()]

    def pulse_counts(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for i, array in enumerate(self.net.arrays()):
            devices = _array_pulses(array)
            # a float array (fp) has no devices and reports 0 pulses
            counts[f"layer{i}"] = {name: int(c.sum()) for name, c in devices.items()} if devices else {"W": 0}
        return counts

    def device_pulse_counts(self) -> dict[str, dict[str, NDArray[np.int64]]]:
        counts = {f"layer{i}": _array_pulses(array) for i, array in enumerate(self.net.arrays())}
        return {layer: devices for layer, devices in counts.items() if devices}

    def extra_results(self) -> dict[str, Any]:
        """The network, which layers are convolutions, and what the implementation does differently."""
        results: dict[str, Any] = {
            "network": self.config.network.name,
            "layers": ["conv"] * len(self.net.stages) + ["dense"] * len(self.net.dense),
        }
        note = catalogue.get_algorithm(self.config.algo).named_network_note
        if note:
            results["note"] = note
        return results


def _array_pulses(array: WeightArray) -> dict[str, NDArray[np.int64]]:
    """Per-device pulse counts of one layer's array: ``W`` of a tile, ``A`` and ``C`` of a TTv2 layer,
    nothing for a float array."""
    if isinstance(array, Tile):
        return {"W": array.pulse_counts}
    if isinstance(array, TikiTakaLayer):
        return {"A": array.fast.pulse_counts, "C": array.slow.pulse_counts}
    return {}


class NamedNetworkBackprop(NamedNetworkAlgorithm):
    """Backpropagation through a named network: exact floats (``fp``) or analog tiles (``sgd``)."""

    def make_array(self, out_size: int, in_size: int, weights: FloatArray) -> WeightArray:
        if self.config.algo == "fp":
            return FloatWeights(weights)
        tile = self.make_tile(out_size, in_size)
        tile.set_weights(weights)
        return tile


class NamedNetworkTikiTaka(NamedNetworkAlgorithm):
    """``ttv2``, ``c-ttv2`` and ``agad`` on a named network: every layer a TTv2-family layer.

    The mode comes from the algorithm's MLP class (its ``mode``), so the two implementations cannot
    disagree on which algorithm a name means.
    """

    def __init__(self, config: Any, layer_sizes: tuple[int, ...], seed: np.random.SeedSequence) -> None:
        mlp_class = catalogue.load(catalogue.get_algorithm(config.algo).implementation)
        self.mode: TransferMode = mlp_class.mode
        self.layers: list[TikiTakaLayer] = []
        super().__init__(config, layer_sizes, seed)

    def make_array(self, out_size: int, in_size: int, weights: FloatArray) -> WeightArray:
        layer = build_tiki_taka_layer(self, self.mode, out_size, in_size, weights)
        self.layers.append(layer)
        return layer

    def extra_results(self) -> dict[str, Any]:
        """The network's layers and the TTv2 family's endurance figures per layer."""
        results = super().extra_results()
        results.update(tiki_taka_results(self.layers, self.mode, self.config.tiki_taka.periphery))
        return results
