"""``tada inbox status``: the mailbox the worker reads (TADA_IMAP_*), from the database: the
last poll, and the messages read, by outcome (matched, the pen, duplicates, too large, errors).

``tada inbox pen``: the replies no header matched, with tada's guesses (tada/app/inbox_pen.py);
``tada inbox assign MESSAGE NOTICE|LINK`` gives one to its link; ``tada inbox classify MESSAGE
AS`` corrects a reply's classification (tada/app/inbox_corrections.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from tada.app.inbox_corrections import KINDS, assign_reply, correct_reply
from tada.app.inbox_pen import PenEntry, pen_entries
from tada.app.inbox_status import InboxStatus, MailboxStatus, inbox_status
from tada.app.inbox_store import mailbox_key
from tada.cli.output import Output, when
from tada.cli.params import Json
from tada.cli.runtime import Session, needs, run
from tada.domain.access import Action
from tada.domain.registry import load_registry
from tada.domain.terminal_text import terminal_text
from tada.settings import Settings

app = typer.Typer(help="The mailbox replies arrive in (TADA_IMAP_*), as the worker reads it.", no_args_is_help=True)

MessageArg = Annotated[
    int, typer.Argument(metavar="MESSAGE", help="The inbox message's id, as `tada inbox pen` lists it.")
]


def configured_mailbox(settings: Settings) -> str | None:
    if not settings.imap_host:
        return None
    return mailbox_key(settings.imap_host, settings.imap_port, settings.imap_mailbox, settings.imap_username or "")


@app.command("status")
@needs(Action.READ)
def inbox_status_command(as_json: Json = False) -> None:
    """The last poll of each mailbox and its messages: new, matched, pen, duplicates, too large, errors."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        result = await inbox_status(await session.pool(), configured_mailbox(session.settings))
        if out.as_json:
            out.json(result)
        else:
            show_inbox_status(out, result)

    run(out, command, Action.READ)


def show_inbox_status(out: Output, status: InboxStatus) -> None:
    if not status.reader_configured and not status.mailboxes:
        out.say("No mailbox read yet: set TADA_IMAP_HOST (and TADA_IMAP_USERNAME, TADA_IMAP_PASSWORD) for the worker.")
    elif not status.reader_configured:
        out.say(("TADA_IMAP_HOST is not set here: these are the mailboxes tada has read.", "dim"))
    for box in status.mailboxes:
        title = Text(terminal_text(box.mailbox), style="bold")
        if box.configured:
            title.append("  (TADA_IMAP_*)", style="dim")
        out.console.print(title)
        facts = Table.grid(padding=(0, 2))
        facts.add_column(style="dim")
        facts.add_column()
        rows = [
            ("Last poll", when(box.last_poll_at)),
            ("Last good poll", when(box.last_ok_at)),
            ("Last error", terminal_text(box.last_error) if box.last_error else "-"),
            ("New (last poll)", str(box.last_new)),
            ("Matched", _matched(box)),
            ("Pen (unmatched)", str(box.pen)),
            ("Duplicates", str(box.duplicates)),
            ("Too large", str(box.too_large)),
            ("Errors", str(box.errors)),
            ("In progress", str(box.in_progress)),
            ("Polls (failed)", f"{box.polls} ({box.failed_polls})"),
        ]
        for label, value in rows:
            facts.add_row(label, Text(value, style="red" if label == "Last error" and box.last_error else ""))
        out.console.print(facts)


def _matched(box: MailboxStatus) -> str:
    """Matched, and how many of them came from the pen (by its one strong guess, by a caseworker)."""
    if not (box.assigned_auto or box.assigned_by_caseworker):
        return str(box.matched)
    return (
        f"{box.matched} (from the pen: {box.assigned_auto} by tada's one strong guess, "
        f"{box.assigned_by_caseworker} by a caseworker)"
    )


@app.command("pen")
@needs(Action.READ)
def inbox_pen_command(as_json: Json = False) -> None:
    """The replies no header matched (the holding pen), oldest first, with tada's guesses."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        entries = await pen_entries(await session.pool())
        if out.as_json:
            out.json([entry.model_dump(mode="json") for entry in entries])
        else:
            show_pen(out, entries)

    run(out, command, Action.READ)


@app.command("assign")
@needs(Action.INBOX_ASSIGN)
def inbox_assign_command(
    message: MessageArg,
    target: Annotated[str, typer.Argument(metavar="NOTICE|LINK", help="The notice key or the link id it answers.")],
    as_json: Json = False,
) -> None:
    """Give a reply in the pen to its link: fetched again from the mailbox, classified, told to the link."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        settings = session.settings
        done = await assign_reply(
            await session.pool(), session.crypto, session.client, settings, message, target,
            actor_role=session.actor_role, registry=load_registry(settings.platforms),
        )  # fmt: skip
        if out.as_json:
            out.json(done)
        else:
            out.say(f"message {message} given to ", (", ".join(done.links), "bold"), f" (case {done.case_id})")

    run(out, command, Action.INBOX_ASSIGN, target)


@app.command("classify")
@needs(Action.INBOX_CLASSIFY)
def inbox_classify_command(
    message: MessageArg,
    kind: Annotated[str, typer.Argument(metavar="AS", help=f"What the reply says: {KINDS}.")],
    as_json: Json = False,
) -> None:
    """Correct a reply's classification: recorded, and each of its links told again."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        done = await correct_reply(await session.pool(), session.client, message, kind, actor_role=session.actor_role)
        if out.as_json:
            out.json([correction.model_dump(mode="json") for correction in done])
            return
        for correction in done:
            again = " (told again)" if correction.told_again else ""
            out.say(
                f"message {message} for ", (correction.link_id, "bold"),
                f": {correction.from_kind} -> {correction.to_kind}{again}",
            )  # fmt: skip

    run(out, command, Action.INBOX_CLASSIFY, str(message))


def show_pen(out: Output, entries: list[PenEntry]) -> None:
    if not entries:
        out.say("The pen is empty: every reply read found its notice.")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("Message", "Received", "From domain", "Size", "Guesses"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.id), when(entry.received_at), terminal_text(entry.from_domain or "-"), str(entry.size),
            terminal_text(guess_text(entry.guesses)),
        )  # fmt: skip
    out.console.print(table)
    out.say(("Give one to its link: tada inbox assign MESSAGE NOTICE|LINK", "dim"))


def guess_text(guesses: list[dict[str, Any]]) -> str:
    return ", ".join(f"{guess['kind']} {guess['id']}" for guess in guesses) or "-"
