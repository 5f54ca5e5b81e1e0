"""Digital interface of the TTv2-family transfer controller: one source of truth for twin and RTL.

The transfer controller holds every *digital* piece of state of Tiki-Taka v2 (TTv2), chopped TTv2
(c-TTv2) and AGAD for one layer (docs/science.md §2; Rasch et al., arXiv 2303.04721): the column pointer,
the ``transfer_every`` counter, the chopper signs, the H buffer, the threshold logic that turns H into
pulses on C, and AGAD's per-device reference and running mean. The analog arrays A and C stay outside.

Fixed-point formats (all integers in the twin and the RTL, derived here so both read the same numbers):

``ADC code``
    signed, ``adc_bits`` wide: ``[-2**(adc_bits-1), 2**(adc_bits-1) - 1]``; one LSB of the read of A.
``mean / reference``
    AGAD's running mean and reference: ADC codes with ``reference_frac_bits`` fractional bits, signed,
    ``adc_bits + reference_frac_bits`` wide.
``H``
    signed two's complement, ``h_bits`` wide with ``h_frac_bits`` fractional bits; the value 1.0 (code
    ``2**h_frac_bits``) is one pulse on C when ``thres_scale`` is 1. H *saturates* at
    ``[-2**(h_bits-1), 2**(h_bits-1) - 1]`` after each accumulation (never wraps).
``transfer_lr_code``
    ``round(transfer_lr_per_lsb * 2**h_frac_bits)``: the H increment of one ADC LSB.

Per read of column ``k`` and row ``j`` (``c = in_sign[k] * out_sign[j]``; ``F = reference_frac_bits``)::

    x      = (code << F) - reference[j, k]                  # reference is 0 outside AGAD
    H      = saturate(H + ((c * x * transfer_lr_code + 2**(F-1)) >> F))   # F = 0: no rounding term
    n      = sign(H) * min(max_pulses_per_transfer, |H| // threshold_code)
    if n != 0:
        forget_buffer: H = trunc0(H * momentum_code / 2**MOMENTUM_FRAC_BITS)
        otherwise:     H = H - n * threshold_code + trunc0(n * threshold_code * momentum_code / 2**8)
                       H = clamp(H, ±buffer_cap_code) when buffer_cap > 0
    pulses to C[j, k] = n                                    # positive: C increases by n steps

``>>`` is an arithmetic (floor) shift, ``trunc0`` rounds toward zero. AGAD additionally updates
``mean[j, k] += ((code << F) - mean[j, k]) >> mean_shift`` after every read. When column ``k``'s chopper
has flipped since its last read, the read first copies the (not yet updated) mean into the reference:
the reference is the running mean at the flip. A read is *held* (H untouched, no pulses) before the
column's first flip and for ``reads_held_after_flip`` reads starting with the first read after a flip.

Order of events per read (the same in twin and RTL): AGAD reference / hold-off bookkeeping, the rows
of the column (row 0 first), then the column's input chopper event (one LFSR draw in random mode), then,
after the last column of a pass with output choppers, one output chopper event per row (row 0 first).
Choppers are the shared chopper block (:mod:`pulsetrain.periphery.chopper`): see :attr:`in_chopper`.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass
from typing import Any, ClassVar

from pulsetrain.config import ConfigError, check_choice, check_int, check_range
from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode
from pulsetrain.periphery.lfsr import LfsrConfig

#: Fractional bits of the momentum multiplier (``momentum_code = round(momentum * 256)``).
MOMENTUM_FRAC_BITS = 8


class TransferMode(enum.Enum):
    """Which member of the Tiki-Taka v2 family the controller runs."""

    #: Tiki-Taka v2: H += lr * read; no chopper, A read against its (possibly offset) reference array.
    TTV2 = "ttv2"
    #: Chopped TTv2: input (and optionally output) choppers modulate the gradient written into A and
    #: demodulate the read, so a constant offset of A averages out in H.
    CHOPPED_TTV2 = "c-ttv2"
    #: AGAD: choppers plus a digital per-device reference taken at each chopper flip (no reference
    #: array); H += c * lr * (read - reference).
    AGAD = "agad"


class ChopperFlipMode(enum.Enum):
    """How an input chopper sign flips after its column was read."""

    #: flips with probability ``in_chop_prob`` per read, drawn from the LFSR (aihwkit
    #: ``in_chop_random=True``).
    RANDOM = "random"
    #: all input choppers flip in the same pass, every ``ceil(1 / in_chop_prob)`` full passes over the
    #: columns (aihwkit ``in_chop_random=False``, which takes at least 2).
    REGULAR = "regular"


@dataclass(frozen=True, kw_only=True)
class TransferRule:
    """The transfer rule of the TTv2 family: when H is fed, how it fires pulses on C, how choppers flip.

    Declared once, here: the model's algorithm settings (``tiki_taka`` section of the training config,
    :class:`pulsetrain.model.algorithms.configs.TikiTakaSettings`) and the per-layer controller config
    (:class:`TransferControllerConfig`, ``transfer`` section) both derive from it, so the two cannot
    disagree about a field's meaning or its allowed range. Parameter names follow IBM aihwkit's
    ``ChoppedTransferCompound`` / ``DynamicTransferCompound`` where the concept is the same; units are in
    pulses on C and H codes (stated per field).
    """

    #: Prefix of the field names in error messages (the config section a user sets them in).
    section: ClassVar[str] = "transfer"

    #: A updates (training samples at batch 1) between two transfer events (aihwkit ``transfer_every``
    #: with ``units_in_mbatch=False``).
    transfer_every: int = 1
    #: Consecutive columns of A read and transferred per transfer event (aihwkit ``n_reads_per_transfer``).
    n_reads_per_transfer: int = 1
    #: Total width of one signed H word, bits (the on-chip memory word; the float server uses its range).
    h_bits: int = 16
    #: Fractional bits of H: the value 1.0 (one pulse at ``thres_scale = 1``) is ``2**h_frac_bits``.
    h_frac_bits: int = 10
    #: Threshold of |H| in units of one pulse on C (aihwkit ``thres_scale``).
    thres_scale: float = 1.0
    #: Most pulses one device of C receives per transfer (aihwkit ``transfer_update.desired_bl``).
    max_pulses_per_transfer: int = 1
    #: After a device fired: kept fraction of H (``forget_buffer``) or of the fired amount (aihwkit
    #: ``momentum``); quantized to 8 fractional bits in the twin and the RTL.
    momentum: float = 0.0
    #: True: ``H <- momentum * H`` after firing; False: ``H <- H - (1 - momentum) * n * threshold``, the
    #: remainder kept (aihwkit ``forget_buffer``).
    forget_buffer: bool = True
    #: Only with ``forget_buffer=False``: |H| is clamped to ``buffer_cap * max_pulses_per_transfer *
    #: thres_scale`` after firing; 0 disables the cap (aihwkit ``buffer_cap``).
    buffer_cap: float = 0.0
    #: Probability (random flips) or frequency (regular flips) of an input chopper flip per read of its
    #: column (aihwkit ``in_chop_prob``); c-TTv2 and AGAD, ignored by plain TTv2. 0 disables the flips.
    in_chop_prob: float = 0.1
    #: Random (LFSR) or regular input chopper flips (aihwkit ``in_chop_random``).
    chopper_flip: ChopperFlipMode = ChopperFlipMode.RANDOM
    #: Probability that each output chopper flips after a full pass over the columns (aihwkit
    #: ``out_chop_prob``); 0 disables the output choppers. c-TTv2 and AGAD only.
    out_chop_prob: float = 0.0
    #: AGAD: reads of a column after its chopper flipped during which H is not accumulated (the read
    #: still updates the running mean). Before a column's first flip there is no reference and H is not
    #: accumulated either.
    reads_held_after_flip: int = 1
    #: AGAD: weight of the newest read in the running mean relative to 1 / (reads per chopper period)
    #: (aihwkit ``tail_weightening``); realised as a power of two in the twin and the RTL.
    tail_weightening: float = 5.0

    def __post_init__(self) -> None:
        name = f"{self.section}."
        check_int(name + "transfer_every", self.transfer_every, 1, 1 << 20)
        check_int(name + "n_reads_per_transfer", self.n_reads_per_transfer, 1, 4096)
        check_int(name + "h_bits", self.h_bits, 2, 32)
        check_int(name + "h_frac_bits", self.h_frac_bits, 0, self.h_bits - 2)
        check_range(name + "thres_scale", self.thres_scale, 0.0, None, low_open=True)
        check_int(name + "max_pulses_per_transfer", self.max_pulses_per_transfer, 1, 31)
        check_range(name + "momentum", self.momentum, 0.0, 1.0)
        if not isinstance(self.forget_buffer, bool):
            raise ConfigError(f"{name}forget_buffer must be true or false, not {self.forget_buffer!r}")
        check_range(name + "buffer_cap", self.buffer_cap, 0.0, None)
        check_range(name + "in_chop_prob", self.in_chop_prob, 0.0, 1.0)
        if not isinstance(self.chopper_flip, ChopperFlipMode):
            check_choice(name + "chopper_flip", self.chopper_flip, [m.value for m in ChopperFlipMode])
        check_range(name + "out_chop_prob", self.out_chop_prob, 0.0, 1.0)
        check_int(name + "reads_held_after_flip", self.reads_held_after_flip, 0, 255)
        check_range(name + "tail_weightening", self.tail_weightening, 0.0, None, low_open=True)
        self.check_threshold_fits_h()

    def check_threshold_fits_h(self) -> None:
        """Refuse a threshold H cannot represent (rather than silently saturate it)."""
        name = f"{self.section}."
        h_one = 1 << self.h_frac_bits
        h_max = (1 << (self.h_bits - 1)) - 1
        threshold_code = round(self.thres_scale * h_one)
        if threshold_code < 1 or self.max_pulses_per_transfer * threshold_code > h_max:
            raise ConfigError(
                f"{name}thres_scale={self.thres_scale!r} x max_pulses_per_transfer="
                f"{self.max_pulses_per_transfer} must lie within H's range (0, {h_max / h_one:g}] "
                f"and be >= one H LSB ({1 / h_one:g})"
            )

    def rule(self) -> dict[str, Any]:
        """The rule's fields and values (to build a :class:`TransferControllerConfig` from settings)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(TransferRule)}


