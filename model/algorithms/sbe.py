"""Streaming batch eigenupdates (SBE, Hoskins et al., arXiv 1903.01635, Front. Neurosci. 2019).

A mini-batch gradient ``G = (1/B) sum_j d_j x_j^T`` (``out_size x in_size``) would cost ``B`` rank-1
pulsed updates on a crossbar (or one per sample with plain SGD). SBE keeps only its leading singular
pair, estimated *while the batch streams by* with memory ``O(in_size + out_size)``, and writes one rank-1
pulsed update per batch. Per sample ``j`` of the batch (docs/science.md §2, a bi-iterative power
iteration)::

    X_{j+1} = j/(j+1) X_j + 1/(j+1) x_j (d_j . D_j) / |D_j|
    D_{j+1} = j/(j+1) D_j + 1/(j+1) d_j (x_j . X_{j+1}) / |X_{j+1}|

so that at the end of the batch ``X ~ G^T D^`` and ``D ~ G X^`` (hats: unit vectors): one step of the
power iteration on ``G``, whose fixed point is the top singular pair with ``D = sigma_1 D^``. The
iteration is warm-started from the previous batch's vectors, which is why one pass per batch suffices
once the gradient's dominant direction changes slowly. The update is then ``-lr * D X^^T``
(``= -lr * sigma_1 D^ X^^T``), a rank-1 outer product that the pulsed update applies in one go.

Rank k keeps ``k`` pairs and orthonormalizes them at every sample (Oja's subspace rule, QR instead of
the normalisations above): ``X ~ G^T Q_D``, ``D ~ G Q_X``, and ``G Q_X Q_X^T = sum_m D_m Q_X,m^T`` is
written as ``k`` rank-1 updates. For ``k = 1`` this reduces exactly to the equations above.

The estimator is pure digital vector arithmetic (the SBE unit of the periphery); the algorithm class
at the bottom drives it per layer, applies the rank-k update to the tiles and counts array updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.algorithms.base import Algorithm, OneTilePerLayer
from pulsetrain.model.algorithms.configs import SbeSettings
from pulsetrain.model.network import MLP, initial_weights, softmax_cross_entropy
from pulsetrain.model.tile import Tile

FloatArray = NDArray[np.float64]

_TINY = 1e-30


def _orthonormal(vectors: FloatArray) -> FloatArray:
    """Columns of ``vectors`` made orthonormal (QR with a sign fix so column directions are kept).

    A zero column (nothing streamed yet in that direction) stays zero instead of becoming an arbitrary
    unit vector, so that it contributes nothing to the estimate.
    """
    if vectors.shape[1] == 1:
        norm = float(np.sqrt(vectors[:, 0] @ vectors[:, 0]))
        return vectors / norm if norm > _TINY else np.zeros_like(vectors)
    q, r = np.linalg.qr(vectors)
    diagonal = np.diag(r)
    signs = np.where(diagonal < 0.0, -1.0, 1.0)
    q = q * signs[None, :]
    q[:, np.abs(diagonal) <= _TINY] = 0.0
    return q


@dataclass(frozen=True, eq=False)
class EigenUpdate:
    """The rank-k summary of one batch's gradient: ``G ~ sum_m d_factors[:, m] x_factors[:, m]^T``."""

    #: (out_size, k): ``D`` at the end of the batch, ``~ G Q_X`` (column m has norm ``~ sigma_m``).
    d_factors: FloatArray
    #: (in_size, k): orthonormal ``Q_X`` (unit vectors ``X^``).
    x_factors: FloatArray
    #: (k,): the Rayleigh estimates ``D^_m^T G X^_m`` of the singular values, running means of the
    #: per-sample projections ``(d_j . D^_m)(x_j . X^_m)``.
    singular_values: FloatArray

    @property
    def rank(self) -> int:
        """Number of rank-1 updates this summary costs on the array."""
        return int(self.x_factors.shape[1])

    def matrix(self) -> FloatArray:
        """The dense rank-k approximation of the batch gradient (for tests and diagnostics)."""
        return self.d_factors @ self.x_factors.T


