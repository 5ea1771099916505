"""A per-recipient rate limit, so a big case cannot flood one platform's inbox.

Counted from the notices table (one email listing 30 links counts once), so it
holds across workers and restarts. Over the limit the activity fails with a
retry delay and Temporal sends it when a slot is free; nothing is dropped.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from temporalio.exceptions import ApplicationError


class RecipientRateLimit:
    def __init__(self, pool: asyncpg.Pool, *, per_hour: int = 20) -> None:
        self._pool = pool
        self._per_hour = per_hour

    async def wait_turn(self, recipient: str) -> None:
        if self._per_hour <= 0:
            return
        row = await self._pool.fetchrow(
            """
            SELECT count(DISTINCT message_id) AS sent, min(sent_at) AS oldest
              FROM notices
             WHERE recipient = $1 AND status = 'sent' AND sent_at > now() - interval '1 hour'
            """,
            recipient,
        )
        if row["sent"] < self._per_hour:
            return
        wait = await self._pool.fetchval(
            "SELECT GREATEST(EXTRACT(EPOCH FROM ($1::timestamptz + interval '1 hour' - now())), 1)", row["oldest"]
        )
        raise ApplicationError(
            f"recipient has had {row['sent']} notices in the last hour",
            type="RecipientRateLimited",
            next_retry_delay=timedelta(seconds=float(wait)),
        )
