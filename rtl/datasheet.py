"""Datasheets of the periphery blocks, generated from a config: the static part (no simulation).

A datasheet tells a designer everything needed to write a testbench without reading the generator:
every port (direction, width, the bit ranges of each payload field from the block's data layouts), the
clock and reset, the protocol rules, and latency and throughput formulas evaluated for the config. The
timing diagrams and the reset values come from a simulation of the emitted Verilog
(:mod:`pulsetrain.cosim.datasheet`), which also checks every formula against the cycles it measures and
adds both to the sheet before :func:`to_markdown` renders it.

Cycle conventions used in every sheet: "cycle ``c``" is the clock period that begins at rising edge
``c``; an input driven in cycle ``c`` is sampled at edge ``c + 1``; a registered output changed by that
edge is seen in cycle ``c + 1``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from amaranth.hdl import Shape
from amaranth.lib import data, wiring

from pulsetrain.config import to_plain

#: clock and reset of every converted block (Amaranth's default ``sync`` domain).
CLOCK = {"port": "clk", "edge": "rising", "domain": "sync"}
RESET = {
    "port": "rst",
    "kind": "synchronous",
    "polarity": "active high",
    "note": "hold rst high for at least one rising edge; every register takes its reset value at that "
    "edge (also its power-on value: the Verilog declares registers with it as initializer)",
}


@dataclass(frozen=True)
class Formula:
    """A latency or throughput of the block, as an expression and its value for the config."""

    #: key, shared with the measurement that checks it.
    name: str
    #: what is counted, in words.
    meaning: str
    #: the formula in terms of config fields.
    expression: str
    #: its value for this config.
    value: int
    #: unit of ``value``.
    unit: str = "cycles"


@dataclass(frozen=True)
class Protocol:
    """Protocol rules (sentences) and formulas of one block for one config."""

    rules: tuple[str, ...]
    formulas: tuple[Formula, ...]


def _layout_fields(layout: data.Layout, prefix: str, offset: int) -> Iterator[dict[str, Any]]:
    for key, field in layout:
        name = f"{prefix}.{key}" if prefix else str(key)
        start = offset + field.offset
        shape = field.shape
        if isinstance(shape, data.Layout):
            yield from _layout_fields(shape, name, start)
        else:
            signed = Shape.cast(shape).signed
            yield {
                "field": name,
                "bits": [start + field.width - 1, start],
                "width": field.width,
                "signed": signed,
            }


def port_table(component: wiring.Component) -> list[dict[str, Any]]:
    """Every port of the converted top: Verilog name, direction, width, signedness, payload fields."""
    ports = []
    for path, member, _value in component.signature.flatten(component):
        name = "__".join(map(str, path))
        shape = member.shape
        layout = isinstance(shape, data.Layout)
        entry: dict[str, Any] = {
            "name": name,
            "direction": "in" if member.flow == wiring.In else "out",
            "width": Shape.cast(shape).width,
            "signed": False if layout else Shape.cast(shape).signed,
        }
        if isinstance(shape, data.Layout):
            entry["fields"] = list(_layout_fields(shape, "", 0))
        ports.append(entry)
    return ports


def _built_only_for_ports(component: object) -> None:
    """Tell Amaranth that ``component`` (and the sub-components its constructor made) were built only to
    read their signatures, so it does not warn that they were never elaborated."""
    component._MustUse__silence = True  # type: ignore[attr-defined]
    for value in vars(component).values():
        if isinstance(value, wiring.Component) and not getattr(value, "_MustUse__silence", False):
            _built_only_for_ports(value)


def config_notes(config: Any) -> list[str]:
    """The ``notes()`` of the config and of every config nested in it (effective values differing from
    the numbers given, e.g. a regular chopper's rate or quantised probabilities)."""
    found: list[str] = []
    notes = getattr(config, "notes", None)
    if callable(notes):
        found.extend(notes())
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        for field in dataclasses.fields(config):
            inner = getattr(config, field.name)
            if dataclasses.is_dataclass(inner) and not isinstance(inner, type):
                found.extend(f"{field.name}: {note}" for note in config_notes(inner))
    return found


def protocol(block: str, config: Any) -> Protocol:
    """Rules and formulas of ``block`` for ``config`` (see :mod:`pulsetrain.rtl.datasheet_protocols`)."""
    from pulsetrain.rtl.datasheet_protocols import PROTOCOLS

    builder: Callable[[Any], Protocol] = PROTOCOLS[block]
    return builder(config)


def datasheet(block: str, config: Any) -> dict[str, Any]:
    """The static datasheet of registry block ``block`` for ``config`` as JSON-ready data."""
    from pulsetrain.rtl.blocks import get_block

    entry = get_block(block)
    component = entry.build(config)
    _built_only_for_ports(component)
    rules = protocol(block, config)
    derived = config.derived() if callable(getattr(config, "derived", None)) else {}
    return {
        "block": block,
        "module": entry.spec.toplevel,
        "description": entry.description,
        "config_class": f"{type(config).__module__}.{type(config).__qualname__}",
        "config": to_plain(config),
        "derived": to_plain(derived),
        "notes": config_notes(config),
        "clock": CLOCK,
        "reset": RESET,
        "conventions": "cycle c is the clock period that begins at rising edge c; an input driven in cycle c "
        "is sampled at edge c + 1; a registered output changed by that edge is seen in cycle c + 1",
        "ports": port_table(component),
        "protocol": list(rules.rules),
        "formulas": [dataclasses.asdict(formula) for formula in rules.formulas],
    }


# --------------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------------


def _field_text(field: dict[str, Any]) -> str:
    high, low = field["bits"]
    return f"`{field['field']}` [{high}:{low}]{' signed' if field['signed'] else ''}"


def _port_rows(sheet: dict[str, Any]) -> list[str]:
    resets = sheet.get("reset_values", {})
    rows = ["| port | direction | width | fields (bits) | value in reset |", "|---|---|---|---|---|"]
    for port in sheet["ports"]:
        fields = ", ".join(_field_text(field) for field in port.get("fields", []))
        reset = resets.get(port["name"], "")
        signed = " signed" if port.get("signed") else ""
        rows.append(
            f"| `{port['name']}` | {port['direction']} | {port['width']}{signed} | {fields} | {reset} |"
        )
    return rows


def to_markdown(sheet: dict[str, Any]) -> str:
    """The datasheet as Markdown (timing diagrams linked as SVG files next to it)."""
    lines = [f"# `{sheet['block']}` datasheet", "", sheet["description"], ""]
    lines += [
        f"Verilog module `{sheet['module']}`; config `{sheet['config_class']}` (values in the JSON).",
        "",
    ]
    if sheet["notes"]:
        lines += ["## Effective values", ""] + [f"- {note}" for note in sheet["notes"]] + [""]
    clock, reset = sheet["clock"], sheet["reset"]
    lines += [
        "## Clock and reset",
        "",
        f"- clock `{clock['port']}`, {clock['edge']} edge; every port is synchronous to it.",
        f"- reset `{reset['port']}`: {reset['kind']}, {reset['polarity']}; {reset['note']}.",
        f"- {sheet['conventions']}.",
        "",
        "## Ports",
        "",
        *_port_rows(sheet),
        "",
        "## Protocol",
        "",
        *[f"- {rule}" for rule in sheet["protocol"]],
        "",
        "## Latency and throughput",
        "",
        "| quantity | formula | value | measured in simulation |",
        "|---|---|---|---|",
    ]
    measured = {check["name"]: check for check in sheet.get("checks", [])}
    for formula in sheet["formulas"]:
        check = measured.get(formula["name"])
        seen = "" if check is None else f"{check['measured']} ({'agrees' if check['agrees'] else 'DIFFERS'})"
        lines.append(
            f"| {formula['meaning']} | `{formula['expression']}` | {formula['value']} {formula['unit']} | "
            f"{seen} |"
        )
    for diagram in sheet.get("diagrams", []):
        lines += [
            "",
            f"## Timing: {diagram['title']}",
            "",
            diagram["caption"],
            "",
            f"![{diagram['title']}]({diagram['svg']})",
        ]
    if "simulator" in sheet:
        lines += ["", f"Diagrams and measurements: {sheet['simulator']} on the emitted Verilog."]
    return "\n".join(lines) + "\n"
