"""Technology tables: analog and memory component figures, each with the source it comes from.

A table is a TOML file in ``synth/tech/`` (or any path). Every number is written as
``key = { value = ..., source = "..." }`` so that no figure enters an estimate without its citation;
:func:`load_technology` refuses a table with a bare number. Values are read with :meth:`Technology.value`
(``"adc.bits"``) and the citation with :meth:`Technology.source`.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulsetrain.config import ConfigError

__all__ = ["TECH_DIR", "Technology", "available_technologies", "load_technology"]

#: folder of the technology tables shipped with pulsetrain.
TECH_DIR = Path(__file__).resolve().parent / "tech"


@dataclass(frozen=True)
class Technology:
    """One technology point: flat ``section.key -> (value, source)``."""

    #: short name (the file stem).
    name: str
    #: one-line description.
    description: str
    #: ``section.key -> value``.
    values: dict[str, Any]
    #: ``section.key -> citation``.
    sources: dict[str, str]
    #: file it was read from.
    path: Path

    def value(self, key: str) -> Any:
        """The value of ``section.key``; a missing key is a ConfigError naming the table."""
        if key not in self.values:
            raise ConfigError(f"technology {self.name!r} has no entry {key!r}")
        return self.values[key]

    def number(self, key: str) -> float:
        """The value of ``section.key`` as a float."""
        return float(self.value(key))

    def source(self, key: str) -> str:
        """The citation of ``section.key``."""
        return self.sources[key]

    # derived figures used by the estimator and the ASIC flows ------------------------------------

    @property
    def feature_size_um(self) -> float:
        """The array's feature size F (µm)."""
        return self.number("array.feature_size_nm") * 1e-3

    def sram_area_um2(self, bits: int, node_nm: float | None = None) -> float:
        """Area of an SRAM macro of ``bits`` bits: cells at ``sram.cell_area_F2`` over the array efficiency.

        ``node_nm`` overrides the table's node (the sky130 flow costs its memories at 130 nm).
        """
        f_um = (node_nm or self.number("digital.node_nm")) * 1e-3
        cell = self.number("sram.cell_area_F2") * f_um * f_um
        return bits * cell / self.number("sram.array_efficiency")

    def sram_access_energy_pJ(self, width_bits: int, depth_words: int, node_nm: float | None = None) -> float:
        """Energy of one word access: bit lines and word line charged over their wire length.

        Bit line: ``depth`` cells of height ``sram.cell_height_F``; word line: ``width`` cells of width
        ``sram.cell_width_F``; wire capacitance ``array.wire_cap_fF_per_um``; swing ``digital.vdd_V``.
        """
        f_um = (node_nm or self.number("digital.node_nm")) * 1e-3
        cap_fF = self.number("array.wire_cap_fF_per_um")
        vdd = self.number("digital.vdd_V")
        bitline_um = depth_words * self.number("sram.cell_height_F") * f_um
        wordline_um = width_bits * self.number("sram.cell_width_F") * f_um
        joules = (width_bits * bitline_um + wordline_um) * cap_fF * 1e-15 * vdd * vdd
        return joules * 1e12

    def adc_energy_pJ(self, bits: int, column_resistance_ohm: float) -> float:
        """Energy of one SAR conversion: NeuroSim's per-column power fit times ``bits + 1`` cycles.

        NeuroSim's fit was made at a 0.5 V read voltage and is evaluated at the column resistance scaled by
        ``adc.fit_read_voltage_V / array.read_voltage_V`` (the same read current seen through the fit's
        voltage); a table without ``adc.fit_read_voltage_V`` uses the resistance unscaled.
        """
        if "adc.fit_read_voltage_V" in self.values:
            column_resistance_ohm *= self.number("adc.fit_read_voltage_V") / self.number(
                "array.read_voltage_V"
            )
        power_W = (self.number("adc.power_per_bit_uW") * bits + self.number("adc.power_fixed_uW")) * 1e-6
        power_W += self.number("adc.power_resistance_coefficient_W") * math.exp(
            self.number("adc.power_resistance_exponent") * math.log10(column_resistance_ohm)
        )
        return power_W * (bits + 1) * self.number("adc.cycle_ns") * 1e-9 * 1e12

    def adc_latency_ns(self, bits: int) -> float:
        """Time of one SAR conversion: ``bits + 1`` cycles."""
        return (bits + 1) * self.number("adc.cycle_ns")

    def adc_area_um2(self, bits: int) -> float:
        """Area of one SAR ADC from NeuroSim's transistor counts and a per-transistor footprint."""
        nmos = self.number("adc.nmos_base") + (bits - 1) * self.number("adc.nmos_per_bit")
        pmos = self.number("adc.pmos_base") + (bits - 1) * self.number("adc.pmos_per_bit")
        f_um = self.number("digital.node_nm") * 1e-3
        return (nmos + pmos) * self.number("adc.transistor_footprint_F2") * f_um * f_um


def _flatten(table: dict[str, Any], prefix: str, path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, entry in table.items():
        full = f"{prefix}{key}"
        if isinstance(entry, dict) and "value" in entry:
            source = entry.get("source")
            if not isinstance(source, str) or not source.strip():
                raise ConfigError(f"technology table {path}: {full} has no source")
            values[full], sources[full] = entry["value"], source
        elif isinstance(entry, dict):
            sub_values, sub_sources = _flatten(entry, f"{full}.", path)
            values.update(sub_values)
            sources.update(sub_sources)
        elif prefix:
            raise ConfigError(
                f'technology table {path}: {full} = {entry!r} must be {{ value = ..., source = "..." }}'
            )
    return values, sources


def available_technologies() -> list[str]:
    """Names of the technology tables shipped in ``synth/tech``."""
    return sorted(p.stem for p in TECH_DIR.glob("*.toml"))


def load_technology(name_or_path: str | Path) -> Technology:
    """Read a technology table by shipped name (``neurosim_v21``) or by file path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = TECH_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise ConfigError(
            f"--tech must be one of {', '.join(available_technologies())} or a .toml file, "
            f"not {str(name_or_path)!r}"
        )
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"technology table {path} is not valid TOML: {error}") from None
    values, sources = _flatten({k: v for k, v in data.items() if isinstance(v, dict)}, "", path)
    return Technology(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        values=values,
        sources=sources,
        path=path,
    )
