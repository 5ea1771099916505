"""``tada link``: one link's timeline, and what a caseworker can do to it (signals to its workflow)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tada.app import link_actions
from tada.app.caseworker_reply import MAX_REPLY, MAX_REPLY_BYTES, read_reply_file, record_sent, send_reply
from tada.app.link_actions import live_status
from tada.app.readmodel import LinkRow, link_timeline
from tada.cli.output import Output, show_link
from tada.cli.params import Json, LinkArg, text_option
from tada.cli.runtime import Session, needs, run, usage_error
from tada.clients.mailer import mailer_for
from tada.domain.access import Action
from tada.domain.registry import load_registry
from tada.domain.states import Escalation, ResponseOutcome
from tada.domain.victim_data import InvalidField, check_note

app = typer.Typer(help="One link: its timeline, and what a caseworker can do to it.", no_args_is_help=True)


class EscalationKind(str, Enum):
    HOST = Escalation.HOST.value
    ADMIN = Escalation.ADMIN.value


@app.command("show")
@needs(Action.READ)
def link_show(link_id: LinkArg, as_json: Json = False) -> None:
    """A link, its whole timeline and notices, and its workflow's live status when reachable."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        detail = await link_timeline(await session.pool(), link_id, session.crypto)
        live, problem = await live_status(session.client, link_id)
        if out.as_json:
            data = detail.model_dump(mode="json")
            data["live"] = live.model_dump(mode="json") if live else None
            data["live_unavailable"] = problem
            out.json(data)
        else:
            show_link(out, detail, live, problem)

    run(out, command, Action.READ, target=link_id)


# --- caseworker signals -------------------------------------------------------------------


Send = Callable[[Session], Awaitable[LinkRow]]


def _signal(link_id: str, as_json: bool, action: Action, send: Send, said: str = "") -> None:
    """Run ``send`` (a use case of tada/app/link_actions.py) as ``action`` on ``link_id``."""
    out = Output(as_json)
    name = action.value.removeprefix("link.")

    async def command(session: Session) -> None:
        # an unknown link: exit 4 before Temporal is contacted (signal_link opens the client after)
        link = await send(session)
        if out.as_json:
            out.json({"link_id": link_id, "signal": name, "sent": True, "state": link.state})
        else:
            out.say(f"{name}{said} sent to link {link_id} (state was {link.state}).")
            out.say(f"See what it did with `tada link show {link_id}`.")

    run(out, command, action, target=link_id)


def _bare_signal(name: str, action: Action, doc: str) -> None:
    """Add ``tada link NAME LINK``: a signal that carries nothing but the link id."""

    def command(link_id: LinkArg, as_json: Json = False) -> None:
        async def send(session: Session) -> LinkRow:
            return await link_actions.bare(await session.pool(), session.client, link_id, action)

        _signal(link_id, as_json, action, send)

    command.__name__, command.__doc__ = f"link_{name}", doc
    app.command(name)(needs(action)(command))


def _email(value: str) -> str:
    try:
        return link_actions.contact_address(value)
    except InvalidField as error:
        raise typer.BadParameter(str(error)) from None


@app.command("respond")
@needs(Action.LINK_RESPOND)
def link_respond(
    link_id: LinkArg,
    outcome: Annotated[ResponseOutcome, typer.Option("--outcome", help="What the platform replied.")],
    note: Annotated[str | None, text_option("--note", check_note, "A short note for the timeline.")] = None,
    as_json: Json = False,
) -> None:
    """Record a platform's reply: removed, rejected, acknowledged or needs-info."""

    async def send(session: Session) -> LinkRow:
        return await link_actions.respond(await session.pool(), session.client, link_id, outcome, note)

    _signal(link_id, as_json, Action.LINK_RESPOND, send, said=f" ({outcome.value})")


_bare_signal("pause", Action.LINK_PAUSE, "Hold the link's timers until `tada link resume`.")
_bare_signal("resume", Action.LINK_RESUME, "Resume a paused link; its timers continue where they stopped.")


