"""A link's replies as a caseworker reads them: what each platform email said about the link.

One row per ``link_replies`` row (tada/app/reply_routing.py records them), oldest first: when
it came, the sender's domain, the classification (kind, confidence, the rule that decided),
how it was matched to the notice it answers, its attachments by type and size, and the short
excerpt of the platform's own words, opened with the case's key ("[purged]" once the case is
purged). The excerpt is text: it was taken from the plain text of the email (never rendered
HTML) and whoever shows it strips escape sequences (tada/cli/output.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from tada.adapters.data_crypto import DataCrypto


class ReplyAttachment(BaseModel):
    type: str
    size: int | None = None


class LinkReplyRow(BaseModel):
    reply_id: int
    received_at: datetime
    from_domain: str | None
    kind: str
    confidence: str
    rule: str
    matched_by: str
    attachments: list[ReplyAttachment] = Field(default_factory=list)
    excerpt: str | None


_REPLIES = """
SELECT reply_id, case_id, received_at, from_domain, kind, confidence, rule, matched_by, attachments, excerpt
  FROM link_replies WHERE link_id = $1 ORDER BY received_at, reply_id
"""


async def link_replies(pool: asyncpg.Pool, crypto: DataCrypto, link_id: str) -> list[LinkReplyRow]:
    """Every reply heard for ``link_id``, oldest first, excerpts opened."""
    rows = await pool.fetch(_REPLIES, link_id)
    replies = []
    for row in rows:
        excerpt = await crypto.open(pool, row["case_id"], f"{link_id}/reply/{row['reply_id']}", row["excerpt"])
        replies.append(
            LinkReplyRow(
                reply_id=row["reply_id"],
                received_at=row["received_at"],
                from_domain=row["from_domain"],
                kind=row["kind"],
                confidence=row["confidence"],
                rule=row["rule"],
                matched_by=row["matched_by"],
                attachments=[_attachment(item) for item in _jsonb(row["attachments"])],
                excerpt=excerpt,
            )
        )
    return replies


def _jsonb(value: Any) -> list[Any]:
    if isinstance(value, str):  # a pool without the jsonb codec
        value = json.loads(value)
    return value if isinstance(value, list) else []


def _attachment(item: Any) -> ReplyAttachment:
    if not isinstance(item, dict):
        return ReplyAttachment(type="unknown")
    size = item.get("size")
    return ReplyAttachment(type=str(item.get("type") or "unknown"), size=size if isinstance(size, int) else None)
