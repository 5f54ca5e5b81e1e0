"""Tiki-Taka v2 (``ttv2``), chopped TTv2 (``c-ttv2``) and AGAD (``agad``) on analog tiles.

Every layer is a :class:`TikiTakaLayer`: two analog tiles, A (fast: accumulates the gradient by pulsed
updates) and C (slow: holds the weights), plus a *transfer periphery* that holds all digital state (the
H buffer, column pointer, chopper signs, AGAD references) and makes every digital decision
(:mod:`pulsetrain.model.transfer`). The layer moves data between the tiles and the periphery in the
four transactions of that protocol, per training sample:

1. ``signs()``: chopper signs; the sample's update ``-fast_lr d x^T`` is written into A with the x lines
   (and d lines) multiplied by them (a sign flip of the pulse trains' sign lines).
2. the pulsed rank-1 update of A (stochastic pulse trains from the tile's pulse source).
3. ``step()``: every ``transfer_every`` samples the periphery names the columns to transfer.
4. per column: a one-hot read of A through the forward periphery (ADC codes), ``transfer(k, codes)``,
   and the returned signed pulse counts applied to column k of C.

The periphery is the float server (:class:`~pulsetrain.model.transfer.FloatTransferPeriphery`, NumPy
random flips, fast) or the bit-exact twin of the RTL (:class:`~pulsetrain.model.twins.transfer.
TwinTransferPeriphery`), picked with ``tiki_taka.periphery``; the co-simulation serves the same protocol
with the simulated Verilog. Both see the same analog tiles.

The three algorithms differ only in the periphery's mode (docs/science.md §2; Rasch et al., arXiv
2303.04721):

* ``ttv2``: no choppers; A is read against its reference array, whose per-device offset
  (``device.reference_offset_std``, σ_r; applied to A only, see :class:`TikiTakaFamily`) enters H
  unmodulated and biases every transfer.
* ``c-ttv2``: input (and optional output) choppers modulate the gradient written into A and demodulate
  the read, so a constant offset of A or its reference enters H with alternating sign and averages out.
* ``agad``: choppers plus a digital per-device reference taken at each chopper flip (the running mean of
  the reads of the previous chopper period); H accumulates ``c (read - reference)``, so any constant
  offset cancels. The tile's reference offset is still there physically; AGAD does not care.

A starts at its devices' symmetry point (where up and down steps balance: where the soft-bounds decay
pulls it anyway), C at the network's initial weights; the effective weight is ``gamma A + C``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.algorithms.base import Algorithm, BackpropThroughMlp, FloatArray
from pulsetrain.model.algorithms.configs import TikiTakaSettings, TransferServerKind
from pulsetrain.model.network import MLP, initial_weights
from pulsetrain.model.tile import Tile, as_rows
from pulsetrain.model.transfer import FloatTransferPeriphery, TransferPeriphery

from pulsetrain.config import ConfigError
from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode

#: the widest ADC code the transfer controller's config accepts
_MAX_TRANSFER_ADC_BITS = 16
#: chopper LFSR seeds are drawn below this (non-zero, within the LFSR width of the default config)
_LFSR_SEED_LIMIT = 1 << TransferControllerConfig().lfsr_bits


def transfer_controller_config(
    settings: TikiTakaSettings,
    mode: TransferMode,
    *,
    in_size: int,
    out_size: int,
    adc_bits: int | None,
    adc_lsb: float | None,
    dw_min: float,
    lr: float,
    seeds: tuple[int, int],
) -> TransferControllerConfig:
    """The digital config of one layer's transfer controller, derived from the algorithm settings.

    ``transfer_lr_per_lsb = lr * transfer_lr * adc_lsb / dw_min``: one ADC LSB of a read of A (device
    units per LSB: ``adc_lsb``) adds that much to H, which counts pulses on C (``dw_min`` device units
    each; A and C share the output scale, so device units compare directly). Without an ADC the reads
    are passed in units of ``dw_min`` (``adc_lsb = dw_min``) and the float server is required.
    """
    if adc_bits is None or adc_lsb is None:
        if settings.periphery is TransferServerKind.TWIN:
            raise ConfigError(
                "tiki_taka.periphery=twin needs integer ADC codes: set io.adc_bits (not an ideal ADC)"
            )
        bits, lsb = _MAX_TRANSFER_ADC_BITS, dw_min
    else:
        if adc_bits > _MAX_TRANSFER_ADC_BITS:
            raise ConfigError(
                f"io.adc_bits must be <= {_MAX_TRANSFER_ADC_BITS} for the TTv2 transfer controller, "
                f"not {adc_bits!r}"
            )
        bits, lsb = adc_bits, adc_lsb
    chopped = mode is not TransferMode.TTV2
    rule = settings.rule()  # the rule the user set, adjusted to the layer below
    rule["n_reads_per_transfer"] = min(settings.n_reads_per_transfer, in_size)
    rule["thres_scale"] = threshold_scale(settings, in_size)
    rule["in_chop_prob"] = settings.in_chop_prob if chopped else 0.0
    rule["out_chop_prob"] = settings.out_chop_prob if chopped else 0.0
    return TransferControllerConfig(
        **rule,
        mode=mode,
        in_size=in_size,
        out_size=out_size,
        adc_bits=bits,
        transfer_lr_per_lsb=lr * settings.transfer_lr * lsb / dw_min,
        in_chop_seed=seeds[0],
        out_chop_seed=seeds[1],
    )


def threshold_scale(settings: TikiTakaSettings, in_size: int) -> float:
    """The H threshold of a layer with ``in_size`` input lines, in units of one pulse on C.

    ``thres_scale``, times aihwkit's ``auto_granularity / (in_size * transfer_every)`` when
    ``auto_granularity`` is set (aihwkit's period ``in_size * transfer_every``: the samples between two
    reads of the same column at one read per transfer; aihwkit ignores ``n_reads_per_transfer`` here and
    so does this).
    """
    if settings.auto_granularity <= 0.0:
        return settings.thres_scale
    period = in_size * settings.transfer_every
    return settings.thres_scale * settings.auto_granularity / period


#: Builds one layer's transfer periphery from its digital config (and a generator for float servers).
TransferServerFactory = Callable[[TransferControllerConfig, np.random.Generator], TransferPeriphery]


def _twin_server(config: TransferControllerConfig, rng: np.random.Generator) -> TransferPeriphery:
    from pulsetrain.model.twins.transfer import TwinTransferPeriphery

    return TwinTransferPeriphery(config)


#: ``tiki_taka.periphery`` kind -> factory; the algorithm asks it once per layer, in layer order.
TRANSFER_SERVERS: dict[TransferServerKind, TransferServerFactory] = {
    TransferServerKind.FLOAT: FloatTransferPeriphery,
    TransferServerKind.TWIN: _twin_server,
}


def make_transfer_periphery(
    kind: TransferServerKind, config: TransferControllerConfig, rng: np.random.Generator
) -> TransferPeriphery:
    """The transfer periphery server ``kind`` for ``config`` (float: seeded from ``rng``)."""
    return TRANSFER_SERVERS[kind](config, rng)


@contextlib.contextmanager
def serving_transfer_periphery(kind: TransferServerKind, factory: TransferServerFactory) -> Iterator[None]:
    """Serve the transfer peripheries of ``kind`` with ``factory`` while the block runs.

    The co-simulation's seam: the pure-model run records each layer's config through a twin factory, and
    inside the simulator the RTL (held decision for decision to the twin) serves where the twin would.
    A periphery may carry a ``column_adc`` (:class:`~pulsetrain.model.periphery.ColumnAdc`): the layer
    then reads the columns of A through it.
    """
    original = TRANSFER_SERVERS[kind]
    TRANSFER_SERVERS[kind] = factory
    try:
        yield
    finally:
        TRANSFER_SERVERS[kind] = original


class TikiTakaLayer:
    """One TTv2-family layer: tiles A and C and their transfer periphery, as an MLP weight array.

    Parameters
    ----------
    fast, slow
        Tiles A and C (same shape, same output scale).
    periphery
        The transfer periphery of this layer (float server or twin).
    fast_lr
        Learning rate of the pulsed updates onto A.
    gamma
        Weight of A in the effective weight ``gamma A + C``.
    """

    def __init__(
        self, fast: Tile, slow: Tile, periphery: TransferPeriphery, *, fast_lr: float, gamma: float
    ) -> None:
        if (fast.out_size, fast.in_size) != (slow.out_size, slow.in_size):
            raise ValueError("tiles A and C must have the same shape")
        self.fast = fast
        self.slow = slow
        self.periphery = periphery
        # a periphery with its own ADC readout (the co-simulation's RTL) converts the column reads of A
        column_adc = getattr(periphery, "column_adc", None)
        if column_adc is not None:
            fast.column_adc = column_adc
        self.fast_lr = fast_lr
        self.gamma = gamma
        self.out_size = slow.out_size
        self.in_size = slow.in_size
        #: training samples written into A so far
        self.samples = 0
        #: column reads of A (transfers) so far
        self.column_reads = 0
        #: the chopper signs as floats, cached until a transfer reports a flip (a new tuple per change:
        #: tile A keeps what it derives from the tuple it was passed last)
        self._signs: tuple[FloatArray, FloatArray] | None = None
        #: whether the periphery offers the lean transfer form (the model's servers do, see
        #: :class:`~pulsetrain.model.transfer.TransferSequencer`); others are served through ``transfer``
        self._lean_transfer = callable(getattr(periphery, "transfer_pulses", None))
        #: reads of A without an ADC are passed to the periphery in units of C's nominal step
        self._ideal_adc = fast.forward_io.adc_bits is None
        self._dw_min = slow.device.dw_min

    # ------------------------------------------------------------------ MLP weight-array protocol
    def forward(self, x: FloatArray) -> FloatArray:
        """``(gamma A + C) x`` through the forward periphery (C alone when ``gamma = 0``)."""
        out = self.slow.forward(x)
        if self.gamma > 0.0:
            out = out + self.gamma * self.fast.forward(x)
        return out

    def backward(self, d: FloatArray) -> FloatArray:
        """``(gamma A + C)^T d`` through the backward periphery."""
        out = self.slow.backward(d)
        if self.gamma > 0.0:
            out = out + self.gamma * self.fast.backward(d)
        return out

    def update(self, x: FloatArray, d: FloatArray, lr: float) -> None:
        """Write each sample's gradient into A (chopped) and run the transfers that fall due.

        ``lr`` is the run's learning rate; it is already folded into the periphery's transfer rate
        (aihwkit ``scale_transfer_lr``), so A is written with ``fast_lr``.
        """
        x = as_rows(x, self.in_size)
        d = as_rows(d, self.out_size)
        periphery = self.periphery
        fast = self.fast
        samples = ((x, d),) if x.shape[0] == 1 else zip(x, d, strict=True)
        for x_b, d_b in samples:
            signs = self._signs
            if signs is None:
                chopper = periphery.signs()
                signs = self._signs = (
                    chopper.in_signs.astype(np.float64),
                    chopper.out_signs.astype(np.float64),
                )
            fast.update(x_b, d_b, self.fast_lr, line_signs=signs)
            self.samples += 1
            request = periphery.step()
            if request is None:
                continue
            for column in request.columns:
                self.transfer_column(column)

    def transfer_column(self, column: int) -> None:
        """Read ``column`` of A (one-hot, forward ADC), let the periphery decide, pulse C's column."""
        readout = self.fast.read_column_codes(column)
        if self._ideal_adc:
            readout = readout / self._dw_min  # reads in units of one step of C (see the periphery)
        pulses: NDArray[np.int64] | NDArray[np.float64] | None
        if self._lean_transfer:
            # the lean form of the same transfer (no per-read record)
            pulses, signs_changed = self.periphery.transfer_pulses(column, readout)  # type: ignore[attr-defined]
        else:
            result = self.periphery.transfer(column, readout)
            pulses = result.pulses if result.pulses.any() else None
            signs_changed = result.in_flipped or bool(result.out_flipped.any())
        if signs_changed:
            self._signs = None  # the chopper signs changed: ask the periphery again
        if pulses is not None:
            self.slow.apply_column_pulses(column, pulses)
        self.column_reads += 1

    def weights(self) -> FloatArray:
        """Effective logical weights ``gamma A + C`` (noise-free)."""
        if self.gamma > 0.0:
            return self.slow.weights() + self.gamma * self.fast.weights()
        return self.slow.weights()


