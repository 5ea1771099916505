"""``tada link``: one link's timeline, and what a caseworker can do to it (signals to its workflow)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import Enum
from typing import Annotated

import typer
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from tada.app.caseworker import signal_link
from tada.app.readmodel import link_timeline
from tada.cli.output import Output, show_link
from tada.cli.params import Json, LinkArg, text_option
from tada.cli.runtime import Session, needs, reason, run
from tada.domain import registry_values
from tada.domain.access import Action
from tada.domain.models import EscalationContact, LinkStatus, PlatformResponse
from tada.domain.states import Escalation, ResponseOutcome
from tada.domain.victim_data import check_note
from tada.errors import Unavailable
from tada.workflows.link import LinkWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)

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
        live, problem = await _live_status(session, link_id)
        if out.as_json:
            data = detail.model_dump(mode="json")
            data["live"] = live.model_dump(mode="json") if live else None
            data["live_unavailable"] = problem
            out.json(data)
        else:
            show_link(out, detail, live, problem)

    run(out, command, Action.READ, target=link_id)


async def _live_status(session: Session, link_id: str) -> tuple[LinkStatus | None, str | None]:
    try:
        client = await session.client()
        handle = client.get_workflow_handle(link_id)
        live = await handle.query(LinkWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
    except Unavailable as error:
        return None, str(error)
    except (RPCError, WorkflowQueryFailedError, TimeoutError) as error:
        return None, f"workflow not reachable: {reason(error)}"
    return live, None


# --- caseworker signals -------------------------------------------------------------------


def _signal(link_id: str, as_json: bool, action: Action, signal: Callable, *args, said: str = "") -> None:
    out = Output(as_json)
    name = action.value.removeprefix("link.")

    async def command(session: Session) -> None:
        # an unknown link: exit 4 before Temporal is contacted (signal_link opens the client after)
        link = await signal_link(await session.pool(), session.client, link_id, signal, args)
        if out.as_json:
            out.json({"link_id": link_id, "signal": name, "sent": True, "state": link.state})
        else:
            out.say(f"{name}{said} sent to link {link_id} (state was {link.state}).")
            out.say(f"See what it did with `tada link show {link_id}`.")

    run(out, command, action, target=link_id)


def _bare_signal(name: str, action: Action, signal: Callable, doc: str) -> None:
    """Add ``tada link NAME LINK``: a signal that carries nothing but the link id."""

    def command(link_id: LinkArg, as_json: Json = False) -> None:
        _signal(link_id, as_json, action, signal)

    command.__name__, command.__doc__ = f"link_{name}", doc
    app.command(name)(needs(action)(command))


def _email(value: str) -> str:
    try:
        return registry_values.email(value)
    except ValueError as error:
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
    response = PlatformResponse(outcome=outcome, note=note)
    _signal(link_id, as_json, Action.LINK_RESPOND, LinkWorkflow.respond, response, said=f" ({outcome.value})")


_bare_signal("pause", Action.LINK_PAUSE, LinkWorkflow.pause, "Hold the link's timers until `tada link resume`.")
_bare_signal(
    "resume", Action.LINK_RESUME, LinkWorkflow.resume, "Resume a paused link; its timers continue where they stopped."
)


@app.command("withdraw")
@needs(Action.LINK_WITHDRAW)
def link_withdraw(
    link_id: LinkArg,
    reason: Annotated[str | None, text_option("--reason", check_note, "Recorded in the timeline.")] = None,
    as_json: Json = False,
) -> None:
    """Stop chasing this link; nothing more is sent."""
    _signal(link_id, as_json, Action.LINK_WITHDRAW, LinkWorkflow.withdraw, reason)


@app.command("escalate")
@needs(Action.LINK_ESCALATE)
def link_escalate(
    link_id: LinkArg,
    to: Annotated[str, typer.Option("--to", metavar="EMAIL", help="The contact to escalate to.", callback=_email)],
    kind: Annotated[EscalationKind, typer.Option("--kind", help="The site's host, or the channel/group admin.")],
    as_json: Json = False,
) -> None:
    """Supply an escalation contact (host or admin); the link escalates to it."""
    contact = EscalationContact(email=to, kind=Escalation(kind.value), source="caseworker")
    _signal(link_id, as_json, Action.LINK_ESCALATE, LinkWorkflow.escalate, contact, said=f" ({kind.value})")


_bare_signal("recheck", Action.LINK_RECHECK, LinkWorkflow.recheck, "Check now whether the content is still up.")
_bare_signal("reopen", Action.LINK_REOPEN, LinkWorkflow.reopen, "Start again from REPORTED with an UNRESOLVED link.")
_bare_signal(
    "filed", Action.LINK_FILED, LinkWorkflow.confirm_filed, "Confirm that you filed a manual report for this link."
)
