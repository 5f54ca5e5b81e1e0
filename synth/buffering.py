"""Fanout buffering of a mapped netlist before static timing.

Yosys and ABC map logic but do not build buffer trees for nets that leave a flip-flop or an input port:
in a 64-wide block a control register may drive thousands of gates, and OpenSTA then reports a path of
hundreds of nanoseconds through one X1 output, a number no placed design would have. A placer repairs
this with buffer trees (OpenROAD's ``repair_design``); here :func:`buffer_fanout` does the same on the
Yosys JSON netlist: every net with more than ``max_fanout`` cell inputs is split into groups of at most
``max_fanout`` loads, each group behind one buffer, recursively, so the tree depth is
``ceil(log_max_fanout(loads))``. The buffered netlist is read back by Yosys for area and by OpenSTA.
"""

from __future__ import annotations

from typing import Any

__all__ = ["buffer_fanout"]


def buffer_fanout(
    netlist: dict[str, Any],
    top: str,
    *,
    buffer_cell: str,
    input_pin: str,
    output_pin: str,
    max_fanout: int = 16,
) -> int:
    """Insert buffer trees in ``netlist[modules][top]`` in place; return the number of buffers added."""
    module = netlist["modules"][top]
    cells: dict[str, Any] = module["cells"]
    next_bit = 1 + max(
        (b for net in module["netnames"].values() for b in net["bits"] if isinstance(b, int)), default=1
    )
    loads: dict[int, list[tuple[str, str, int]]] = {}
    for name, cell in cells.items():
        directions = cell.get("port_directions", {})
        for pin, bits in cell["connections"].items():
            if directions.get(pin) != "input":
                continue
            for index, bit in enumerate(bits):
                if isinstance(bit, int):
                    loads.setdefault(bit, []).append((name, pin, index))
    added = 0
    for bit, sinks in list(loads.items()):
        if len(sinks) <= max_fanout:
            continue
        level = sinks
        while len(level) > max_fanout:
            groups = [level[i : i + max_fanout] for i in range(0, len(level), max_fanout)]
            next_level: list[tuple[str, str, int]] = []
            for group in groups:
                buffer_name = f"fanout_buf_{added}"
                added += 1
                new_bit = next_bit
                next_bit += 1
                for cell_name, pin, index in group:
                    cells[cell_name]["connections"][pin][index] = new_bit
                cells[buffer_name] = {
                    "hide_name": 0,
                    "type": buffer_cell,
                    "parameters": {},
                    "attributes": {},
                    "port_directions": {input_pin: "input", output_pin: "output"},
                    "connections": {input_pin: [bit], output_pin: [new_bit]},
                }
                module["netnames"][f"fanout_net_{new_bit}"] = {
                    "hide_name": 0,
                    "bits": [new_bit],
                    "attributes": {},
                }
                next_level.append((buffer_name, input_pin, 0))
            level = next_level
    return added
