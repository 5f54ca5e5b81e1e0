"""Datasheets of the periphery blocks: static content, all eight generated from simulation, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pulsetrain.cosim import runner
from pulsetrain.cosim.datasheet import SCENES, write_all_datasheets
from pulsetrain.rtl.datasheet import datasheet, to_markdown
from pulsetrain.rtl.datasheet_protocols import PROTOCOLS
from pulsetrain.rtl.emit import ports
from pulsetrain.rtl.pulse_generator import PulseGenerator, code_layout

from pulsetrain import catalogue
from pulsetrain.periphery.chopper import ChopperConfig, ChopperMode
from pulsetrain.periphery.pulse import PulseGeneratorConfig

ICARUS = runner.unavailable_reason(runner.SimulatorName.ICARUS)
needs_icarus = pytest.mark.skipif(ICARUS is not None, reason=f"datasheet diagrams run on Icarus: {ICARUS}")


def test_every_catalogue_block_has_a_protocol_and_a_scenario() -> None:
    assert set(PROTOCOLS) == set(catalogue.BLOCKS) == set(SCENES)


def test_ports_carry_payload_field_bit_ranges_from_the_layout() -> None:
    config = PulseGeneratorConfig(x_lines=5, d_lines=3, probability_bits=4)
    sheet = datasheet("pulse-generator", config)
    generator = PulseGenerator(config)
    generator._MustUse__silence = True  # type: ignore[attr-defined]  # built only to list its ports
    expected = [p.name for p in ports(generator)]
    assert [port["name"] for port in sheet["ports"]] == expected
    payload = next(port for port in sheet["ports"] if port["name"] == "codes__payload")
    fields = {field["field"]: field["bits"] for field in payload["fields"]}
    layout = code_layout(config)
    assert fields == {
        name: [layout[name].offset + layout[name].width - 1, layout[name].offset]
        for name in ("line", "code", "negative")
    }
    assert payload["width"] == layout.size


def test_effective_values_are_said_at_config_time_and_in_the_sheet() -> None:
    regular = ChopperConfig(mode=ChopperMode.REGULAR, flip_probability=0.3)
    assert regular.effective_flip_probability == 0.25
    assert "0.25" in regular.notes()[0]
    assert ChopperConfig(flip_probability=0.5).notes() == []  # exactly representable: nothing to say
    sheet = datasheet("chopper", regular)
    assert sheet["notes"] == regular.notes() and "Effective values" in to_markdown(sheet)
    pulse_sheet = datasheet("pulse-generator", PulseGeneratorConfig(probability_bits=4))
    assert "0.0625" in pulse_sheet["notes"][0]


@pytest.mark.sim
@needs_icarus
def test_all_eight_datasheets_are_drawn_from_simulation_and_agree_with_their_formulas(
    build_dir: Path,
) -> None:
    written = write_all_datasheets(build_dir / "datasheets")
    assert set(written) == set(catalogue.BLOCKS) and len(written) == 8
    for block, paths in written.items():
        sheet = json.loads(paths["json"].read_text())
        assert paths["svg"].read_text().startswith("<svg"), block
        assert f"![scenario]({block}.svg)" in paths["markdown"].read_text()
        assert sheet["checks"], f"{block}: no formula was measured"
        assert [c for c in sheet["checks"] if not c["agrees"]] == [], block
        outputs = {port["name"] for port in sheet["ports"] if port["direction"] == "out"}
        assert set(sheet["reset_values"]) == outputs, block
        lanes = sheet["diagrams"][0]["wavedrom"]["signal"]
        assert len(lanes) > 2 and all(len(lane["wave"]) == len(lanes[0]["wave"]) for lane in lanes), block


@pytest.mark.sim
@needs_icarus
def test_rtl_command_writes_a_datasheet_and_says_effective_values(build_dir: Path) -> None:
    from pulsetrain.cli import main

    sets = ["--set", "mode=regular", "--set", "flip_probability=0.3"]
    arguments = ["rtl", "--block", "chopper", *sets, "--datasheet", "--no-rtlil", "--out", str(build_dir)]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "note: chopper flips with probability 0.25" in result.output
    sheet = json.loads((build_dir / "chopper.datasheet.json").read_text())
    assert sheet["derived"]["effective_flip_probability"] == 0.25
    assert (build_dir / "chopper.md").is_file() and (build_dir / "chopper.svg").is_file()
