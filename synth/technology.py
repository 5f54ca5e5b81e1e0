"""Technology tables: analog and memory component figures, each with the source it comes from.

A table is a TOML file in ``synth/tech/`` (or any path). Every number is written as
``key = { value = ..., source = "..." }`` so that no figure enters an estimate without its citation;
:func:`load_technology` refuses a table with a bare number. The figures are read into a typed record
(:class:`Technology`: one frozen section per part, ``tech.adc.bits``, ``tech.array.g_on_S``) so that a
misspelt key fails when the table is loaded, not in the middle of an estimate; the citations stay in
``Technology.sources`` and a figure whose source says it is an assumption or was not verified is listed by
:meth:`Technology.unverified` (the estimate prints that list).
"""

from __future__ import annotations

import dataclasses
import enum
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pulsetrain.config import ConfigError

__all__ = [
    "SRAM_MODEL_KEYS",
    "TECH_DIR",
    "AdcModel",
    "AdcTechnology",
    "ArrayTechnology",
    "DigitalTechnology",
    "DriverTechnology",
    "MovementTechnology",
    "SramTechnology",
    "Technology",
    "available_technologies",
    "load_technology",
]

#: folder of the technology tables shipped with pulsetrain.
TECH_DIR = Path(__file__).resolve().parent / "tech"

#: words in a citation that mark a figure as not checked against a source.
_UNVERIFIED_MARKS = ("assumption", "not verified", "not from a source", "secondary")


#: the entries the SRAM model (:meth:`Technology.sram_area_um2`, :meth:`Technology.sram_access_energy_pJ`)
#: reads; the synthesis flows cost their cut-out memories with it, so these and only these enter their cache
#: key (``digital.node_nm`` is read only when no node is passed; the flows pass their own).
SRAM_MODEL_KEYS: tuple[str, ...] = (
    "array.wire_cap_fF_per_um",
    "digital.node_nm",
    "digital.vdd_V",
    "sram.access_energy_pJ_per_bit",
    "sram.array_efficiency",
    "sram.cell_area_F2",
    "sram.cell_height_F",
    "sram.cell_width_F",
)


class AdcModel(enum.Enum):
    """Which converter model costs a conversion."""

    #: Murmann's ADC survey: ``max(Walden FoM x 2**ENOB, floor)`` per conversion (see :mod:`.converters`).
    SURVEY = "survey"
    #: NeuroSim V2.1's SAR fit (SarADC.cpp GetColumnPower) times ``bits + 1`` cycles.
    NEUROSIM = "neurosim"


@dataclass(frozen=True, kw_only=True)
class DigitalTechnology:
    """CMOS node of the periphery logic and the scaling from the 45 nm synthesis."""

    #: CMOS node (nm).
    node_nm: float
    #: supply voltage (V).
    vdd_V: float
    #: periphery clock (MHz).
    clock_MHz: float
    #: library the periphery is synthesized with.
    synthesis_target: str
    #: area factor from the Nangate45 synthesis to this node.
    area_scale: float
    #: energy factor from the Nangate45 synthesis to this node and supply.
    energy_scale: float

    @property
    def cycle_ns(self) -> float:
        """One periphery clock cycle (ns)."""
        return 1000.0 / self.clock_MHz


