"""Convolutional networks on weight arrays: analog Conv2d on tiles, digital max-pooling and activations.

A :class:`Conv2d` keeps its kernel as one weight array (a :class:`~pulsetrain.model.tile.Tile` or a
:class:`~pulsetrain.model.network.FloatWeights`) of ``out_channels`` rows and ``in_channels·k·k``
(+1 bias line) columns: the unfolded kernel. Every output pixel is one matrix-vector product of that
array with the image patch under the kernel, so

* forward is ``patches Wᵀ`` over the batch of all patches of all images (one read per patch),
* backward is ``d W`` per patch, folded back onto the image (the transposed convolution),
* the update writes one rank-1 pulsed update per patch, in order, through the array's own ``update``
  (the tile's update path), as aihwkit's analog convolution does (its ``AnalogConv2d`` hands the
  unfolded inputs and errors to the tile as a batch of vectors).

By default (:attr:`ConvNet.compiled`) the per-image work runs through the compiled kernels of
:mod:`pulsetrain.model.conv_kernels`, which reproduce this module's NumPy path bit for bit.

Stride 1 and no padding ("valid"), which is what LeNet-5 needs. Images are ``(batch, channels, rows,
columns)``; patches flatten a ``(channels, k, k)`` window channel-major, the order of PyTorch's
``unfold`` and therefore of aihwkit's weight layout.

Networks by name (:data:`NETWORKS`):

* ``lenet5``: the network of aihwkit's example 4 (IBM/aihwkit ``examples/04_lenet5_training.py`` at 0001885d,
  ``create_analog_network``):
  conv 5x5 to 16 channels, tanh, 2x2 max-pool, conv 5x5 to 32 channels, tanh, 2x2 max-pool, tanh,
  flatten (512 on 28x28 images), 512-128 tanh, 128-10.
* ``mlp784``: 784-256-128-10 with the config's activation (no convolution).
* ``784-800-10``: one hidden layer of 800 with the config's activation, the smallest MNIST network of
  Wolters et al. (arXiv 2212.14337).

The fully connected networks take the data set's pixels as their input layer (784 on 28x28 images).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pulsetrain.model import conv_kernels, pulsed_update
from pulsetrain.model.network import (
    NAMED_NETWORKS,
    Activation,
    FloatArray,
    WeightArray,
    activate,
    derivative,
)

from pulsetrain.config import ConfigError

#: the network names ``--network`` accepts
NETWORKS = tuple(name for name in NAMED_NETWORKS if name)
#: the hidden layer widths of the fully connected networks by name
FULLY_CONNECTED_HIDDEN: dict[str, tuple[int, ...]] = {"mlp784": (256, 128), "784-800-10": (800,)}
#: bytes the patch matrices of one evaluation chunk may take, all stages together (see
#: :meth:`ConvNet.evaluation_chunk`): 128 MiB is ~200 LeNet-5 images on 28x28, where 4096 images at once
#: made the end-of-epoch evaluation peak at 3.7 GiB
EVALUATION_PATCH_BUDGET_BYTES = 128 * 2**20
#: images per evaluation chunk of a network without convolutions (its activations are small)
DENSE_EVALUATION_CHUNK = 4096


def unfold(images: FloatArray, kernel: int) -> FloatArray:
    """All ``kernel`` x ``kernel`` patches of ``images`` (B, C, H, W) as rows (B·H'·W', C·k·k).

    Rows run over images, then output rows, then output columns; each row is channel-major.
    """
    windows = sliding_window_view(images, (kernel, kernel), axis=(2, 3))  # (B, C, H', W', k, k)
    batch, channels, out_rows, out_cols = windows.shape[:4]
    patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(batch * out_rows * out_cols, -1)
    return np.ascontiguousarray(patches)


def fold(patch_grads: FloatArray, image_shape: tuple[int, int, int, int], kernel: int) -> FloatArray:
    """The adjoint of :func:`unfold`: patch rows (B·H'·W', C·k·k) summed back onto (B, C, H, W)."""
    batch, channels, rows, cols = image_shape
    out_rows, out_cols = rows - kernel + 1, cols - kernel + 1
    grads = patch_grads.reshape(batch, out_rows, out_cols, channels, kernel, kernel)
    images = np.zeros(image_shape)
    # k·k strided adds (25 for LeNet) instead of one add per patch
    for i in range(kernel):
        for j in range(kernel):
            images[:, :, i : i + out_rows, j : j + out_cols] += grads[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return images


def max_pool(images: FloatArray, size: int = 2) -> tuple[FloatArray, FloatArray]:
    """``size`` x ``size`` max-pooling (rows and columns cut to multiples of size) and its routing mask.

    The mask marks, per window, the first position holding the maximum: the backward pass sends the
    window's gradient there only (PyTorch's ``MaxPool2d`` convention).
    """
    batch, channels, rows, cols = images.shape
    cut = images[:, :, : rows - rows % size, : cols - cols % size]
    windows = cut.reshape(batch, channels, rows // size, size, cols // size, size).transpose(0, 1, 2, 4, 3, 5)
    flat = windows.reshape(batch, channels, rows // size, cols // size, size * size)
    first = np.argmax(flat, axis=-1)
    mask = np.zeros_like(flat)
    np.put_along_axis(mask, first[..., None], 1.0, axis=-1)
    return np.take_along_axis(flat, first[..., None], axis=-1)[..., 0], mask


def max_pool_backward(grads: FloatArray, mask: FloatArray, image_shape: tuple[int, ...]) -> FloatArray:
    """Route pooled gradients (B, C, H/s, W/s) to the positions :func:`max_pool` chose."""
    batch, channels, rows, cols = image_shape
    size = int(round(np.sqrt(mask.shape[-1])))
    routed = (mask * grads[..., None]).reshape(batch, channels, rows // size, cols // size, size, size)
    full = np.zeros(image_shape)
    full[:, :, : rows - rows % size, : cols - cols % size] = routed.transpose(0, 1, 2, 4, 3, 5).reshape(
        batch, channels, rows - rows % size, cols - cols % size
    )
    return full


class Conv2d:
    """A stride-1 valid convolution whose unfolded kernel is one weight array (see the module docstring)."""

    def __init__(self, array: WeightArray, in_channels: int, kernel: int, bias: bool) -> None:
        expected = in_channels * kernel * kernel + (1 if bias else 0)
        if array.in_size != expected:
            raise ConfigError(
                f"conv array in_size {array.in_size} must be in_channels·k·k (+1 bias) = {expected}"
            )
        self.array = array
        self.in_channels = in_channels
        self.kernel = kernel
        self.bias = bias
        self.out_channels = array.out_size
        #: unfold through the compiled kernel (:func:`~pulsetrain.model.conv_kernels.unfold_rows`, the
        #: same rows); set by the :class:`ConvNet` that holds the layer
        self.compiled = False

    def patches(self, images: FloatArray) -> FloatArray:
        """The array's input rows: every patch, with the bias line held at 1 when there is one."""
        if getattr(self, "compiled", False) and conv_kernels.AVAILABLE:
            return conv_kernels.unfold_rows(
                np.ascontiguousarray(images, dtype=np.float64), self.kernel, self.bias
            )  # type: ignore[no-any-return]
        rows = unfold(images, self.kernel)
        if not self.bias:
            return rows
        return np.concatenate([rows, np.ones((rows.shape[0], 1))], axis=1)

    def forward_patches(self, patches: FloatArray, batch: int, out_rows: int, out_cols: int) -> FloatArray:
        """Pre-activations (B, out_channels, H', W') from the patch rows (one array read per patch)."""
        out = self.array.forward(patches).reshape(batch, out_rows, out_cols, self.out_channels)
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2))

    def delta_rows(self, delta: FloatArray) -> FloatArray:
        """Errors (B, out_channels, H', W') as the array's output rows (B·H'·W', out_channels)."""
        return np.ascontiguousarray(delta.transpose(0, 2, 3, 1)).reshape(-1, self.out_channels)

    def backward(self, delta: FloatArray, image_shape: tuple[int, int, int, int]) -> FloatArray:
        """The error at the layer's input (B, C, H, W): ``d W`` per patch (one backward read), folded."""
        back = self.array.backward(self.delta_rows(delta))
        if self.bias:
            back = back[:, :-1]
        return fold(back, image_shape, self.kernel)

    def update(self, patches: FloatArray, delta: FloatArray, lr: float) -> None:
        """``W -= lr Σ_patches d xᵀ``: one rank-1 (pulsed, on a tile) update per patch, in order."""
        self.array.update(patches, self.delta_rows(delta), lr)


