"""The plug-in interface every learning algorithm implements.

The training loop (:func:`pulsetrain.model.training.train`) knows nothing about any algorithm: it builds
one through the registry (:mod:`pulsetrain.model.algorithms`), feeds it batches, asks it for predictions
and pulse counts, and saves its state for checkpoints. An algorithm is a subclass of :class:`Algorithm`:

.. code-block:: python

    class MyAlgorithm(Algorithm):
        name = "mine"                      # the --algo name; register it in algorithms/__init__.py

        def __init__(self, config, layer_sizes, seed):
            super().__init__(config, layer_sizes, seed)
            # build arrays: self.make_tile(out, in) uses config.device / io / backward_io / update /
            # mapping / pulse_source and draws its own seeds; override any of them per call
            ...

        def train_batch(self, x, labels) -> float: ...   # one optimizer step on a batch, returns the loss
        def predict(self, x) -> logits: ...              # inference through the analog forward path
        def pulse_counts(self) -> {"layer0": {"A": .., "C": ..}, ...}

Contract
--------
* ``__init__(config, layer_sizes, seed)``: ``config`` is the fully resolved
  :class:`~pulsetrain.model.training.TrainConfig` (algorithm sections such as ``config.tiki_taka`` are
  fields of it); ``layer_sizes`` is ``(n_inputs, *hidden, n_classes)`` *without* bias lines (add one
  input line per layer when ``config.network.bias``); ``seed`` is a :class:`numpy.random.SeedSequence`
  owned by the algorithm. Draw every random generator from it, in a fixed order
  (:meth:`Algorithm.spawn_rng`, :meth:`Algorithm.make_tile`), so that one seed reproduces one run.
* ``train_batch(x, labels)``: ``x`` (batch, n_inputs) float64 in [0, 1], ``labels`` (batch,) int64;
  performs one training step (for batch > 1 the loss is the batch mean; analog updates are written one
  rank-1 update per sample unless the algorithm says otherwise) and returns the mean loss.
* ``predict(x)``: logits (batch, n_classes) through the same (noisy, quantized) forward path the
  hardware would use. Accuracy is ``argmax`` of these.
* ``pulse_counts()``: ``{layer_name: {array_name: total_pulses}}``, e.g. ``{"layer0": {"W": 1234}}``
  for SGD and ``{"layer0": {"A": .., "C": ..}}`` for the TTv2 family; layer names ``layer0``,
  ``layer1``, ... input side first. ``device_pulse_counts()`` gives the per-device matrices (endurance).
* ``weights()``: the effective logical weight matrix of every layer (``(out, in + bias)``), noise-free;
  used for reproducibility digests and tests.
* State for checkpoints: the training loop saves the whole algorithm object between epochs and
  restores it on ``--resume`` (:mod:`pulsetrain.model.checkpoint`: JSON plus NumPy arrays, walked with the
  pickle protocol's ``__getstate__`` / ``__setstate__``, no pickle). Keep *all* state in attributes of
  plain values, NumPy arrays, ``numpy.random.Generator`` objects and instances of pulsetrain classes;
  nothing else (open files, lambdas, functions, objects of other libraries). A resumed run must then
  continue bit for bit. Override :meth:`Algorithm.__getstate__` only if something needs special treatment.
* ``extra_results()``: optional algorithm-specific numbers (JSON-ready) merged into the results under
  ``"algorithm"``.
"""

from __future__ import annotations

import abc
import hashlib
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.devices import DeviceConfig
from pulsetrain.model.network import softmax_cross_entropy
from pulsetrain.model.pulses import make_pulse_source
from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig

if TYPE_CHECKING:
    from pulsetrain.model.training import TrainConfig

FloatArray = NDArray[np.float64]


