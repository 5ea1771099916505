"""Purging a case, the whole flow: the database half (tada/app/purge.py: keys, reference, notes,
URLs, addresses), then the case's workflow histories in Temporal, then the audit of what was done.

Shared by ``tada case purge`` and the console's purge page, so both erase the same things and
audit them alike (the console adds the person's name). Only ids and counts are audited.
"""

from __future__ import annotations

import asyncpg

from tada.app.audit import record_audit
from tada.app.client_source import ClientSource, client_of
from tada.app.purge import PurgeOutcome, delete_case_histories, purge_case_data
from tada.app.readmodel import case_link_ids
from tada.domain.access import Action


async def purge_case(
    pool: asyncpg.Pool, client: ClientSource, case_id: str, *, actor_role: str | None, actor_name: str | None = None
) -> PurgeOutcome:
    """Erase a withdrawn or closed case's personal data and histories for good. CaseNotFound for
    no such case and CaseRefused for an open one, before Temporal is contacted (``client`` may be
    the callable that opens it)."""
    outcome = await purge_case_data(pool, case_id)
    temporal = await client_of(client)
    outcome.histories_deleted = await delete_case_histories(temporal, case_id, await case_link_ids(pool, case_id))
    await record_audit(
        pool, actor_role=actor_role, action=Action.CASE_PURGE.value, target=case_id, allowed=True,
        reason=f"done: {outcome.links} link(s) erased, {outcome.histories_deleted} workflow run(s) deleted",
        actor_name=actor_name,
    )  # fmt: skip
    return outcome
