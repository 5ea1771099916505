"""Which notice email a reply answers (issue 15).

``match_reply`` tries, in order, and the first that names a recorded email wins:

1. ``tag``: the plus-tag of the address the reply was sent to (To, Cc, Delivered-To,
   X-Original-To, Envelope-To: ``takedown+<token>@org.example``);
2. ``in-reply-to``, then ``references`` (the most recent first): a recorded Message-ID;
3. ``subject``: the ``[TD-<token>]`` of the subject.

An email sent before emails were recorded with a token is still found by its Message-ID,
which its notices recorded: the match then has no token and its links no position.

Tokens are read leniently (tada/domain/reply_tags.py) and only count when their check is
right under the reply-tag key: a forged or unknown one falls through to the next way. Nothing
found: None. Nothing of the message is logged or kept here.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.message import Message

import asyncpg

from tada.domain.reply_clues import MatchedBy, MatchedLink, ReplyMatch, reply_clues
from tada.domain.reply_tags import ReplyTagKey

__all__ = ["MatchedLink", "ReplyMatch", "match_reply", "message_by_id", "message_by_token"]


async def match_reply(
    pool: asyncpg.Pool | asyncpg.Connection,
    message: Message,
    tag_key: ReplyTagKey,
    *,
    reply_to: str | None = None,
) -> ReplyMatch | None:
    """The notice email ``message`` answers, or None. ``reply_to``: the organisation's reply
    address (TADA_REPLY_TO); given, only plus-tags of that mailbox count, else any address's."""
    clues = reply_clues(message, reply_to)
    tries: list[tuple[MatchedBy, Iterable[str]]] = [
        ("tag", clues.tokens),
        ("in-reply-to", clues.in_reply_to),
        ("references", clues.references),
        ("subject", clues.subject_tokens),
    ]
    for matched_by, values in tries:
        for value in values:
            if matched_by in ("tag", "subject"):
                found = await message_by_token(pool, value, tag_key, matched_by)
            else:
                found = await message_by_id(pool, value, matched_by)
            if found is not None:
                return found
    return None


async def message_by_token(
    pool: asyncpg.Pool | asyncpg.Connection, token: str, tag_key: ReplyTagKey, matched_by: MatchedBy = "tag"
) -> ReplyMatch | None:
    """The email of a token (as written: read leniently), if its check is right and it is recorded."""
    canonical = tag_key.read(token)
    if canonical is None:
        return None
    return await _message(pool, "m.reply_token = $1", canonical, matched_by)


async def message_by_id(
    pool: asyncpg.Pool | asyncpg.Connection, message_id: str, matched_by: MatchedBy = "in-reply-to"
) -> ReplyMatch | None:
    """The email recorded under ``message_id`` ("<id@host>"); for an email sent before emails
    were recorded, its notices, which recorded its Message-ID (no token, no positions)."""
    return await _message(pool, "m.message_id = $1", message_id, matched_by) or await _unrecorded_message(
        pool, message_id, matched_by
    )


async def _unrecorded_message(
    pool: asyncpg.Pool | asyncpg.Connection, message_id: str, matched_by: MatchedBy
) -> ReplyMatch | None:
    rows = await pool.fetch(
        """
        SELECT n.notice_key, n.link_id, n.case_id FROM notices n JOIN links l USING (link_id)
         WHERE n.message_id = $1 AND n.channel = 'email' AND n.status = 'sent'
           AND NOT EXISTS (SELECT 1 FROM notice_messages m WHERE m.message_id = n.message_id)
         ORDER BY l.added_at, l.link_id
        """,
        message_id,
    )
    if not rows:
        return None
    return ReplyMatch(
        matched_by=matched_by,
        reply_token=None,
        message_id=message_id,
        case_id=rows[0]["case_id"],
        links=tuple(MatchedLink(row["notice_key"], row["link_id"], None) for row in rows),
    )


async def _message(
    pool: asyncpg.Pool | asyncpg.Connection, where: str, value: str, matched_by: MatchedBy
) -> ReplyMatch | None:
    rows = await pool.fetch(
        f"""
        SELECT m.reply_token, m.message_id, m.case_id, l.notice_key, l.link_id, l.position
          FROM notice_messages m LEFT JOIN notice_message_links l USING (reply_token)
         WHERE {where}
         ORDER BY l.position
        """,  # ``where`` is one of two constants of this module; the value is a parameter
        value,
    )
    if not rows:
        return None
    first = rows[0]
    return ReplyMatch(
        matched_by=matched_by,
        reply_token=first["reply_token"],
        message_id=first["message_id"],
        case_id=first["case_id"],
        links=tuple(
            MatchedLink(notice_key=row["notice_key"], link_id=row["link_id"], position=row["position"])
            for row in rows
            if row["notice_key"] is not None
        ),
    )
