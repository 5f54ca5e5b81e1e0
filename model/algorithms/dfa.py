"""Direct feedback alignment (``dfa``, Nøkland, arXiv 1609.01596) on analog tiles.

The output error ``e`` (the gradient of the loss at the logits) reaches every hidden layer directly
through a fixed random matrix ``B_l`` (``d_l x d_out``), never trained::

    δ_L = e,   δ_l = (B_l e) ⊙ f'(h_l),   ΔW_l = -lr δ_l h_{l-1}^T

All δ_l depend only on e, so after the forward pass every layer projects and updates in parallel, where
backpropagation must walk back layer by layer (δ_l needs δ_{l+1}). The per-sample latency in periphery
cycles of both schedules comes from :mod:`pulsetrain.model.schedule` (the same plan the RTL schedule
controller runs): "a factor approaching N for N layers" (Wolters et al., arXiv 2212.14337).

The feedback matrices live either on their own read-only analog tiles, read through the same forward
periphery as the weight tiles (DAC, output noise, ADC; programmed once, never pulsed) or as an ideal
digital product (``dfa.feedback``). The analog option costs area and energy and adds read noise and
quantization to the projected errors; the digital one is DFA's accuracy upper bound.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.algorithms.base import Algorithm, FloatArray, OneTilePerLayer
from pulsetrain.model.algorithms.configs import DfaSettings
from pulsetrain.model.network import MLP, FloatWeights, derivative, initial_weights, softmax_cross_entropy
from pulsetrain.model.tile import Tile

from pulsetrain.periphery.schedule import FeedbackPath, ScheduleConfig, ScheduleMode

#: fraction of the nominal device bound that the largest feedback entry is programmed to: leaves room
#: for the device-to-device spread of the bounds (30 % by default) so few entries clip
_FEEDBACK_RANGE_FRACTION = 0.5


def feedback_matrices(
    rng: np.random.Generator, hidden_sizes: tuple[int, ...], n_outputs: int, scale: float
) -> list[FloatArray]:
    """One fixed random ``B_l`` (``d_l x n_outputs``) per hidden layer, uniform in ``±scale/sqrt(n_out)``.

    The ``1/sqrt(n_out)`` keeps ``B_l e`` at the size of one output error for any output width.
    """
    limit = scale / np.sqrt(n_outputs)
    return [rng.uniform(-limit, limit, size=(size, n_outputs)) for size in hidden_sizes]


class FeedbackProjection:
    """Computes ``B_l e`` for every hidden layer, on read-only analog tiles or digitally.

    Parameters
    ----------
    matrices
        The feedback matrices ``B_l`` (``d_l x n_out``), input side first.
    tiles
        For analog feedback, one read-only tile per matrix, already programmed with it; ``None`` for
        the ideal digital product.
    """

    def __init__(self, matrices: list[FloatArray], tiles: list[Tile] | None) -> None:
        self.matrices = [np.array(m, dtype=np.float64) for m in matrices]
        self.tiles = tiles
        self._digital = [FloatWeights(m) for m in self.matrices]

    @property
    def analog(self) -> bool:
        """True when the projection reads analog tiles."""
        return self.tiles is not None

    def project(self, error: FloatArray) -> list[FloatArray]:
        """``B_l e`` for every hidden layer: ``error`` (batch, n_out) -> list of (batch, d_l)."""
        arrays: list[Any] = self.tiles if self.tiles is not None else self._digital
        return [array.forward(error) for array in arrays]


def build_feedback(algorithm: Algorithm, sizes: tuple[int, ...], n_out: int) -> FeedbackProjection:
    """The fixed random feedback of ``algorithm`` onto layers of ``sizes`` outputs (``dfa`` settings).

    The matrices come from ``seed + dfa.feedback_seed_offset`` (a new draw of B without a new run); with
    analog feedback each is programmed onto its own read-only tile (two seeds drawn from the algorithm's
    seed per tile, in layer order).
    """
    config = algorithm.config
    settings: DfaSettings = config.dfa
    matrices = feedback_matrices(
        np.random.default_rng(config.seed + settings.feedback_seed_offset),
        sizes,
        n_out,
        settings.feedback_scale,
    )
    if settings.feedback is not FeedbackPath.ANALOG:
        return FeedbackProjection(matrices, None)
    feedback_tiles: list[Tile] = []
    w_max = config.device.nominal_w_max
    for matrix in matrices:
        largest = float(np.max(np.abs(matrix)))
        # program B onto the device range with its own digital output scale (a read-only array is
        # written once and may use the whole range)
        scale = largest / (_FEEDBACK_RANGE_FRACTION * w_max) if np.isfinite(w_max) else 1.0
        tile = algorithm.make_tile(matrix.shape[0], n_out, output_scale=scale)
        tile.set_weights(matrix)
        feedback_tiles.append(tile)
    return FeedbackProjection(matrices, feedback_tiles)


class DirectFeedbackAlignment(OneTilePerLayer, Algorithm):
    """DFA: every hidden layer learns from the output error through a fixed random projection."""

    name: ClassVar[str] = "dfa"

    def __init__(self, config, layer_sizes, seed):  # type: ignore[no-untyped-def]
        super().__init__(config, layer_sizes, seed)
        settings: DfaSettings = config.dfa
        self.settings = settings
        rng = self.spawn_rng()
        bias = config.network.bias
        self.tiles: list[Tile] = []
        for out_size, in_size in self.array_shapes():
            tile = self.make_tile(out_size, in_size)
            tile.set_weights(initial_weights(rng, out_size, in_size, bias))
            self.tiles.append(tile)
        self.mlp = MLP(list(self.tiles), config.network.activation, bias)
        self.feedback = build_feedback(self, tuple(self.layer_sizes[1:-1]), self.layer_sizes[-1])

    # ------------------------------------------------------------------ training
    def errors(self, outputs: list[FloatArray], error: FloatArray) -> list[FloatArray]:
        """δ of every layer from the output error: ``(B_l e) ⊙ f'(h_l)``, ``e`` for the last layer."""
        activation = self.config.network.activation
        projected = self.feedback.project(error)
        deltas = [p * derivative(h, activation) for p, h in zip(projected, outputs[:-1], strict=True)]
        deltas.append(error)
        return deltas

    def train_batch(self, x: FloatArray, labels: NDArray[np.int64]) -> float:
        trace = self.mlp.trace(x)
        loss, grad = softmax_cross_entropy(trace.outputs[-1], labels)
        self.mlp.update(trace, self.errors(trace.outputs, grad), self.config.lr)
        return loss

    # ------------------------------------------------------------------ schedule
    def schedule_config(self, mode: ScheduleMode = ScheduleMode.DFA) -> ScheduleConfig:
        """The per-sample schedule of this network (``mode`` DFA or BP) for the periphery controller."""
        base = ScheduleConfig(mode=mode, layer_sizes=tuple(self.layer_sizes))
        timing = dataclasses.replace(base.timing, feedback=self.settings.feedback)
        return dataclasses.replace(base, timing=timing)

    def extra_results(self) -> dict[str, Any]:
        """The feedback path and the per-sample latency of DFA versus BP in periphery cycles."""
        from pulsetrain.model.schedule import training_schedule

        dfa = training_schedule(self.schedule_config(ScheduleMode.DFA))
        bp = training_schedule(self.schedule_config(ScheduleMode.BP))
        return {
            "feedback": self.settings.feedback.value,
            "dfa_cycles_per_sample": dfa.total_cycles,
            "bp_cycles_per_sample": bp.total_cycles,
            "speedup": bp.total_cycles / dfa.total_cycles,
            "training_speedup": bp.training_cycles / dfa.training_cycles,
        }
