"""Converter, driver and cell-write models of the estimator, each a figure per operation.

ADC, two models (``adc.model`` of the technology table picks one; both stay available):

``survey``
    Energy per conversion ``max(FoM_W x 2**ENOB, floor)``, with the Walden figure of merit and the floor
    read off B. Murmann's "ADC Performance Survey 1997-2025" (github.com/bmurmann/ADC-survey, commit
    ddf3c1b of 2025-06-09, ``xls/ADCsurvey_latest.ods``, ISSCC and VLSI sheets; the numbers and how they
    were selected are in the tables' citations and ``synth/results/adc_survey.md``). The survey's designs
    are whole converters (comparator, capacitor DAC, SAR logic), so the synthesized ADC-readout logic is
    not added on top. The range is the survey's spread at the node: best reported FoM to the median.
    Area: NeuroSim's SAR transistor count (logic, comparator, switches) plus the capacitor DAC,
    ``2 x 2**bits`` unit capacitors (differential) at the table's capacitor density.
``neurosim``
    NeuroSim V2.1's SAR fit (SarADC.cpp GetColumnPower) times ``bits + 1`` cycles, as before. No spread of
    the fit is published: where the table gives the survey's figures too, the range runs from the fit to
    the survey's best and median converters at the node (the fit's own value where it lies outside them);
    else it is the fit alone. Its fit also includes the SAR logic.

Input DAC, one per driven line (:func:`dac_energy_pJ`, :func:`dac_area_um2`): ISAAC's 1-bit DAC at 32 nm as
PUMA's simulator carries it (3.9 µW, 0.167 µm²; labelled not verified in the tables). A pulse-width input
DAC draws that power while its output is on, so a conversion costs the power times the on-time: at least
one periphery clock cycle, at most the whole read window; nominal, the input's mean fraction of full scale
of the window (the pulse width that codes it). The range is that of the on-time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pulsetrain.synth.technology import AdcModel, Technology

__all__ = [
    "Bounds",
    "adc_area_um2",
    "adc_energy_pJ",
    "adc_latency_ns",
    "cdac_area_um2",
    "dac_area_um2",
    "dac_energy_pJ",
    "coincidence_energy_pJ",
    "driver_area_um2",
    "line_drive_energy_pJ",
    "neurosim_sar_energy_pJ",
    "survey_adc_energy_pJ",
]


@dataclass(frozen=True)
class Bounds:
    """A figure with the low and high ends of its uncertainty."""

    #: the figure the estimate uses.
    nominal: float
    #: low end of the range.
    low: float
    #: high end of the range.
    high: float

    def scaled(self, factor: float) -> Bounds:
        """All three times ``factor``."""
        return Bounds(self.nominal * factor, self.low * factor, self.high * factor)


def neurosim_sar_energy_pJ(tech: Technology, bits: int, column_resistance_ohm: float) -> float:
    """NeuroSim's SAR fit: per-column power at the column resistance, times ``bits + 1`` cycles.

    NeuroSim's fit was made at a 0.5 V read voltage and is evaluated at the column resistance scaled by
    ``adc.fit_read_voltage_V / array.read_voltage_V`` (the same read current seen through the fit's
    voltage); a table with ``fit_read_voltage_V = 0`` uses the resistance unscaled.
    """
    adc = tech.adc
    if adc.fit_read_voltage_V > 0:
        column_resistance_ohm *= adc.fit_read_voltage_V / tech.array.read_voltage_V
    power_W = (adc.power_per_bit_uW * bits + adc.power_fixed_uW) * 1e-6
    power_W += adc.power_resistance_coefficient_W * math.exp(
        adc.power_resistance_exponent * math.log10(column_resistance_ohm)
    )
    return power_W * (bits + 1) * adc.cycle_ns * 1e-9 * 1e12


def survey_adc_energy_pJ(tech: Technology, bits: int) -> Bounds:
    """Survey energy of one conversion, ``max(FoM_W x 2**ENOB, floor)``, at nominal, best and median FoM."""
    adc = tech.adc
    steps = 2.0 ** max(bits - adc.enob_loss_bits, 0.0)

    def energy(fom_fJ: float) -> float:
        return max(fom_fJ * 1e-3 * steps, adc.energy_floor_pJ)

    return Bounds(energy(adc.walden_fom_fJ), energy(adc.walden_fom_low_fJ), energy(adc.walden_fom_high_fJ))


def adc_energy_pJ(tech: Technology, bits: int, column_resistance_ohm: float) -> Bounds:
    """Energy of one conversion by the table's model (see the module docstring)."""
    if tech.adc.model is AdcModel.SURVEY:
        return survey_adc_energy_pJ(tech, bits)
    fit = neurosim_sar_energy_pJ(tech, bits, column_resistance_ohm)
    if tech.adc.walden_fom_low_fJ <= 0:
        return Bounds(fit, fit, fit)
    # the fit has no published spread: where the table gives the survey's figures at its node, the range
    # reaches from the fit to the survey's best and median converters (the uncertain figure of merit)
    survey = survey_adc_energy_pJ(tech, bits)
    return Bounds(fit, min(fit, survey.low), max(fit, survey.high))