@dataclass(frozen=True, kw_only=True)
class ArrayTechnology:
    """Crossbar cells and lines."""

    #: feature size F of the array (nm).
    feature_size_nm: float
    #: cell area in F².
    cell_area_F2: float
    #: cell pitch along a line, in F.
    cell_pitch_F: float
    #: rows of one subarray.
    subarray_rows: int
    #: columns of one subarray.
    subarray_cols: int
    #: on conductance (S).
    g_on_S: float
    #: off conductance (S).
    g_off_S: float
    #: conductance states.
    states: int
    #: read voltage (V).
    read_voltage_V: float
    #: read pulse / integration time (ns).
    read_pulse_ns: float
    #: write (update) voltage (V).
    write_voltage_V: float
    #: write pulse width (ns).
    write_pulse_ns: float
    #: line wire capacitance (fF per µm).
    wire_cap_fF_per_um: float
    #: bits per cell.
    cell_bits: int
    #: energy of one device step (coincidence), pJ; 0: resistive ``V_w² G t_w`` (a stand-in, said so).
    write_energy_pJ: float = 0.0

    @property
    def feature_size_um(self) -> float:
        """F in µm."""
        return self.feature_size_nm * 1e-3

    @property
    def cell_area_um2(self) -> float:
        """One cell (µm²)."""
        return self.cell_area_F2 * self.feature_size_um**2

    @property
    def pitch_um(self) -> float:
        """Cell pitch along a line (µm)."""
        return self.cell_pitch_F * self.feature_size_um

    @property
    def g_mean_S(self) -> float:
        """Mean of on and off conductance (S)."""
        return 0.5 * (self.g_on_S + self.g_off_S)

    @property
    def line_cap_F_per_cell(self) -> float:
        """Wire capacitance of one cell pitch of line (F)."""
        return self.pitch_um * self.wire_cap_fF_per_um * 1e-15


@dataclass(frozen=True, kw_only=True)
class AdcTechnology:
    """Column converters: the survey model's figures and NeuroSim's SAR fit (both kept; ``model`` picks)."""

    #: resolution (bits).
    bits: int
    #: columns multiplexed onto one ADC.
    columns_per_adc: int
    #: time of one SAR step (ns); a conversion takes ``bits + 1`` steps.
    cycle_ns: float
    #: the model that costs a conversion.
    model: AdcModel = AdcModel.SURVEY
    #: survey: Walden figure of merit of the nominal design at this node (fJ per conversion step).
    walden_fom_fJ: float = 0.0
    #: survey: best reported Walden FoM at this node (low end of the range).
    walden_fom_low_fJ: float = 0.0
    #: survey: median Walden FoM at this node (high end of the range).
    walden_fom_high_fJ: float = 0.0
    #: survey: lowest energy per conversion reported at this node, any resolution (pJ).
    energy_floor_pJ: float = 0.0
    #: survey: effective bits lost to noise and distortion (ENOB = bits - loss).
    enob_loss_bits: float = 0.5
    #: capacitor DAC unit capacitor (fF); the DAC holds ``2**bits`` units per side.
    cdac_unit_cap_fF: float = 0.0
    #: capacitor density of the DAC's capacitors (fF per µm²).
    cdac_cap_density_fF_per_um2: float = 1.0
    #: NeuroSim fit: µW per bit.
    power_per_bit_uW: float = 0.0
    #: NeuroSim fit: fixed µW.
    power_fixed_uW: float = 0.0
    #: NeuroSim fit: coefficient of the column-resistance term (W).
    power_resistance_coefficient_W: float = 0.0
    #: NeuroSim fit: exponent of the column-resistance term.
    power_resistance_exponent: float = 0.0
    #: NeuroSim fit: the read voltage its fit was made at (V); 0: no correction.
    fit_read_voltage_V: float = 0.0
    #: NeuroSim SAR area: NMOS count at 1 bit.
    nmos_base: int = 0
    #: NeuroSim SAR area: NMOS per extra bit.
    nmos_per_bit: int = 0
    #: NeuroSim SAR area: PMOS count at 1 bit.
    pmos_base: int = 0
    #: NeuroSim SAR area: PMOS per extra bit.
    pmos_per_bit: int = 0
    #: area of one minimum transistor (F²).
    transistor_footprint_F2: float = 0.0