def build_tiki_taka_layer(
    algorithm: Algorithm, mode: TransferMode, out_size: int, in_size: int, weights: FloatArray
) -> TikiTakaLayer:
    """One TTv2-family layer of ``algorithm``: tiles A and C, C programmed to ``weights``, its periphery.

    Draws from the algorithm's seed, in this order, A's and C's tile seeds and the chopper seeds (the MLP
    and the named networks, convolutions included, build their layers through this one function). The
    reference offset σ_r is the one of A's reference (the quantity Rasch et al. sweep): it biases every
    transfer. C is modelled without one: its offset would be a constant weight offset that training
    compensates, costing only range, and would blur what the sweep isolates.
    """
    config = algorithm.config
    settings: TikiTakaSettings = config.tiki_taka
    slow_device = config.device
    if getattr(slow_device, "reference_offset_std", 0.0):
        slow_device = dataclasses.replace(slow_device, reference_offset_std=0.0)  # type: ignore[call-arg]
    fast = algorithm.make_tile(out_size, in_size)
    slow = algorithm.make_tile(out_size, in_size, device=slow_device)
    # A starts where its devices' up and down steps balance (its symmetry point); a device whose sampled
    # step is 0 (stuck) has none and stays at its reference
    with np.errstate(divide="ignore", invalid="ignore"):
        symmetry = np.nan_to_num(fast.devices.symmetry_point() - fast.reference, nan=0.0)
    fast.set_device_weights(symmetry)
    slow.set_weights(weights)
    seeds_draw = algorithm.spawn_rng()
    digital = transfer_controller_config(
        settings,
        mode,
        in_size=in_size,
        out_size=out_size,
        adc_bits=config.io.adc_bits,
        adc_lsb=config.io.adc_lsb,
        dw_min=config.device.dw_min,
        lr=config.lr,
        seeds=(int(seeds_draw.integers(1, _LFSR_SEED_LIMIT)), int(seeds_draw.integers(1, _LFSR_SEED_LIMIT))),
    )
    periphery = make_transfer_periphery(settings.periphery, digital, seeds_draw)
    return TikiTakaLayer(fast, slow, periphery, fast_lr=settings.fast_lr, gamma=settings.gamma)


