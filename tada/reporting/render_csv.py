"""The report as CSV in long form: one row per figure (section, item, measure, value).

Long form keeps every section in one file that a spreadsheet can pivot; a rate
with nothing to divide by is left empty. A name that a spreadsheet would read as a
formula (a hosting provider from RDAP called ``=HYPERLINK(...)``) is written as text
(``domain.csv_cells``); numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from tada.domain.csv_cells import csv_row
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
    for quiet in report.silent_platforms:
        yield "silent_platform", quiet.platform, "links", quiet.links
        yield "silent_platform", quiet.platform, "silent_links", quiet.silent_links
        yield "silent_platform", quiet.platform, "removed", quiet.removed
    yield "reposts", "", "links", report.reposts.links
    yield "reposts", "", "cycles", report.reposts.cycles
    yield "reposts", "", "removed", report.reposts.removed
    yield "reposts", "", "removal_rate_percent", report.reposts.removal_rate
    yield from scorecard_rows(report)


#: A scorecard row's figures as (measure, attribute), in the table's order.
SCORECARD_MEASURES = (
    ("links", "links"), ("removed", "removed"), ("removal_rate_percent", "removal_rate"),
    ("median_seconds_to_removal", "median_seconds"), ("p90_seconds_to_removal", "p90_seconds"),
    ("answered", "answered"), ("median_seconds_to_first_answer", "median_answer_seconds"),
    ("response_rate_percent", "response_rate"), ("clocks_met", "clocks_met"), ("clocks_missed", "clocks_missed"),
    ("within_deadline_percent", "within_deadline"), ("overdue_now", "overdue_now"), ("reposts", "reposts"),
    ("reposts_per_removal", "reposts_per_removal"), ("bounced_contacts", "bounces"),
)  # fmt: skip


def scorecard_rows(report: Report) -> Iterator[Row]:
    card = report.scorecard
    yield "scorecard", "", "overdue_as_of", card.as_of.isoformat() if card.as_of else ""
    for section, score_rows in (("scorecard_platform", card.platforms), ("scorecard_hosting_provider", card.hosts)):
        for row in score_rows:
            for measure, attribute in SCORECARD_MEASURES:
                yield section, row.name, measure, getattr(row, attribute)
    for number, note in enumerate(card.notes, start=1):
        yield "scorecard_note", "", str(number), note


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    # CR LF (RFC 4180): with it the writer quotes every cell holding a CR or an LF, so a name
    # with a line break in it stays one cell of one row.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for section, item, measure, value in rows(report):
        writer.writerow(csv_row((section, item, measure, "" if value is None else value)))
    return buffer.getvalue()
