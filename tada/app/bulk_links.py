"""One caseworker action on many links of a case at once (the console's bulk actions): the same
signal ``tada link ACTION`` sends, through the same use case (tada.app.caseworker.signal_link),
to each selected link, a few at a time, with every link's outcome.

A link id that is not one of the case's links is "not found" and nothing is sent to it. The
caller checks the role (each action is the ``Action`` of its CLI command) and audits each link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import asyncpg

from tada.app.caseworker import LinkClosed, signal_link
from tada.app.client_source import ClientSource, client_of
from tada.domain.access import Action
from tada.errors import LinkNotFound
from tada.workflows.link import LinkWorkflow

BULK_CONCURRENCY = 16
#: The most links one bulk action takes (a case is hundreds of links; a big one a thousand).
MAX_BULK = 2_000


@dataclass(frozen=True)
class BulkAction:
    name: str
    action: Action  # what the role must be allowed, as for the CLI's command
    signal: Callable


#: By the name a form sends, as tada/cli/link.py sends each.
BULK_ACTIONS = {
    one.name: one
    for one in (
        BulkAction("withdraw", Action.LINK_WITHDRAW, LinkWorkflow.withdraw),
        BulkAction("pause", Action.LINK_PAUSE, LinkWorkflow.pause),
        BulkAction("resume", Action.LINK_RESUME, LinkWorkflow.resume),
        BulkAction("recheck", Action.LINK_RECHECK, LinkWorkflow.recheck),
        BulkAction("escalate", Action.LINK_ESCALATE, LinkWorkflow.escalate),
        BulkAction("filed", Action.LINK_FILED, LinkWorkflow.confirm_filed),
    )
}


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
    bulk: BulkAction,
    args: Sequence[Any] = (),
) -> list[LinkOutcome]:
    """Send ``bulk``'s signal to each of ``link_ids`` that belongs to ``case_id``; an outcome for
    each, in the order given (a link given twice is signalled once)."""
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
                link = await signal_link(pool, temporal, link_id, bulk.signal, args)
            except LinkClosed as closed:
                return LinkOutcome(link_id, Outcome.CLOSED, why=closed.why)
            except LinkNotFound:
                return LinkOutcome(link_id, Outcome.NOT_FOUND)
        return LinkOutcome(link_id, Outcome.DONE, state=link.state)

    return list(await asyncio.gather(*(one(link_id) for link_id in wanted)))
