"""Recording each notice email under its reply token, with the links it listed in its order.

A notice email is recorded before it is sent (``record_message``): its token goes into its
Reply-To and subject, and a reply naming the token, or the Message-ID, finds the email's row
in ``notice_messages`` and, in ``notice_message_links``, which notices (so which links) it
listed and at which number, 1 being the first address shown. A retried send of the same
Message-ID keeps the token it was given first; the links are those of the latest attempt.
The rows hold ids only: no address, no URL.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from tada.adapters.data_crypto import DataCrypto
from tada.domain.reply_tags import ReplyTagKey

#: The reply tags' key is this sub-key of the data key (tada/adapters/data_crypto.py).
REPLY_TAG_PURPOSE = "reply-tags"
_TRIES = 5  # a new token colliding with a recorded one (50 random bits) is tried again


def reply_tag_key(crypto: DataCrypto) -> ReplyTagKey:
    """The reply tags' key under the configured data keys (DataKeyMissing if there are none)."""
    return ReplyTagKey(crypto.sub_keys(REPLY_TAG_PURPOSE))


async def record_message(
    pool: asyncpg.Pool,
    tag_key: ReplyTagKey,
    *,
    message_id: str,
    case_id: str,
    listed: Sequence[tuple[str, str]],
) -> str:
    """Record the email ``message_id`` of ``case_id`` listing ``listed`` ((notice key, link id)
    in the email's order); returns its canonical token (the one it already had, if recorded)."""
    async with pool.acquire() as conn, conn.transaction():
        token = await _token_for(conn, tag_key, message_id, case_id)
        await conn.execute("DELETE FROM notice_message_links WHERE reply_token = $1", token)
        await conn.executemany(
            "INSERT INTO notice_message_links (reply_token, notice_key, link_id, position) VALUES ($1, $2, $3, $4)",
            [(token, notice_key, link_id, position) for position, (notice_key, link_id) in enumerate(listed, 1)],
        )
    return token


async def _token_for(conn: asyncpg.Connection, tag_key: ReplyTagKey, message_id: str, case_id: str) -> str:
    for _ in range(_TRIES):
        token = await conn.fetchval(
            """
            INSERT INTO notice_messages (reply_token, message_id, case_id) VALUES ($1, $2, $3)
            ON CONFLICT DO NOTHING RETURNING reply_token
            """,
            tag_key.new_token(),
            message_id,
            case_id,
        )
        token = token or await conn.fetchval(
            "SELECT reply_token FROM notice_messages WHERE message_id = $1", message_id
        )
        if token:
            return token
    raise RuntimeError("no free reply token")  # 5 collisions in a row: the random source is broken
