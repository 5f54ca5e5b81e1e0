"""The synthesis side of the block catalogue (:mod:`pulsetrain.catalogue`): configs, sizes, sweep knobs.

A block is looked up by name, its default config is overridden like every other config (``--config``
TOML, ``--set key=value``), and the sweep *knobs* (array size, ADC bits, BL, H width) are applied to
the fields its catalogue entry names for them (:class:`pulsetrain.catalogue.SweepFields`), so a block
added to the catalogue joins the sweeps without an edit here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pulsetrain.synth.flows import BlockDesign

from pulsetrain import catalogue
from pulsetrain.config import ConfigError, apply_overrides, resolve, to_plain

__all__ = ["KNOBS", "block_design", "block_names", "knob_fields", "with_knob"]

#: the sweep knobs (``pulsetrain synth --sweep KNOB=...``)
KNOBS: tuple[str, ...] = catalogue.SWEEP_KNOBS


def block_names() -> list[str]:
    """Names of the blocks in the catalogue."""
    return catalogue.block_names()


def knob_fields(config: Any, knob: str) -> list[str]:
    """The fields of ``config`` that carry sweep knob ``knob`` (none for a config outside the catalogue)."""
    if knob not in KNOBS:
        raise ConfigError(f"sweep knob must be one of {', '.join(KNOBS)}; not {knob!r}")
    spec = catalogue.block_for_config(config)
    return list(spec.sweep.of(knob)) if spec is not None else []


def with_knob(config: Any, knob: str, value: int) -> Any:
    """``config`` with every field of ``knob`` set to ``value`` (and BL counter widths grown to fit)."""
    fields = knob_fields(config, knob)
    if not fields:
        raise ConfigError(f"{type(config).__name__} has no field for knob {knob!r}")
    overrides: dict[str, Any] = {name: value for name in fields}
    if knob == "bl" and hasattr(config, "bl_counter_bits"):
        overrides["bl_counter_bits"] = max(1, math.ceil(math.log2(value + 1)))
    if knob == "h_bits" and hasattr(config, "h_frac_bits"):
        overrides["h_frac_bits"] = min(int(config.h_frac_bits), value - 2)
    return apply_overrides(config, overrides)


def block_design(
    name: str,
    *,
    sets: Iterable[str] = (),
    config_file: str | Path | None = None,
    knobs: dict[str, int] | None = None,
) -> BlockDesign:
    """A :class:`BlockDesign` for registry block ``name`` with overrides applied (validated first)."""
    from pulsetrain.rtl.blocks import get_block

    block = get_block(name)
    config = block.default_config()
    for knob, value in (knobs or {}).items():
        if knob_fields(config, knob):  # blocks without the knob (an LFSR has no array size) keep their config
            config = with_knob(config, knob, value)
    config = resolve(config, config_file=config_file, sets=sets)

    def factory(block: Any = block, config: Any = config) -> Any:
        return block.build(config)

    plain = to_plain(config)
    digest = hashlib.sha256(
        json.dumps({"block": name, "config": plain, "sources": _generator_sources()}, sort_keys=True).encode()
    ).hexdigest()
    return BlockDesign(name=name, factory=factory, parameters=plain, source_digest=digest)


@functools.cache
def _generator_sources() -> str:
    """Digest of the RTL generators' sources (rtl/, the shared configs) and the Amaranth version."""
    import amaranth
    import pulsetrain.rtl

    import pulsetrain.periphery

    digest = hashlib.sha256(amaranth.__version__.encode())
    for package in (pulsetrain.rtl, pulsetrain.periphery):
        for path in sorted(Path(next(iter(package.__path__))).rglob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
