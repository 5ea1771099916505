"""How the ``tada`` CLI shows things: rich tables on a terminal, JSON with ``--json``.

Results go to stdout; errors, warnings and rejected rows to stderr. With
``--json`` stdout carries exactly one JSON document and nothing else. Every
value that came from a user or a platform is shown as plain text, never as rich
markup, so a URL with brackets in it prints as it is; and never as terminal
instructions (``domain.terminal_text``): each value loses its escape sequences and
control and direction characters before it is laid out, and both consoles drop any
such character that still reaches them, whatever printed it. A JSON document writes
the same characters as ``\\uXXXX`` escapes, so it holds exactly the same data.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from tada.app.intake import ImportOutcome
from tada.app.readmodel import CaseStatus, LinkDetail
from tada.domain.intake import Rejection
from tada.domain.models import LinkStatus
from tada.domain.terminal_text import json_for_terminal, terminal_text, without_controls

STATE_STYLES = {
    "REPORTED": "cyan",
    "AWAITING_RESPONSE": "yellow",
    "FOLLOW_UP": "yellow",
    "ESCALATED": "magenta",
    "REMOVED": "green",
    "UNRESOLVED": "red",
    "WITHDRAWN": "dim",
}


class SafeConsole(Console):
    """A rich console that never hands a terminal a control, escape or direction character
    from the text it prints: the last guard, behind ``terminal_text`` on each value. Its own
    colours and cursor moves (control segments, styles) are untouched."""

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterator[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or segment.text.isprintable():
                yield segment
            else:
                yield Segment(without_controls(segment.text), segment.style)


class Output:
    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json
        self.console = SafeConsole(highlight=False)
        self.err = SafeConsole(stderr=True, highlight=False)

    @property
    def interactive(self) -> bool:
        """A person is watching stdout: progress bars are welcome."""
        return not self.as_json and self.console.is_terminal

    def json(self, data: Any) -> None:
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
        sys.stdout.write(json_for_terminal(json.dumps(data, ensure_ascii=False, indent=2)) + "\n")
        sys.stdout.flush()

    def say(self, *parts: str | tuple[str, str] | Text) -> None:
        self.console.print(Text.assemble(*(_safe_part(part) for part in parts)))

    def error(self, message: str) -> None:
        self.err.print(Text.assemble(("error: ", "bold red"), terminal_text(message)))

    def warn(self, message: str) -> None:
        self.err.print(Text.assemble(("warning: ", "bold yellow"), terminal_text(message)))


def _safe_part(part: str | tuple[str, str] | Text) -> str | tuple[str, str] | Text:
    if isinstance(part, str):
        return terminal_text(part)
    if isinstance(part, tuple):
        return terminal_text(part[0]), part[1]
    return part


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def state_text(state: str) -> Text:
    return Text(terminal_text(state), style=STATE_STYLES.get(state, ""))


#: A timeline value longer than this (a caseworker's reply) is cut in the table; --json has it all.
DETAIL_SHOWN = 300


def _detail(detail: dict[str, Any]) -> str:
    return ", ".join(f"{key}={_shortened(value)}" for key, value in detail.items())


def _shortened(value: Any) -> str:
    text = str(value)
    if len(text) <= DETAIL_SHOWN:
        return text
    return f"{text[:DETAIL_SHOWN]}… ({len(text)} characters: --json shows them all)"


def _size(size: int | None) -> str:
    """An attachment's size as people read it: 512 B, 12.3 KB, 4.0 MB."""
    if size is None:
        return "?"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _plain(value: Any) -> Text:
    """A value from the database, a user or a platform, as plain text safe for a terminal."""
    return Text("-" if value is None else terminal_text(str(value)))


# --- links import / add -------------------------------------------------------------


def show_import(out: Output, outcome: ImportOutcome, unit: str) -> None:
    out.say(
        ("Started ", ""),
        (str(outcome.started), "bold green"),
        (" new link workflow(s); ", ""),
        (str(outcome.duplicates), "bold"),
        (" already known (duplicates, nothing new started or sent).", ""),
    )
    if outcome.rejected:
        show_rejected(out, outcome.rejected, unit)
        out.warn(
            f"{len(outcome.rejected)} {unit}(s) rejected and not started; every other {unit} was processed. "
            f"Fix the {unit}s above and run the command again: links already started are not duplicated."
        )


def show_rejected(out: Output, rejected: Iterable[Rejection], unit: str) -> None:
    table = Table(title="Rejected", title_justify="left", show_edge=False)
    table.add_column(unit.capitalize(), justify="right")
    table.add_column("Value", overflow="fold")
    table.add_column("Reason", overflow="fold")
    for row in rejected:
        table.add_row(str(row.line), _plain(row.value or "(blank)"), _plain(row.reason))
    out.err.print(table)


# --- status ---------------------------------------------------------------------------


