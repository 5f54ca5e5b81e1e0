"""The SPICE netlist of a tile's forward read, written from the model's own state.

:func:`read_netlist` draws the geometry described in :mod:`pulsetrain.model.irdrop` (column pairs,
row drivers on the left, sense amplifiers at the bottom) for one input vector:

* ``V{i}``: the DAC of row ``i`` at ``read_voltage_V * u_i``;
* ``RR{i}_{p}`` / ``RC{p}_{i}``: one wire segment per cell on rows and columns (omitted, nodes merged,
  for an ideal wire: SPICE refuses zero-ohm resistors);
* ``RD{i}_{p}``: the cell of row ``i`` on physical column ``p`` (device in series with its access
  resistance), ``1 / G`` from the device state through :class:`~pulsetrain.model.irdrop.ConductanceMapping`;
* ``E{p}`` + ``RF{p}``: the column's transimpedance amplifier (VCVS op-amp, feedback resistor) on the
  sense node ``s{p}``;
* ``BM{j}``: the held difference of output ``j``'s column pair, limited to the ADC's full scale: node
  ``m{j}`` is the comparator input of the ADC readout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pulsetrain.spice.circuit import ReadCircuit

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ReadNetlist:
    """One read as a netlist, with what is needed to turn its node voltages back into device units."""

    #: The netlist text (ngspice dialect, one ``.op`` analysis).
    text: str
    #: Comparator-input node of each output, in output order (``m0``, ``m1``, ...).
    comparator_nodes: tuple[str, ...]
    #: Comparator-input volts per device unit of read value.
    volts_per_unit: float


def _number(value: float) -> str:
    # 12 significant digits: the netlist must not be the precision limit of the comparison
    return f"{value:.12e}"


def read_netlist(
    inputs: FloatArray,
    cells_S: FloatArray,
    circuit: ReadCircuit,
    *,
    out_bound: float,
    siemens_per_unit: float,
    title: str = "pulsetrain crossbar read",
) -> ReadNetlist:
    """The netlist of one forward read.

    Parameters
    ----------
    inputs
        (rows,) DAC values ``u`` (the model's quantized inputs, per ``read_voltage_V``).
    cells_S
        (rows, 2 outputs) cell conductances in siemens in physical column order (plus, minus, ...),
        device only (the access resistance is added here from ``circuit``).
    circuit
        Read voltage, amplifier, ADC full scale, wire and access resistances.
    out_bound
        The model's output bound (device units), mapped to the ADC's full scale.
    siemens_per_unit
        Conductance of one device unit (sets the amplifiers' feedback resistor).
    """
    rows, columns = cells_S.shape
    physics = circuit.physics
    feedback = circuit.feedback_ohm(out_bound, siemens_per_unit)
    cell_ohm = 1.0 / cells_S + physics.access_ohm
    row_r, column_r = physics.row_segment_ohm, physics.column_segment_ohm
    lines = [f"* {title}: {rows} rows x {columns // 2} column pairs"]
    for i in range(rows):
        lines.append(f"V{i} d{i} 0 {_number(circuit.read_voltage_V * float(inputs[i]))}")
        previous = f"d{i}"
        for p in range(columns):
            if row_r > 0.0:
                lines.append(f"RR{i}_{p} {previous} r{i}_{p} {_number(row_r)}")
                previous = f"r{i}_{p}"
            column_node = f"c{p}_{i}" if column_r > 0.0 else f"s{p}"
            lines.append(f"RD{i}_{p} {previous} {column_node} {_number(cell_ohm[i, p])}")
    for p in range(columns):
        if column_r > 0.0:
            for i in range(rows):
                below = f"c{p}_{i + 1}" if i < rows - 1 else f"s{p}"
                lines.append(f"RC{p}_{i} c{p}_{i} {below} {_number(column_r)}")
        # inverting amplifier: t = -A s, with R_f from s to t (virtual ground at s)
        lines.append(f"E{p} t{p} 0 0 s{p} {_number(circuit.tia_open_loop_gain)}")
        lines.append(f"RF{p} s{p} t{p} {_number(feedback)}")
    full_scale = _number(circuit.adc_full_scale_V)
    nodes = []
    for j in range(columns // 2):
        # t = -R_f I: the plus current minus the minus current is (t_minus - t_plus) / R_f
        lines.append(f"BM{j} m{j} 0 V = max(min(v(t{2 * j + 1}) - v(t{2 * j}), {full_scale}), -{full_scale})")
        nodes.append(f"m{j}")
    lines.append(".save " + " ".join(f"v({node})" for node in nodes))
    lines.append(".op")
    lines.append(".end")
    return ReadNetlist(
        text="\n".join(lines) + "\n",
        comparator_nodes=tuple(nodes),
        volts_per_unit=circuit.volts_per_unit(out_bound),
    )
