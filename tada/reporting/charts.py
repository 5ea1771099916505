"""The report's charts, drawn by matplotlib (Agg, no display) as PNG images: data URIs in the
HTML report, files for the console (which serves them from a route of its own: its CSP allows
no ``data:`` image).

Like the source report's: where content was found (share per category), the
removal rate per category, and the step at which content came down. Bars carry
their numbers as labels, so the charts read in black and white on paper.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

from tada.reporting.model import Report
from tada.reporting.text import category_label, pct

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend (never a window), imported when a chart is drawn:
    it costs half a second, which every ``tada`` command would otherwise pay at start."""
    import matplotlib

    matplotlib.use("Agg")  # before pyplot: never a window, works without a display
    import matplotlib.pyplot as plt

    return plt


DPI = 160
BAR = "#5b3f8c"
EMPTY = "no links in this period"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    pyplot().close(figure)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """A PNG as a data URI, for the self-contained HTML report."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _bars(labels: list[str], values: list[float], notes: list[str], *, xlabel: str, xmax: float | None) -> bytes:
    height = 0.45 * max(len(labels), 3) + 0.8
    figure, axes = pyplot().subplots(figsize=(7.0, height))
    positions = range(len(labels))
    axes.barh(positions, values, color=BAR, height=0.6)
    axes.set_yticks(list(positions), labels)
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    top = xmax if xmax is not None else max([*values, 1.0])
    axes.set_xlim(0, top * 1.18)
    for position, value, note in zip(positions, values, notes):
        axes.text(value + top * 0.01, position, note, va="center", fontsize=9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if not any(values):
        axes.text(0.5, 0.5, EMPTY, transform=axes.transAxes, ha="center", va="center", fontsize=11, color="#444")
    figure.tight_layout()
    return _png(figure)


def location_png(report: Report) -> bytes:
    """Where content was found: each category's share of the links (count in brackets)."""
    cats = report.categories
    return _bars(
        [category_label(c.name) for c in cats],
        [c.share or 0.0 for c in cats],
        [f"{pct(c.share)} ({c.links})" for c in cats],
        xlabel="share of reported links (%)",
        xmax=100.0,
    )


def removal_rate_png(report: Report) -> bytes:
    """Removal rate per category; a category without links shows n/a."""
    cats = report.categories
    return _bars(
        [category_label(c.name) for c in cats],
        [c.removal_rate or 0.0 for c in cats],
        [f"{pct(c.removal_rate)} of {c.links}" if c.links else "n/a (no links)" for c in cats],
        xlabel="links removed (%)",
        xmax=100.0,
    )


def steps_png(report: Report) -> bytes:
    """At which step content came down: removals per step."""
    steps = report.steps
    return _bars(
        [s.step for s in steps],
        [float(s.removals) for s in steps],
        [f"{s.removals} ({pct(s.share)})" for s in steps],
        xlabel="removals",
        xmax=None,
    )


def location_chart(report: Report) -> str:
    return data_uri(location_png(report))


def removal_rate_chart(report: Report) -> str:
    return data_uri(removal_rate_png(report))


def steps_chart(report: Report) -> str:
    return data_uri(steps_png(report))


#: Each chart as a PNG, by the name the console serves it under (/console/report/charts/NAME.png).
CHARTS = {"location": location_png, "removal-rate": removal_rate_png, "steps": steps_png}