class StreamingEigenEstimator:
    """Streams the samples of a batch and returns the leading ``rank`` singular pairs of its gradient.

    Parameters
    ----------
    out_size, in_size
        Shape of the layer's weight matrix (``d`` has ``out_size`` entries, ``x`` has ``in_size``).
    rank
        Number of singular pairs (``k``).
    rng
        Random generator of the first (cold) start vectors.
    warm_start
        Start each batch from the previous batch's vectors (True, as in Hoskins et al.) or from fresh
        random vectors.
    """

    def __init__(
        self, out_size: int, in_size: int, rank: int, rng: np.random.Generator, *, warm_start: bool = True
    ) -> None:
        if rank < 1 or rank > min(out_size, in_size):
            raise ValueError(f"rank must be in 1..{min(out_size, in_size)}, not {rank!r}")
        self.out_size = out_size
        self.in_size = in_size
        self.rank = rank
        self.warm_start = warm_start
        self._rng = rng
        self._d = self._random(out_size)
        self._x = self._random(in_size)
        self._count = 0
        self._projection_sum = np.zeros(rank)
        self._q_d = _orthonormal(self._d)

    def _random(self, size: int) -> FloatArray:
        return self._rng.standard_normal((size, self.rank))

    @property
    def samples(self) -> int:
        """Samples streamed in the current batch."""
        return self._count

    def start_batch(self) -> None:
        """Forget the running means; keep the directions (warm start) or draw new ones."""
        if not self.warm_start:
            self._d = self._random(self.out_size)
            self._x = self._random(self.in_size)
        self._q_d = _orthonormal(self._d)
        self._count = 0
        self._projection_sum = np.zeros(self.rank)

    def add(self, x: FloatArray, d: FloatArray) -> None:
        """Stream one sample's input ``x`` (in_size,) and error ``d`` (out_size,) into the estimate."""
        j = self._count
        keep = j / (j + 1.0)
        new = 1.0 / (j + 1.0)
        # X_{j+1} = j/(j+1) X_j + 1/(j+1) x_j (d_j . D^_j): the half step of the power iteration on G^T
        d_projection = d @ self._q_d
        self._x = keep * self._x + new * np.outer(x, d_projection) if j else np.outer(x, d_projection)
        q_x = _orthonormal(self._x)
        # D_{j+1} = j/(j+1) D_j + 1/(j+1) d_j (x_j . X^_{j+1}): the half step on G
        x_projection = x @ q_x
        self._d = keep * self._d + new * np.outer(d, x_projection) if j else np.outer(d, x_projection)
        self._q_d = _orthonormal(self._d)
        self._projection_sum += (d @ self._q_d) * (x @ q_x)
        self._count = j + 1

    def add_batch(self, xs: FloatArray, ds: FloatArray) -> None:
        """Stream the rows of ``xs`` (batch, in_size) and ``ds`` (batch, out_size) in order."""
        for x, d in zip(xs, ds, strict=True):
            self.add(x, d)

    def result(self) -> EigenUpdate:
        """The rank-k summary of the batch streamed since :meth:`start_batch`."""
        if self._count == 0:
            raise RuntimeError("no sample was streamed in this batch")
        q_x = _orthonormal(self._x)
        return EigenUpdate(
            d_factors=self._d.copy(),
            x_factors=q_x,
            singular_values=self._projection_sum / self._count,
        )


def write_eigenupdate(
    tile: Tile, estimator: StreamingEigenEstimator, inputs: FloatArray, deltas: FloatArray, lr: float
) -> int:
    """Stream one batch's ``inputs`` and ``deltas`` through ``estimator`` and write the rank-k summary to
    ``tile`` as pulsed rank-1 updates; returns how many were written."""
    batch = inputs.shape[0]
    # the loss is the batch mean, so the gradient is sum_b delta_b x_b^T = mean_b (B delta_b) x_b^T, which
    # is what the estimator's running means summarise
    estimator.start_batch()
    estimator.add_batch(inputs, deltas * batch)
    summary = estimator.result()
    # a batch of B samples has a gradient of rank <= B: at B < rank only the B leading pairs carry it, and
    # only they are written (and counted)
    used = min(summary.rank, batch)
    tile.update(summary.x_factors[:, :used].T, summary.d_factors[:, :used].T, lr)
    return used


class StreamingBatchEigenupdate(OneTilePerLayer, Algorithm):
    """SBE on analog tiles: backpropagation, then one rank-k pulsed update per layer per batch.

    The forward and backward passes are the same as analog SGD's (through each tile's periphery). The
    per-sample errors and inputs of a batch stream through one :class:`StreamingEigenEstimator` per
    layer (the digital SBE unit); at the end of the batch the layer's tile receives ``rank`` rank-1
    pulsed updates ``-lr D_m X^_m^T`` instead of the ``batch`` updates of mini-batch SGD. The number of
    rank-1 array updates is counted (:attr:`array_updates`).
    """

    name: ClassVar[str] = "sbe"

    def __init__(self, config, layer_sizes, seed):  # type: ignore[no-untyped-def]
        super().__init__(config, layer_sizes, seed)
        settings: SbeSettings = config.sbe
        self.settings = settings
        rng = self.spawn_rng()
        bias = config.network.bias
        self.tiles: list[Tile] = []
        self.estimators: list[StreamingEigenEstimator] = []
        # tiles first, in the same order of seeds as analog SGD: at batch 1 both runs see the same devices
        for out_size, in_size in self.array_shapes():
            tile = self.make_tile(out_size, in_size)
            tile.set_weights(initial_weights(rng, out_size, in_size, bias))
            self.tiles.append(tile)
        for out_size, in_size in self.array_shapes():
            rank = min(settings.rank, out_size, in_size)
            self.estimators.append(
                StreamingEigenEstimator(
                    out_size, in_size, rank, self.spawn_rng(), warm_start=settings.warm_start
                )
            )
        self.mlp = MLP(list(self.tiles), config.network.activation, bias)
        #: rank-1 pulsed updates written to the arrays, all layers together
        self.array_updates = 0
        #: batches trained
        self.batches = 0

    def train_batch(self, x: FloatArray, labels: NDArray[np.int64]) -> float:
        trace = self.mlp.trace(x)
        loss, grad = softmax_cross_entropy(trace.outputs[-1], labels)
        deltas = self.mlp.backprop(trace, grad)
        for tile, estimator, layer_input, delta in zip(
            self.tiles, self.estimators, trace.inputs, deltas, strict=True
        ):
            self.array_updates += write_eigenupdate(tile, estimator, layer_input, delta, self.config.lr)
        self.batches += 1
        return loss

    def extra_results(self) -> dict[str, Any]:
        """Rank, batches and the number of rank-1 array updates written (all layers)."""
        return {
            "rank": self.settings.rank,
            "batches": self.batches,
            "array_updates": self.array_updates,
        }