class Algorithm(abc.ABC):
    """Base class of the learning algorithms (see the module docstring for the contract)."""

    #: the ``--algo`` name
    name: ClassVar[str] = "base"

    def __init__(
        self, config: TrainConfig, layer_sizes: tuple[int, ...], seed: np.random.SeedSequence
    ) -> None:
        self.config = config
        self.layer_sizes = tuple(layer_sizes)
        self.seed = seed

    # ------------------------------------------------------------------ helpers for subclasses
    def spawn_seed(self) -> np.random.SeedSequence:
        """A fresh child seed (each call gives the next one; call in a fixed order)."""
        return self.seed.spawn(1)[0]

    def spawn_rng(self) -> np.random.Generator:
        """A fresh generator from :meth:`spawn_seed`."""
        return np.random.default_rng(self.spawn_seed())

    def array_shapes(self) -> list[tuple[int, int]]:
        """``(out_size, in_size)`` of every layer's weight array, bias line included."""
        extra = 1 if self.config.network.bias else 0
        return [
            (self.layer_sizes[i + 1], self.layer_sizes[i] + extra) for i in range(len(self.layer_sizes) - 1)
        ]

    def make_tile(
        self,
        out_size: int,
        in_size: int,
        *,
        device: DeviceConfig | None = None,
        forward_io: IOConfig | None = None,
        backward_io: IOConfig | None = None,
        update: UpdateConfig | None = None,
        output_scale: float | FloatArray | None = None,
        pulse_source: str | None = None,
    ) -> Tile:
        """A :class:`~pulsetrain.model.tile.Tile` with the config's settings unless overridden.

        Draws two child seeds (one for the tile's devices and noise, one for its pulse source).
        """
        config = self.config
        tile_seed, pulse_seed = self.spawn_seed(), self.spawn_seed()
        return Tile(
            out_size,
            in_size,
            device=config.device if device is None else device,
            forward_io=config.io if forward_io is None else forward_io,
            backward_io=config.backward_io if backward_io is None else backward_io,
            update=config.update if update is None else update,
            output_scale=config.mapping if output_scale is None else output_scale,
            pulse_source=make_pulse_source(
                config.pulse_source if pulse_source is None else pulse_source, pulse_seed, in_size, out_size
            ),
            rng=np.random.default_rng(tile_seed),
        )

    # ------------------------------------------------------------------ the interface
    @abc.abstractmethod
    def train_batch(self, x: FloatArray, labels: NDArray[np.int64]) -> float:
        """One training step on a batch; returns the mean loss."""

    @abc.abstractmethod
    def predict(self, x: FloatArray) -> FloatArray:
        """Logits (batch, n_classes) through the inference path."""

    @abc.abstractmethod
    def pulse_counts(self) -> dict[str, dict[str, int]]:
        """Total pulses per layer and array: ``{"layer0": {"W": n}, ...}``."""

    @abc.abstractmethod
    def weights(self) -> list[FloatArray]:
        """Effective logical weights of every layer, input side first."""

    def device_pulse_counts(self) -> dict[str, dict[str, NDArray[np.int64]]]:
        """Per-device pulse counts per layer and array (endurance); empty when nothing is pulsed."""
        return {}

    def extra_results(self) -> dict[str, Any]:
        """Algorithm-specific JSON-ready results (merged under ``"algorithm"``)."""
        return {}

    def weights_digest(self) -> str:
        """SHA-256 of all weights (float64 bytes): equal digests mean identical weights."""
        digest = hashlib.sha256()
        for matrix in self.weights():
            digest.update(np.ascontiguousarray(matrix, dtype=np.float64).tobytes())
        return digest.hexdigest()


class BackpropThroughMlp:
    """Training step and inference of the algorithms that backpropagate through an MLP (``self.mlp``).

    Mixed into ``fp``, ``sgd`` and the TTv2 family, which differ only in what their layers are.
    """

    mlp: Any
    config: Any

    def train_batch(self, x: NDArray[np.float64], labels: NDArray[np.int64]) -> float:
        trace = self.mlp.trace(x)
        loss, grad = softmax_cross_entropy(trace.outputs[-1], labels)
        deltas = self.mlp.backprop(trace, grad)
        self.mlp.update(trace, deltas, self.config.lr)
        return loss

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.mlp.forward(x)  # type: ignore[no-any-return]


class OneTilePerLayer:
    """Results of algorithms whose layers are each one analog tile (``self.tiles``) in an MLP (``self.mlp``).

    Mixed into analog SGD, DFA and SBE, which differ only in how they compute and write the update.
    """

    tiles: list[Tile]
    mlp: Any

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.mlp.forward(x)  # type: ignore[no-any-return]

    def weights(self) -> list[NDArray[np.float64]]:
        return [tile.weights() for tile in self.tiles]

    def pulse_counts(self) -> dict[str, dict[str, int]]:
        return {f"layer{i}": {"W": tile.total_pulses} for i, tile in enumerate(self.tiles)}

    def device_pulse_counts(self) -> dict[str, dict[str, NDArray[np.int64]]]:
        return {f"layer{i}": {"W": tile.pulse_counts.copy()} for i, tile in enumerate(self.tiles)}
