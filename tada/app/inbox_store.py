"""The inbox's rows (``inbox_messages``, ``inbox_polls`` in schema.sql): what the reader
(tada/app/inbox.py) records of each message and of each poll. Metadata only: no address,
subject or body, and every ``problem`` or error is in tada's own words.

A row is inserted before its message is read (``status`` processing, a fresh ``claim``); only
the attempt holding the row's claim may finish it. A row left in processing (its reader died)
or in error is tried again, with a new claim, until ``attempts`` reaches the reader's limit.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

import asyncpg

QUEUED, PROCESSING, ERROR, FAILED = "queued", "processing", "error", "failed"
TOO_LARGE, DUPLICATE, UNMATCHED, MATCHED = "too_large", "duplicate", "unmatched", "matched"
#: Statuses only the reader sets; a processing function returns another (tada/app/inbox.py).
RESERVED = frozenset({QUEUED, PROCESSING, ERROR, FAILED, TOO_LARGE, DUPLICATE})
STATUS = re.compile(r"[a-z][a-z_]{0,31}")
_MAX_TEXT = 1000


def mailbox_key(host: str, port: int, mailbox: str, username: str) -> str:
    """How a mailbox is named in the tables: host, port and folder, and the account only as a
    short digest (a login name is often an address)."""
    account = hashlib.sha256(username.encode("utf-8")).hexdigest()[:8]
    return f"{host}:{port}/{mailbox}#{account}"


class ClaimLost(Exception):
    """Another attempt took the row over (this one was thought dead): this one stops."""


@dataclass(frozen=True)
class Claimed:
    row_id: int
    uid: int
    size: int
    claim: uuid.UUID
    attempts: int


class InboxStore:
    def __init__(self, pool: asyncpg.Pool, mailbox: str) -> None:
        self.pool = pool
        self.mailbox = mailbox

    async def last_uid(self, uidvalidity: int) -> int:
        value = await self.pool.fetchval(
            "SELECT max(uid) FROM inbox_messages WHERE mailbox = $1 AND uidvalidity = $2", self.mailbox, uidvalidity
        )
        return int(value or 0)

    async def queue(self, uidvalidity: int, listed: list[tuple[int, int]]) -> int:
        """A row for each new message (uid, size), queued and unclaimed; how many were new here
        (a message another reader recorded first keeps its row)."""
        if not listed:
            return 0
        return int(
            await self.pool.fetchval(
                """WITH added AS (
                       INSERT INTO inbox_messages (mailbox, uidvalidity, uid, size, status, attempts)
                       SELECT $1, $2, uid, size, 'queued', 0 FROM unnest($3::bigint[], $4::bigint[]) AS l(uid, size)
                       ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING RETURNING 1)
                   SELECT count(*) FROM added""",
                self.mailbox,
                uidvalidity,
                [uid for uid, _ in listed],
                [size for _, size in listed],
            )
        )

    async def unfinished(self, uidvalidity: int) -> list[asyncpg.Record]:
        """Rows queued, or left in processing or error, oldest first."""
        return await self.pool.fetch(
            """SELECT id, uid, size, attempts, status FROM inbox_messages
               WHERE mailbox = $1 AND uidvalidity = $2 AND status IN ('queued', 'processing', 'error')
               ORDER BY uid""",
            self.mailbox,
            uidvalidity,
        )

    async def reclaim(self, row_id: int, size: int) -> Claimed | None:
        """A claim on a queued row, or a new one on an unfinished row (the previous attempt's may
        no longer finish it)."""
        claim = uuid.uuid4()
        row = await self.pool.fetchrow(
            """UPDATE inbox_messages SET claim = $2, attempts = attempts + 1, size = $3, status = 'processing'
               WHERE id = $1 AND status IN ('queued', 'processing', 'error') RETURNING uid, attempts""",
            row_id,
            claim,
            size,
        )
        return None if row is None else Claimed(row_id, row["uid"], size, claim, row["attempts"])

    async def take_key(self, claimed: Claimed, message_id: str | None, dedupe_key: str) -> int | None:
        """Record the message's identity. ``None``: it is the first with this key; else the id of
        the row that has it first (this one is recorded a duplicate). ClaimLost: taken over."""
        try:  # the usual case, one statement: no other row has the key
            result = await self.pool.execute(
                "UPDATE inbox_messages SET message_id = $3, dedupe_key = $4 WHERE id = $1 AND claim = $2",
                claimed.row_id,
                claimed.claim,
                message_id,
                dedupe_key,
            )
        except asyncpg.UniqueViolationError:
            pass
        else:
            if result == "UPDATE 0":
                raise ClaimLost()
            return None
        async with self.pool.acquire() as connection, connection.transaction():
            first = await connection.fetchval(
                "SELECT id FROM inbox_messages WHERE dedupe_key = $1 AND status <> 'duplicate'", dedupe_key
            )
            result = await connection.execute(
                """UPDATE inbox_messages SET message_id = $3, status = 'duplicate', duplicate_of = $4,
                       processed_at = now() WHERE id = $1 AND claim = $2""",
                claimed.row_id,
                claimed.claim,
                message_id,
                first,
            )
            if result == "UPDATE 0":
                raise ClaimLost()
            return int(first) if first is not None else 0

    async def finish(
        self, claimed: Claimed, status: str, *, problem: str | None = None, notes: str | None = None
    ) -> bool:
        """The row's outcome; ``False`` when this attempt's claim was taken over (nothing written)."""
        done = await self.pool.fetchval(
            """UPDATE inbox_messages SET status = $3, problem = $4, notes = coalesce($5, notes),
                   processed_at = CASE WHEN $3 = 'error' THEN NULL ELSE now() END
               WHERE id = $1 AND claim = $2 RETURNING id""",
            claimed.row_id,
            claimed.claim,
            status,
            problem[:_MAX_TEXT] if problem else None,
            notes[:_MAX_TEXT] if notes else None,
        )
        return done is not None

    async def give_up(self, row_id: int, problem: str) -> None:
        await self.pool.execute(
            """UPDATE inbox_messages SET status = 'failed', problem = $2, processed_at = now()
               WHERE id = $1 AND status IN ('queued', 'processing', 'error')""",
            row_id,
            problem[:_MAX_TEXT],
        )

    async def unflagged(self, uidvalidity: int) -> list[int]:
        """UIDs finished here but not yet marked on the server."""
        rows = await self.pool.fetch(
            """SELECT uid FROM inbox_messages WHERE mailbox = $1 AND uidvalidity = $2 AND NOT flagged
                   AND status NOT IN ('queued', 'processing', 'error') ORDER BY uid""",
            self.mailbox,
            uidvalidity,
        )
        return [row["uid"] for row in rows]

    async def flagged(self, uidvalidity: int, uids: list[int]) -> None:
        await self.pool.execute(
            """UPDATE inbox_messages SET flagged = true
               WHERE mailbox = $1 AND uidvalidity = $2 AND uid = ANY($3::bigint[])""",
            self.mailbox,
            uidvalidity,
            uids,
        )

    async def record_poll(self, *, new: int, error: str | None) -> None:
        await self.pool.execute(
            """INSERT INTO inbox_polls AS p (mailbox, polls, failures, last_poll_at, last_ok_at, last_new, last_error)
               VALUES ($1, 1, CASE WHEN $3::text IS NULL THEN 0 ELSE 1 END, now(),
                       CASE WHEN $3::text IS NULL THEN now() END, $2, $3)
               ON CONFLICT (mailbox) DO UPDATE SET
                   polls = p.polls + 1,
                   failures = p.failures + CASE WHEN $3::text IS NULL THEN 0 ELSE 1 END,
                   last_poll_at = now(),
                   last_ok_at = CASE WHEN $3::text IS NULL THEN now() ELSE p.last_ok_at END,
                   last_new = $2,
                   last_error = $3""",
            self.mailbox,
            new,
            error[:_MAX_TEXT] if error else None,
        )
