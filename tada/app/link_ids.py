"""The ids a case's links and notice batches go by, keyed by the case's own id key.

Each case has a random 32-byte id key (``cases.id_key``), made when the case is opened (or,
for a case opened before keys existed, the first time one is needed). A link id is the case
id and an HMAC of the normalised URL under it; a notice batch's id an HMAC of its recipient.
So an id confirms nothing about a guessed URL or address, and once ``tada case purge``
deletes the key, nobody can ever link a purged id to its URL again.

The same URL imported twice is one link: a URL the case already holds keeps the id of its
stored row (which may be an unkeyed one from before: those links keep working), and a new
URL gets the keyed id, the same on every worker and every retry.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

import asyncpg

from tada.domain.batching import batch_workflow_id
from tada.domain.models import NoticeBatchKey
from tada.domain.urls import ID_KEY_BYTES, link_id_for
from tada.errors import CaseNotFound, CaseRefused


def new_id_key() -> bytes:
    return secrets.token_bytes(ID_KEY_BYTES)


async def case_id_key(db: asyncpg.Pool | asyncpg.Connection, case_id: str) -> bytes:
    """The case's id key, made now if it has none yet. CaseNotFound for no such case;
    CaseRefused once it was purged (a purged case never gets a key again)."""
    row = await db.fetchrow(
        """
        WITH made AS (
            UPDATE cases SET id_key = $2 WHERE case_id = $1 AND id_key IS NULL AND purged_at IS NULL
            RETURNING id_key
        )
        SELECT COALESCE((SELECT id_key FROM made), id_key) AS id_key, purged_at FROM cases WHERE case_id = $1
        """,
        case_id,
        new_id_key(),
    )
    if row is None:
        raise CaseNotFound(case_id)
    key = row["id_key"]
    if key is None and row["purged_at"] is None:  # another call made it meanwhile (our statement's
        key = await db.fetchval("SELECT id_key FROM cases WHERE case_id = $1", case_id)  # snapshot predates it)
    if key is None:
        raise CaseRefused(f"case {case_id} was purged")
    return bytes(key)


async def link_ids_for(db: asyncpg.Pool | asyncpg.Connection, case_id: str, urls: Iterable[str]) -> dict[str, str]:
    """Normalised URL -> link id for each URL: its stored row's id when the case holds it,
    else the keyed id it will be recorded under."""
    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return {}
    stored = await db.fetch(
        "SELECT url, link_id FROM links WHERE case_id = $1 AND url = ANY($2::text[])", case_id, wanted
    )
    ids = {row["url"]: row["link_id"] for row in stored}
    missing = [url for url in wanted if url not in ids]
    if missing:
        key = await case_id_key(db, case_id)
        ids.update((url, link_id_for(case_id, url, key)) for url in missing)
    return ids


async def link_id_of(db: asyncpg.Pool | asyncpg.Connection, case_id: str, url: str) -> str:
    """The id of one (normalised) URL of the case, as ``link_ids_for``."""
    return (await link_ids_for(db, case_id, [url]))[url]


async def batch_id_for(db: asyncpg.Pool | asyncpg.Connection, key: NoticeBatchKey) -> str:
    """The notice batch's workflow id, keyed by its case's id key."""
    return batch_workflow_id(key, await case_id_key(db, key.case_id))