@app.command("withdraw")
@needs(Action.LINK_WITHDRAW)
def link_withdraw(
    link_id: LinkArg,
    reason: Annotated[str | None, text_option("--reason", check_note, "Recorded in the timeline.")] = None,
    as_json: Json = False,
) -> None:
    """Stop chasing this link; nothing more is sent."""

    async def send(session: Session) -> LinkRow:
        return await link_actions.withdraw(await session.pool(), session.client, link_id, reason)

    _signal(link_id, as_json, Action.LINK_WITHDRAW, send)


@app.command("escalate")
@needs(Action.LINK_ESCALATE)
def link_escalate(
    link_id: LinkArg,
    to: Annotated[str, typer.Option("--to", metavar="EMAIL", help="The contact to escalate to.", callback=_email)],
    kind: Annotated[EscalationKind, typer.Option("--kind", help="The site's host, or the channel/group admin.")],
    as_json: Json = False,
) -> None:
    """Supply an escalation contact (host or admin); the link escalates to it."""

    async def send(session: Session) -> LinkRow:
        return await link_actions.escalate(await session.pool(), session.client, link_id, to, Escalation(kind.value))

    _signal(link_id, as_json, Action.LINK_ESCALATE, send, said=f" ({kind.value})")


_bare_signal("recheck", Action.LINK_RECHECK, "Check now whether the content is still up.")
_bare_signal("reopen", Action.LINK_REOPEN, "Start again from REPORTED with an UNRESOLVED link.")
_bare_signal("filed", Action.LINK_FILED, "Confirm that you filed a manual report for this link.")
_bare_signal(
    "answered", Action.LINK_ANSWERED,
    "Say the platform's request for information was answered (another way than `tada link reply`): "
    "a legal clock paused for it runs again.",
)  # fmt: skip


# --- answering the platform -------------------------------------------------------------


@app.command("reply")
@needs(Action.LINK_REPLY)
def link_reply(
    link_id: LinkArg,
    file: Annotated[
        str,
        typer.Option(
            "--file",
            metavar="TEXT",
            help=f"The reply: a UTF-8 text file (- reads stdin), at most {MAX_REPLY} characters.",
        ),
    ],
    as_json: Json = False,
) -> None:
    """Answer the platform's last reply by email, as the organisation, threaded on the notice.

    It goes to the address the link's latest notice went to, from TADA_NOTICE_FROM, with a
    Reply-To (TADA_REPLY_TO) tagged so the platform's answer comes back to this link. The
    text is sent as plain text and kept, sealed, in the link's timeline."""
    out = Output(as_json)
    try:
        text = read_reply_file(_read(file))
    except InvalidField as error:
        raise usage_error(out, f"--file: {error}") from None
    except OSError as error:
        raise usage_error(out, f"--file: cannot read it ({error.strerror or type(error).__name__})") from None

    async def command(session: Session) -> None:
        settings = session.settings
        sent = await send_reply(
            await session.pool(), session.crypto, mailer_for(settings), load_registry(settings.platforms),
            link_id=link_id, text=text, notice_from=settings.notice_from, reply_to=settings.reply_to,
        )  # fmt: skip
        await record_sent(await session.pool(), session.actor_role, sent)
        await link_actions.answered_if_paused(await session.pool(), session.client, link_id)  # its legal clock runs
        if out.as_json:
            out.json({"sent": True, **sent.model_dump(mode="json")})
            return
        answered = f"reply {sent.answering_reply}" if sent.answering_reply is not None else "notice (no reply yet)"
        out.say(f"Reply sent to {sent.to} for link {link_id}, answering the platform's {answered}.")
        out.say(f"Subject: {sent.subject}")
        out.say(f"Its answer comes back to this link (reply token {sent.reply_token}).")
        out.say(f"See it in the timeline with `tada link show {link_id}`.")

    run(out, command, Action.LINK_REPLY, target=link_id)


def _read(file: str) -> bytes:
    """At most MAX_REPLY_BYTES and one more, so a longer file is refused without reading it all."""
    if file == "-":
        return sys.stdin.buffer.read(MAX_REPLY_BYTES + 1)
    with Path(file).open("rb") as handle:
        return handle.read(MAX_REPLY_BYTES + 1)