def adc_latency_ns(tech: Technology, bits: int) -> float:
    """Time of one SAR conversion: ``bits + 1`` steps."""
    return (bits + 1) * tech.adc.cycle_ns


def cdac_area_um2(tech: Technology, bits: int) -> float:
    """Capacitor DAC of a differential SAR: ``2 x 2**bits`` unit capacitors at the table's density."""
    adc = tech.adc
    return 2 * 2**bits * adc.cdac_unit_cap_fF / adc.cdac_cap_density_fF_per_um2


def adc_area_um2(tech: Technology, bits: int) -> float:
    """One SAR ADC: NeuroSim's transistor count at the table's footprint, plus the capacitor DAC.

    With ``adc.model = "neurosim"`` the capacitor DAC is left out, as NeuroSim does (its comparison
    rows stay like for like).
    """
    adc = tech.adc
    transistors = adc.nmos_base + adc.pmos_base + (bits - 1) * (adc.nmos_per_bit + adc.pmos_per_bit)
    f_um = tech.digital.node_nm * 1e-3
    logic = transistors * adc.transistor_footprint_F2 * f_um * f_um
    return logic + (cdac_area_um2(tech, bits) if adc.model is AdcModel.SURVEY else 0.0)


def dac_energy_pJ(tech: Technology, on_fraction: float) -> Bounds:
    """One input conversion of a pulse-width DAC: its power times the time its output is on.

    Nominal: ``on_fraction`` of the read window (the mean input as a fraction of full scale); low: one
    periphery clock cycle (the shortest pulse); high: the whole read window. None is below one cycle.
    """
    cycle_ns, window_ns = tech.digital.cycle_ns, max(tech.array.read_pulse_ns, tech.digital.cycle_ns)
    nominal_ns = min(max(on_fraction * window_ns, cycle_ns), window_ns)
    per_ns = tech.driver.dac_power_uW * 1e-6 * 1e-9 * 1e12
    return Bounds(per_ns * nominal_ns, per_ns * cycle_ns, per_ns * window_ns)


def dac_area_um2(tech: Technology) -> float:
    """One input DAC: the table's area scaled by the square of the node ratio (``dac_node_nm`` set)."""
    driver = tech.driver
    scale = (tech.digital.node_nm / driver.dac_node_nm) ** 2 if driver.dac_node_nm > 0 else 1.0
    return driver.dac_area_um2 * scale


def driver_area_um2(tech: Technology) -> float:
    """One line driver (its DAC is :func:`dac_area_um2`); without a table figure, two minimum transistors."""
    if tech.driver.driver_area_um2 > 0:
        return tech.driver.driver_area_um2
    return 2 * tech.adc.transistor_footprint_F2 * (tech.digital.node_nm * 1e-3) ** 2


def line_drive_energy_pJ(tech: Technology, cells: float, voltage_V: float) -> float:
    """One line of ``cells`` cell pitches charged to ``voltage_V`` by its driver (wire plus driver output)."""
    capacitance = cells * tech.array.line_cap_F_per_cell + tech.driver.driver_cap_fF * 1e-15
    return capacitance * voltage_V**2 * 1e12


def coincidence_energy_pJ(tech: Technology) -> tuple[float, float, str]:
    """(energy of a coincidence, energy of a half-selected device per pulse, the model's name), pJ.

    A table with ``array.write_energy_pJ`` gives the device's own write energy (a FeFET is written through
    its gate: no half-select current); else the resistive stand-in ``V_w² G t_w`` for a coincidence and
    ``(V_w/2)² G t_w`` for a half-selected device.
    """
    array = tech.array
    if array.write_energy_pJ > 0:
        return array.write_energy_pJ, 0.0, "device write energy of the table"
    full = array.write_voltage_V**2 * array.g_mean_S * array.write_pulse_ns * 1e-9 * 1e12
    return full, full / 4, "resistive V_w^2 G t_w (half-selected: (V_w/2)^2 G t_w)"
