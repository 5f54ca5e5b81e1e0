"""The read circuit around a crossbar column: technology points, sense amplifier and ADC scaling.

A :class:`ReadCircuit` adds to the array's physics (:class:`~pulsetrain.model.irdrop.ArrayPhysics`:
conductance range, wire and access resistances) what the netlist needs to turn the model's device
units into volts and back:

* the DAC drives row ``i`` with ``read_voltage_V * u_i`` (``u`` the model's DAC value, ``|u| <= 1``);
* each column ends in a transimpedance amplifier (an ideal-gain op-amp as a VCVS with open-loop gain
  ``tia_open_loop_gain``, feedback resistor ``R_f``): a virtual ground. For a constant read current
  its output equals an integrator's after ``T`` with ``C = T / R_f``, so the DC operating point covers
  both sense schemes;
* a column pair's two amplifier outputs are subtracted and held (a sample-and-hold buffer with rails at
  ``±adc_full_scale_V``): that node is the comparator input of the ADC readout. ``R_f`` is chosen so
  that the model's ``out_bound`` (device units) is the ADC's full scale.

Technology points (:func:`technology_physics`) take the device range from the repository's tables in
``synth/tech/*.toml`` and the wire resistance per cell from NeuroSim's interconnect model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pulsetrain.model.irdrop import ArrayPhysics

from pulsetrain.config import ConfigError, check_range

#: Interconnect of NeuroSim V2.1 (github.com/neurosim/DNN_NeuroSim_V2.1,
#: Training_pytorch/NeuroSIM/Param.cpp at 2954388557c543ccc2de18f081ed3d489d97b48f): wire width (nm) ->
#: (aspect ratio AR, resistivity Rho in ohm m); ``unitLengthWireResistance = Rho / (width^2 AR)`` at
#: 300 K. Width 50 nm is its 45 nm node, 40 nm its 32 nm node.
NEUROSIM_WIRES: dict[int, tuple[float, float]] = {50: (2.34, 3.91e-8), 40: (1.90, 4.03e-8)}


def wire_segment_ohm(width_nm: int, cell_pitch_F: float) -> float:
    """Resistance of one cell's wire segment: NeuroSim's unit-length resistance times ``pitch * width``
    (Param.cpp: ``wireLengthRow = wireWidth * 1e-9 * heightInFeatureSize...``)."""
    if width_nm not in NEUROSIM_WIRES:
        raise ConfigError(f"wire width must be one of {sorted(NEUROSIM_WIRES)} nm, not {width_nm!r}")
    aspect_ratio, resistivity = NEUROSIM_WIRES[width_nm]
    width_m = width_nm * 1e-9
    return resistivity / (width_m * width_m * aspect_ratio) * (cell_pitch_F * width_m)


def technology_physics(name: str) -> ArrayPhysics:
    """The array physics of a technology table (``rpu_45nm`` or ``neurosim_v21``).

    * ``rpu_45nm``: g_on / g_off from ``synth/tech/rpu_45nm.toml`` (Gokmen & Vlasov 2016, see its
      sources), cross-point cell of 2F pitch (its ``array.cell_pitch_F``), wires of NeuroSim's 45 nm
      node (width 50 nm): 0.668 ohm per cell; no access transistor.
    * ``neurosim_v21``: g_on / g_off from ``synth/tech/neurosim_v21.toml`` (240 kOhm / 24 MOhm), 1T1R
      cell of 4F pitch, wires of NeuroSim's 32 nm node (width 40 nm): 2.12 ohm per cell; access
      transistor 15 kOhm (Param.cpp above: ``resistanceAccess = 15e3``).
    """
    from pulsetrain.synth.technology import load_technology

    if name not in ("rpu_45nm", "neurosim_v21"):
        raise ConfigError(f"--tech must be one of rpu_45nm, neurosim_v21; not {name!r}")
    tech = load_technology(name)
    pitch = tech.number("array.cell_pitch_F")
    if name == "rpu_45nm":
        segment, access = wire_segment_ohm(50, pitch), 0.0
    else:
        segment, access = wire_segment_ohm(40, pitch), 15e3
    return ArrayPhysics(
        g_on_S=tech.number("array.g_on_S"),
        g_off_S=tech.number("array.g_off_S"),
        row_segment_ohm=segment,
        column_segment_ohm=segment,
        access_ohm=access,
    )


def technology_read_voltage(name: str) -> float:
    """``array.read_voltage_V`` of a technology table."""
    from pulsetrain.synth.technology import load_technology

    return load_technology(name).number("array.read_voltage_V")


@dataclass(frozen=True, kw_only=True)
class ReadCircuit:
    """The analog read path of one tile as ngspice simulates it."""

    #: Conductance range, wire and access resistances.
    physics: ArrayPhysics = field(default_factory=ArrayPhysics)
    #: DAC voltage of a full-scale input (``u = ±1``), volts.
    read_voltage_V: float = 1.0
    #: Open-loop gain of each column's transimpedance amplifier (our assumption: 120 dB keeps the virtual
    #: ground within ``adc_full_scale_V / 1e6`` of ground).
    tia_open_loop_gain: float = 1e6
    #: Full scale of the ADC's input (the comparator input swings within ``±adc_full_scale_V``), volts.
    adc_full_scale_V: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.physics, ArrayPhysics):
            raise ConfigError(f"circuit.physics must be an ArrayPhysics, not {self.physics!r}")
        check_range("circuit.read_voltage_V", self.read_voltage_V, 0.0, 10.0, low_open=True)
        check_range("circuit.tia_open_loop_gain", self.tia_open_loop_gain, 1.0, 1e12)
        check_range("circuit.adc_full_scale_V", self.adc_full_scale_V, 0.0, 100.0, low_open=True)

    def volts_per_unit(self, out_bound: float) -> float:
        """Comparator-input volts per device unit of read value: ``out_bound`` maps to full scale."""
        return self.adc_full_scale_V / out_bound

    def feedback_ohm(self, out_bound: float, siemens_per_unit: float) -> float:
        """The amplifiers' feedback resistor: ``R_f V_read G_unit = volts_per_unit``."""
        return self.volts_per_unit(out_bound) / (self.read_voltage_V * siemens_per_unit)
