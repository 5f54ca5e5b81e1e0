"""Broken variants of the periphery blocks: each one a small, plausible bug that one formal property
of :mod:`pulsetrain.rtl.properties` must catch (a proof that passes on its mutant proves too little).

Three kinds, from least to most coupled to the blocks' insides:

- port-level: a component with the block's signature that forwards every port to a real block but
  drives one output differently (:class:`PortOverride`);
- config-level: a subclass of the block's config whose derived value is wrong, so the real block is
  generated with a wrong constant (what a wrong formula in the shared config would do);
- source-level (:func:`source_mutant`): the block's own module compiled with one line changed, for
  bugs that live inside a block (a register one bit short). The original text must occur exactly once;
  when a rewrite of the block removes it, :class:`MutationSiteError` says which mutant to update.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import Out
from pulsetrain.rtl.adc_readout import AdcReadout
from pulsetrain.rtl.chopper import ChopperSign

from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig
from pulsetrain.periphery.schedule import ScheduleConfig
from pulsetrain.periphery.transfer import TransferControllerConfig

__all__ = [
    "FloorAdcCountConfig",
    "MutationSiteError",
    "PortOverride",
    "ShortCodeConfig",
    "ShortLastPhaseConfig",
    "StaleReadChopper",
    "UnsignedSaturationConfig",
    "WithdrawnValidReadout",
    "source_mutant",
]


class MutationSiteError(RuntimeError):
    """The text a source-level mutant changes is no longer in the block's source (update the mutant)."""


def source_mutant(module_name: str, class_name: str, original: str, replacement: str) -> type:
    """Class ``class_name`` of module ``module_name`` compiled with ``original`` replaced.

    The block's file is not touched: its text is read, changed in memory and executed as a separate
    module (named ``<module>__mutant``), so the real class stays intact for every other user.
    """
    module = importlib.import_module(module_name)
    path = Path(str(module.__file__))
    source = path.read_text()
    found = source.count(original)
    if found != 1:
        raise MutationSiteError(
            f"{path.name}: the mutation site {original!r} occurs {found} times (expected once); "
            f"update this mutant of {class_name} to the block's current source"
        )
    name = f"{module_name}__mutant"
    mutated = types.ModuleType(name)
    mutated.__file__ = str(path)
    sys.modules[name] = mutated  # dataclasses and typing look modules up by name
    exec(compile(source.replace(original, replacement), f"{path} (mutant)", "exec"), mutated.__dict__)
    cls: type = getattr(mutated, class_name)
    return cls


class PortOverride(wiring.Component):
    """A block with the same ports whose ``mutate`` re-drives some outputs (a port-level bug).

    Parameters
    ----------
    inner
        The real block; every port is forwarded except the outputs named in ``overridden`` (paths as
        :meth:`amaranth.lib.wiring.Signature.flatten` gives them), which ``mutate`` must drive.
    """

    def __init__(self, inner: wiring.Component, overridden: tuple[tuple[Any, ...], ...]) -> None:
        self._inner = inner
        self._overridden = overridden
        super().__init__(inner.signature)

    @property
    def inner(self) -> wiring.Component:
        """The real block inside."""
        return self._inner

    def mutate(self, m: Module) -> None:
        """Drive the overridden outputs (subclasses)."""
        raise NotImplementedError

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.inner = inner = self._inner
        ours = self.signature.flatten(self)
        theirs = inner.signature.flatten(inner)
        for (path, member, outer), (_, _, real) in zip(ours, theirs, strict=True):
            if member.flow is Out:
                if path not in self._overridden:
                    m.d.comb += outer.eq(real)
            else:
                m.d.comb += real.eq(outer)
        self.mutate(m)
        return m


class WithdrawnValidReadout(PortOverride):
    """ADC readout whose result ``valid`` drops for one cycle after a stalled cycle (a handshake bug:
    an output register that clears ``valid`` on a timer instead of on ``ready``)."""

    def __init__(self, config: AdcReadoutConfig) -> None:
        super().__init__(AdcReadout(config), (("results", "valid"),))

    def mutate(self, m: Module) -> None:
        results = self.inner.results  # type: ignore[attr-defined]
        stalled = Signal()
        m.d.sync += stalled.eq(results.valid & ~results.ready)
        m.d.comb += self.results.valid.eq(results.valid & ~stalled)  # type: ignore[attr-defined]


