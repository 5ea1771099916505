"""The report as rich tables, for the terminal (or a plain-text file with ``--out``)."""

from __future__ import annotations

import io
from datetime import UTC

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from tada.domain.terminal_text import terminal_text
from tada.reporting.model import Report
from tada.reporting.scorecard import ScoreRow
from tada.reporting.text import category_label, duration, pct, ratio, within_deadline

SCORECARD_COLUMNS = (
    "links", "removed", "median to removal", "p90 to removal", "first answer (median)", "response rate",
    "within deadline", "overdue now", "reposts per removal", "bounced contacts",
)  # fmt: skip


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    return table


def _cell(value: object) -> Text:
    # plain text: names from the database (RDAP, the registry) are never read as markup, nor
    # as terminal instructions (escape sequences, control and direction characters)
    return Text(terminal_text(str(value)))


def renderables(report: Report) -> list[RenderableType]:
    parts: list[RenderableType] = [
        Text(report.title, style="bold underline"),
        Text(f"Period: {report.period.label} -- {report.period.basis}"),
        Text(
            f"Cases: {report.cases}   Links: {report.links}   Removed: {report.removed}   "
            f"Removal rate: {pct(report.removal_rate)}"
        ),
    ]

    categories = _table(
        "Where content was found, and its removal", "category", "links", "share", "removed", "removal rate",
        "median to removal", "p90 to removal",
    )  # fmt: skip
    for c in report.categories:
        categories.add_row(
            _cell(category_label(c.name)), str(c.links), pct(c.share), str(c.removed), pct(c.removal_rate),
            duration(c.median_seconds), duration(c.p90_seconds),
        )  # fmt: skip
    parts.append(categories)

    steps = _table(
        "Step at which content came down (one per removal; a repost counts again)", "step", "removals", "share"
    )
    for s in report.steps:
        steps.add_row(_cell(s.step), str(s.removals), pct(s.share))
    parts.append(steps)

    platforms = _table("Removal rate per platform", "platform", "category", "links", "removed", "removal rate")
    for p in report.platforms:
        platforms.add_row(
            _cell(p.name), _cell(category_label(p.category)), str(p.links), str(p.removed), pct(p.removal_rate)
        )
    parts.append(platforms if report.platforms else Text("Removal rate per platform: no links in this period."))

    hosts = _table(
        "Removal rate per hosting provider (escalated to)", "hosting provider", "links", "removed", "removal rate"
    )
    for h in report.hosts:
        hosts.add_row(_cell(h.name), str(h.links), str(h.removed), pct(h.removal_rate))
    parts.append(hosts if report.hosts else Text("Removal rate per hosting provider: no links in this period."))

    if report.silent_platforms:
        silent = _table(
            "Platforms that did not respond (escalated or unresolved, no response recorded)",
            "platform", "category", "links", "silent links", "removed later",
        )  # fmt: skip
        for q in report.silent_platforms:
            silent.add_row(
                _cell(q.platform), _cell(category_label(q.category)), str(q.links), str(q.silent_links), str(q.removed)
            )
        parts.append(silent)
    else:
        parts.append(Text("Platforms that did not respond: none."))

    r = report.reposts
    parts.append(
        Text(f"Reposts found: {r.cycles} on {r.links} link(s); removed again: {r.removed} ({pct(r.removal_rate)})")
    )
    parts.extend(scorecard_renderables(report))
    parts.extend(Text(note, style="dim") for note in report.notes)
    return parts


def _score_cells(row: ScoreRow) -> list[str]:
    return [
        str(row.links), str(row.removed), duration(row.median_seconds), duration(row.p90_seconds),
        duration(row.median_answer_seconds), pct(row.response_rate),
        within_deadline(row.within_deadline, row.clocks_met, row.clocks_missed), str(row.overdue_now),
        ratio(row.reposts_per_removal), str(row.bounces),
    ]  # fmt: skip


def scorecard_renderables(report: Report) -> list[RenderableType]:
    """The scorecard per platform and per hosting provider, and what its columns mean."""
    card = report.scorecard
    as_of = card.as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if card.as_of else "now"
    parts: list[RenderableType] = []
    for title, first, rows in (
        (f"Scorecard per platform (overdue as of {as_of})", "platform", card.platforms),
        (f"Scorecard per hosting provider (overdue as of {as_of})", "hosting provider", card.hosts),
    ):
        if not rows:
            parts.append(Text(f"{title}: no links in this period."))
            continue
        table = _table(title, first, *SCORECARD_COLUMNS)
        for row in rows:
            table.add_row(_cell(row.name), *_score_cells(row))
        parts.append(table)
    parts.extend(Text(note, style="dim") for note in card.notes)
    return parts


def render_table(report: Report, width: int = 120) -> str:
    """Plain text (no colour codes), for a file."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False, emoji=False)
    console.print(Group(*renderables(report)))
    return buffer.getvalue()