@dataclass(frozen=True, kw_only=True)
class DriverTechnology:
    """Line drivers, input DACs and bus repeaters."""

    #: activity factor of a bus bit (HTree / Bus repeaters).
    switching_ratio: float
    #: capacitance of one line driver's output stage (fF), charged with the line.
    driver_cap_fF: float = 0.0
    #: power of one input DAC while its output is on (µW); the energy of a conversion is this times the
    #: time it is on (:func:`pulsetrain.synth.converters.dac_energy_pJ`).
    dac_power_uW: float = 0.0
    #: area of one input DAC at ``dac_node_nm`` (µm²).
    dac_area_um2: float = 0.0
    #: node of ``dac_area_um2`` (nm); the area is scaled by the square of the node ratio. 0: no scaling.
    dac_node_nm: float = 0.0
    #: area of one line driver without its DAC (µm²); 0: two minimum transistors.
    driver_area_um2: float = 0.0


@dataclass(frozen=True, kw_only=True)
class SramTechnology:
    """On-chip SRAM buffers."""

    #: cell area (F²).
    cell_area_F2: float
    #: cell height (F).
    cell_height_F: float
    #: cell width (F).
    cell_width_F: float
    #: cell array over macro area.
    array_efficiency: float
    #: energy per bit accessed, from cited macro figures (pJ/bit); 0: the full-swing wire model.
    access_energy_pJ_per_bit: float = 0.0


@dataclass(frozen=True, kw_only=True)
class MovementTechnology:
    """Moving activations and errors between tiles."""

    #: bus wire per tile hop (µm); 0: the side of the tile (derived from the layer's array).
    bus_length_um_per_tile: float = 0.0


_Section = TypeVar("_Section")


def _coerce(name: str, field: dataclasses.Field[Any], raw: Any) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if kind == "AdcModel":
        try:
            return AdcModel(raw)
        except ValueError:
            raise ConfigError(
                f"{name} must be one of {', '.join(m.value for m in AdcModel)}, not {raw!r}"
            ) from None
    if kind == "str":
        if not isinstance(raw, str):
            raise ConfigError(f"{name} must be a string, not {raw!r}")
        return raw
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError(f"{name} must be a number, not {raw!r}")
    if kind == "int":
        if raw != int(raw):
            raise ConfigError(f"{name} must be a whole number, not {raw!r}")
        return int(raw)
    if not raw >= 0 and "exponent" not in name:
        raise ConfigError(f"{name} must be a number >= 0, not {raw!r}")
    return float(raw)