@dataclass(frozen=True, kw_only=True)
class TransferControllerConfig(TransferRule):
    """Digital configuration of the transfer controller of one layer (read by twin and RTL alike).

    The transfer rule's fields (:class:`TransferRule`) plus what one layer's controller adds: its
    mode, size, ADC width, the quantized transfer learning rate, chopper LFSR seeds and AGAD's formats.
    """

    #: TTv2, c-TTv2 or AGAD.
    mode: TransferMode = TransferMode.TTV2
    #: Input lines of the layer = columns of A that are transferred one by one (x lines).
    in_size: int = 16
    #: Output lines of the layer = devices per column (d lines); one ADC code per row per read.
    out_size: int = 16
    #: Width of the signed ADC code of one read of A, bits.
    adc_bits: int = 8
    #: H increment per ADC LSB read from A, in units of one pulse on C. With aihwkit's ``transfer_lr``
    #: (``H += transfer_lr * v / dw_min_C``, v in weight units): ``transfer_lr * adc_lsb_weight /
    #: dw_min_C``. Quantized to ``h_frac_bits`` fractional bits (``transfer_lr_code``).
    transfer_lr_per_lsb: float = 0.125
    #: Fractional bits of the chopper flip probabilities: after one advance of the chopper LFSR its low
    #: ``chop_prob_bits`` bits are compared with ``probability_code(prob, chop_prob_bits)``; below flips.
    chop_prob_bits: int = 16
    #: Seed of the LFSR that draws the input chopper flips (non-zero, below ``2**lfsr_bits``).
    in_chop_seed: int = 0xACE1
    #: Seed of the LFSR that draws the output chopper flips (non-zero, below ``2**lfsr_bits``).
    out_chop_seed: int = 0x1D0F
    #: AGAD: fractional bits of the running mean and of the reference (in ADC codes).
    reference_frac_bits: int = 4
    #: Words of the on-chip H memory; None sizes it to ``in_size * out_size``. A smaller memory is
    #: refused.
    h_memory_words: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.mode, TransferMode):
            check_choice("transfer.mode", self.mode, [m.value for m in TransferMode])
        check_int("transfer.in_size", self.in_size, 1, 4096)
        check_int("transfer.out_size", self.out_size, 1, 4096)
        super().__post_init__()
        check_int("transfer.n_reads_per_transfer", self.n_reads_per_transfer, 1, self.in_size)
        check_int("transfer.adc_bits", self.adc_bits, 2, 16)
        check_range("transfer.transfer_lr_per_lsb", self.transfer_lr_per_lsb, 0.0, None, low_open=True)
        check_int("transfer.chop_prob_bits", self.chop_prob_bits, 2, 16)
        check_int("transfer.in_chop_seed", self.in_chop_seed, 1, (1 << self.lfsr_bits) - 1)
        check_int("transfer.out_chop_seed", self.out_chop_seed, 1, (1 << self.lfsr_bits) - 1)
        check_int("transfer.reference_frac_bits", self.reference_frac_bits, 0, 8)
        if self.mode is TransferMode.AGAD and self.in_chop_prob <= 0.0:
            # AGAD takes its reference at chopper flips: without flips it never has one.
            raise ConfigError(
                "transfer.in_chop_prob must be > 0 in mode agad (references are taken at flips)"
            )
        # Derived codes must be representable: refuse rather than silently saturate a constant.
        h_max = (1 << (self.h_bits - 1)) - 1
        if self.transfer_lr_code < 1:
            raise ConfigError(
                f"transfer.transfer_lr_per_lsb={self.transfer_lr_per_lsb!r} rounds to 0 at "
                f"h_frac_bits={self.h_frac_bits}; must be >= {2.0 ** -(self.h_frac_bits + 1):g}"
            )
        if self.transfer_lr_code > h_max:
            raise ConfigError(
                f"transfer.transfer_lr_per_lsb={self.transfer_lr_per_lsb!r} does not fit H "
                f"(h_bits={self.h_bits}, h_frac_bits={self.h_frac_bits}); must be <= {h_max / self.h_one:g}"
            )
        if self.h_memory_words is not None:
            check_int("transfer.h_memory_words", self.h_memory_words, 1, None)
            if self.h_memory_words < self.in_size * self.out_size:
                raise ConfigError(
                    f"transfer.h_memory_words={self.h_memory_words} is too small for H: needs "
                    f"in_size * out_size = {self.in_size * self.out_size} words"
                )

    # ----------------------------------------------------------------------------------------------
    # Derived fixed-point constants (the RTL elaborates these, the twin computes with them)
    # ----------------------------------------------------------------------------------------------

    @property
    def chopped(self) -> bool:
        """True in the modes that use chopper signs (c-TTv2, AGAD)."""
        return self.mode is not TransferMode.TTV2

    @property
    def h_one(self) -> int:
        """H code of the value 1.0 (one pulse on C at ``thres_scale = 1``)."""
        return 1 << self.h_frac_bits

    @property
    def h_min_code(self) -> int:
        """Lowest H code (saturation bound)."""
        return -(1 << (self.h_bits - 1))

    @property
    def h_max_code(self) -> int:
        """Highest H code (saturation bound)."""
        return (1 << (self.h_bits - 1)) - 1

    @property
    def adc_min_code(self) -> int:
        """Lowest ADC code accepted."""
        return -(1 << (self.adc_bits - 1))

    @property
    def adc_max_code(self) -> int:
        """Highest ADC code accepted."""
        return (1 << (self.adc_bits - 1)) - 1

    @property
    def transfer_lr_code(self) -> int:
        """H increment (in H LSBs) per ADC LSB."""
        return round(self.transfer_lr_per_lsb * self.h_one)

    @property
    def threshold_code(self) -> int:
        """|H| at or above which one pulse fires (in H LSBs)."""
        return round(self.thres_scale * self.h_one)

    @property
    def momentum_code(self) -> int:
        """Momentum as an unsigned fixed-point multiplier with :data:`MOMENTUM_FRAC_BITS` fractional bits."""
        return round(self.momentum * (1 << MOMENTUM_FRAC_BITS))

    @property
    def buffer_cap_code(self) -> int:
        """|H| cap after firing (H LSBs) when ``forget_buffer`` is False; 0: no cap."""
        if self.forget_buffer or self.buffer_cap == 0.0:
            return 0
        return min(
            self.h_max_code, round(self.buffer_cap * self.max_pulses_per_transfer * self.threshold_code)
        )

    @property
    def lfsr_bits(self) -> int:
        """Width of the chopper LFSRs: 8 bits wider than the compared draw, so that the draw is uniform
        over ``0 .. 2**chop_prob_bits - 1`` to within ``2**-lfsr_bits``."""
        return self.chop_prob_bits + 8

    @property
    def in_chopper(self) -> ChopperConfig:
        """The input chopper block (one sign per column; one flip event after each read of a column).

        Random: one LFSR advance (``chop_prob_bits`` fresh bits) per event, flip when the draw is below
        the probability code. Regular: a sweep counter advanced by the events of column 0; every column
        flips in sweeps ``P - 1, 2P - 1, ...`` with ``P = ceil(1 / in_chop_prob)`` (aihwkit's
        DynamicTransferCompound uses ``max(P, 2)``; here ``in_chop_prob > 0.5`` flips after every read).
        """
        mode = ChopperMode.RANDOM if self.chopper_flip is ChopperFlipMode.RANDOM else ChopperMode.REGULAR
        lfsr = LfsrConfig(width=self.lfsr_bits, seed=self.in_chop_seed, steps_per_advance=self.chop_prob_bits)
        return ChopperConfig(
            lines=self.in_size,
            mode=mode,
            flip_probability=self.in_chop_prob if self.chopped else 0.0,
            probability_bits=self.chop_prob_bits,
            lfsr=lfsr,
        )

    @property
    def out_chopper(self) -> ChopperConfig:
        """The output chopper block (one sign per row): after each full pass over the columns, one random
        flip event per row, row 0 first (aihwkit draws each output chopper independently)."""
        lfsr = LfsrConfig(
            width=self.lfsr_bits, seed=self.out_chop_seed, steps_per_advance=self.chop_prob_bits
        )
        return ChopperConfig(
            lines=self.out_size,
            mode=ChopperMode.RANDOM,
            flip_probability=self.out_chop_prob if self.chopped else 0.0,
            probability_bits=self.chop_prob_bits,
            lfsr=lfsr,
        )

    @property
    def uses_in_chopper(self) -> bool:
        """True when input choppers can flip (chopped modes with ``in_chop_prob > 0``)."""
        return self.chopped and self.in_chop_prob > 0.0

    @property
    def uses_out_chopper(self) -> bool:
        """True when output choppers exist (chopped modes with ``out_chop_prob > 0``)."""
        return self.chopped and self.out_chop_prob > 0.0

    @property
    def regular_period_passes(self) -> int:
        """Regular flips: full passes between two flips of a column, ``ceil(1 / in_chop_prob)``."""
        return self.in_chopper.regular_period

    @property
    def reads_per_chopper_period(self) -> int:
        """Expected reads of one column between two flips of its chopper (at least 2)."""
        if self.in_chop_prob <= 0.0:
            return 2
        return max(math.ceil(1.0 / self.in_chop_prob), 2)

    @property
    def mean_shift(self) -> int:
        """AGAD running mean weight ``2**-mean_shift`` ≈ ``min(tail_weightening / period_reads, 1)``.

        aihwkit's DynamicTransferCompound weighs the newest read by ``min(tail_weightening / n, 1)``
        with n the reads per chopper period; a power of two turns the multiply into a shift.
        """
        weight = min(self.tail_weightening / self.reads_per_chopper_period, 1.0)
        return max(0, min(self.adc_bits + self.reference_frac_bits, round(-math.log2(weight))))

    @property
    def mean_bits(self) -> int:
        """Width of a signed running-mean / reference word."""
        return self.adc_bits + self.reference_frac_bits

    def column_cycles(self, *, end_of_pass: bool = False) -> int:
        """Clock cycles of the RTL for one column transfer when the ADC codes and the result sink never
        stall: one decide cycle, three per row (memory read, compute, result), two for the chopper event,
        plus one per row for the output chopper events after the last column of a pass."""
        cycles = 1 + 3 * self.out_size + 2
        if end_of_pass and self.uses_out_chopper:
            cycles += self.out_size
        return cycles

    @property
    def memory_words(self) -> int:
        """Words of the H (and AGAD mean / reference) memories."""
        return self.h_memory_words if self.h_memory_words is not None else self.in_size * self.out_size
