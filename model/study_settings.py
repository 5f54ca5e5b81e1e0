"""The parameters of the studies (``pulsetrain experiment``), in one place, and the ``--set`` lists they make.

Read by :mod:`pulsetrain.model.experiments` (plans), :mod:`pulsetrain.model.study_summaries` (claims)
and :mod:`pulsetrain.model.study_plots`. The quick size of each study is a scaled-down copy of the full
one; what each constant was measured to do is said next to it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from pulsetrain import catalogue
from pulsetrain.config import check_choice

STUDIES = ("offset-sweep", "bp-vs-dfa", "sbe-batch", "defaults")

# --------------------------------------------------------------------------------------------------
# Weight mapping: NeuroSim's (a logical weight range spanning the device's nominal range) in every
# study; the range is a study parameter
# --------------------------------------------------------------------------------------------------

#: bp-vs-dfa: NeuroSim maps weights in (-1, 1) onto the full conductance range (DNN+NeuroSim V2.1, the
#: simulator of Wolters et al.); here the range ±1 spans the device's nominal ``w_min .. w_max``.
NEUROSIM_MAPPING = ("mapping.mode=weight-range", "mapping.weight_range=1.0")
#: The TTv2-family, SBE and defaults studies run soft-bounds devices, whose pulsed update decays every
#: weight toward the symmetry point by ``|Δw| w / w_max`` (docs/science.md §1): their weight range is ±3 on
#: the ±1 devices (numerically the old ``output_scale`` 3; stated here instead of implied).
SOFT_BOUNDS_MAPPING = ("mapping.mode=weight-range", "mapping.weight_range=3.0")
#: pulsetrain's mapping before issue 13 (a fixed gain of 3 whatever the device), run only as the
#: ``states, old mapping`` factor of bp-vs-dfa to show its effect.
OLD_MAPPING = ("mapping.mode=output-scale", "mapping.output_scale=3.0")

# --------------------------------------------------------------------------------------------------
# offset-sweep (Rasch et al., arXiv 2303.04721): the TTv2 family at its one shared default
# --------------------------------------------------------------------------------------------------

#: The three offset-corrected family members compared in the offset sweep.
TIKI_TAKA_FAMILY = catalogue.algorithm_names(family=catalogue.AlgorithmFamily.TIKI_TAKA)
#: σ_r values of the sweep (fraction of the device's nominal w_max), 0 .. 0.5.
OFFSETS_FULL = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
OFFSETS_QUICK = (0.0, 0.3)
#: Number of device states of the offset sweep ("few states").
OFFSET_STATES = 50
#: The linear-regression task of the weight-error measurement: layer size, training samples.
REGRESSION_SIZE = 16
REGRESSION_STEPS_FULL = 12_000
REGRESSION_STEPS_QUICK = 4_000

# --------------------------------------------------------------------------------------------------
# bp-vs-dfa (Wolters et al., arXiv 2212.14337)
# --------------------------------------------------------------------------------------------------


class NonIdeality(NamedTuple):
    """One level of the non-ideality ladder (forward and backward periphery alike)."""

    #: DAC bits (None: ideal input)
    dac_bits: int | None
    #: ADC bits (None: ideal output)
    adc_bits: int | None
    #: additive output noise (device output units)
    out_noise: float
    #: device-to-device up/down asymmetry, aihwkit ``up_down_dtod`` (units of dw_min)
    up_down_dtod: float
    #: device states (w_max - w_min) / dw_min
    states: int
    #: soft-bounds-style non-linearity: slope of the linear step at the bound (0 constant, 1 soft bounds)
    nonlinearity: float


#: The ladder: every knob grows together; level 0 is an ideal periphery on a fine linear device, level 4
#: a 5-bit DAC, 8-bit ADC, 10 % noise, asymmetric soft-bounds devices with 80 states (about the
#: devices of Wolters et al.'s NeuroSim runs: not verified here against their table).
NONIDEALITY_LADDER: tuple[NonIdeality, ...] = (
    NonIdeality(None, None, 0.0, 0.0, 2000, 0.0),
    NonIdeality(8, 10, 0.02, 0.02, 600, 0.25),
    NonIdeality(7, 9, 0.06, 0.05, 200, 0.5),
    NonIdeality(6, 8, 0.08, 0.1, 100, 0.75),
    NonIdeality(5, 8, 0.1, 0.2, 80, 1.0),
)
#: Each factor: which fields of the harshest level replace level 0's (and, for the last one, the mapping
#: too). The configuration a factor run uses is built from this table only (a test reads it back from
#: the run's resolved config).
FACTORS: dict[str, tuple[tuple[str, ...], bool]] = {
    "periphery": (("dac_bits", "adc_bits", "out_noise"), False),
    "asymmetry": (("up_down_dtod",), False),
    "nonlinearity": (("nonlinearity",), False),
    "states": (("states",), False),
    "states, old mapping": (("states",), True),
}
#: the network on which the factors are separated
FACTOR_NETWORK = "64-32-32-32-10"
#: every network by name: input-hidden-...-output (the input width names the data set it runs on)
NETWORKS = {
    "64-32-10": (32,),
    "64-32-32-32-10": (32, 32, 32),
    "64-128-10": (128,),
    "784-800-10": (800,),
}
NETWORKS_QUICK = ("64-32-32-32-10",)
#: the data sets of bp-vs-dfa and the networks each runs by default (full size; quick: NETWORKS_QUICK on
#: digits); 784-800-10 is the MLP of Wolters et al.'s MNIST runs (arXiv 2212.14337, their network table:
#: not verified here)
DATASET_NETWORKS = {
    "digits": ("64-32-10", "64-32-32-32-10", "64-128-10"),
    "fashion-mnist": ("784-800-10",),
    "mnist": ("784-800-10",),
}
#: input width of each data set
DATASET_FEATURES = {"digits": 64, "fashion-mnist": 784, "mnist": 784}
#: training samples of the quick size on MNIST-class data (a stratified subset; the test set is whole)
MNIST_TRAIN_SAMPLES_QUICK = 2000
ACTIVATIONS = ("sigmoid", "tanh", "relu")
ACTIVATIONS_QUICK = ("sigmoid", "tanh")
DEPTHS = (2, 3, 4, 5, 6)
#: learning rates tried per (algorithm, network, activation) on the validation split, at TUNE_LEVEL
LR_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
LR_GRID_QUICK = (0.03, 0.1, 0.3, 1.0)
TUNE_LEVEL = 2
#: the learning rate a plan carries before tuning replaces it (what runs when the plan's specs are run
#: directly, as ``pulsetrain report`` does: the quick study's validation choice for tanh)
REFERENCE_LR = 0.03


def ladder_sets(level: int) -> tuple[str, ...]:
    """``--set`` overrides of non-ideality level ``level``, the NeuroSim mapping included."""
    return nonideality_sets(NONIDEALITY_LADDER[level]) + NEUROSIM_MAPPING


def factor_level(factor: str) -> NonIdeality:
    """Level 0 with the fields of ``factor`` taken from the harshest level."""
    check_choice("factor", factor, tuple(FACTORS))
    fields, _ = FACTORS[factor]
    harshest = NONIDEALITY_LADDER[-1]
    return NONIDEALITY_LADDER[0]._replace(**{name: getattr(harshest, name) for name in fields})


def factor_sets(factor: str) -> tuple[str, ...]:
    """``--set`` overrides of one factor: one knob of the harshest level alone, the others at level 0."""
    level = factor_level(factor)  # checks the name
    return nonideality_sets(level) + (OLD_MAPPING if FACTORS[factor][1] else NEUROSIM_MAPPING)


def factor_text(factor: str) -> str:
    """What a factor run runs, in words generated from the same table as its config."""
    level = factor_level(factor)
    mapping = "output scale 3 (old mapping)" if FACTORS[factor][1] else "weight range ±1 (NeuroSim)"
    dac = "ideal" if level.dac_bits is None else f"{level.dac_bits}-bit"
    adc = "ideal" if level.adc_bits is None else f"{level.adc_bits}-bit"
    return (
        f"{factor}: DAC {dac}, ADC {adc}, output noise {level.out_noise:g}, up_down_dtod "
        f"{level.up_down_dtod:g}, {level.states} states, non-linearity {level.nonlinearity:g}, {mapping}"
    )


def nonideality_sets(level: NonIdeality) -> tuple[str, ...]:
    """``--set`` overrides of one ladder level: a linear-step device (soft bounds at non-linearity 1,
    each device's own bounds, additive cycle noise) and the periphery of both read directions."""
    sets = [
        "device.kind=linear-step",
        f"device.dw_min={2.0 / level.states!r}",
        f"device.up_down_dtod={level.up_down_dtod!r}",
        f"device.gamma_up={level.nonlinearity!r}",
        f"device.gamma_down={level.nonlinearity!r}",
        "device.gamma_up_dtod=0.0",
        "device.gamma_down_dtod=0.0",
        "device.mean_bound_reference=false",
        "device.mult_noise=false",
    ]
    for io in ("io", "backward_io"):
        sets += [f"{io}.dac_bits={level.dac_bits}", f"{io}.adc_bits={level.adc_bits}"]
        sets.append(f"{io}.out_noise={level.out_noise!r}")
    return tuple(sets)


# --------------------------------------------------------------------------------------------------
# sbe-batch (Hoskins et al., arXiv 1903.01635)
# --------------------------------------------------------------------------------------------------

SBE_BATCHES_FULL = (1, 4, 16, 64, 128, 256, 1024)
SBE_BATCHES_QUICK = (16, 128)
SBE_RANKS_FULL = (1, 2, 4)
SBE_RANKS_QUICK = (1,)
#: target training accuracy for the "array updates to target" count
SBE_TARGET_ACCURACY = 0.90
#: multiples of :func:`sbe_learning_rate` tried on the validation split per (algorithm, batch, rank)
SBE_LR_FACTORS = (0.5, 1.0, 2.0)


def sbe_learning_rate(batch: int) -> float:
    """Centre of the lr grid at ``batch``: 0.1 at batch 1, growing as sqrt(batch), at most 3."""
    return float(min(0.1 * np.sqrt(batch), 3.0))


def sbe_epochs(batch: int, quick: bool) -> int:
    """Epochs at ``batch``: larger batches take more passes (fewer steps per pass)."""
    if quick:
        return 12 if batch <= 16 else 25
    return min(20 + 5 * round(np.log2(max(batch, 1))), 80)


# --------------------------------------------------------------------------------------------------
# defaults
# --------------------------------------------------------------------------------------------------

#: Per-algorithm settings of the ``defaults`` study beyond the TrainConfig defaults (the TTv2 family
#: runs exactly the shared defaults of ``TikiTakaSettings``, as ``pulsetrain train`` and the offset sweep).
DEFAULTS_OVERRIDES: dict[str, tuple[str, ...]] = {
    "ttv2": (),
    "c-ttv2": (),
    "agad": (),
    "dfa": (),
    "sbe": ("batch_size=16", f"lr={sbe_learning_rate(16)}"),
    "sgd": (),
}
#: accuracy floors of the defaults study (issue 3)
DEFAULT_FLOORS = {"ttv2": 0.92, "c-ttv2": 0.92, "agad": 0.92, "dfa": 0.90, "sbe": 0.90}
