"""The model's crossbar read against ngspice at 16 rows (skipped where ngspice is not installed)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pulsetrain.model.irdrop import IrDropConfig
from pulsetrain.model.tile import IOConfig
from pulsetrain.spice.check import FITTED_CALIBRATION, FITTED_SATURATION, model_versus_spice
from pulsetrain.spice.circuit import ReadCircuit, technology_physics, technology_read_voltage
from pulsetrain.spice.compare import compare_read, tile_netlist
from pulsetrain.spice.ngspice import ngspice_info, parse_raw
from pulsetrain.spice.sweep import sample_tile

from pulsetrain.cli import main

needs_ngspice = pytest.mark.skipif(
    ngspice_info() is None, reason="ngspice is not installed (Debian: apt-get install ngspice)"
)

#: Model-versus-ngspice tolerance with ideal wires, in ADC LSB (9-bit ADC over ±12 device units).
#: Why 5e-3: with ideal wires the only physical difference between the netlist and the model's formula
#: is the amplifiers' finite open-loop gain A = 1e6. Each column's output is then off by a relative
#: (1 + R_f ΣG) / A, where R_f ΣG = (Σ cell conductances in device units) / out_bound · V_fs / V_read.
#: A cell is at most 4.5 device units of conductance here (the device range spans at most 4.3 units and
#: g_off adds 1/(on/off - 1) of it), so for 16 rows R_f ΣG < 16 · 4.5 / 12 · (1 V / 0.5 V) = 12 and the
#: relative error is below 1.3e-5: at most 3.3e-3 LSB at full scale (255 LSB). The netlist prints 12
#: significant digits (1e-12 relative). 5e-3 LSB covers the bound and is 100 times below the half LSB at
#: which an ADC code can change.
IDEAL_WIRES_TOLERANCE_LSB = 5e-3


def _ideal(technology: str) -> ReadCircuit:
    physics = dataclasses.replace(
        technology_physics(technology), row_segment_ohm=0.0, column_segment_ohm=0.0, access_ohm=0.0
    )
    return ReadCircuit(physics=physics, read_voltage_V=technology_read_voltage(technology))


@needs_ngspice
@pytest.mark.parametrize("technology", ["rpu_45nm", "neurosim_v21"])
def test_model_read_agrees_with_ngspice_at_16_rows_with_ideal_wires(technology: str) -> None:
    rng = np.random.default_rng(11)
    for _ in range(2):
        tile = sample_tile(16, 8, IOConfig(out_noise=0.0), rng)
        result = compare_read(tile, rng.uniform(0.0, 1.0, 16), _ideal(technology))
        assert np.abs(result.value_error_lsb).max() <= IDEAL_WIRES_TOLERANCE_LSB
        # codes may only differ where the value sits within the tolerance of a decision edge
        edge_distance = np.abs(np.abs(result.spice_values / result.lsb) % 1.0 - 0.5)
        assert np.all((result.code_error == 0) | (edge_distance <= IDEAL_WIRES_TOLERANCE_LSB))


@needs_ngspice
def test_calibrated_ir_drop_follows_ngspice_where_the_plain_model_does_not() -> None:
    # NeuroSim's 1T1R cell (15 kOhm access transistor, 2.12 ohm per cell of wire) at 16 rows: the
    # access resistance alone compresses the on state by 6 %, several LSB; the option models it exactly
    # and the wires to first order, which at 16 rows leaves round-off (measured 1e-3 LSB; 0.05 LSB is
    # a tenth of the half LSB that decides a code)
    technology = "neurosim_v21"
    physics = technology_physics(technology)
    circuit = ReadCircuit(physics=physics, read_voltage_V=technology_read_voltage(technology))
    ir = IrDropConfig(physics=physics, calibration=FITTED_CALIBRATION, saturation=FITTED_SATURATION)
    rng = np.random.default_rng(12)
    tile = sample_tile(16, 8, IOConfig(out_noise=0.0), rng)
    result = compare_read(tile, rng.uniform(0.0, 1.0, 16), circuit, ir_drop=ir)
    assert np.abs(result.value_error_lsb).max() > 1.0
    assert np.abs(np.asarray(result.ir_error_lsb)).max() < 0.05


@needs_ngspice
def test_the_summary_for_the_report_passes_and_counts_what_it_compared() -> None:
    summary = model_versus_spice(reads=2)
    assert summary is not None
    assert summary.passed and summary.ideal_code_mismatches == 0
    assert summary.rows == 16 and summary.reads == 2
    assert summary.wires_ir_max_error_lsb < summary.wires_model_max_error_lsb


def test_netlist_has_one_cell_per_device_and_one_segment_per_cell() -> None:
    rng = np.random.default_rng(0)
    tile = sample_tile(5, 3, IOConfig(out_noise=0.0), rng)
    physics = technology_physics("rpu_45nm")
    netlist, _ = tile_netlist(tile, rng.uniform(0, 1, 5), ReadCircuit(physics=physics))
    names = [line.split()[0] for line in netlist.text.splitlines() if line and line[0] not in "*."]
    assert sum(name.startswith("RD") for name in names) == 5 * 6
    assert sum(name.startswith("RR") for name in names) == 5 * 6
    assert sum(name.startswith("RC") for name in names) == 5 * 6
    assert netlist.comparator_nodes == ("m0", "m1", "m2")
    ideal, _ = tile_netlist(tile, rng.uniform(0, 1, 5), _ideal("rpu_45nm"))
    assert " RR" not in ideal.text and "\nRC" not in ideal.text


def test_binary_and_ascii_raw_files_parse_to_the_same_vectors() -> None:
    header = "Title: t\nPlotname: Operating Point\nFlags: real\nNo. Variables: 2\nNo. Points: 1\n"
    header += "Variables:\n\t0\tv(m0)\tvoltage\n\t1\tv(m1)\tvoltage\n"
    binary = (header + "Binary:\n").encode() + np.array([0.25, -1.5], dtype="<f8").tobytes()
    text = (header + "Values:\n 0\t2.5e-01\n\t-1.5e+00\n").encode()
    for data in (binary, text):
        vectors = parse_raw(data)
        assert vectors["v(m0)"][0] == 0.25 and vectors["v(m1)"][0] == -1.5


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["check", "--tech", "tsmc"], "--tech must be one of"),
        (["check", "--rows", "1"], "--rows must be an integer in 2..512"),
        (["sweep", "--rows", "a,b"], "--rows must be a comma-separated list"),
        (["sweep", "--jobs", "0"], "sweep.jobs must be an integer"),
    ],
    ids=["tech", "rows", "rows-list", "jobs"],
)
def test_bad_spice_options_fail_with_one_line_and_exit_2(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(main, ["spice", *args])
    assert result.exit_code == 2, result.output
    assert fragment in result.output


@needs_ngspice
def test_check_command_writes_its_summary(tmp_path: Path) -> None:
    path = tmp_path / "check.json"
    result = CliRunner().invoke(main, ["spice", "check", "--json", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(path.read_text())["passed"] is True


@needs_ngspice
def test_sweep_command_writes_table_plot_and_json(tmp_path: Path) -> None:
    args = ["--rows", "16", "--wire-ohm", "0,2.12", "--on-off", "100", "--states", "1", "--inputs", "1"]
    result = CliRunner().invoke(main, ["spice", "sweep", "--out", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "sweep.json").read_text())
    labels = {row["label"] for row in document["table"]}
    assert labels == {"on/off 100, wire 0 ohm", "on/off 100, wire 2.12 ohm", "rpu_45nm", "neurosim_v21"}
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    assert "| neurosim_v21 | 16 |" in (tmp_path / "sweep.md").read_text()
