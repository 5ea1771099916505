"""The report page's three charts (where content was found, the removal rate per category, the
step at which content came down), drawn inline as SVG from the one report the page was built
from: no second build of the report per chart, no image route, and every word in the reader's
language (the browser sets it in the page's fonts, Chinese included).

They show what tada/reporting/charts.py draws for the HTML report (the same bars and the same
numbers beside them). The console's CSP allows no inline style: the SVG carries geometry and
presentation attributes only, its look is console.css's (``svg.chart``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from tada.console.i18n import N_
from tada.reporting.model import (
    STEP_ALREADY_GONE,
    STEP_ESCALATION_ADMIN,
    STEP_ESCALATION_HOST,
    STEP_FIRST_NOTICE,
    STEP_PLATFORM_CONFIRMED,
    Report,
)
from tada.reporting.text import category_label, pct

#: The platform categories as the report names them (tada/reporting/text.py CATEGORY_LABELS, the
#: same English; a test holds the two together), to be translated where shown.
CATEGORY_NAMES = {
    "pornographic_site": N_("Pornographic sites"), "social_media": N_("Social media"),
    "search_engine": N_("Search engines"), "content_farm": N_("Content farms"), "image_host": N_("Image hosts"),
    "other": N_("Other"),
}  # fmt: skip
#: The steps at which content came down (tada/reporting/model.py), to be translated where shown.
STEP_NAMES = {
    STEP_ALREADY_GONE: N_("already gone"), STEP_FIRST_NOTICE: N_("first notice"),
    STEP_ESCALATION_HOST: N_("escalation to host"), STEP_ESCALATION_ADMIN: N_("escalation to admin"),
    STEP_PLATFORM_CONFIRMED: N_("platform confirmed"),
}  # fmt: skip
FOLLOW_UP = N_("follow-up %(number)s")
_FOLLOW_UP = re.compile(r"follow-up (\d+)")

#: The drawing, in SVG user units: the labels' column, the bars' and the notes beside them.
WIDTH, LABELS, NOTES, ROW, BAR, TOP, AXIS = 720, 210, 120, 28, 17, 6, 44


@dataclass(frozen=True)
class Bar:
    label: str
    note: str
    y: float  # the bar's top
    width: float


@dataclass(frozen=True)
class Tick:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    """One horizontal bar chart, ready to draw (tada/console/templates/_chart.html.j2)."""

    name: str
    title: str  # what the chart shows, its accessible name
    axis: str
    bars: list[Bar]
    ticks: list[Tick]
    empty: str  # "" unless there is nothing to draw: what to say instead
    left: int = LABELS
    width: int = WIDTH
    span: int = WIDTH - LABELS - NOTES

    @property
    def height(self) -> int:
        return TOP + ROW * max(len(self.bars), 3) + AXIS

    @property
    def axis_y(self) -> int:
        return TOP + ROW * max(len(self.bars), 3)


def category_name(name: str, _: Callable[[str], str]) -> str:
    """A category in the reader's words (an unknown one as the report names it)."""
    return _(CATEGORY_NAMES[name]) if name in CATEGORY_NAMES else category_label(name)


def step_name(step: str, _: Callable[[str], str]) -> str:
    """A removal step in the reader's words (an unknown one as the report names it)."""
    if step in STEP_NAMES:
        return _(STEP_NAMES[step])
    follow_up = _FOLLOW_UP.fullmatch(step)
    return _(FOLLOW_UP) % {"number": follow_up.group(1)} if follow_up else step


def _chart(
    name: str, title: str, axis: str, rows: list[tuple[str, float, str]], top: float, *, percent: bool, empty: str
) -> Chart:
    span = WIDTH - LABELS - NOTES
    bars = [
        Bar(label=label, note=note, y=TOP + ROW * n + (ROW - BAR) / 2, width=round(span * min(value, top) / top, 1))
        for n, (label, value, note) in enumerate(rows)
    ]
    marks = (0, 25, 50, 75, 100) if percent else (0, math.ceil(top / 2), top) if top >= 4 else (0, top)
    ticks = [Tick(x=round(LABELS + span * value / top, 1), text=f"{value:g}") for value in marks]
    return Chart(name, title, axis, bars, ticks, empty)


def report_charts(report: Report, _: Callable[[str], str]) -> list[Chart]:
    """The report's three charts in the language of ``_`` (a catalogue's gettext)."""
    no_links = _("No links in this period.") if not report.links else ""
    cats = report.categories
    location = _chart(
        "location", _("Share of reported links per platform category"), _("Share of reported links (%)"),
        [(category_name(c.name, _), c.share or 0.0, f"{pct(c.share)} ({c.links})") for c in cats],
        100.0, percent=True, empty=no_links,
    )  # fmt: skip
    removal = _chart(
        "removal-rate", _("Removal rate per platform category"), _("Links removed (%)"),
        [
            (category_name(c.name, _), c.removal_rate or 0.0,
             _("%(rate)s of %(links)s") % {"rate": pct(c.removal_rate), "links": c.links} if c.links
             else _("n/a (no links)"))
            for c in cats
        ],
        100.0, percent=True, empty=no_links,
    )  # fmt: skip
    most = max([float(s.removals) for s in report.steps] + [1.0])
    steps = _chart(
        "steps", _("Removals per step: already gone, first notice, follow-ups, escalation, platform confirmed"),
        _("Removals"),
        [(step_name(s.step, _), float(s.removals), f"{s.removals} ({pct(s.share)})") for s in report.steps],
        most, percent=False, empty=no_links or ("" if report.removals else _("Nothing removed in this period.")),
    )  # fmt: skip
    return [location, removal, steps]
