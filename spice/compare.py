"""The model's read against ngspice: one tile state, one input vector, before and after the ADC.

Model side: the tile's own forward read (:meth:`~pulsetrain.model.tile.Tile.forward`) through its
forward periphery without output noise (an operating point has none), undone of the digital scales
(noise management and output scale) so that values are in device units; codes are the model's ADC.
Optionally the same read with the first-order IR drop of :mod:`pulsetrain.model.irdrop`.

SPICE side: the netlist of :mod:`pulsetrain.spice.netlist` for the same DAC values and conductances;
the comparator-input voltages in device units, and the codes the ADC readout's digital twin
(:class:`~pulsetrain.model.twins.adc.TwinAdcReadout`, SAR, the same trials as the RTL) converts them
to, with the comparator ``V(m_j) >= volts_per_unit * dac_level(code)``.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.irdrop import ConductanceMapping, IrDropConfig, read_change
from pulsetrain.model.tile import NoiseManagement, Tile
from pulsetrain.model.twins.adc import TwinAdcReadout
from pulsetrain.spice.circuit import ReadCircuit
from pulsetrain.spice.netlist import ReadNetlist, read_netlist
from pulsetrain.spice.ngspice import run_netlist

from pulsetrain.config import ConfigError
from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ReadComparison:
    """One forward read by the model and by ngspice (values in device units, signed ADC codes)."""

    #: (outputs,) the model's read values before the ADC (no noise, saturated at ``out_bound``).
    model_values: FloatArray
    #: (outputs,) the model's ADC codes.
    model_codes: IntArray
    #: (outputs,) the model's read values with the first-order IR drop (None when not asked for).
    ir_values: FloatArray | None
    #: (outputs,) ngspice's comparator-input voltages in device units.
    spice_values: FloatArray
    #: (outputs,) codes of the ADC readout twin on ngspice's voltages.
    spice_codes: IntArray
    #: Device units per ADC code.
    lsb: float

    @property
    def value_error_lsb(self) -> FloatArray:
        """(outputs,) ``(model - spice) / lsb`` before the ADC."""
        return (self.model_values - self.spice_values) / self.lsb

    @property
    def ir_error_lsb(self) -> FloatArray | None:
        """(outputs,) ``(IR-drop model - spice) / lsb`` before the ADC, or None."""
        return None if self.ir_values is None else (self.ir_values - self.spice_values) / self.lsb

    @property
    def code_error(self) -> IntArray:
        """(outputs,) model code minus SPICE code."""
        return self.model_codes - self.spice_codes


def dac_values(tile: Tile, x: FloatArray) -> tuple[FloatArray, float]:
    """The model's DAC values of input ``x`` (in_size,) and the noise-management scale.

    The same steps as the tile's forward read: abs-max scaling (when the periphery manages noise), the
    input bound, then rounding to the DAC's step.
    """
    io = tile.forward_io
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    scale = 1.0
    if io.noise_management is NoiseManagement.ABS_MAX:
        scale = max(float(np.abs(x).max()), 1e-300)
    u = np.clip(x / scale, -io.inp_bound, io.inp_bound)
    if io.dac_lsb is not None:
        u = np.rint(u / io.dac_lsb) * io.dac_lsb
    return u, scale


def model_read(tile: Tile, x: FloatArray) -> tuple[FloatArray, IntArray, float]:
    """The tile's noise-free forward read of ``x`` in device units, its ADC codes, and the ADC lsb."""
    io = tile.forward_io
    if io.adc_bits is None:
        raise ConfigError("the tile's forward periphery must have an ADC (io.adc_bits) to compare codes")
    probe = copy.copy(tile)  # shares the device state; its own periphery and random generator
    probe.rng = np.random.default_rng(0)
    _, scale = dac_values(tile, x)
    digital = scale * tile.output_scale
    probe.forward_io = dataclasses.replace(io, out_noise=0.0, adc_bits=None)
    values = probe.forward(np.asarray(x, dtype=np.float64)[None, :])[0] / digital
    probe.forward_io = dataclasses.replace(io, out_noise=0.0)
    lsb = float(io.adc_lsb)  # type: ignore[arg-type]
    codes = np.rint(probe.forward(np.asarray(x, dtype=np.float64)[None, :])[0] / (digital * lsb))
    return values, codes.astype(np.int64), lsb


def tile_netlist(tile: Tile, x: FloatArray, circuit: ReadCircuit) -> tuple[ReadNetlist, ConductanceMapping]:
    """The netlist of the tile's forward read of ``x`` and the conductance mapping it used."""
    mapping = ConductanceMapping.for_tile(tile, dataclasses.replace(circuit.physics, access_ohm=0.0))
    u, _ = dac_values(tile, x)
    cells = np.empty((tile.in_size, 2 * tile.out_size))
    cells[:, 0::2] = mapping.conductance_S(tile.g.T)
    cells[:, 1::2] = mapping.conductance_S(tile.reference.T)
    netlist = read_netlist(
        u,
        cells,
        circuit,
        out_bound=tile.forward_io.out_bound,
        siemens_per_unit=mapping.siemens_per_unit,
    )
    return netlist, mapping


def spice_codes(voltages: FloatArray, volts_per_unit: float, adc_bits: int, lsb: float) -> IntArray:
    """Signed codes of the SAR readout twin on comparator voltages (offset binary, mid-scale at 0)."""
    from pulsetrain.cosim.bridge import dac_level

    columns = voltages.shape[0]
    config = AdcReadoutConfig(columns=columns, columns_per_adc=1, adc_bits=adc_bits, mode=AdcMode.SAR)

    def comparator(column: int, code: int) -> bool:
        return bool(voltages[column] >= volts_per_unit * dac_level(code, config, lsb))

    codes = TwinAdcReadout(config).convert(comparator).codes(columns)
    return codes - (1 << (adc_bits - 1))


def compare_read(
    tile: Tile,
    x: FloatArray,
    circuit: ReadCircuit,
    *,
    ir_drop: IrDropConfig | None = None,
    keep_dir: str | Path | None = None,
) -> ReadComparison:
    """Read ``x`` with the model and with ngspice (see the module docstring)."""
    values, codes, lsb = model_read(tile, x)
    netlist, _ = tile_netlist(tile, x, circuit)
    vectors = run_netlist(netlist.text, keep_dir=keep_dir)
    voltages = np.array([vectors[f"v({node})"][0] for node in netlist.comparator_nodes])
    ir_values = None
    if ir_drop is not None:
        u, _ = dac_values(tile, x)
        mapping = ConductanceMapping.for_tile(tile, ir_drop.physics)
        change = read_change(u, mapping, tile.g, tile.reference, ir_drop.calibration)[0]
        bound = tile.forward_io.out_bound
        ir_values = np.clip(tile.device_weights() @ u + change, -bound, bound)
    return ReadComparison(
        model_values=values,
        model_codes=codes,
        ir_values=ir_values,
        spice_values=voltages / netlist.volts_per_unit,
        spice_codes=spice_codes(voltages, netlist.volts_per_unit, int(tile.forward_io.adc_bits or 0), lsb),
        lsb=lsb,
    )
