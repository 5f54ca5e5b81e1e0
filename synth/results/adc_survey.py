"""Read the SAR frontier off B. Murmann's ADC Performance Survey (the figures of synth/tech/*.toml [adc]).

Usage: ``python synth/results/adc_survey.py ADCsurvey_latest.ods`` with the survey's spreadsheet from
github.com/bmurmann/ADC-survey (``xls/ADCsurvey_latest.ods``; the figures in the tables were read at commit
ddf3c1b of 2025-06-09, "ADC Performance Survey 1997-2025"). The spreadsheet is not part of this repository.
Standard library only: an .ods file is a zip with a ``content.xml``.

Selection: the ISSCC and VLSI sheets; SAR-based converters (ARCHITECTURE contains "SAR": plain,
time-interleaved and pipelined SARs, since plain SARs alone leave three or four designs per node);
SNDR_plot 37-52 dB (ENOB about 6-8.3, the resolutions of the estimator's tables); the process node from
TECHNOLOGY (µm). Per node class it prints the count, the best, lower quartile and median Walden FoM at
Nyquist input (FOMW_hf), the energy per conversion (P/fsnyq) and the area; and the lowest P/fsnyq of any
SAR-based design at that node, any SNDR (the floor).
"""

from __future__ import annotations

import statistics
import sys
import xml.etree.ElementTree as ElementTree
import zipfile

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_NODE_CLASSES = ((20, 32), (40, 45), (55, 65))


def _cell(cell: ElementTree.Element) -> str:
    value = cell.get(_OFFICE + "value")
    return value if value is not None else "".join(cell.itertext())


def read_sheets(path: str, names: tuple[str, ...] = ("ISSCC", "VLSI")) -> list[dict[str, str]]:
    """Rows of the named sheets as dicts keyed by the header row."""
    root = ElementTree.fromstring(zipfile.ZipFile(path).read("content.xml"))
    rows: list[dict[str, str]] = []
    for table in root.iter(_TABLE + "table"):
        if table.get(_TABLE + "name") not in names:
            continue
        header: list[str] = []
        for row in table.iter(_TABLE + "table-row"):
            values: list[str] = []
            for cell in row:
                repeat = min(int(cell.get(_TABLE + "number-columns-repeated", "1")), 64)
                values.extend([_cell(cell)] * repeat)
            if not any(values):
                continue
            if not header:
                header = values
                continue
            rows.append(dict(zip(header, values, strict=False)) | {"sheet": str(table.get(_TABLE + "name"))})
    return rows


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def main(path: str) -> None:
    rows = [r for r in read_sheets(path) if "SAR" in r.get("ARCHITECTURE", "").upper()]
    for low, high in _NODE_CLASSES:
        at_node = [r for r in rows if (n := _number(r.get("TECHNOLOGY"))) and low <= round(n * 1000) <= high]
        chosen = [
            r
            for r in at_node
            if (s := _number(r.get("SNDR_plot [dB]"))) is not None
            and 37 <= s <= 52
            and _number(r.get("FOMW_hf [fJ/conv-step]"))
        ]
        foms = sorted(_number(r["FOMW_hf [fJ/conv-step]"]) or 0.0 for r in chosen)
        energies = sorted(_number(r["P/fsnyq [pJ]"]) or 0.0 for r in chosen)
        areas = sorted(a for r in chosen if (a := _number(r.get("AREA [mm^2]"))))
        floors = sorted(f for r in at_node if (f := _number(r.get("P/fsnyq [pJ]"))))
        if not foms:
            print(f"{low}-{high} nm: no SAR-based design at 37-52 dB")
            continue
        print(
            f"{low}-{high} nm, SAR-based, SNDR 37-52 dB: n={len(foms)}; FoM_W best {foms[0]:.3g}, "
            f"lower quartile {foms[len(foms) // 4]:.3g}, median {statistics.median(foms):.3g} fJ/step; "
            f"P/fsnyq best {energies[0]:.3g}, median {statistics.median(energies):.3g} pJ; area smallest "
            f"{areas[0] * 1e6:.0f}, median {statistics.median(areas) * 1e6:.0f} um^2; lowest P/fsnyq of any "
            f"SAR-based design at this node {floors[0]:.3g} pJ"
        )


if __name__ == "__main__":
    main(sys.argv[1])
