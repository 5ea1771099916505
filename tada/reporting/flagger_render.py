"""The trusted-flagger report (``reporting.flagger``) as rich tables, JSON, CSV and HTML.

As the service report: names through ``terminal_text`` on a terminal, ``csv_row`` in a CSV
(a formula is written as text), autoescaped in the HTML page (no JavaScript).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

from jinja2 import Environment, PackageLoader, select_autoescape
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from tada.domain.csv_cells import csv_row
from tada.domain.terminal_text import terminal_text
from tada.reporting.flagger import ACTION_LABELS, ActionCounts, FlaggerReport
from tada.reporting.render import ReportFormat

HEADER = ("section", "provider", "content_type", "measure", "value")


def _counts(row: ActionCounts) -> list[str]:
    return [str(row.notices), *(str(getattr(row, field)) for field in ACTION_LABELS)]


def _table(title: str, *first: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in first:
        table.add_column(column)
    for column in ("notices", *ACTION_LABELS.values()):
        table.add_column(column, justify="right")
    return table


def _cell(value: str) -> Text:
    return Text(terminal_text(value))


def flagger_renderables(report: FlaggerReport) -> list[RenderableType]:
    t = report.totals
    parts: list[RenderableType] = [
        Text(report.title, style="bold underline"),
        Text(f"{report.year}-01-01 to {report.year}-12-31 -- {report.basis}"),
        Text(
            f"Notices submitted: {t.notices}   "
            + "   ".join(f"{label}: {getattr(t, field)}" for field, label in ACTION_LABELS.items())
        ),
    ]
    if not report.rows:
        parts.append(Text(f"No notices in {report.year}."))
    else:
        cells = _table("Notices by provider of hosting services and type of content", "provider", "type of content")
        for row in report.rows:
            cells.add_row(_cell(row.provider), _cell(row.content_type), *_counts(row))
        providers = _table("By provider of hosting services", "provider")
        for p in report.by_provider:
            providers.add_row(_cell(p.provider), *_counts(p))
        types = _table("By type of allegedly illegal content", "type of content")
        for c in report.by_content_type:
            types.add_row(_cell(c.content_type), *_counts(c))
        parts += [cells, providers, types]
    parts.extend(Text(note, style="dim") for note in report.notes)
    return parts


def render_flagger_table(report: FlaggerReport, width: int = 120) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False, emoji=False)
    console.print(Group(*flagger_renderables(report)))
    return buffer.getvalue()


def render_flagger_json(report: FlaggerReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


def _measures(row: ActionCounts) -> Iterator[tuple[str, int]]:
    yield "notices", row.notices
    yield from ((field, getattr(row, field)) for field in ACTION_LABELS)


def flagger_rows(report: FlaggerReport) -> Iterator[tuple[str, str, str, str, object]]:
    yield "report", "", "", "year", report.year
    yield "report", "", "", "basis", report.basis
    for measure, value in _measures(report.totals):
        yield "totals", "", "", measure, value
    for row in report.rows:
        for measure, value in _measures(row):
            yield "provider_and_type", row.provider, row.content_type, measure, value
    for p in report.by_provider:
        for measure, value in _measures(p):
            yield "provider", p.provider, "", measure, value
    for c in report.by_content_type:
        for measure, value in _measures(c):
            yield "content_type", "", c.content_type, measure, value
    for number, note in enumerate(report.notes, start=1):
        yield "note", "", "", str(number), note


def render_flagger_csv(report: FlaggerReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # CR LF: a cell with a line break stays one cell
    writer.writerow(HEADER)
    for row in flagger_rows(report):
        writer.writerow(csv_row(row))
    return buffer.getvalue()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


_ENV = Environment(
    loader=PackageLoader("tada.reporting", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(utc=_utc)


def render_flagger_html(report: FlaggerReport) -> str:
    return _ENV.get_template("flagger.html.j2").render(report=report, actions=ACTION_LABELS)


def render_flagger(report: FlaggerReport, fmt: ReportFormat) -> str:
    renderers = {
        ReportFormat.TABLE: render_flagger_table,
        ReportFormat.JSON: render_flagger_json,
        ReportFormat.CSV: render_flagger_csv,
        ReportFormat.HTML: render_flagger_html,
    }
    return renderers[ReportFormat(fmt)](report)
