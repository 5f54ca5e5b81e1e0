"""SRAM buffers costed from characterized macros (OpenRAM, FreePDK45), with the wire model beside them.

The technology table's SRAM model (:meth:`~pulsetrain.synth.technology.Technology.sram_access_energy_pJ`)
charges every bit line of the accessed word over its full length to the supply: a full-swing C·V² figure
without decoders or sense amplifiers. Real macros swing their bit lines a little and add periphery, so
that figure is no bound either way. This module costs the same buffers from the Liberty files of four
macros that OpenRAM compiled and characterized in FreePDK45 (1.0 V, TT, 25 °C), and fits two lines to
its two 32-bit macros:

* energy per bit accessed = ``e0 + e1 * depth`` (the bit lines grow with the number of words);
* area = ``a0 + a1 * bits`` (a fixed periphery plus a per-bit cost).

The other two macros (8- and 128-bit words) check the fit (``python -m pulsetrain.synth.sram`` prints the
residuals into ``synth/results/sram_macros.md``). Other nodes and supplies are reached by scaling: energy
with the node and the square of the supply, area with the square of the node; that scaling is our
assumption, not a source's. Shapes outside the characterized range (8-128 bits, 256-1024 words) are
extrapolated.

How an energy per access is read from OpenRAM's Liberty files: its characterizer (``compiler/
characterizer/delay.py`` at e6d6680, ``run_delay_simulation``) measures the average supply power over one
read (write) cycle in mW, and ``lib.py`` (``write_clk``) writes half of it on the clock pin's rise arc and
half on its fall arc. The energy of one access is therefore ``2 * value * period``; we take the period the
file states (``minimum_period``). OpenRAM simulated at a feasible period at least that long, so if its
average was taken over a longer cycle the figure here is low by that ratio: the read energies below are
therefore marked *not verified* against a transient simulation of ours.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from pulsetrain.synth.technology import Technology

__all__ = [
    "OPENRAM_FREEPDK45",
    "SramMacro",
    "macro_access_energy_pJ",
    "macro_area_um2",
    "markdown_table",
]

_OPENRAM = "github.com/VLSIDA/OpenRAM"
#: node and supply of the characterized macros (FreePDK45, TT, 1.0 V: the files' operating_conditions).
MACRO_NODE_NM = 45.0
MACRO_VDD_V = 1.0


@dataclass(frozen=True, kw_only=True)
class SramMacro:
    """One characterized single-port macro, as its Liberty file states it."""

    #: bits per word.
    word_bits: int
    #: words.
    words: int
    #: macro area (µm², the cell's ``area``).
    area_um2: float
    #: value on each of the clock pin's rise and fall arcs for a read (``when: !CSb & !clk & WEb``), mW.
    read_power_half_mW: float
    #: the same for a write (``when: !CSb & clk & !WEb``), mW.
    write_power_half_mW: float
    #: the clock pin's ``minimum_period`` (ns).
    min_period_ns: float
    #: file and commit it was read from.
    source: str

    @property
    def bits(self) -> int:
        """Capacity in bits."""
        return self.word_bits * self.words

    @property
    def read_energy_pJ(self) -> float:
        """Energy of one read: twice the per-arc average power (mW) times the period (ns)."""
        return 2.0 * self.read_power_half_mW * self.min_period_ns

    @property
    def write_energy_pJ(self) -> float:
        """Energy of one write, the same way."""
        return 2.0 * self.write_power_half_mW * self.min_period_ns


def _file(name: str, commit: str) -> str:
    return f"{_OPENRAM} lib/freepdk45/lib/{name}_freepdk45_TT_1p0V_25C.lib at {commit}"


#: OpenRAM's characterized FreePDK45 macros (values as printed in each file).
OPENRAM_FREEPDK45: tuple[SramMacro, ...] = (
    SramMacro(
        word_bits=8,
        words=256,
        area_um2=4498.9233125,
        read_power_half_mW=0.0443502652111,
        write_power_half_mW=0.0382237081278,
        min_period_ns=1.055,
        source=_file("sram_1rw_8b_256w_1bank", "e6d6680da1f62a6a5571fe576aa354041c347443"),
    ),
    SramMacro(
        word_bits=32,
        words=256,
        area_um2=12335.4213125,
        read_power_half_mW=0.0770882050833,
        write_power_half_mW=0.0644972321667,
        min_period_ns=2.109,
        source=_file("sram_1rw_32b_256w_1bank", "e6d6680da1f62a6a5571fe576aa354041c347443"),
    ),
    SramMacro(
        word_bits=32,
        words=1024,
        area_um2=42051.1147875,
        read_power_half_mW=0.193822578894,
        write_power_half_mW=0.177355641117,
        min_period_ns=2.188,
        source=_file("sram_1rw_32b_1024w_1bank", "bf7d846e5f995dd74e02590f105affb4ee51b4e6"),
    ),
    SramMacro(
        word_bits=128,
        words=1024,
        area_um2=146602.501987,
        read_power_half_mW=0.377816169333,
        write_power_half_mW=0.359934198778,
        min_period_ns=5.938,
        source=_file("sram_1rw_128b_1024w_1bank", "e6d6680da1f62a6a5571fe576aa354041c347443"),
    ),
)

#: the two 32-bit macros the lines are fitted to (the others check the fit).
_SHORT, _TALL = OPENRAM_FREEPDK45[1], OPENRAM_FREEPDK45[2]


def _per_bit_fJ(macro: SramMacro) -> float:
    return macro.read_energy_pJ * 1e3 / macro.word_bits


def _line_through(short: tuple[float, float], tall: tuple[float, float]) -> tuple[float, float]:
    """``(intercept, slope)`` of the line through two points ``(x, y)``."""
    slope = (tall[1] - short[1]) / (tall[0] - short[0])
    return short[1] - slope * short[0], slope


def energy_fit_fJ_per_bit() -> tuple[float, float]:
    """``(e0, e1)``: read energy per bit accessed = ``e0 + e1 * words`` (fJ, fJ per word) at 45 nm, 1.0 V."""
    return _line_through((_SHORT.words, _per_bit_fJ(_SHORT)), (_TALL.words, _per_bit_fJ(_TALL)))


def area_fit_um2() -> tuple[float, float]:
    """``(a0, a1)``: macro area = ``a0 + a1 * bits`` (µm², µm² per bit) at 45 nm."""
    return _line_through((_SHORT.bits, _SHORT.area_um2), (_TALL.bits, _TALL.area_um2))


def _node_nm(tech: Technology) -> float:
    return float(tech.digital.node_nm)


def macro_access_energy_pJ(tech: Technology, width_bits: int, depth_words: int) -> float:
    """One word access of a ``width x depth`` buffer (pJ): the OpenRAM fit at ``tech``'s node and supply."""
    e0, e1 = energy_fit_fJ_per_bit()
    scale = (_node_nm(tech) / MACRO_NODE_NM) * (tech.digital.vdd_V / MACRO_VDD_V) ** 2
    return width_bits * (e0 + e1 * depth_words) * 1e-3 * scale


