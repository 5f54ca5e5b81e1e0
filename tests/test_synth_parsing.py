"""Parsers and tables of pulsetrain.synth that need no tool: VCD activity, OpenSTA text, technology tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulsetrain.synth.activity import parse_vcd_activity
from pulsetrain.synth.flow_steps import _wrapper_verilog
from pulsetrain.synth.flows import rtl_fingerprint
from pulsetrain.synth.reports import parse_nextpnr_report, parse_sta_power, parse_sta_timing
from pulsetrain.synth.technology import available_technologies, load_technology

from pulsetrain.config import ConfigError

# 10 ns clock in femtoseconds; a 2-bit signal "q" in scope bench.top.sub and a 1-bit "en" in bench.top
VCD = """$timescale 1 fs $end
$scope module bench $end
$scope module top $end
$var wire 1 ! en $end
$scope module sub $end
$var wire 2 " q $end
$upscope $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
b00 "
$end
#10000000
1!
b01 "
#20000000
b10 "
#30000000
0!
b11 "
#40000000
"""


def test_vcd_activity_counts_toggles_per_cycle_and_duty(build_dir: Path) -> None:
    path = build_dir / "small.vcd"
    path.write_text(VCD)
    activity = parse_vcd_activity(path, clock_period_s=10e-9)
    assert set(activity) == {"en", "sub.q"}
    # 4 cycles: en rises once and falls once, high for 2 of 4 cycles
    assert activity["en"][0].toggle_rate == pytest.approx(2 / 4)
    assert activity["en"][0].duty == pytest.approx(0.5)
    # q counts 00 01 10 11: bit 0 toggles 3 times, bit 1 once; each bit is high for two of the four cycles
    assert activity["sub.q"][0].toggle_rate == pytest.approx(3 / 4)
    assert activity["sub.q"][1].toggle_rate == pytest.approx(1 / 4)
    assert activity["sub.q"][0].duty == pytest.approx(0.5)
    assert activity["sub.q"][1].duty == pytest.approx(0.5)


def test_sta_power_and_timing_parsers_read_the_totals() -> None:
    power = """Group                  Internal  Switching    Leakage      Total
Sequential           1.32e-04 4.14e-06 1.89e-06 1.38e-04  70.8%
Total                1.73e-04 1.74e-05 5.02e-06 1.95e-04 100.0%
"""
    assert parse_sta_power(power) == pytest.approx((1.73e-4, 1.74e-5, 5.02e-6, 1.95e-4))
    timing = "   0.0000    0.4547 ^ _283_/D (DFF_X1)\n             0.4547   data arrival time\n"
    assert parse_sta_timing(timing) == pytest.approx(0.4547)
    assert parse_sta_timing("No paths found.") is None


def test_nextpnr_report_gives_the_slowest_clock() -> None:
    text = '{"fmax": {"a": {"achieved": 120.5, "constraint": 100}, "b": {"achieved": 80.0}},'
    text += ' "utilization": {"ICESTORM_LC": {"used": 87, "available": 5280}}}'
    fmax, used = parse_nextpnr_report(text)
    assert fmax == pytest.approx(80.0)
    assert used == {"ICESTORM_LC": 87}


def test_rtl_fingerprint_ignores_source_locations_only() -> None:
    a = 'module \\top\n  attribute \\src "/home/a/x.py:3"\n  wire width 4 \\q\nend\n'
    b = 'module \\top\n  attribute \\src "/work/b/x.py:9"\n  wire width 4 \\q\nend\n'
    c = 'module \\top\n  attribute \\src "/work/b/x.py:9"\n  wire width 5 \\q\nend\n'
    assert rtl_fingerprint(a) == rtl_fingerprint(b) != rtl_fingerprint(c)


def test_wrapper_feeds_every_input_bit_and_reduces_every_output_bit() -> None:
    text = _wrapper_verilog(
        "blk", [("clk", "input", 1), ("a", "input", 5), ("b", "input", 3), ("y", "output", 9)]
    )
    assert "reg [7:0] chain" in text  # 5 + 3 input bits, clk excluded
    assert ".a(chain[4:0])" in text and ".b(chain[7:5])" in text
    assert ".y(outs[8:0])" in text
    assert "assign sout = r2[0];" in text  # 9 -> 3 -> 1 through two XOR stages


@pytest.mark.parametrize("name", available_technologies())
def test_every_shipped_technology_number_cites_a_source(name: str) -> None:
    table = load_technology(name)
    assert len(table.values) > 20
    assert all(table.source(key).strip() for key in table.values)


def test_a_number_without_source_is_refused(build_dir: Path) -> None:
    path = build_dir / "bare.toml"
    path.write_text('name = "bare"\n[adc]\nbits = 6\n')
    with pytest.raises(ConfigError, match="adc.bits"):
        load_technology(path)


def test_unknown_technology_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="rpu_45nm"):
        load_technology("no-such-table")


def test_a_bare_sweep_knob_takes_the_default_values_up_to_512() -> None:
    from pulsetrain.synth.commands import parse_sweep

    assert parse_sweep("array_size") == ("array_size", (16, 32, 64, 128, 256, 512))
    assert parse_sweep("bl=7,15") == ("bl", (7, 15))


@pytest.mark.parametrize(
    "spec", ["array_size=", "array_size=a,b", "colour"], ids=["empty", "letters", "knob"]
)
def test_bad_sweep_specs_are_refused(spec: str) -> None:
    from pulsetrain.synth.commands import parse_sweep

    with pytest.raises(ConfigError, match="--sweep"):
        parse_sweep(spec)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--target", "asic7"], "--target must be one of"),
        (["--block", "no-such-block"], "--block must be one of"),
        (["--sweep", "colour=1,2"], "--sweep must be knob=v1,v2"),
        (["--flow-set", "clock_period_ns=-1"], "clock_period_ns must be in"),
    ],
    ids=["target", "block", "sweep-knob", "flow-option"],
)
def test_synth_command_refuses_bad_input_before_any_work(arguments: list[str], message: str) -> None:
    from click.testing import CliRunner

    from pulsetrain.cli import main

    result = CliRunner().invoke(main, ["synth", *arguments])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_sweep_table_sorts_by_size_and_keeps_points_without_numbers() -> None:
    from pulsetrain.synth.sweeps import sweep_markdown

    rows = [
        {"block": "pulse-generator", "target": "generic", "array_size": 512, "error": "stopped after 600 s"},
        {"block": "pulse-generator", "target": "generic", "array_size": 16, "cells": 900, "runtime_s": 6.0},
    ]
    lines = sweep_markdown(rows, "array_size").splitlines()
    assert lines[0] == "| block | target | array_size | cells | runtime_s | error |"
    assert lines[2].startswith("| pulse-generator | generic | 16 | 900 | 6 |")
    assert lines[3].endswith("| stopped after 600 s |")