class StaleReadChopper(ChopperSign):
    """Chopper whose read path reads a copy of the signs taken one cycle earlier: right after a flip
    the read path still chops with the old sign while the write path uses the new one."""

    def elaborate(self, platform: object) -> Module:
        m = super().elaborate(platform)
        stale = Signal(self.config.lines)
        m.d.sync += stale.eq(self.negative)
        m.d.comb += self.read_negative.eq(stale.bit_select(self.read_line, 1))
        return m


class UnsignedSaturationConfig(TransferControllerConfig):
    """Transfer config whose saturation bounds are those of an unsigned word of ``h_bits`` (a sign bit
    forgotten): the clamp never triggers and a large H wraps around to the other sign."""

    @property
    def h_min_code(self) -> int:
        return -(1 << self.h_bits)

    @property
    def h_max_code(self) -> int:
        return (1 << self.h_bits) - 1


class FloorAdcCountConfig(AdcReadoutConfig):
    """ADC config that counts ADCs with floor instead of ceil: with a remainder of columns the last
    columns have no ADC and a round ends without them."""

    @property
    def adcs(self) -> int:
        return max(1, self.columns // self.columns_per_adc)


class ShortCodeConfig(PulseGeneratorConfig):
    """Pulse generator config whose code registers are one bit short: large codes lose their top bit."""

    @property
    def code_width(self) -> int:
        return max(1, super().code_width - 1)


class ShortLastPhaseConfig(ScheduleConfig):
    """Schedule config whose fixed cost of the last phase is one cycle short (a cost-table off-by-one):
    the sample reports done before its last operation can have finished."""

    def phase_cycles(self) -> tuple[int, ...]:
        cycles = super().phase_cycles()
        return (*cycles[:-1], max(1, cycles[-1] - 1))


#: Source-level mutants: (module, class, original text, replacement, what the bug is).
SOURCE_MUTANTS: dict[str, tuple[str, str, str, str, str]] = {
    "slot-counter-one-bit-short": (
        "pulsetrain.rtl.pulse_generator",
        "PulseGenerator",
        "slot = Signal(counter)",
        "slot = Signal(counter - 1)",
        (
            "the pulse generator's slot counter is one bit short: a train longer than half the range "
            "never reaches its last slot and runs forever (the mutant that hung a test for 310 s, issue 18)"
        ),
    ),
    "one-pulse-level-too-many": (
        "pulsetrain.rtl.transfer_controller",
        "TransferController",
        "for level in range(1, config.max_pulses_per_transfer + 1)",
        "for level in range(1, config.max_pulses_per_transfer + 2)",
        "the transfer controller compares |H| with one threshold level more than max_pulses_per_transfer",
    ),
    "read-path-ignores-input-chopper": (
        "pulsetrain.rtl.transfer_controller",
        "TransferController",
        "pointer, 1) ^ ",
        "pointer, 1) & 0 ^ ",
        (
            "the transfer controller demodulates the read without the column's input chopper sign, while "
            "the update path of A is chopped with it"
        ),
    ),
    "phase-ends-before-its-operations": (
        "pulsetrain.rtl.schedule_controller",
        "ScheduleController",
        'remaining[kind].eq(current & ~getattr(self, f"{kind.value}_done"))',
        'remaining[kind].eq(current & getattr(self, f"{kind.value}_done"))',
        "with handshake completion a phase counts the operations that are done as the ones still pending",
    ),
    "cycle-counter-wraps": (
        "pulsetrain.rtl.schedule_controller",
        "ScheduleController",
        "with m.If(count != limit):",
        "with m.If(1):",
        "the schedule controller's cycle counter wraps around instead of saturating",
    ),
}


def source_mutant_factory(name: str) -> Callable[[Any], wiring.Component]:
    """A function that builds the source-level mutant ``name`` from a config."""
    module_name, class_name, original, replacement, _ = SOURCE_MUTANTS[name]

    def build(config: Any) -> wiring.Component:
        cls = source_mutant(module_name, class_name, original, replacement)
        component: wiring.Component = cls(config)
        return component

    return build