def _section(cls: type[_Section], prefix: str, values: dict[str, Any], path: Path) -> _Section:
    """The ``prefix`` section of a flat table as ``cls``; unknown or missing required keys are errors."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    given = {key[len(prefix) + 1 :]: v for key, v in values.items() if key.startswith(prefix + ".")}
    unknown = sorted(set(given) - set(fields))
    if unknown:
        raise ConfigError(
            f"technology table {path}: unknown entries {', '.join(prefix + '.' + u for u in unknown)}"
        )
    missing = [
        name
        for name, f in fields.items()
        if name not in given and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"technology table {path}: missing {', '.join(prefix + '.' + m for m in missing)}")
    return cls(**{name: _coerce(f"{prefix}.{name}", fields[name], v) for name, v in given.items()})


@dataclass(frozen=True, kw_only=True)
class Technology:
    """One technology point: typed sections plus the citation of every figure."""

    #: short name (the file stem).
    name: str
    #: one-line description.
    description: str
    #: periphery logic.
    digital: DigitalTechnology
    #: crossbar.
    array: ArrayTechnology
    #: column converters.
    adc: AdcTechnology
    #: drivers and DACs.
    driver: DriverTechnology
    #: SRAM buffers.
    sram: SramTechnology
    #: data movement.
    movement: MovementTechnology
    #: ``section.key -> value`` as written in the table.
    values: dict[str, Any]
    #: ``section.key -> citation``.
    sources: dict[str, str]
    #: file it was read from.
    path: Path

    def value(self, key: str) -> Any:
        """The value of ``section.key`` as written; a missing key is a ConfigError naming the table."""
        if key not in self.values:
            raise ConfigError(f"technology {self.name!r} has no entry {key!r}")
        return self.values[key]

    def number(self, key: str) -> float:
        """The value of ``section.key`` as a float."""
        return float(self.value(key))

    def source(self, key: str) -> str:
        """The citation of ``section.key``."""
        return self.sources[key]

    def unverified(self) -> list[str]:
        """Keys whose citation says the figure is an assumption or was not checked against its source."""
        return sorted(
            key
            for key, text in self.sources.items()
            if any(mark in text.lower() for mark in _UNVERIFIED_MARKS)
        )

    @property
    def feature_size_um(self) -> float:
        """The array's feature size F (µm)."""
        return self.array.feature_size_um

    def sram_model_values(self) -> dict[str, float]:
        """``section.key -> value`` of every entry the SRAM model reads (:data:`SRAM_MODEL_KEYS`), defaults
        included: what a synthesis cache key must hold so that a changed figure cannot reuse a stale report
        and a change elsewhere in the table does not discard a valid one."""
        sections = {"array": self.array, "digital": self.digital, "sram": self.sram}
        values = {}
        for key in SRAM_MODEL_KEYS:
            section, name = key.split(".")
            values[key] = float(getattr(sections[section], name))
        return values

    def sram_area_um2(self, bits: int, node_nm: float | None = None) -> float:
        """Area of an SRAM macro of ``bits`` bits: cells at ``sram.cell_area_F2`` over the array efficiency.

        ``node_nm`` overrides the table's node (the sky130 flow costs its memories at 130 nm).
        """
        f_um = (node_nm or self.digital.node_nm) * 1e-3
        return bits * self.sram.cell_area_F2 * f_um * f_um / self.sram.array_efficiency

    def sram_access_energy_pJ(self, width_bits: int, depth_words: int, node_nm: float | None = None) -> float:
        """Energy of one word access.

        With ``sram.access_energy_pJ_per_bit`` (cited macro figures) it is that times the word width.
        Without it, the wire model: bit lines (``depth`` cells of height ``sram.cell_height_F``) and the
        word line (``width`` cells of ``sram.cell_width_F``) charged to ``digital.vdd_V`` over
        ``array.wire_cap_fF_per_um``: no decoder, sense amplifier or cell capacitance, but every bit line
        at full swing, so no bound either way (1.9-3.4x OpenRAM's FreePDK45 macros on their shapes, see
        :mod:`pulsetrain.synth.sram`, which the estimate's buffers use).
        """
        if self.sram.access_energy_pJ_per_bit > 0:
            return width_bits * self.sram.access_energy_pJ_per_bit
        f_um = (node_nm or self.digital.node_nm) * 1e-3
        bitline_um = depth_words * self.sram.cell_height_F * f_um
        wordline_um = width_bits * self.sram.cell_width_F * f_um
        joules = (width_bits * bitline_um + wordline_um) * self.array.wire_cap_fF_per_um * 1e-15
        return joules * self.digital.vdd_V**2 * 1e12


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


_SECTIONS: dict[str, type] = {
    "digital": DigitalTechnology,
    "array": ArrayTechnology,
    "adc": AdcTechnology,
    "driver": DriverTechnology,
    "sram": SramTechnology,
    "movement": MovementTechnology,
}


def technology_from_values(
    name: str, description: str, values: dict[str, Any], sources: dict[str, str], path: Path
) -> Technology:
    """The typed record of a flat ``section.key -> value`` table (checked: unknown and missing keys)."""
    stray = sorted({key.split(".")[0] for key in values} - set(_SECTIONS))
    if stray:
        raise ConfigError(f"technology table {path}: unknown sections {', '.join(stray)}")
    sections: dict[str, Any] = {key: _section(cls, key, values, path) for key, cls in _SECTIONS.items()}
    return Technology(
        name=name, description=description, values=values, sources=sources, path=path, **sections
    )


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
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"technology table {path} is not valid UTF-8 TOML: {error}") from None
    values, sources = _flatten({k: v for k, v in data.items() if isinstance(v, dict)}, "", path)
    return technology_from_values(
        str(data.get("name", path.stem)), str(data.get("description", "")), values, sources, path
    )