def tiki_taka_results(
    layers: list[TikiTakaLayer], mode: TransferMode, periphery: TransferServerKind
) -> dict[str, Any]:
    """Pulses per sample per device on A and C (endurance, Rasch et al. report ~0.5-4 on A and ~2-4e-4 on
    C), column reads, the mode and the periphery used. A sample is one row written into A: one training
    sample of a fully connected layer, one image patch of a convolution."""
    results = {}
    for i, layer in enumerate(layers):
        samples = max(layer.samples, 1)
        devices = layer.out_size * layer.in_size
        results[f"layer{i}"] = {
            "samples": layer.samples,
            "column_reads": layer.column_reads,
            "pulses_per_sample_per_device_A": layer.fast.total_pulses / samples / devices,
            "pulses_per_sample_per_device_C": layer.slow.total_pulses / samples / devices,
        }
    return {"mode": mode.value, "periphery": periphery.value, "layers": results}


class TikiTakaFamily(BackpropThroughMlp, Algorithm):
    """Shared implementation of ``ttv2``, ``c-ttv2`` and ``agad`` (they differ in :attr:`mode`)."""

    #: the transfer controller's mode
    mode: ClassVar[TransferMode] = TransferMode.TTV2

    def __init__(self, config, layer_sizes, seed):  # type: ignore[no-untyped-def]
        super().__init__(config, layer_sizes, seed)
        settings: TikiTakaSettings = config.tiki_taka
        self.settings = settings
        rng = self.spawn_rng()
        bias = config.network.bias
        self.layers: list[TikiTakaLayer] = []
        for out_size, in_size in self.array_shapes():
            weights = initial_weights(rng, out_size, in_size, bias)
            self.layers.append(build_tiki_taka_layer(self, self.mode, out_size, in_size, weights))
        self.mlp = MLP(list(self.layers), config.network.activation, bias)

    def weights(self) -> list[FloatArray]:
        return [layer.weights() for layer in self.layers]

    def pulse_counts(self) -> dict[str, dict[str, int]]:
        return {
            f"layer{i}": {"A": layer.fast.total_pulses, "C": layer.slow.total_pulses}
            for i, layer in enumerate(self.layers)
        }

    def device_pulse_counts(self) -> dict[str, dict[str, NDArray[np.int64]]]:
        return {
            f"layer{i}": {"A": layer.fast.pulse_counts.copy(), "C": layer.slow.pulse_counts.copy()}
            for i, layer in enumerate(self.layers)
        }

    def extra_results(self) -> dict[str, Any]:
        """Pulses per sample per device on A and C, column reads, and the periphery used."""
        return tiki_taka_results(self.layers, self.mode, self.settings.periphery)


class TikiTakaV2(TikiTakaFamily):
    """Tiki-Taka v2: A read against its reference array, no choppers."""

    name: ClassVar[str] = "ttv2"
    mode: ClassVar[TransferMode] = TransferMode.TTV2


class ChoppedTikiTakaV2(TikiTakaFamily):
    """Chopped TTv2: choppers cancel the offsets of A and its reference in H."""

    name: ClassVar[str] = "c-ttv2"
    mode: ClassVar[TransferMode] = TransferMode.CHOPPED_TTV2


class Agad(TikiTakaFamily):
    """AGAD: choppers and a dynamic digital reference per device instead of a reference array."""

    name: ClassVar[str] = "agad"
    mode: ClassVar[TransferMode] = TransferMode.AGAD
