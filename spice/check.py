"""The small model-versus-ngspice check, as a typed summary (for ``pulsetrain spice check`` and the report).

:func:`model_versus_spice` reads a few random 16-row tiles with the model and with ngspice, once with
ideal wires (where the two must agree to the amplifiers' finite gain) and once with a technology's real
wires and access resistance (where the plain model and the calibrated IR-drop option part ways). It
returns None when ngspice is not installed, so a caller can leave the section out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from pulsetrain.model.irdrop import IrDropConfig
from pulsetrain.model.tile import IOConfig
from pulsetrain.spice.circuit import ReadCircuit, technology_physics, technology_read_voltage
from pulsetrain.spice.compare import ReadComparison, compare_read
from pulsetrain.spice.ngspice import ngspice_info
from pulsetrain.spice.sweep import sample_tile

#: The IR-drop calibration fitted by ``pulsetrain spice sweep`` (docs/spice/sweep.md): ``α`` on the
#: wire resistances and ``κ`` on each column's relative loss.
FITTED_CALIBRATION = 0.96
FITTED_SATURATION = 1.10

#: Largest model-versus-ngspice difference with ideal wires, in ADC LSB, that :func:`model_versus_spice`
#: accepts: the amplifiers' finite open-loop gain ``A = 1e6`` shifts each column by a relative
#: ``(1 + R_f ΣG) / A``, below 1.3e-5 for 16 rows (tests/test_spice_read.py derives it), times at most
#: 255 LSB of full scale: 3.3e-3 LSB; 1e-2 LSB is 50 times below the half LSB at which a code could
#: change. (Larger ``rows`` scale the bound with the rows; the check is meant for 16.)
IDEAL_TOLERANCE_LSB = 1e-2


@dataclass(frozen=True, kw_only=True)
class SpiceCheckSummary:
    """What the report shows of the model-versus-SPICE check."""

    #: The ngspice that ran (banner line).
    ngspice: str
    #: Array rows and outputs (column pairs) of the check's tiles.
    rows: int
    outputs: int
    #: Reads compared (tiles x inputs) per case.
    reads: int
    #: Technology of the case with real wires.
    technology: str
    #: Ideal wires: largest |model - ngspice| before the ADC, LSB.
    ideal_max_error_lsb: float
    #: Ideal wires: ADC codes that differ (model quantizer vs the ADC twin on ngspice's voltages).
    ideal_code_mismatches: int
    #: Ideal wires: the accepted error (:data:`IDEAL_TOLERANCE_LSB`) and whether it held.
    tolerance_lsb: float
    passed: bool
    #: Real wires: largest |model - ngspice|, LSB, for the plain model and the calibrated IR-drop option.
    wires_model_max_error_lsb: float
    wires_ir_max_error_lsb: float
    #: Real wires: codes that differ, plain model and IR-drop option.
    wires_model_code_mismatches: int
    wires_ir_code_mismatches: int


def _reads(
    rows: int, outputs: int, count: int, circuit: ReadCircuit, ir: IrDropConfig | None, seed: int
) -> list[ReadComparison]:
    rng = np.random.default_rng(seed)
    io = IOConfig(out_noise=0.0)
    results = []
    for _ in range(count):
        tile = sample_tile(rows, outputs, io, rng)
        results.append(compare_read(tile, rng.uniform(0.0, 1.0, rows), circuit, ir_drop=ir))
    return results


def model_versus_spice(
    *, rows: int = 16, outputs: int = 8, reads: int = 3, technology: str = "neurosim_v21", seed: int = 0
) -> SpiceCheckSummary | None:
    """Run the check (about a second for the defaults); None when ngspice is not installed."""
    info = ngspice_info()
    if info is None:
        return None
    physics = technology_physics(technology)
    volts = technology_read_voltage(technology)
    ideal_physics = dataclasses.replace(physics, row_segment_ohm=0.0, column_segment_ohm=0.0, access_ohm=0.0)
    ideal = _reads(rows, outputs, reads, ReadCircuit(physics=ideal_physics, read_voltage_V=volts), None, seed)
    ir = IrDropConfig(physics=physics, calibration=FITTED_CALIBRATION, saturation=FITTED_SATURATION)
    wires = _reads(rows, outputs, reads, ReadCircuit(physics=physics, read_voltage_V=volts), ir, seed)
    ideal_error = max(float(np.abs(r.value_error_lsb).max()) for r in ideal)
    ir_codes = [np.rint(np.asarray(r.ir_values) / r.lsb).astype(np.int64) - r.spice_codes for r in wires]
    return SpiceCheckSummary(
        ngspice=info.banner,
        rows=rows,
        outputs=outputs,
        reads=reads,
        technology=technology,
        ideal_max_error_lsb=ideal_error,
        ideal_code_mismatches=int(sum(np.count_nonzero(r.code_error) for r in ideal)),
        tolerance_lsb=IDEAL_TOLERANCE_LSB,
        passed=ideal_error <= IDEAL_TOLERANCE_LSB,
        wires_model_max_error_lsb=max(float(np.abs(r.value_error_lsb).max()) for r in wires),
        wires_ir_max_error_lsb=max(float(np.abs(np.asarray(r.ir_error_lsb)).max()) for r in wires),
        wires_model_code_mismatches=int(sum(np.count_nonzero(r.code_error) for r in wires)),
        wires_ir_code_mismatches=int(sum(np.count_nonzero(c) for c in ir_codes)),
    )
