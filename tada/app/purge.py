"""``tada case purge``: a withdrawn or closed case's personal data, gone for good.

In one transaction: the case key is deleted (crypto-shredding: the sealed
reference and every sealed note or withdrawal reason of the timeline can never
be opened again), and so is the case's id key (link ids and notice-batch ids are
HMACs under it: without it no id can be matched to a guessed URL or address), the
reference is cleared, every link's URL is replaced by a placeholder, the case's
image hashes are deleted, and so are its replies (what each said, its sealed excerpt, and
the Message-ID of the inbox's row), and every address is taken out: the notices' recipients,
and in the timeline (append-only but for this) the contacts' and recipients' email
addresses, leaving their domain, and the RDAP remarks. What the reports count stays:
links with their platform, category, host and states, the host's provider (its name, or
its abuse address's domain), timeline event kinds and times, notices by kind and channel.
Then the case's workflow histories are deleted from Temporal: the links' (which held the
URLs' hosts and, encrypted by the payload codec, the notes as signals) and the notice
batches' (link ids, notice keys and recipients). Both halves can be run again: a second
purge finishes what a first one could not (Temporal unreachable, say).
"""

from __future__ import annotations

import asyncio

import asyncpg
from pydantic import BaseModel
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tada.domain.batching import batch_id_prefix
from tada.errors import CaseNotFound, CaseRefused

PURGEABLE = ("withdrawn", "closed")
DELETE_CONCURRENCY = 16


class PurgeOutcome(BaseModel):
    case_id: str
    links: int  # links whose URL was replaced
    already_purged: bool  # the database half had been done before
    histories_deleted: int = 0  # workflow runs deleted from Temporal


#: The timeline's addresses out, their domains kept (the report's "hosts" counts by them):
#: a contact's ``email`` and a notice's ``recipient`` become ``email_domain`` and
#: ``recipient_domain``; RDAP remarks (``instructions``, free text that may hold addresses) go.
SCRUB_TIMELINE = """
UPDATE link_events
   SET detail = (detail - 'email' - 'recipient' - 'instructions') || jsonb_strip_nulls(jsonb_build_object(
           'email_domain', lower(NULLIF(split_part(detail->>'email', '@', 2), '')),
           'recipient_domain', lower(NULLIF(split_part(detail->>'recipient', '@', 2), ''))))
 WHERE case_id = $1 AND detail ?| array['email', 'recipient', 'instructions']
"""


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
            "UPDATE cases SET reference = NULL, id_key = NULL, purged_at = COALESCE(purged_at, now()) "
            "WHERE case_id = $1",
            case_id,
        )
        await conn.execute("UPDATE notices SET recipient = NULL WHERE case_id = $1 AND recipient IS NOT NULL", case_id)
        await conn.execute(  # the replies' Message-IDs, then what they said
            "UPDATE inbox_messages SET message_id = NULL, dedupe_key = NULL "
            "WHERE id IN (SELECT reply_id FROM link_replies WHERE case_id = $1)",
            case_id,
        )
        await conn.execute("DELETE FROM link_replies WHERE case_id = $1", case_id)
        await conn.execute("SELECT set_config('tada.purging_case', $1, true)", case_id)  # schema.sql's one exception
        await conn.execute(SCRUB_TIMELINE, case_id)
        links = await conn.fetchval(
            "WITH changed AS (UPDATE links SET url = 'purged:' || link_id WHERE case_id = $1 RETURNING 1) "
            "SELECT count(*) FROM changed",
            case_id,
        )  # the placeholder is placeholder_url(link_id)
        if await conn.fetchval("SELECT to_regclass('case_hashes') IS NOT NULL"):
            await conn.execute("DELETE FROM case_hashes WHERE case_id = $1", case_id)
    return PurgeOutcome(case_id=case_id, links=links, already_purged=case["purged_at"] is not None)


async def delete_case_histories(client: Client, case_id: str, link_ids: list[str]) -> int:
    """Delete the case's workflows from Temporal: every run of each link's, and every notice
    batch of the case (found by their ids' prefix, since their keyed ids cannot be computed
    once the id key is gone). Returns the runs deleted."""
    prefix = batch_id_prefix(case_id)
    batches = {
        run.id
        async for run in client.list_workflows(
            f"WorkflowType = 'NoticeBatchWorkflow' AND WorkflowId STARTS_WITH '{prefix}'"
        )
    }
    return await delete_histories(client, [*link_ids, *sorted(batches)])


async def delete_histories(client: Client, link_ids: list[str]) -> int:
    """Delete every run of each workflow (a link's, a batch's) from Temporal (a running one is
    terminated first by the server). Returns the runs deleted; an id Temporal does not know is skipped."""
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