def macro_area_um2(tech: Technology) -> tuple[float, float]:
    """``(fixed periphery per macro, area per bit)`` in µm²: the OpenRAM fit at ``tech``'s node."""
    a0, a1 = area_fit_um2()
    scale = (_node_nm(tech) / MACRO_NODE_NM) ** 2
    return a0 * scale, a1 * scale


def markdown_table(tech: Technology) -> str:
    """The macros, the fit's residuals and the wire model of the same shapes, as Markdown."""
    e0, e1 = energy_fit_fJ_per_bit()
    a0, a1 = area_fit_um2()
    lines = [
        "# SRAM buffers: OpenRAM FreePDK45 macros against the fit and the wire model",
        "",
        "Regenerate with `python -m pulsetrain.synth.sram`. Read energy = 2 x per-arc power x minimum period",
        (
            "(see `synth/sram.py` for why); fit on the two 32-bit macros: read energy per bit = "
            f"{e0:.3f} fJ + {e1:.5f} fJ x words; area = {a0:.0f} um^2 + {a1:.4f} um^2 x bits (45 nm, 1.0 V)."
        ),
        (
            f"Wire model: the `{tech.name}` table's full-swing bit-line and word-line C·V² at 45 nm and "
            f"{MACRO_VDD_V} V (the macros' supply); cell model area: {tech.sram.cell_area_F2:g} F^2 per bit "
            f"over {tech.sram.array_efficiency:g} efficiency."
        ),
        "",
        (
            "| macro | read pJ | write pJ | read fJ/bit | fit fJ/bit | fit / macro | wire model pJ "
            "| wire / macro | area um^2 | fit area / macro | cell model area / macro | source |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    cell_area = tech.sram_area_um2(1, node_nm=MACRO_NODE_NM)
    for m in OPENRAM_FREEPDK45:
        fit_bit = e0 + e1 * m.words
        # the wire model at the macros' own supply, so that the two compare like with like
        wire = (
            tech.sram_access_energy_pJ(m.word_bits, m.words, node_nm=MACRO_NODE_NM)
            * (MACRO_VDD_V / tech.digital.vdd_V) ** 2
        )
        lines.append(
            f"| {m.word_bits} b x {m.words} w | {m.read_energy_pJ:.4g} | {m.write_energy_pJ:.4g} "
            f"| {_per_bit_fJ(m):.4g} | {fit_bit:.4g} | {fit_bit / _per_bit_fJ(m):.3f} | {wire:.4g} "
            f"| {wire / m.read_energy_pJ:.2f} | {m.area_um2:.6g} | {(a0 + a1 * m.bits) / m.area_um2:.3f} "
            f"| {cell_area * m.bits / m.area_um2:.3f} | {m.source} |"
        )
    lines += [
        "",
        "The estimate costs each buffer access at the fit (nominal) and shows the wire model as the other",
        "end of its range; the buffer area is the fit's fixed periphery per buffer plus its per-bit area.",
        "The synthesis flows still cost the memories they cut out of a block with the table's cell and wire",
        "model (their cache keys hold the table's contents).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Rewrite ``synth/results/sram_macros.md`` for the rpu_45nm table (or print it with ``-``)."""
    from pulsetrain.synth.technology import load_technology

    from pulsetrain.results import write_atomic

    args = sys.argv[1:] if argv is None else argv
    text = markdown_table(load_technology("rpu_45nm"))
    if args == ["-"]:
        print(text)
        return 0
    path = Path(__file__).parent / "results" / "sram_macros.md"
    write_atomic(path, text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
