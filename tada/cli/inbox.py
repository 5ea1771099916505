"""``tada inbox status``: the mailbox the worker reads (TADA_IMAP_*), from the database: the
last poll, and the messages read, by outcome (matched, the pen, duplicates, too large, errors)."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.text import Text

from tada.app.inbox_status import InboxStatus, inbox_status
from tada.app.inbox_store import mailbox_key
from tada.cli.output import Output, when
from tada.cli.params import Json
from tada.cli.runtime import Session, needs, run
from tada.domain.access import Action
from tada.domain.terminal_text import terminal_text
from tada.settings import Settings

app = typer.Typer(help="The mailbox replies arrive in (TADA_IMAP_*), as the worker reads it.", no_args_is_help=True)


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
            ("Matched", str(box.matched)),
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
