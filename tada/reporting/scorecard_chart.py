"""The scorecard's chart: per platform, the share of its links removed, the share answered,
and the share of its legal clocks met, side by side (matplotlib, as ``reporting.charts``).

Each bar carries its number, and the three series differ in hatching as well as shade, so
the chart reads in black and white on paper. A rate with nothing to divide by is drawn as
no bar with "n/a" beside it. The platforms with the most links come first; at most
``MOST`` of them, the rest are in the table.
"""

from __future__ import annotations

from tada.reporting.charts import BAR, EMPTY, _png, data_uri, pyplot
from tada.reporting.model import Report
from tada.reporting.text import pct

MOST = 15
SERIES = (  # (label, ScoreRow attribute, colour, hatch)
    ("removed", "removal_rate", BAR, ""),
    ("answered (response rate)", "response_rate", "#9c86c2", "//"),
    ("within legal deadline", "within_deadline", "#e0d7ef", ".."),
)


def scorecard_png(report: Report) -> bytes:
    """Per platform: removed, answered and within deadline, in percent."""
    rows = report.scorecard.platforms[:MOST]
    height = 0.9 * max(len(rows), 2) + 1.2
    figure, axes = pyplot().subplots(figsize=(7.0, height))
    bar = 0.26
    for number, (label, attribute, colour, hatch) in enumerate(SERIES):
        values = [getattr(row, attribute) for row in rows]
        positions = [index + (number - 1) * bar for index in range(len(rows))]
        axes.barh(
            positions, [v or 0.0 for v in values], height=bar, color=colour, hatch=hatch, edgecolor="#333",
            linewidth=0.5, label=label,
        )  # fmt: skip
        for position, value in zip(positions, values):
            axes.text((value or 0.0) + 1.0, position, pct(value), va="center", fontsize=7.5)
    axes.set_yticks(list(range(len(rows))), [row.name for row in rows])
    axes.invert_yaxis()
    axes.set_xlim(0, 118)
    axes.set_xlabel("percent")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if rows:
        axes.legend(loc="lower right", fontsize=8, frameon=False, bbox_to_anchor=(1.0, 1.0), ncols=3)
    else:
        axes.text(0.5, 0.5, EMPTY, transform=axes.transAxes, ha="center", va="center", fontsize=11, color="#444")
    figure.tight_layout()
    return _png(figure)


def scorecard_chart(report: Report) -> str:
    return data_uri(scorecard_png(report))
