"""Caseworker actions: signals to link workflows, and withdrawing a whole case.

Shared by the CLI and (later) the HTTP API. A link is looked up in PostgreSQL
first, so an unknown id is LinkNotFound without asking Temporal; a workflow
that has already finished is LinkClosed, described from the read model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from tada.app.intake import CaseNotFound
from tada.app.readmodel import LinkNotFound, LinkRow, case_link_ids, find_link
from tada.workflows.link import LinkWorkflow

SIGNAL_CONCURRENCY = 32


class LinkClosed(Exception):
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
    pool: asyncpg.Pool, client: Client, link_id: str, signal: Callable, args: Sequence[Any] = ()
) -> LinkRow:
    """Send one signal to a link's workflow. Returns the link as the read model has it."""
    link = await find_link(pool, link_id)
    handle = client.get_workflow_handle(link_id)
    try:
        await handle.signal(signal, args=list(args))
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        raise await _why_not_running(pool, handle, link_id) from None
    return link


async def withdraw_case(
    pool: asyncpg.Pool, client: Client, case_id: str, reason: str = "case withdrawn"
) -> CaseWithdrawal:
    """Mark the case withdrawn (no new links can be added) and stop every link's workflow."""
    updated = await pool.fetchval(
        """
        UPDATE cases SET status = 'withdrawn', withdrawn_at = COALESCE(withdrawn_at, now())
         WHERE case_id = $1 RETURNING case_id
        """,
        case_id,
    )
    if updated is None:
        raise CaseNotFound(case_id)
    gate = asyncio.Semaphore(SIGNAL_CONCURRENCY)

    async def one(link_id: str) -> bool:
        async with gate:
            try:
                await client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, reason)
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                return False
            return True

    results = await asyncio.gather(*(one(link_id) for link_id in await case_link_ids(pool, case_id)))
    withdrawn = sum(results)
    return CaseWithdrawal(case_id=case_id, withdrawn=withdrawn, already_closed=len(results) - withdrawn)


async def _why_not_running(pool: asyncpg.Pool, handle: WorkflowHandle, link_id: str) -> Exception:
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        return LinkNotFound(f"{link_id} (recorded, but Temporal has no workflow for it)")
    link = await find_link(pool, link_id)
    parts = [link.state]
    status = description.status
    if status is not None and status != WorkflowExecutionStatus.COMPLETED:
        parts.append(f"workflow {status.name.lower().replace('_', ' ')}")
    elif link.next_action and link.next_action.startswith("none: "):
        detail = link.next_action.removeprefix("none: ")
        if detail.casefold() != link.state.casefold():
            parts.append(detail)
    return LinkClosed(link_id, ", ".join(parts))