@dataclass(frozen=True, kw_only=True)
class ConvStage:
    """One convolution stage: its layer, then the activation, then max-pooling."""

    #: the convolution
    conv: Conv2d
    #: pooling window (1: none)
    pool: int = 2
    #: whether the activation is applied once more after pooling (aihwkit's example 4 does after its last)
    activate_after_pool: bool = False


@dataclass
class ConvTrace:
    """What a forward pass of a :class:`ConvNet` keeps for the backward pass and the updates."""

    #: per stage: the patch rows its array saw, the input shape, the activation output and the pool mask
    patches: list[FloatArray]
    shapes: list[tuple[int, int, int, int]]
    activated: list[FloatArray]
    masks: list[FloatArray]
    pooled: list[FloatArray]
    #: per fully connected layer: its input rows (bias included) and its output (logits last)
    inputs: list[FloatArray]
    outputs: list[FloatArray]


class ConvNet:
    """Convolution stages, then fully connected layers (linear last, into softmax), over weight arrays."""

    def __init__(
        self,
        stages: list[ConvStage],
        dense: list[WeightArray],
        activation: Activation,
        bias: bool,
        image_shape: tuple[int, int, int],
    ) -> None:
        self.stages = stages
        self.dense = dense
        self.activation = activation
        self.bias = bias
        self.image_shape = image_shape
        self.compiled = conv_kernels.AVAILABLE

    @property
    def compiled(self) -> bool:
        """Whether the per-image glue and the convolutions' reads and updates run through the compiled
        kernels of :mod:`pulsetrain.model.conv_kernels` (same random numbers, same results; the default
        where Numba is available). False keeps the NumPy path, the reference."""
        return self._compiled_path

    @compiled.setter
    def compiled(self, value: bool) -> None:
        self._compiled_path = bool(value)
        for stage in self.stages:
            stage.conv.compiled = self._compiled_path

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_compiled_path" not in state:  # a checkpoint from before the kernels
            self.compiled = conv_kernels.AVAILABLE

    def _compiled(self) -> bool:
        return self._compiled_path and conv_kernels.AVAILABLE

    def _with_bias(self, h: FloatArray) -> FloatArray:
        return np.concatenate([h, np.ones((h.shape[0], 1))], axis=1) if self.bias else h

    def trace(self, x: FloatArray) -> ConvTrace:
        """Forward pass over flattened images ``x`` (B, C·H·W), keeping what the updates need."""
        batch = x.shape[0]
        h = x.reshape(batch, *self.image_shape)
        trace = ConvTrace(patches=[], shapes=[], activated=[], masks=[], pooled=[], inputs=[], outputs=[])
        compiled = self._compiled()
        for stage in self.stages:
            kernel = stage.conv.kernel
            shape = (batch, h.shape[1], h.shape[2], h.shape[3])
            out_rows, out_cols = shape[2] - kernel + 1, shape[3] - kernel + 1
            if compiled:
                patches = stage.conv.patches(h)
                array = stage.conv.array
                if conv_kernels.serves_reads(array):
                    rows = conv_kernels.forward_rows(array, patches)
                else:
                    rows = np.asarray(array.forward(patches), dtype=np.float64)
                pre = conv_kernels.channels_first(rows, batch, out_rows, out_cols)
                activated = activate(pre, self.activation)
                pooled, mask = conv_kernels.max_pool_mask(activated, stage.pool)
            else:
                patches = stage.conv.patches(h)
                pre = stage.conv.forward_patches(patches, batch, out_rows, out_cols)
                activated = activate(pre, self.activation)
                pooled, mask = max_pool(activated, stage.pool)
            if stage.activate_after_pool:
                pooled = activate(pooled, self.activation)
            trace.patches.append(patches)
            trace.shapes.append(shape)
            trace.activated.append(activated)
            trace.masks.append(mask)
            trace.pooled.append(pooled)
            h = pooled
        flat = h.reshape(batch, -1)
        last = len(self.dense) - 1
        for index, array in enumerate(self.dense):
            layer_input = self._with_bias(flat)
            if compiled and conv_kernels.serves_reads(array):
                pre = conv_kernels.forward_rows(array, np.ascontiguousarray(layer_input, dtype=np.float64))
            else:
                pre = array.forward(layer_input)
            flat = pre if index == last else activate(pre, self.activation)
            trace.inputs.append(layer_input)
            trace.outputs.append(flat)
        return trace

    def forward(self, x: FloatArray) -> FloatArray:
        """Logits (B, n_classes)."""
        return self.trace(x).outputs[-1]

    def backprop(
        self, trace: ConvTrace, grad_logits: FloatArray
    ) -> tuple[list[FloatArray], list[FloatArray]]:
        """Errors of every convolution stage (at its pre-activation) and of every dense layer."""
        dense_deltas: list[FloatArray] = [grad_logits]
        for index in range(len(self.dense) - 1, -1, -1):
            if index == 0 and not self.stages:
                break  # no convolution below takes the first dense layer's error: skip that read
            if self._compiled() and conv_kernels.serves_reads(self.dense[index]):
                back = conv_kernels.backward_dense_rows(self.dense[index], dense_deltas[0])
            else:
                back = self.dense[index].backward(dense_deltas[0])
            if self.bias:
                back = back[:, :-1]
            if index == 0:
                break
            dense_deltas.insert(0, back * derivative(trace.outputs[index - 1], self.activation))
        conv_deltas: list[FloatArray] = []
        if not self.stages:
            return conv_deltas, dense_deltas
        grad = back.reshape(trace.pooled[-1].shape)
        compiled = self._compiled() and self.activation in (Activation.TANH, Activation.SIGMOID)
        for index in range(len(self.stages) - 1, -1, -1):
            stage = self.stages[index]
            if stage.activate_after_pool:
                grad = grad * derivative(trace.pooled[index], self.activation)
            if compiled:
                delta = conv_kernels.routed_delta(
                    np.ascontiguousarray(grad),
                    trace.masks[index],
                    trace.activated[index],
                    self.activation is Activation.TANH,
                )
            else:
                grad = max_pool_backward(grad, trace.masks[index], trace.activated[index].shape)
                delta = grad * derivative(trace.activated[index], self.activation)
            conv_deltas.insert(0, delta)
            if index > 0:  # the input image needs no error: the first stage reads nothing backward
                if compiled and conv_kernels.serves_reads(stage.conv.array):
                    grad = self._compiled_backward(stage.conv, delta, trace.shapes[index])
                else:
                    grad = stage.conv.backward(delta, trace.shapes[index])
        return conv_deltas, dense_deltas

    @staticmethod
    def _compiled_backward(conv: Conv2d, delta: FloatArray, shape: tuple[int, int, int, int]) -> FloatArray:
        """:meth:`Conv2d.backward` of a tile through the compiled kernels (same numbers)."""
        back = conv_kernels.backward_rows(conv.array, delta)
        return conv_kernels.fold_rows(back, shape[0], shape[1], shape[2], shape[3], conv.kernel)  # type: ignore[no-any-return]

    def update(
        self, trace: ConvTrace, conv_deltas: list[FloatArray], dense_deltas: list[FloatArray], lr: float
    ) -> None:
        """One update per layer: per patch on the convolutions, per sample on the dense layers."""
        self.update_convolutions(trace, conv_deltas, lr)
        compiled = self._compiled()
        for array, layer_input, delta in zip(self.dense, trace.inputs, dense_deltas, strict=True):
            if compiled and conv_kernels.CompiledLayerLoop.serves(array):
                # a TTv2-family layer: its samples' loop in one compiled call, as the convolutions'
                conv_kernels.CompiledLayerLoop.run(
                    array,
                    np.ascontiguousarray(layer_input, dtype=np.float64),
                    np.ascontiguousarray(delta, dtype=np.float64),
                )
            else:
                array.update(layer_input, delta, lr)

    def update_convolutions(self, trace: ConvTrace, conv_deltas: list[FloatArray], lr: float) -> None:
        """The convolutions' updates only (one per patch, input side first)."""
        compiled = self._compiled()
        for stage, patches, delta in zip(self.stages, trace.patches, conv_deltas, strict=True):
            array = stage.conv.array
            if compiled and conv_kernels.compiled_update(array):
                # Tile.update's float-source path with its lines built in one compiled pass
                lines = conv_kernels.update_lines(patches, delta, array._line_divisor(None))  # type: ignore[union-attr]
                pulsed_update.stochastic_update(array, lines, lr)
            elif compiled and conv_kernels.CompiledLayerLoop.serves(array):
                # a TTv2-family layer: its per-patch loop in one compiled call
                conv_kernels.CompiledLayerLoop.run(array, patches, stage.conv.delta_rows(delta))
            else:
                stage.conv.update(patches, delta, lr)

    def feature_map_shapes(self) -> list[tuple[int, int, int]]:
        """(out_channels, rows, columns) of every convolution's output, before pooling."""
        shapes = []
        _, rows, cols = self.image_shape
        for stage in self.stages:
            rows, cols = rows - stage.conv.kernel + 1, cols - stage.conv.kernel + 1
            shapes.append((stage.conv.out_channels, rows, cols))
            rows, cols = rows // stage.pool, cols // stage.pool
        return shapes

    def patch_bytes_per_image(self) -> int:
        """Bytes of the patch matrices one image's forward pass holds, all stages together: the
        unfolded patches and, with a bias line, the copy that appends it (both alive at once)."""
        total = 0
        for stage, (_, rows, cols) in zip(self.stages, self.feature_map_shapes(), strict=True):
            width = stage.conv.in_channels * stage.conv.kernel**2
            copies = 2 if stage.conv.bias else 1
            total += rows * cols * (width + 1 if stage.conv.bias else width) * 8 * copies
        return total

    def evaluation_chunk(self, budget_bytes: int | None = None) -> int:
        """Images per forward chunk whose patch matrices fit ``budget_bytes`` (at least 1; default
        :data:`EVALUATION_PATCH_BUDGET_BYTES`), or :data:`DENSE_EVALUATION_CHUNK` for a network without
        convolutions."""
        per_image = self.patch_bytes_per_image()
        if per_image == 0:
            return DENSE_EVALUATION_CHUNK
        budget = EVALUATION_PATCH_BUDGET_BYTES if budget_bytes is None else budget_bytes
        return max(1, budget // per_image)

    def arrays(self) -> list[WeightArray]:
        """Every weight array, input side first."""
        return [stage.conv.array for stage in self.stages] + list(self.dense)


def network_shapes(
    name: str, image_shape: tuple[int, int, int], n_classes: int, bias: bool
) -> dict[str, list]:
    """The layers of a named network: ``convs`` (in_channels, out_channels, kernel, pool, after) and
    ``dense`` (out_size, in_size) array shapes, bias lines included."""
    extra = 1 if bias else 0
    channels, rows, cols = image_shape
    if name in FULLY_CONNECTED_HIDDEN:
        sizes = (channels * rows * cols, *FULLY_CONNECTED_HIDDEN[name], n_classes)
        return {"convs": [], "dense": [(sizes[i + 1], sizes[i] + extra) for i in range(len(sizes) - 1)]}
    if name != "lenet5":
        raise ConfigError(f"network {name!r} is not known; choose one of {', '.join(NETWORKS)}")
    convs = [(channels, 16, 5, 2, False), (16, 32, 5, 2, True)]
    for _, _, kernel, pool, _ in convs:
        rows, cols = (rows - kernel + 1) // pool, (cols - kernel + 1) // pool
        if rows < 1 or cols < 1:
            raise ConfigError(f"network lenet5 needs images of at least 16x16 pixels, not {image_shape}")
    flat = 32 * rows * cols
    return {"convs": convs, "dense": [(128, flat + extra), (n_classes, 128 + extra)]}


def build_network(
    name: str,
    image_shape: tuple[int, int, int],
    n_classes: int,
    *,
    make_array: Callable[[int, int], WeightArray],
    activation: Activation = Activation.TANH,
    bias: bool = True,
) -> ConvNet:
    """The named network over arrays from ``make_array(out_size, in_size)`` (called input side first)."""
    shapes = network_shapes(name, image_shape, n_classes, bias)
    stages = [
        ConvStage(
            conv=Conv2d(
                make_array(out_ch, in_ch * kernel * kernel + (1 if bias else 0)), in_ch, kernel, bias
            ),
            pool=pool,
            activate_after_pool=after,
        )
        for in_ch, out_ch, kernel, pool, after in shapes["convs"]
    ]
    dense = [make_array(out, inp) for out, inp in shapes["dense"]]
    return ConvNet(stages, dense, activation, bias, image_shape)
