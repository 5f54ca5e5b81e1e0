"""The synthesis side of the RTL block registry (:mod:`pulsetrain.rtl.blocks`): configs, sizes, sweeps knobs.

A block is looked up by name, its default config is overridden like every other config (``--config``
TOML, ``--set key=value``), and the sweep *knobs* (array size, ADC bits, BL, H width) are applied to
whichever of the config's fields carry that meaning, so a block added to the registry later joins the
sweeps without an edit here.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pulsetrain.synth.flows import BlockDesign

from pulsetrain.config import ConfigError, apply_overrides, resolve, to_plain

__all__ = ["KNOBS", "block_design", "block_names", "knob_fields", "with_knob"]

#: sweep knob -> dotted config fields that carry it (every one present in a block's config is set).
KNOBS: dict[str, tuple[str, ...]] = {
    "array_size": (
        "x_lines",
        "d_lines",
        "lines",
        "rows",
        "cols",
        "in_size",
        "out_size",
        "columns",
        "channels",
    ),
    "adc_bits": ("adc_bits", "timing.adc_bits"),
    "bl": ("bl_max", "timing.bl"),
    "h_bits": ("h_bits",),
}


def block_names() -> list[str]:
    """Names of the blocks in the RTL registry."""
    from pulsetrain.rtl.blocks import BLOCKS

    return sorted(BLOCKS)


def _has_field(config: Any, dotted: str) -> bool:
    current = config
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(current) or part not in {f.name for f in dataclasses.fields(current)}:
            return False
        current = getattr(current, part)
    return True


def knob_fields(config: Any, knob: str) -> list[str]:
    """The fields of ``config`` that carry sweep knob ``knob``."""
    if knob not in KNOBS:
        raise ConfigError(f"sweep knob must be one of {', '.join(KNOBS)}; not {knob!r}")
    return [name for name in KNOBS[knob] if _has_field(config, name)]


def with_knob(config: Any, knob: str, value: int) -> Any:
    """``config`` with every field of ``knob`` set to ``value`` (and BL counter widths grown to fit)."""
    fields = knob_fields(config, knob)
    if not fields:
        raise ConfigError(f"{type(config).__name__} has no field for knob {knob!r}")
    overrides: dict[str, Any] = {name: value for name in fields}
    if knob == "bl" and _has_field(config, "bl_counter_bits"):
        overrides["bl_counter_bits"] = max(1, math.ceil(math.log2(value + 1)))
    if knob == "h_bits" and _has_field(config, "h_frac_bits"):
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
