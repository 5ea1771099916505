"""One caseworker action on many links of a case at once (the console's bulk actions): for each
selected link, the same use case ``tada link ACTION`` and the link page run (tada/app/link_actions.py,
which sends its signal through tada.app.caseworker.signal_link), a few links at a time, with every
link's outcome.

What the action carries (a contact, a reason) is checked once, before anything is sent. A link id
that is not one of the case's links is "not found" and nothing is sent to it. The caller checks the
role (each action is the ``Action`` of its CLI command) and audits each link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from tada.app import link_actions
from tada.app.caseworker import LinkClosed
from tada.app.client_source import ClientSource, client_of
from tada.app.readmodel import LinkRow
from tada.domain.access import Action
from tada.domain.states import Escalation
from tada.domain.victim_data import InvalidField, check_note
from tada.errors import LinkNotFound

BULK_CONCURRENCY = 16
#: The most links one bulk action takes (a case is hundreds of links; a big one a thousand).
MAX_BULK = 2_000

#: The actions a selection of links can take, by the name a form sends, and the ``Action`` of
#: each (what the role must be allowed, as for ``tada link NAME``).
BULK_ACTIONS: dict[str, Action] = {
    "withdraw": Action.LINK_WITHDRAW,
    "pause": Action.LINK_PAUSE,
    "resume": Action.LINK_RESUME,
    "recheck": Action.LINK_RECHECK,
    "escalate": Action.LINK_ESCALATE,
    "filed": Action.LINK_FILED,
}


@dataclass(frozen=True)
class BulkRequest:
    """One bulk action and what it carries, checked (``bulk_request``)."""

    action: Action
    contact: str | None = None  # escalate: the contact's address
    kind: Escalation | None = None  # escalate: host or admin
    reason: str | None = None  # withdraw: for the timeline


def bulk_request(name: str, *, to: str = "", kind: str = "", reason: str = "") -> BulkRequest:
    """The bulk action ``name`` with what it carries, checked as ``tada link NAME`` checks it;
    InvalidField says what is wrong (KeyError for an unknown name)."""
    action = BULK_ACTIONS[name]
    if action == Action.LINK_ESCALATE:
        if kind not in {k.value for k in link_actions.CONTACT_KINDS}:
            raise InvalidField("choose whether the contact is the site's host or the channel's admin")
        return BulkRequest(action, contact=link_actions.contact_address(to), kind=Escalation(kind))
    if action == Action.LINK_WITHDRAW:
        return BulkRequest(action, reason=check_note(reason or None, "the reason"))
    return BulkRequest(action)


async def _send(pool: asyncpg.Pool, client: ClientSource, link_id: str, request: BulkRequest) -> LinkRow:
    if request.action == Action.LINK_ESCALATE:
        assert request.contact is not None and request.kind is not None
        return await link_actions.escalate(pool, client, link_id, request.contact, request.kind)
    if request.action == Action.LINK_WITHDRAW:
        return await link_actions.withdraw(pool, client, link_id, request.reason)
    return await link_actions.bare(pool, client, link_id, request.action)


class Outcome(StrEnum):
    DONE = "done"  # the signal was sent to the running workflow
    CLOSED = "closed"  # its workflow has finished: nothing can be sent to it
    NOT_FOUND = "not found"  # not a link of this case, or Temporal has no workflow for it


@dataclass(frozen=True)
class LinkOutcome:
    link_id: str
    outcome: Outcome
    state: str | None = None  # the link's state when the signal went (DONE), or why closed
    why: str = ""


async def signal_links(
    pool: asyncpg.Pool,
    client: ClientSource,
    case_id: str,
    link_ids: Sequence[str],
    request: BulkRequest,
) -> list[LinkOutcome]:
    """Run ``request`` on each of ``link_ids`` that belongs to ``case_id``; an outcome for each,
    in the order given (a link given twice is acted on once)."""
    wanted = list(dict.fromkeys(link_ids))[:MAX_BULK]
    rows = await pool.fetch(
        "SELECT link_id FROM links WHERE case_id = $1 AND link_id = ANY($2::text[])", case_id, wanted
    )
    known = {row["link_id"] for row in rows}
    temporal = await client_of(client) if known else None
    gate = asyncio.Semaphore(BULK_CONCURRENCY)

    async def one(link_id: str) -> LinkOutcome:
        if link_id not in known or temporal is None:
            return LinkOutcome(link_id, Outcome.NOT_FOUND)
        async with gate:
            try:
                link = await _send(pool, temporal, link_id, request)
            except LinkClosed as closed:
                return LinkOutcome(link_id, Outcome.CLOSED, why=closed.why)
            except LinkNotFound:
                return LinkOutcome(link_id, Outcome.NOT_FOUND)
        return LinkOutcome(link_id, Outcome.DONE, state=link.state)

    return list(await asyncio.gather(*(one(link_id) for link_id in wanted)))
