"""What a caseworker can do to one link, as the CLI (``tada link ...``) and the console
(``/console/links/{link}``) both do it: each action is one signal to the link's workflow, built
and checked here, sent by ``signal_link`` (tada/app/caseworker.py: the link is looked up in
PostgreSQL first, so an unknown id is LinkNotFound without asking Temporal, and a finished
workflow is LinkClosed).

- ``respond``: a platform's reply as a caseworker records it (an outcome and a short note);
- ``escalate``: an escalation contact (host or admin) supplied by a caseworker;
- ``withdraw``: stop chasing the link (a reason for the timeline);
- ``bare``: pause, resume, recheck, reopen and filed, which carry nothing but the link.

``live_status`` is the workflow's own answer (its ``status`` query), for the pages that show it
beside the read model. Notes and reasons are checked (tada/domain/victim_data.py) before
anything is sent; nothing here logs them, nor an address.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import asyncpg
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from tada.app.caseworker import signal_link
from tada.app.client_source import ClientSource, client_of
from tada.app.readmodel import LinkRow
from tada.domain import registry_values
from tada.domain.access import Action
from tada.domain.models import EscalationContact, LinkStatus, PlatformResponse
from tada.domain.states import Escalation, ResponseOutcome
from tada.domain.victim_data import InvalidField, check_note
from tada.errors import Unavailable
from tada.workflows.link import LinkWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)

#: The actions that carry nothing but the link, and the signal each one is.
BARE_SIGNALS: dict[Action, Callable] = {
    Action.LINK_PAUSE: LinkWorkflow.pause,
    Action.LINK_RESUME: LinkWorkflow.resume,
    Action.LINK_RECHECK: LinkWorkflow.recheck,
    Action.LINK_REOPEN: LinkWorkflow.reopen,
    Action.LINK_FILED: LinkWorkflow.confirm_filed,
    Action.LINK_ANSWERED: LinkWorkflow.answered,
}
#: The kinds of escalation contact a caseworker may supply.
CONTACT_KINDS = (Escalation.HOST, Escalation.ADMIN)


def contact_address(value: str) -> str:
    """An escalation contact's address as tada can write to it; InvalidField says why not
    (naming its domain at most)."""
    try:
        return registry_values.email(value.strip())
    except ValueError as error:
        raise InvalidField(str(error)) from None


async def bare(pool: asyncpg.Pool, client: ClientSource, link_id: str, action: Action) -> LinkRow:
    """Pause, resume, recheck, reopen, filed or answered (``action``) sent to ``link_id``."""
    if action not in BARE_SIGNALS:
        raise ValueError(f"{action.value} is not an action without arguments")
    return await signal_link(pool, client, link_id, BARE_SIGNALS[action])


async def respond(
    pool: asyncpg.Pool, client: ClientSource, link_id: str, outcome: ResponseOutcome, note: str | None = None
) -> LinkRow:
    """The platform's reply, recorded: removed, rejected, acknowledged or needs-info, and a note."""
    response = PlatformResponse(outcome=ResponseOutcome(outcome), note=check_note(note))
    return await signal_link(pool, client, link_id, LinkWorkflow.respond, [response])


async def escalate(
    pool: asyncpg.Pool, client: ClientSource, link_id: str, email: str, kind: Escalation | str
) -> LinkRow:
    """A host or admin contact supplied by a caseworker; the link escalates to it."""
    escalation = Escalation(kind)
    if escalation not in CONTACT_KINDS:
        raise InvalidField("an escalation contact is the site's host or the channel's admin")
    contact = EscalationContact(email=contact_address(email), kind=escalation, source="caseworker")
    return await signal_link(pool, client, link_id, LinkWorkflow.escalate, [contact])


async def withdraw(pool: asyncpg.Pool, client: ClientSource, link_id: str, reason: str | None = None) -> LinkRow:
    """Stop chasing the link; nothing more is sent for it. ``reason`` goes in its timeline."""
    return await signal_link(pool, client, link_id, LinkWorkflow.withdraw, [check_note(reason, "the reason")])


async def live_status(client: ClientSource, link_id: str) -> tuple[LinkStatus | None, str | None]:
    """The workflow's own status, or None and why it could not be asked (in tada's words)."""
    try:
        handle = (await client_of(client)).get_workflow_handle(link_id)
        live = await handle.query(LinkWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
    except Unavailable as error:
        return None, str(error)
    except (RPCError, WorkflowQueryFailedError, TimeoutError) as error:
        return None, f"workflow not reachable: {_reason(error)}"
    return live, None


def _reason(error: BaseException) -> str:
    """The first line of a failure's message (as tada/cli/runtime.py ``reason`` words it)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


async def answered_if_paused(pool: asyncpg.Pool, client: ClientSource, link_id: str) -> bool:
    """After a caseworker answered the platform (``tada link reply``): a legal clock paused while
    the platform waited on the victim runs again. False when none was paused."""
    if await pool.fetchval("SELECT deadline_step FROM links WHERE link_id = $1", link_id) != "paused":
        return False
    await signal_link(pool, client, link_id, LinkWorkflow.answered)
    return True
