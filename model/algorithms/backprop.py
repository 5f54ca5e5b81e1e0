"""Backpropagation: the floating-point baseline (``fp``) and analog SGD on tiles (``sgd``).

Both run the same MLP: forward through every layer, errors backward layer by layer (layer l needs
δ_{l+1}), then one update per layer. ``fp`` uses exact float matrices (``W -= lr Σ_b δ_b x_bᵀ``); ``sgd``
reads forward and backward through each tile's periphery and writes the update as pulses (one rank-1
pulsed update per sample, see :meth:`pulsetrain.model.tile.Tile.update`).
"""

from __future__ import annotations

from typing import ClassVar

from pulsetrain.model.algorithms.base import Algorithm, BackpropThroughMlp, FloatArray, OneTilePerLayer
from pulsetrain.model.network import (
    MLP,
    FloatWeights,
    WeightArray,
    initial_weights,
)
from pulsetrain.model.tile import Tile


class _Backprop(BackpropThroughMlp, Algorithm):
    """Shared loop of ``fp`` and ``sgd``: subclasses build ``self.arrays``."""

    def _build(self, arrays: list[WeightArray]) -> None:
        network = self.config.network
        self.arrays = arrays
        self.mlp = MLP(arrays, network.activation, network.bias)

    def weights(self) -> list[FloatArray]:
        return [array.weights() for array in self.arrays]


class FloatingPointBackprop(_Backprop):
    """Exact floating-point backpropagation with SGD: the baseline (no devices, no periphery)."""

    name: ClassVar[str] = "fp"

    def __init__(self, config, layer_sizes, seed):  # type: ignore[no-untyped-def]
        super().__init__(config, layer_sizes, seed)
        rng = self.spawn_rng()
        bias = config.network.bias
        self._build([FloatWeights(initial_weights(rng, out, inp, bias)) for out, inp in self.array_shapes()])

    def pulse_counts(self) -> dict[str, dict[str, int]]:
        return {f"layer{i}": {"W": 0} for i in range(len(self.arrays))}


class AnalogSGD(OneTilePerLayer, _Backprop):
    """Backpropagation with analog SGD: every layer one tile, updates written as pulses."""

    name: ClassVar[str] = "sgd"

    def __init__(self, config, layer_sizes, seed):  # type: ignore[no-untyped-def]
        super().__init__(config, layer_sizes, seed)
        rng = self.spawn_rng()
        bias = config.network.bias
        tiles: list[Tile] = []
        for out, inp in self.array_shapes():
            tile = self.make_tile(out, inp)
            tile.set_weights(initial_weights(rng, out, inp, bias))
            tiles.append(tile)
        self.tiles = tiles
        self._build(list(tiles))
