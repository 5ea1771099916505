"""``tada case purge``: a withdrawn or closed case's personal data, gone for good.

In one transaction: the case key is deleted (crypto-shredding: the sealed
reference and every sealed note or withdrawal reason of the timeline can never
be opened again, although the append-only timeline itself is not touched), the
reference is cleared, every link's URL is replaced by a placeholder and the
case's image hashes are deleted. What the reports count stays: links with their
platform, category, host and states, timeline event kinds and times, notices by
kind and channel. Then the case's workflow histories (which held the URLs'
ids and, encrypted by the payload codec, the notes as signals) are deleted from
Temporal. Both halves can be run again: a second purge finishes what a first
one could not (Temporal unreachable, say).
"""

from __future__ import annotations

import asyncio

import asyncpg
from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tada.errors import CaseNotFound, CaseRefused

PURGEABLE = ("withdrawn", "closed")
DELETE_CONCURRENCY = 16


class PurgeOutcome(BaseModel):
    case_id: str
    links: int  # links whose URL was replaced
    already_purged: bool  # the database half had been done before
    histories_deleted: int = 0  # workflow runs deleted from Temporal


def placeholder_url(link_id: str) -> str:
    """What links.url holds after a purge: unique per link, no address at all."""
    return f"purged:{link_id}"


async def purge_case_data(pool: asyncpg.Pool, case_id: str) -> PurgeOutcome:
    """The database half. CaseRefused unless the case is withdrawn or closed."""
    async with pool.acquire() as conn, conn.transaction():
        case = await conn.fetchrow("SELECT status, purged_at FROM cases WHERE case_id = $1 FOR UPDATE", case_id)
        if case is None:
            raise CaseNotFound(case_id)
        if case["status"] not in PURGEABLE:
            raise CaseRefused(
                f"case {case_id} is {case['status']}: only a withdrawn or closed case can be purged "
                f"(`tada case withdraw {case_id}` first)"
            )
        await conn.execute("DELETE FROM case_keys WHERE case_id = $1", case_id)
        await conn.execute(
            "UPDATE cases SET reference = NULL, purged_at = COALESCE(purged_at, now()) WHERE case_id = $1", case_id
        )
        links = await conn.fetchval(
            "WITH changed AS (UPDATE links SET url = 'purged:' || link_id WHERE case_id = $1 RETURNING 1) "
            "SELECT count(*) FROM changed",
            case_id,
        )  # the placeholder is placeholder_url(link_id)
        if await conn.fetchval("SELECT to_regclass('case_hashes') IS NOT NULL"):
            await conn.execute("DELETE FROM case_hashes WHERE case_id = $1", case_id)
    return PurgeOutcome(case_id=case_id, links=links, already_purged=case["purged_at"] is not None)


async def delete_histories(client: Client, link_ids: list[str]) -> int:
    """Delete every run of each link's workflow from Temporal (a running one is terminated first
    by the server). Returns the runs deleted; an id Temporal does not know is skipped."""
    gate = asyncio.Semaphore(DELETE_CONCURRENCY)

    async def delete(workflow_id: str, run_id: str = "") -> int:
        request = DeleteWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        )
        try:
            await client.workflow_service.delete_workflow_execution(request)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return 0
            raise
        return 1

    async def one(link_id: str) -> int:
        async with gate:
            runs = {run.run_id async for run in client.list_workflows(f"WorkflowId = '{link_id}'")}
            deleted = [await delete(link_id, run_id) for run_id in sorted(runs)]
            if not runs:  # not (yet) in visibility: the latest run, by id
                deleted.append(await delete(link_id))
            return sum(deleted)

    return sum(await asyncio.gather(*(one(link_id) for link_id in link_ids)))
