"""An actor's demands over time, as a picture: one row per demand, a mark per article, the
first appearance highlighted.

``rows`` turns deltas into plain rows; ``text``, ``svg`` and ``html`` draw them with nothing
but the standard library; ``png`` needs matplotlib (the ``plot`` extra) and says so if it is
missing.
"""

from __future__ import annotations

__all__ = ["Mark", "Row", "html", "png", "rows", "svg", "text"]

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

from monitor.errors import NewsmonError
from monitor.model import Delta

# Colours by kind: the first appearance stands out, repeats are quiet.
_COLOURS = {
    "new_condition": "#d62728",
    "demand_repeated": "#1f77b4",
    "demand_resurfaced": "#ff7f0e",
    "demand_dropped": "#7f7f7f",
    "demand_rejected": "#9467bd",
    "unrecognized_condition": "#2ca02c",
}


@dataclass(frozen=True)
class Mark:
    """One article's delta on a demand's row."""

    when: datetime
    kind: str
    corroborations: int
    url: str
    sentence: str


@dataclass(frozen=True)
class Row:
    """One demand of the actor, with its marks in time order."""

    demand: str
    title: str
    marks: tuple[Mark, ...]

    @property
    def first(self) -> datetime:
        return self.marks[0].when


def rows(deltas: Sequence[Delta]) -> list[Row]:
    """One row per demand, ordered by first appearance (pure)."""
    by_demand: dict[str, list[Delta]] = {}
    for delta in sorted(deltas, key=lambda d: (d.published, d.id or 0)):
        by_demand.setdefault(delta.demand, []).append(delta)
    found = [
        Row(
            demand,
            group[-1].demand_title or demand,
            tuple(Mark(d.published, d.kind, d.corroborations, d.url, d.sentence) for d in group),
        )
        for demand, group in by_demand.items()
    ]
    return sorted(found, key=lambda r: (r.first, r.demand))


def _span(found: Sequence[Row]) -> tuple[datetime, datetime]:
    start = min(r.first for r in found)
    end = max(m.when for r in found for m in r.marks)
    return start, max(end, start + timedelta(days=1))


def text(actor: str, found: Sequence[Row], *, width: int = 60) -> str:
    """A terminal picture: a column per time slice, ``*`` first appearance, ``o`` a mark."""
    if not found:
        return f"{actor}: no demands recorded"
    start, end = _span(found)
    step = (end - start) / width
    label = max(len(r.demand) for r in found)
    lines = [f"{actor}: {start:%Y-%m-%d} → {end:%Y-%m-%d}, one column ≈ {_days(step)}"]
    for row in found:
        cells = ["·"] * width
        for mark in row.marks:
            column = min(width - 1, int((mark.when - start) / step))
            if cells[column] != "*":
                cells[column] = "*" if mark.kind == "new_condition" else "o"
        lines.append(f"{row.demand:<{label}}  {''.join(cells)}  {len(row.marks)}")
    return "\n".join(lines)


def _days(step: timedelta) -> str:
    days = step.total_seconds() / 86400
    return f"{days:.1f} days" if days >= 1 else f"{days * 24:.1f} hours"


def svg(actor: str, found: Sequence[Row]) -> str:
    """A standalone SVG: demands down the side, time across, a dot per article."""
    left, right, top, row_height = 260, 30, 50, 28
    width = 1000
    height = top + row_height * max(1, len(found)) + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<text x="10" y="24" font-size="16" font-weight="bold">{escape(actor)}: demands over '
        "time</text>",
    ]
    if not found:
        parts.append(f'<text x="10" y="{top + 14}">no demands recorded</text></svg>')
        return "\n".join(parts)
    start, end = _span(found)
    plot = width - left - right

    def x(when: datetime) -> float:
        return left + plot * ((when - start) / (end - start))

    for i, row in enumerate(found):
        y = top + row_height * i + row_height / 2
        parts.append(
            f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end">'
            f"<title>{escape(row.title)}</title>{escape(row.demand)}</text>"
        )
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        for mark in row.marks:
            first = mark.kind == "new_condition"
            # Copies of one story make its dot bigger; the first appearance is ringed.
            radius = 7 if first else 4 + min(3, mark.corroborations - 1)
            outline = ' stroke="#000" stroke-width="1.5"' if first else ""
            parts.append(
                f'<circle cx="{x(mark.when):.1f}" cy="{y:.1f}" r="{radius}" '
                f'fill="{_COLOURS.get(mark.kind, "#000")}"{outline}>'
                f"<title>{mark.when:%Y-%m-%d %H:%M} {mark.kind}: {escape(mark.sentence)}"
                "</title></circle>"
            )
    axis = top + row_height * len(found) + 10
    for tick in range(5):
        when = start + (end - start) * tick / 4
        parts.append(
            f'<text x="{x(when):.1f}" y="{axis + 14}" text-anchor="middle">{when:%Y-%m-%d}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def html(actor: str, found: Sequence[Row]) -> str:
    """A page with the SVG, a legend, and each demand's first statement with its link."""
    legend = " ".join(
        f'<span style="color:{colour}">●</span> {kind.replace("_", " ")}'
        for kind, colour in _COLOURS.items()
    )
    items = "".join(
        f"<li><b>{escape(r.title)}</b> ({escape(r.demand)}), first {r.first:%Y-%m-%d}, "
        f'{len(r.marks)} article(s): <a href="{escape(r.marks[0].url)}">'
        f"“{escape(r.marks[0].sentence)}”</a></li>"
        for r in found
    )
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{escape(actor)}: '
        f"demands over time</title></head><body>\n{svg(actor, found)}\n<p>{legend}</p>\n"
        f"<ol>{items}</ol>\n</body></html>\n"
    )


def png(actor: str, found: Sequence[Row], path: Path) -> None:
    """Draw the timeline into a PNG file with matplotlib (``pip install 'newsmon[plot]'``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise NewsmonError(
            "PNG needs matplotlib: pip install 'newsmon[plot]' (or write .svg or .html)"
        ) from exc
    figure, axes = plt.subplots(figsize=(10, 1 + 0.4 * max(1, len(found))))
    for i, row in enumerate(found):
        for mark in row.marks:
            first = mark.kind == "new_condition"
            axes.scatter(
                # Days since 1970: matplotlib's own date numbers (its default epoch).
                [mark.when.timestamp() / 86400],
                [i],
                s=80 if first else 25,
                c=_COLOURS.get(mark.kind, "#000"),
                edgecolors="black" if first else "none",
                zorder=3,
            )
    axes.xaxis_date()
    axes.set_yticks(range(len(found)), [r.demand for r in found])
    axes.invert_yaxis()
    axes.grid(axis="y", color="#ddd")
    axes.set_title(f"{actor}: demands over time")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
