"""The IR-drop option of the model (no ngspice needed): physics against a nodal solve, off by default."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from pulsetrain.model.devices import ConstantStepDevice
from pulsetrain.model.irdrop import (
    ArrayPhysics,
    ConductanceMapping,
    IrDropConfig,
    IrDropRead,
    column_losses,
    ir_drop_on_new_tiles,
    read_change,
)
from pulsetrain.model.network import NetworkConfig
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IOConfig, Tile, UpdateConfig
from pulsetrain.model.training import TrainConfig, train

from pulsetrain.config import ConfigError

NEUROSIM_LIKE = ArrayPhysics(
    g_on_S=4.1667e-6, g_off_S=4.1667e-8, row_segment_ohm=2.12, column_segment_ohm=2.12, access_ohm=15e3
)


def _tile(rows: int, outputs: int, seed: int = 0) -> Tile:
    rng = np.random.default_rng(seed)
    io = IOConfig(out_noise=0.0)
    tile = Tile(
        outputs,
        rows,
        device=ConstantStepDevice(),
        forward_io=io,
        backward_io=io,
        update=UpdateConfig(),
        output_scale=1.0,
        pulse_source=FloatPulseSource(rng),
        rng=rng,
    )
    tile.set_device_weights(rng.uniform(-1.0, 1.0, (outputs, rows)))
    return tile


def _nodal_column_currents(u: np.ndarray, cells: np.ndarray, row_r: float, column_r: float) -> np.ndarray:
    """Column currents of the wire grid by a dense nodal solve (normalized units, sense nodes at 0)."""
    rows, columns = cells.shape
    count = 2 * rows * columns

    def row_node(i: int, p: int) -> int:
        return i * columns + p

    def column_node(i: int, p: int) -> int:
        return rows * columns + i * columns + p

    matrix = np.zeros((count, count))
    rhs = np.zeros(count)

    def connect(a: int | None, b: int | None, conductance: float, fixed: float = 0.0) -> None:
        # a node index or None for a fixed-voltage node at ``fixed``
        for here, there in ((a, b), (b, a)):
            if here is None:
                continue
            matrix[here, here] += conductance
            if there is None:
                rhs[here] += conductance * fixed
            else:
                matrix[here, there] -= conductance

    for i in range(rows):
        connect(None, row_node(i, 0), 1.0 / row_r, fixed=u[i])
        for p in range(columns):
            if p > 0:
                connect(row_node(i, p - 1), row_node(i, p), 1.0 / row_r)
            connect(row_node(i, p), column_node(i, p), cells[i, p])
            below = column_node(i + 1, p) if i < rows - 1 else None
            connect(column_node(i, p), below, 1.0 / column_r, fixed=0.0)
    voltages = np.linalg.solve(matrix, rhs)
    return np.array([voltages[column_node(rows - 1, p)] / column_r for p in range(columns)])


def test_jacobi_steps_converge_to_the_nodal_solution_of_the_wire_grid() -> None:
    rng = np.random.default_rng(3)
    rows, columns = 6, 4
    cells = rng.uniform(0.2, 1.5, (rows, columns))
    u = rng.uniform(-1.0, 1.0, rows)
    row_r, column_r = 0.01, 0.02
    exact = _nodal_column_currents(u, cells, row_r, column_r)
    lost, _ = column_losses(u[None, :], cells, row_r, column_r, steps=40)
    ideal = u @ cells
    # the Jacobi iteration contracts by about the loop gain (< 0.1 here): 40 steps reach round-off
    np.testing.assert_allclose(ideal - lost[0], exact, rtol=0, atol=1e-12)


def test_first_order_is_within_the_second_order_term_of_the_exact_drop() -> None:
    rng = np.random.default_rng(4)
    rows, columns = 8, 4
    cells = rng.uniform(0.2, 1.5, (rows, columns))
    u = rng.uniform(0.0, 1.0, rows)
    row_r = column_r = 1e-3
    exact_lost = u @ cells - _nodal_column_currents(u, cells, row_r, column_r)
    first, ratio = column_losses(u[None, :], cells, row_r, column_r)
    # one Jacobi step errs by about (loop gain) x (drop): ratio bounds the loop gain per column
    assert np.all(np.abs(first[0] - exact_lost) <= 2 * ratio[0] * np.abs(exact_lost))


def test_without_wires_or_access_the_option_changes_nothing() -> None:
    tile = _tile(16, 4)
    physics = ArrayPhysics(g_on_S=1e-6, g_off_S=1e-7)
    change = read_change(np.ones((2, 16)), ConductanceMapping.for_tile(tile, physics), tile.g, tile.reference)
    np.testing.assert_allclose(change, 0.0, atol=1e-12)


def test_reads_are_bit_identical_while_the_option_is_off() -> None:
    plain, other = _tile(32, 5, seed=7), _tile(32, 5, seed=7)
    with ir_drop_on_new_tiles(IrDropConfig(physics=NEUROSIM_LIKE)):
        attached = _tile(32, 5, seed=7)
    assert plain.read_distortion is None and attached.read_distortion is not None
    x = np.random.default_rng(1).uniform(-1.0, 1.0, (3, 32))
    assert np.array_equal(plain.forward(x), other.forward(x))
    assert not np.array_equal(plain.forward(x), attached.forward(x))


def test_column_read_and_one_hot_forward_read_see_the_same_drop() -> None:
    tile = _tile(24, 6)
    tile.forward_io = IOConfig(out_noise=0.0, adc_bits=None, dac_bits=None)
    tile.read_distortion = IrDropRead(tile, IrDropConfig(physics=NEUROSIM_LIKE))
    one_hot = np.zeros((1, 24))
    one_hot[0, 5] = 1.0
    np.testing.assert_allclose(tile.read_column(5).values, tile.forward(one_hot)[0], rtol=0, atol=1e-12)


def test_the_drop_lowers_positive_reads_of_positive_inputs() -> None:
    tile = _tile(64, 4)
    tile.set_device_weights(np.full((4, 64), 0.5))
    physics = dataclasses.replace(NEUROSIM_LIKE, access_ohm=0.0)
    change = read_change(np.ones((1, 64)), ConductanceMapping.for_tile(tile, physics), tile.g, tile.reference)
    assert np.all(change < 0.0)


@pytest.mark.parametrize(
    ("field", "value"), [("calibration", -0.1), ("saturation", -1.0), ("steps", 0)], ids=str
)
def test_bad_ir_drop_settings_are_refused_with_their_name(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"ir_drop.{field}"):
        IrDropConfig(physics=NEUROSIM_LIKE, **{field: value})


def test_bad_physics_is_refused_with_its_name() -> None:
    with pytest.raises(ConfigError, match="array.g_off_S"):
        ArrayPhysics(g_on_S=1e-6, g_off_S=2e-6)


def test_a_run_with_the_option_resumes_from_its_checkpoint_bit_for_bit(tmp_path: Path) -> None:
    config = TrainConfig(network=NetworkConfig(hidden=(8,)), epochs=2, seed=0)
    with ir_drop_on_new_tiles(IrDropConfig(physics=NEUROSIM_LIKE)):
        whole = train(config)
        train(config, checkpoint_dir=tmp_path, stop_after_epoch=1)
        resumed = train(config, checkpoint_dir=tmp_path, resume=True)
    assert resumed["weights_sha256"] == whole["weights_sha256"]
    assert whole["weights_sha256"] != train(config)["weights_sha256"]  # the option did act