def show_case_status(out: Output, status: CaseStatus) -> None:
    case = status.case
    header = Text.assemble(("Case ", ""), (case.case_id, "bold"), ("  ", ""), (case.status, "bold"))
    header.append(f"  opened {when(case.opened_at)}")
    if case.withdrawn_at:
        header.append(f"  withdrawn {when(case.withdrawn_at)}")
    if case.reference:
        header.append(f"  reference {terminal_text(case.reference)}")
    out.console.print(header)
    if not status.links:
        out.say("No links yet: add them with `tada links import CASE FILE` or `tada links add CASE URL...`.")
        return
    table = Table(show_lines=False)
    table.add_column("Link id", no_wrap=True)
    table.add_column("URL", overflow="fold", min_width=20)
    table.add_column("Platform")
    table.add_column("Category")
    table.add_column("State")
    table.add_column("Cycle", justify="right")
    table.add_column("Next action")
    table.add_column("Next action at")
    table.add_column("Deadline")
    table.add_column("Notices", justify="right")
    for link in status.links:
        table.add_row(
            _plain(link.link_id),
            _plain(link.url),
            _plain(link.platform),
            _plain(link.category),
            state_text(link.state),
            str(link.cycle),
            _plain(link.next_action),
            when(link.next_action_at),
            _plain(link.deadline or "-"),
            str(link.notices_sent),
        )
    out.console.print(table)
    counts = Text(f"{status.total} link(s): ")
    shown = [(state, n) for state, n in status.counts.items() if n]
    for index, (state, n) in enumerate(shown):
        if index:
            counts.append(", ")
        counts.append(f"{n} ")
        counts.append_text(state_text(state))
    out.console.print(counts)


# --- link show ------------------------------------------------------------------------


def show_link(out: Output, detail: LinkDetail, live: LinkStatus | None, live_problem: str | None) -> None:
    link = detail.link
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column(overflow="fold")
    for label, value in (
        ("Link", link.link_id),
        ("Case", link.case_id),
        ("URL", link.url),
        ("Platform", f"{link.platform} ({link.category})"),
        ("Source", link.source),
        ("Added", when(link.added_at)),
        ("Cycle", str(link.cycle)),
        ("Notices sent", str(link.notices_sent)),
        ("Next action", f"{link.next_action or '-'} at {when(link.next_action_at)}"),
        ("Legal deadline", _deadline(link)),
    ):
        facts.add_row(label, _plain(value))
    facts.add_row("State (read model)", state_text(link.state))
    if live is not None:
        live_text = state_text(live.state.value)
        live_text.append(f", next: {live.next_action} at {when(live.next_action_at)}")
        live_text.append(", PAUSED" if live.paused else ", running")
        facts.add_row("Workflow (live)", live_text)
    else:
        facts.add_row("Workflow (live)", _plain(live_problem or "unavailable"))
    out.console.print(facts)

    timeline = Table(title="Timeline", title_justify="left")
    timeline.add_column("Time", no_wrap=True)
    timeline.add_column("Cycle", justify="right")
    timeline.add_column("Kind")
    timeline.add_column("From → to")
    timeline.add_column("Detail", overflow="fold")
    for event in detail.events:
        move = Text()
        if event.from_state or event.to_state:
            move.append_text(state_text(event.from_state or "?"))
            move.append(" → ")
            move.append_text(state_text(event.to_state or "?"))
        detail_text = _plain(_detail(event.detail))
        timeline.add_row(when(event.occurred_at), str(event.cycle), _plain(event.kind), move, detail_text)
    out.console.print(timeline)

    if detail.notices:
        notices = Table(title="Notices", title_justify="left")
        notices.add_column("Created", no_wrap=True)
        notices.add_column("Cycle", justify="right")
        notices.add_column("Kind")
        notices.add_column("Channel")
        notices.add_column("Recipient", overflow="fold")
        notices.add_column("Status")
        notices.add_column("Sent", no_wrap=True)
        for notice in detail.notices:
            notices.add_row(
                when(notice.created_at),
                str(notice.cycle),
                _plain(notice.kind),
                _plain(notice.channel),
                _plain(notice.recipient),
                _plain(notice.status),
                when(notice.sent_at),
            )
        out.console.print(notices)

    if detail.replies:
        replies = Table(title="Replies", title_justify="left")
        replies.add_column("Received", no_wrap=True)
        replies.add_column("From")
        replies.add_column("Classified")
        replies.add_column("Rule")
        replies.add_column("Matched by")
        replies.add_column("Attachments", overflow="fold")
        replies.add_column("Excerpt", overflow="fold", min_width=30)
        for reply in detail.replies:
            attachments = ", ".join(f"{item.type} ({_size(item.size)})" for item in reply.attachments)
            replies.add_row(
                when(reply.received_at),
                _plain(reply.from_domain),
                _plain(f"{reply.kind} ({reply.confidence})"),
                _plain(reply.rule),
                _plain(reply.matched_by),
                _plain(attachments or "-"),
                _plain(reply.excerpt),
            )
        out.console.print(replies)


def _deadline(link) -> str:
    """The link's legal clock: its words, the law, and when it falls due."""
    if link.deadline is None:
        return "-"
    return f"{link.deadline} ({link.deadline_law}, due {when(link.deadline_due_at)})"
