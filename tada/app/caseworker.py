"""Caseworker actions: signals to link workflows, and withdrawing a whole case.

Shared by the CLI and the HTTP API. A link or case is looked up in PostgreSQL
first, once, and Temporal is contacted only then (the client may be passed as the callable
that opens it), so an unknown id is LinkNotFound or CaseNotFound without asking Temporal;
a workflow that has already finished is LinkClosed, described from the read model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from tada.app.client_source import ClientSource, client_of
from tada.app.readmodel import LinkRow, find_link
from tada.errors import CaseNotFound, LinkNotFound, Refused
from tada.workflows.link import LinkWorkflow

SIGNAL_CONCURRENCY = 32


class LinkClosed(Refused):
    """The link's workflow has finished; nothing can be signalled to it any more."""

    def __init__(self, link_id: str, why: str) -> None:
        super().__init__(f"link {link_id} is closed ({why})")
        self.link_id = link_id
        self.why = why


class CaseWithdrawal(BaseModel):
    case_id: str
    withdrawn: int  # running workflows told to stop
    already_closed: int  # workflows that had already finished


async def signal_link(
    pool: asyncpg.Pool, client: ClientSource, link_id: str, signal: Callable, args: Sequence[Any] = ()
) -> LinkRow:
    """Send one signal to a link's workflow. Returns the link as the read model has it."""
    link = await find_link(pool, link_id)
    handle = (await client_of(client)).get_workflow_handle(link_id)
    try:
        await handle.signal(signal, args=list(args))
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        raise await _why_not_running(handle, link) from None
    return link


async def withdraw_case(
    pool: asyncpg.Pool, client: ClientSource, case_id: str, reason: str = "case withdrawn"
) -> CaseWithdrawal:
    """Mark the case withdrawn (no new links can be added) and stop every link's workflow.
    Nothing is changed unless Temporal can be reached to stop them."""
    if await pool.fetchval("SELECT 1 FROM cases WHERE case_id = $1", case_id) is None:
        raise CaseNotFound(case_id)
    client = await client_of(client)
    await pool.execute(
        "UPDATE cases SET status = 'withdrawn', withdrawn_at = COALESCE(withdrawn_at, now()) WHERE case_id = $1",
        case_id,
    )
    rows = await pool.fetch("SELECT link_id FROM links WHERE case_id = $1 ORDER BY added_at, link_id", case_id)
    withdrawn = await signal_each(client, [row["link_id"] for row in rows], LinkWorkflow.withdraw, reason)
    return CaseWithdrawal(case_id=case_id, withdrawn=withdrawn, already_closed=len(rows) - withdrawn)


async def signal_each(client: Client, link_ids: Sequence[str], signal: Callable, arg: Any) -> int:
    """Send ``signal(arg)`` to each link's workflow, ``SIGNAL_CONCURRENCY`` at a time; how many
    were running to hear it (a workflow that has ended is passed over)."""
    gate = asyncio.Semaphore(SIGNAL_CONCURRENCY)

    async def one(link_id: str) -> bool:
        async with gate:
            try:
                await client.get_workflow_handle(link_id).signal(signal, arg)
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                return False
            return True

    return sum(await asyncio.gather(*(one(link_id) for link_id in link_ids)))


async def _why_not_running(handle: WorkflowHandle, link: LinkRow) -> Exception:
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return LinkNotFound(f"{link.link_id} (recorded, but Temporal has no workflow for it)")
    parts = [link.state]
    status = description.status
    if status is not None and status != WorkflowExecutionStatus.COMPLETED:
        parts.append(f"workflow {status.name.lower().replace('_', ' ')}")
    elif link.next_action and link.next_action.startswith("none: "):
        detail = link.next_action.removeprefix("none: ")
        if detail.casefold() != link.state.casefold():
            parts.append(detail)
    return LinkClosed(link.link_id, ", ".join(parts))
