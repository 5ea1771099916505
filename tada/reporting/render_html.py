"""The report as one self-contained HTML page: tables, four charts and print CSS, no JavaScript.

Rendered through a Jinja2 template with autoescape on, so names from the
database are always text; the charts are PNG data URIs from ``reporting.charts``
and (the scorecard's) ``reporting.scorecard_chart``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, select_autoescape

from tada.reporting.charts import location_chart, removal_rate_chart, steps_chart
from tada.reporting.model import Report
from tada.reporting.scorecard_chart import MOST, scorecard_chart
from tada.reporting.text import category_label, duration, pct, ratio, within_deadline


def _utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "now"


_ENV = Environment(
    loader=PackageLoader("tada.reporting", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(
    pct=pct, duration=duration, category=category_label, ratio=ratio, within_deadline=within_deadline, utc=_utc
)


def render_html(report: Report) -> str:
    charts = {
        "location": location_chart(report),
        "removal_rate": removal_rate_chart(report),
        "steps": steps_chart(report),
        "scorecard": scorecard_chart(report),
    }
    return _ENV.get_template("report.html.j2").render(report=report, charts=charts, most=MOST)
