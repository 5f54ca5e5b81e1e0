"""Settings of the in-memory learning algorithms beyond plain analog SGD: TTv2 family, DFA, SBE.

Each dataclass is one section of :class:`pulsetrain.model.training.TrainConfig` (``tiki_taka``, ``dfa``,
``sbe``), overridable from the command line by dotted path (``--set tiki_taka.in_chop_prob=0.05``).
Where a concept exists in IBM aihwkit the field carries aihwkit's name (``transfer_every``,
``n_reads_per_transfer``, ``fast_lr``, ``transfer_lr``, ``gamma``, ``in_chop_prob``, ``out_chop_prob``,
``thres_scale``, ``momentum``, ``forget_buffer``) so that a user can carry settings across; the meaning
is documented per field because the units differ in places (stated there).

Sources: Gokmen & Haensch 2020 / Gokmen 2021 (Tiki-Taka, TTv2); Rasch et al., arXiv 2303.04721 (c-TTv2,
AGAD); Nøkland, arXiv 1609.01596 (DFA); Hoskins et al., arXiv 1903.01635 (SBE).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from pulsetrain.config import check_int, check_range
from pulsetrain.periphery.schedule import FeedbackPath
from pulsetrain.periphery.transfer import TransferRule


class TransferServerKind(enum.Enum):
    """Which implementation serves the digital transfer decisions of the TTv2 family."""

    #: :class:`pulsetrain.model.transfer.FloatTransferPeriphery`: float H buffer, NumPy random
    #: numbers; fast, statistically right, never bit-exact.
    FLOAT = "float"
    #: the bit-exact digital twin of the transfer controller RTL (:mod:`pulsetrain.model.twins.transfer`):
    #: fixed-point H, LFSR chopper flips, the same decisions as the Verilog for one seed.
    TWIN = "twin"


@dataclass(frozen=True, kw_only=True)
class TikiTakaSettings(TransferRule):
    """Tiki-Taka v2 and its offset-corrected variants (c-TTv2, AGAD): arrays A and C, digital buffer H.

    One pulsed update of A per training sample; every ``transfer_every`` samples the next
    ``n_reads_per_transfer`` columns of A are read (one-hot input through the forward periphery), the
    reads are accumulated into H by the transfer periphery (:mod:`pulsetrain.model.transfer`), and where
    ``|H|`` reaches the threshold pulses go to the same column of C. The effective weight of the layer is
    ``gamma * A + C``.

    The transfer rule (when H is fed, the threshold, momentum, buffer, choppers, AGAD's hold-off and
    running mean, H's width) is the periphery's :class:`~pulsetrain.periphery.transfer.TransferRule`,
    declared there once; this section adds what only the model has (learning rates, ``gamma``, which
    server runs the rule). The per-layer digital config (:class:`~pulsetrain.periphery.transfer.
    TransferControllerConfig`) is the rule plus the layer's shape, the forward ADC and the learning rate
    (:func:`pulsetrain.model.algorithms.tiki_taka.transfer_controller_config`).

    Choosing ``in_chop_prob``: aihwkit's presets use 0.01 (c-TTv2) and 0.02 (AGAD) for large layers and
    long runs; here a column of a 64-input digits layer is read ~22 times per epoch, so 0.01 flips a
    chopper about twice in 8 epochs (TTv2 in effect). c-TTv2 trades offset rejection (faster flips)
    against gradient signal (each flip reads A's accumulated gradient with the wrong sign until it is
    rewritten). Measured on the validation split (a fifth of digits' training set,
    ``study_tuning.validation_split``; commit b33edc8): c-TTv2, 64-32-10, 50-state soft bounds, weight range
    ±3, every other setting at its default, 8 epochs, seeds 0-2, p = 0.01 / 0.1 / 0.3 / 0.5: 89.9 / 90.3 /
    84.7 / 80.4 % at σ_r = 0 and 80.8 / 83.0 / 82.9 / 77.3 % at σ_r = 0.3: the default 0.1 is the best at
    σ_r = 0 and level with 0.3 at σ_r = 0.3 (docs/studies/README.md, TTv2 family, gives the rule that links
    it to ``transfer_lr``).

    The reference offset of A (σ_r of Rasch et al.) is a device property:
    ``device.reference_offset_std``.
    """

    #: Prefix of the field names in error messages.
    section: ClassVar[str] = "tiki_taka"

    #: Learning rate of the pulsed gradient updates onto A (aihwkit ``fast_lr``): the expected change of
    #: A per sample is ``-fast_lr * d x^T`` in logical weight units. As in aihwkit, the run's ``lr`` then
    #: only scales the transfer (aihwkit ``scale_transfer_lr``).
    fast_lr: float = 0.1
    #: Scale from a read of A into H (aihwkit ``transfer_lr``, multiplied by the run's ``lr``):
    #: ``H += lr * transfer_lr * v / dw_min_C`` with v the read in device units, so H counts pulses on C.
    transfer_lr: float = 0.3
    #: Weight of A in the effective weight ``gamma * A + C`` (aihwkit ``gamma``; 0 in TTv2).
    gamma: float = 0.0
    # -- added for issue 13 (studies): aihwkit's automatic threshold scaling --------------------------
    #: When > 0, the threshold is further multiplied by ``auto_granularity / (in_size * transfer_every)``
    #: (aihwkit ``ChoppedTransferCompound.auto_granularity``, ``getBufferGranularity`` in
    #: src/rpucuda/rpu_chopped_transfer_device.cpp): the samples between two reads of one column, so that
    #: the transfer per sample does not depend on the layer's width. 0 (aihwkit's default) disables it.
    auto_granularity: float = 0.0
    # --------------------------------------------------------------------------------------------------
    #: Which implementation serves the digital transfer decisions (float fast path or bit-exact twin).
    periphery: TransferServerKind = TransferServerKind.FLOAT

    def check_threshold_fits_h(self) -> None:
        """With ``auto_granularity`` the threshold a layer uses is scaled by its width: each layer's
        controller config checks that one (:func:`~pulsetrain.model.algorithms.tiki_taka.threshold_scale`)."""
        if self.auto_granularity <= 0.0:
            super().check_threshold_fits_h()

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("tiki_taka.fast_lr", self.fast_lr, 0.0, 100.0, low_open=True)
        check_range("tiki_taka.transfer_lr", self.transfer_lr, 0.0, 1e6, low_open=True)
        check_range("tiki_taka.gamma", self.gamma, 0.0, 1.0)
        check_range("tiki_taka.auto_granularity", self.auto_granularity, 0.0, 1e9)
        if not isinstance(self.periphery, TransferServerKind):
            raise_enum("tiki_taka.periphery", self.periphery, TransferServerKind)


@dataclass(frozen=True, kw_only=True)
class DfaSettings:
    """Direct feedback alignment: hidden layers learn from the output error through fixed random B_l."""

    #: Where the feedback matrices live: read-only analog tiles (with the periphery's non-idealities) or
    #: an ideal digital product.
    feedback: FeedbackPath = FeedbackPath.ANALOG
    #: Entries of B_l are drawn uniformly from ``[-s, s]`` with ``s = feedback_scale / sqrt(d_out)``, so
    #: that ``B_l e`` has roughly the magnitude of a backpropagated error.
    feedback_scale: float = 1.0
    #: Seed offset of the feedback matrices (added to the run's seed): a new draw of B without a new run.
    feedback_seed_offset: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.feedback, FeedbackPath):
            raise_enum("dfa.feedback", self.feedback, FeedbackPath)
        check_range("dfa.feedback_scale", self.feedback_scale, 0.0, 1e3, low_open=True)
        check_int("dfa.feedback_seed_offset", self.feedback_seed_offset, 0, 2**31 - 1)


@dataclass(frozen=True, kw_only=True)
class SbeSettings:
    """Streaming batch eigenupdates: one rank-k pulsed update per mini-batch instead of one per sample.

    The batch is the run's ``batch_size`` (at batch 1 SBE is exactly analog SGD: one sample's gradient
    is rank 1).
    """

    #: Number of singular pairs kept and written per batch (1 = the rank-1 SBE of Hoskins et al.; k > 1
    #: keeps an Oja subspace of k pairs).
    rank: int = 1
    #: Start each batch's power iteration from the previous batch's vectors (as in Hoskins et al.);
    #: False starts from fresh random vectors.
    warm_start: bool = True

    def __post_init__(self) -> None:
        check_int("sbe.rank", self.rank, 1, 64)
        if not isinstance(self.warm_start, bool):
            raise_enum("sbe.warm_start", self.warm_start, bool)


def raise_enum(name: str, value: object, allowed: type) -> None:
    """Refuse a value of the wrong type for an enum (or bool) field, naming what is allowed."""
    from pulsetrain.config import ConfigError

    if isinstance(allowed, type) and issubclass(allowed, enum.Enum):
        choices = ", ".join(str(m.value) for m in allowed)
    else:
        choices = "true, false"
    raise ConfigError(f"{name} must be one of {choices}; not {value!r}")
