"""The RTL side of the block catalogue: build a block's Amaranth component from its config.

Which blocks exist, their names, config classes and components are declared once in
:data:`pulsetrain.catalogue.BLOCKS`; this module wraps each entry with what ``pulsetrain rtl`` needs (the
default config, a checked build). Listing the blocks imports nothing heavy: config classes and components
are imported on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amaranth.lib import wiring

from pulsetrain import catalogue
from pulsetrain.config import ConfigError


@dataclass(frozen=True)
class Block:
    """One emit-able block: its catalogue entry, with the default config and a checked build."""

    #: the block's catalogue entry.
    spec: catalogue.BlockSpec

    @property
    def name(self) -> str:
        """Name used on the command line (``--block NAME``) and for the emitted files."""
        return self.spec.name

    @property
    def description(self) -> str:
        """One line for ``pulsetrain rtl --list``."""
        return self.spec.description

    def config_class(self) -> type:
        """The config class (imported on first use)."""
        return self.spec.config_class()

    def default_config(self) -> Any:
        """The block's default config."""
        return self.config_class()()

    def build(self, config: Any) -> wiring.Component:
        """The component for ``config`` (the config validated itself when it was made)."""
        if not isinstance(config, self.config_class()):
            raise ConfigError(f"block {self.name!r} needs a {self.config_class().__name__}, not {config!r}")
        component: wiring.Component = catalogue.load(self.spec.component)(config)
        return component


#: block name -> :class:`Block`, one per catalogue entry
BLOCKS: dict[str, Block] = {name: Block(spec) for name, spec in catalogue.BLOCKS.items()}


def get_block(name: str) -> Block:
    """The registered block called ``name``; a ConfigError lists the known names otherwise."""
    return BLOCKS[catalogue.get_block(name).name]
