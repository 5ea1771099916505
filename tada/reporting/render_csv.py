"""The report as CSV in long form: one row per figure (section, item, measure, value).

Long form keeps every section in one file that a spreadsheet can pivot; a rate
with nothing to divide by is left empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from tada.reporting.model import Report

HEADER = ("section", "item", "measure", "value")

Row = tuple[str, str, str, object]


def rows(report: Report) -> Iterator[Row]:
    period = report.period
    yield "period", "", "from", period.start.isoformat() if period.start else ""
    yield "period", "", "to", period.end.isoformat() if period.end else ""
    yield "period", "", "basis", period.basis
    yield "totals", "", "cases", report.cases
    yield "totals", "", "links", report.links
    yield "totals", "", "removed", report.removed
    yield "totals", "", "removal_rate_percent", report.removal_rate
    for c in report.categories:
        yield "category", c.name, "links", c.links
        yield "category", c.name, "share_percent", c.share
        yield "category", c.name, "removed", c.removed
        yield "category", c.name, "removal_rate_percent", c.removal_rate
        yield "category", c.name, "median_seconds_to_removal", c.median_seconds
        yield "category", c.name, "p90_seconds_to_removal", c.p90_seconds
    for p in report.platforms:
        yield "platform", p.name, "category", p.category
        yield "platform", p.name, "links", p.links
        yield "platform", p.name, "removed", p.removed
        yield "platform", p.name, "removal_rate_percent", p.removal_rate
    for h in report.hosts:
        yield "hosting_provider", h.name, "links", h.links
        yield "hosting_provider", h.name, "removed", h.removed
        yield "hosting_provider", h.name, "removal_rate_percent", h.removal_rate
    for s in report.steps:
        yield "removal_step", s.step, "removals", s.removals
        yield "removal_step", s.step, "share_percent", s.share
    for p in report.silent_platforms:
        yield "silent_platform", p.platform, "links", p.links
        yield "silent_platform", p.platform, "silent_links", p.silent_links
        yield "silent_platform", p.platform, "removed", p.removed
    yield "reposts", "", "links", report.reposts.links
    yield "reposts", "", "cycles", report.reposts.cycles
    yield "reposts", "", "removed", report.reposts.removed
    yield "reposts", "", "removal_rate_percent", report.reposts.removal_rate


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for section, item, measure, value in rows(report):
        writer.writerow((section, item, measure, "" if value is None else value))
    return buffer.getvalue()
