"""Streaming batch eigenupdates on the networks known by name: SBE on the fully connected layers.

The fully connected layers are written as on an MLP (:mod:`pulsetrain.model.algorithms.sbe`): the batch's
inputs and errors stream through one digital estimator per layer, and the tile receives ``rank`` rank-1
pulsed updates per batch. The convolutions are not: their gradient sums over every patch of every image
of the batch, and they are written with per-patch analog SGD (one pulsed update per patch, as ``sgd``
does). The results say so (``algorithm.note``, from the catalogue's ``named_network_note``), and count
both kinds of array update.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pulsetrain.model.algorithms.base import FloatArray
from pulsetrain.model.algorithms.conv_backprop import NamedNetworkAlgorithm
from pulsetrain.model.algorithms.sbe import StreamingEigenEstimator, write_eigenupdate
from pulsetrain.model.conv import ConvTrace
from pulsetrain.model.network import WeightArray
from pulsetrain.model.tile import Tile


class NamedNetworkSbe(NamedNetworkAlgorithm):
    """SBE on the fully connected tiles of a named network, per-patch analog SGD on its convolutions."""

    def __init__(self, config: Any, layer_sizes: tuple[int, ...], seed: np.random.SeedSequence) -> None:
        super().__init__(config, layer_sizes, seed)
        settings = config.sbe
        self.estimators: list[StreamingEigenEstimator] = []
        for array in self.net.dense:
            rank = min(settings.rank, array.out_size, array.in_size)
            estimator = StreamingEigenEstimator(
                array.out_size, array.in_size, rank, self.spawn_rng(), warm_start=settings.warm_start
            )
            self.estimators.append(estimator)
        #: rank-1 pulsed updates written to the fully connected tiles (SBE)
        self.array_updates = 0
        #: rank-1 pulsed updates written to the convolution tiles (one per patch)
        self.patch_updates = 0
        #: batches trained
        self.batches = 0

    def make_array(self, out_size: int, in_size: int, weights: FloatArray) -> WeightArray:
        tile = self.make_tile(out_size, in_size)
        tile.set_weights(weights)
        return tile

    def step(self, trace: ConvTrace, grad_logits: FloatArray) -> None:
        conv_deltas, dense_deltas = self.net.backprop(trace, grad_logits)
        lr = self.config.lr
        self.net.update_convolutions(trace, conv_deltas, lr)
        self.patch_updates += sum(patches.shape[0] for patches in trace.patches)
        for array, estimator, layer_input, delta in zip(
            self.net.dense, self.estimators, trace.inputs, dense_deltas, strict=True
        ):
            assert isinstance(array, Tile)
            self.array_updates += write_eigenupdate(array, estimator, layer_input, delta, lr)
        self.batches += 1

    def extra_results(self) -> dict[str, Any]:
        """The network's layers, SBE's rank and counts, and the per-patch updates of the convolutions."""
        results = super().extra_results()
        results.update(
            {
                "rank": self.config.sbe.rank,
                "batches": self.batches,
                "array_updates": self.array_updates,
                "conv_patch_updates": self.patch_updates,
            }
        )
        return results
