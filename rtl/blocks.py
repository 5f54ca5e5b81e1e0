"""Registry of the periphery blocks that ``pulsetrain rtl`` can emit.

Each entry names a block, its config class (a frozen dataclass whose defaults describe a working
block) and the factory that builds the Amaranth component from a config, both as ``"module:attribute"``
strings so that listing the blocks imports nothing heavy. To add a block, add one ``Block(...)`` line
to :data:`BLOCKS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from amaranth.lib import wiring

from pulsetrain.config import ConfigError


def _load(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class Block:
    """One emit-able block: name, config class, component factory and a one-line description."""

    #: name used on the command line (``--block NAME``) and for the emitted files.
    name: str
    #: ``"module:Class"`` of the config; ``Class()`` must be a valid default config.
    config: str
    #: ``"module:callable"`` taking the config and returning a ``wiring.Component``.
    factory: str
    #: one line for ``pulsetrain rtl --list``.
    description: str

    def config_class(self) -> type:
        """The config class (imported on first use)."""
        cls: type = _load(self.config)
        return cls

    def default_config(self) -> Any:
        """The block's default config."""
        return self.config_class()()

    def build(self, config: Any) -> wiring.Component:
        """The component for ``config`` (the config validated itself when it was made)."""
        if not isinstance(config, self.config_class()):
            raise ConfigError(f"block {self.name!r} needs a {self.config_class().__name__}, not {config!r}")
        component: wiring.Component = _load(self.factory)(config)
        return component


BLOCKS: dict[str, Block] = {
    block.name: block
    for block in (
        Block(
            "lfsr",
            "pulsetrain.periphery.lfsr:LfsrConfig",
            "pulsetrain.rtl.lfsr:Lfsr",
            "one maximal-length LFSR (Galois or Fibonacci, leap-forward)",
        ),  # noqa: E501
        Block(
            "pulse-generator",
            "pulsetrain.periphery.pulse:PulseGeneratorConfig",
            "pulsetrain.rtl.pulse_generator:PulseGenerator",
            "row and column update pulse trains (stochastic LFSR comparators / deterministic counts)",
        ),
        Block(
            "adc-readout",
            "pulsetrain.periphery.adc:AdcReadoutConfig",
            "pulsetrain.rtl.adc_readout:AdcReadout",
            "column multiplexing and SAR / ramp ADC sequencing, (column, code) stream",
        ),
        Block(
            "chopper",
            "pulsetrain.periphery.chopper:ChopperConfig",
            "pulsetrain.rtl.chopper:ChopperSign",
            "chopper sign registers, random / regular flips, XOR on write and read paths",
        ),
        Block(
            "schedule-controller",
            "pulsetrain.periphery.schedule:ScheduleConfig",
            "pulsetrain.rtl.schedule_controller:ScheduleController",
            "BP / DFA per-sample training-schedule controller (mode bp / dfa)",
        ),  # noqa: E501
        Block(
            "sbe-unit",
            "pulsetrain.periphery.sbe:SbeConfig",
            "pulsetrain.rtl.sbe_unit:SbeUnit",
            "streaming batch eigenupdate unit (rank 1: running X, D, sigma)",
        ),
        Block(
            "tile-periphery",
            "pulsetrain.rtl.tile_periphery:TilePeripheryConfig",
            "pulsetrain.rtl.tile_periphery:TilePeriphery",
            "one layer's periphery: pulse generator, ADC readout, transfer controller with chopper",
        ),  # noqa: E501
        Block(
            "transfer-controller",
            "pulsetrain.periphery.transfer:TransferControllerConfig",
            "pulsetrain.rtl.transfer_controller:TransferController",
            "TTv2 / c-TTv2 / AGAD transfer controller (H buffer, threshold, choppers, AGAD reference)",
        ),  # noqa: E501
    )
}


def get_block(name: str) -> Block:
    """The registered block called ``name``; a ConfigError lists the known names otherwise."""
    if name not in BLOCKS:
        raise ConfigError(f"--block must be one of {', '.join(sorted(BLOCKS))}; not {name!r}")
    return BLOCKS[name]
