"""The HTML page of ``pulsetrain report``: one self-contained file that works offline.

Every plot is drawn with Matplotlib's Agg backend and embedded as a base64 PNG ``<img>``; the page has
no scripts, no external style sheets and no fonts to fetch, so it opens from a file, an e-mail
attachment or a CI artifact alike. A section whose inputs are missing shows "not available: <reason>"
instead of a plot: the page never draws numbers that were not computed.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen before pyplot loads)
from matplotlib.figure import Figure  # noqa: E402

from pulsetrain import catalogue  # noqa: E402

#: the plots' colours: the digital reference grey, then Matplotlib's tab10 (its first nine, grey left out)
_PALETTE: tuple[str, ...] = (
    "#444444",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
)
#: a colour per algorithm of the catalogue, in its order, stable across every plot of the report
ALGORITHM_COLOURS: dict[str, str] = dict(zip(catalogue.ALGORITHMS, _PALETTE, strict=False))


def colour(name: str) -> str:
    """The colour of an algorithm (a fixed grey for names beyond the palette)."""
    return ALGORITHM_COLOURS.get(name, "#7f7f7f")


@dataclass(frozen=True)
class Plot:
    """One embedded figure: a title, the image bytes and a caption saying what is shown and from where."""

    title: str
    #: the image (PNG for matplotlib figures; SVG text as bytes for timing diagrams, with ``media_type``)
    png: bytes
    caption: str = ""
    #: the bytes' media type
    media_type: str = "image/png"

    def data_uri(self) -> str:
        """The image as a ``data:`` URI for an ``<img src>``."""
        return f"data:{self.media_type};base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Table:
    """A small table: header row and rows of already formatted cells."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""


@dataclass
class Section:
    """One part of the page. ``unavailable`` holds the reason when the section could not be produced.

    A builder: a part creates it with its key, title and intro, then appends tables, plots and notes
    while assembling its results.
    """

    key: str
    title: str
    intro: str = ""
    plots: list[Plot] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unavailable: str | None = None


def figure_png(draw: Callable[[Figure], None], *, width_in: float = 7.0, height_in: float = 4.0) -> bytes:
    """Draw on a fresh Agg figure with ``draw(figure)`` and return it as PNG bytes (100 dpi)."""
    figure = plt.figure(figsize=(width_in, height_in), dpi=100)
    try:
        draw(figure)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100)
    finally:
        plt.close(figure)
    return buffer.getvalue()


_STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 1200px;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
.meta { color: #666; }
table { border-collapse: collapse; margin: 0.8em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
td.text { text-align: left; }
caption { caption-side: bottom; color: #666; font-size: 0.9em; text-align: left; padding-top: 0.3em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.unavailable { background: #fff4e5; border-left: 4px solid #f0a030; padding: 0.6em 1em; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.85em; }
nav a { margin-right: 1em; }
"""


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").replace(" ", ""))
    except ValueError:
        return text in ("-", "n/a")
    return True


def _cell_html(text: str) -> str:
    # numbers right-aligned (the style sheet's default), words left-aligned
    css = "" if _is_number(text) else ' class="text"'
    return f"<td{css}>{html.escape(text)}</td>"


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in table.header)
    body = "".join("<tr>" + "".join(_cell_html(str(cell)) for cell in row) + "</tr>" for row in table.rows)
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section_html(section: Section) -> str:
    parts = [f'<section id="{html.escape(section.key)}"><h2>{html.escape(section.title)}</h2>']
    if section.intro:
        parts.append(f"<p>{html.escape(section.intro)}</p>")
    if section.unavailable is not None:
        parts.append(f'<p class="unavailable">not available: {html.escape(section.unavailable)}</p>')
    for table in section.tables:
        parts.append(_table_html(table))
    for plot in section.plots:
        caption = f"<figcaption>{html.escape(plot.caption)}</figcaption>" if plot.caption else ""
        parts.append(
            f'<figure><img class="plot" alt="{html.escape(plot.title)}" src="{plot.data_uri()}">'
            f"{caption}</figure>"
        )
    for note in section.notes:
        parts.append(f"<p>{html.escape(note)}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def render_page(
    *,
    title: str,
    subtitle: str,
    sections: Sequence[Section],
    configuration: Mapping[str, Any],
) -> str:
    """The whole page as one HTML string (UTF-8, no external resources)."""
    nav = (
        " ".join(f'<a href="#{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in sections)
        + ' <a href="#configuration">Configuration</a>'
    )
    body = "\n".join(_section_html(section) for section in sections)
    config_text = html.escape(json.dumps(configuration, indent=2, sort_keys=True))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="meta">{html.escape(subtitle)}</p><nav>{nav}</nav>\n'
        f"{body}\n"
        '<section id="configuration"><h2>Configuration</h2>'
        "<p>Everything this report was computed from (defaults, then the TOML file, then --set).</p>"
        f"<pre>{config_text}</pre></section>"
        "</body></html>\n"
    )
