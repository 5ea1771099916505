"""The holding pen (issue 15): a reply no header matched, kept for a caseworker with tada's guesses.

The reply router (tada/app/reply_routing.py) hands ``Pen.hold`` every reply whose headers name
no notice email. The pen keeps, in ``inbox_pen``:

- the guesses of its subject and text (tada/app/reply_guesses.py): the case ids, link ids and
  notice tags it names that exist;
- the platform whose registry domains include the sender's domain (tada/domain/registry.py);
- the sender's domain (as ``link_replies`` keeps it).

Ids and a platform's name only: never an address, a subject, a URL or a body (the message stays
on the server, never deleted, and is fetched again when a caseworker assigns it).

**Automatic assignment.** The reply is given to its link(s) at once, recorded ``auto``, when
every guess is of one open case and exactly one *strong* guess is among them:

- a link id (of that open case);
- a notice tag (a notice email's reply token, its check right): the links that email listed;
- the case id itself, when no link id or tag of it was named and the case has exactly one
  link awaiting a response (``AWAITING_RESPONSE`` or ``FOLLOW_UP``).

Two cases named, two link ids, or a case with two links awaiting: it stays in the pen with all
its guesses (a text can name any case; only an unambiguous one moves a link). The reply is then
recorded and told exactly as a matched one (``ReplyRouter.deliver``), ``matched_by`` "auto".

``pen_entries`` lists the pen for ``tada inbox pen``, oldest first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal, cast

import asyncpg
import structlog
from pydantic import BaseModel

from tada.app.inbox_store import UNMATCHED
from tada.app.reply_guesses import ReplyGuess, reply_guesses
from tada.app.reply_matching import message_by_token
from tada.domain.mail_reading import ReadMail
from tada.domain.registry import Registry
from tada.domain.reply_clues import MatchedBy, MatchedLink, ReplyMatch
from tada.domain.reply_tags import ReplyTagKey
from tada.domain.states import LinkState

log = structlog.get_logger(__name__)

MATCHED = "matched"
AssignedBy = Literal["auto", "caseworker"]
#: How an assigned reply found its link, beside the headers' ways of tada/domain/reply_clues.py.
AUTO = cast(MatchedBy, "auto")
CASEWORKER = cast(MatchedBy, "caseworker")
#: A link waits for the platform's answer in these states.
AWAITING = (LinkState.AWAITING_RESPONSE.value, LinkState.FOLLOW_UP.value)

Deliver = Callable[[ReadMail, EmailMessage, int, ReplyMatch], Awaitable[None]]

_PEN = """
INSERT INTO inbox_pen (reply_id, from_domain, guesses) VALUES ($1, $2, $3)
ON CONFLICT (reply_id) DO UPDATE SET from_domain = EXCLUDED.from_domain, guesses = EXCLUDED.guesses
"""
_ASSIGNED = """
INSERT INTO inbox_pen (reply_id, from_domain, assigned_to, assigned_by, assigned_at) VALUES ($1, $2, $3, $4, now())
ON CONFLICT (reply_id) DO UPDATE SET assigned_to = EXCLUDED.assigned_to, assigned_by = EXCLUDED.assigned_by,
                                     assigned_at = EXCLUDED.assigned_at
"""


class Pen:
    def __init__(self, pool: asyncpg.Pool, tag_key: ReplyTagKey, registry: Registry | None, deliver: Deliver) -> None:
        self._pool = pool
        self._tag_key = tag_key
        self._registry = registry
        self._deliver = deliver

    async def hold(self, read: ReadMail, message: EmailMessage, row_id: int) -> str:
        """Keep the reply's guesses; give it to its link when one strong guess names it. The
        status for the inbox row: "matched" (given) or "unmatched" (the pen). Idempotent per row."""
        guesses = await reply_guesses(self._pool, f"{read.subject}\n{read.text}", self._tag_key)
        stored: list[dict[str, Any]] = [{"kind": g.kind, "id": g.id, "case_id": g.case_id} for g in guesses]
        platform = self._registry.match(read.from_domain) if self._registry and read.from_domain else None
        if platform is not None:
            stored.append({"kind": "platform", "id": platform.name, "case_id": None})
        await self._pool.execute(_PEN, row_id, read.from_domain, stored)
        target = await strong_target(self._pool, guesses, self._tag_key)
        if target is None:
            log.info("reply_unmatched", reply=row_id, guesses=len(stored))
            return UNMATCHED
        await self._deliver(read, message, row_id, target)
        await record_assignment(self._pool, row_id, read.from_domain, target, "auto")
        log.info("reply_assigned", reply=row_id, by="auto", case_id=target.case_id, links=len(target.links))
        return MATCHED


async def strong_target(
    pool: asyncpg.Pool | asyncpg.Connection, guesses: list[ReplyGuess], tag_key: ReplyTagKey
) -> ReplyMatch | None:
    """The links the guesses name without doubt (the rule of the module's docstring), or None."""
    if len({guess.case_id for guess in guesses}) != 1:
        return None
    case_id = guesses[0].case_id
    if await pool.fetchval("SELECT status FROM cases WHERE case_id = $1", case_id) != "open":
        return None
    specific = [guess for guess in guesses if guess.kind != "case"]
    targets: dict[tuple[str, ...], ReplyMatch] = {}
    for guess in specific or guesses:
        found: ReplyMatch | None = None
        if guess.kind == "link":
            found = await link_match(pool, guess.id, AUTO)
        elif guess.kind == "message":
            by_token = await message_by_token(pool, guess.id, tag_key)
            found = replace(by_token, matched_by=AUTO) if by_token is not None else None
        elif guess.kind == "case":
            awaiting = await pool.fetch(
                "SELECT link_id FROM links WHERE case_id = $1 AND state = ANY($2::text[])", case_id, list(AWAITING)
            )
            found = await link_match(pool, awaiting[0]["link_id"], AUTO) if len(awaiting) == 1 else None
        if found is None or not found.links:
            return None  # a strong guess that leads nowhere: a caseworker decides
        targets[tuple(sorted(found.link_ids))] = found
    return next(iter(targets.values())) if len(targets) == 1 else None


async def link_match(
    pool: asyncpg.Pool | asyncpg.Connection, link_id: str, matched_by: MatchedBy, notice_key: str | None = None
) -> ReplyMatch | None:
    """A reply given to one link (by the pen or a caseworker): its notice ``notice_key``, else the
    link's last email notice sent (a bounce names that notice's recipient), else none."""
    row = await pool.fetchrow("SELECT case_id FROM links WHERE link_id = $1", link_id)
    if row is None:
        return None
    notice = await pool.fetchrow(
        """
        SELECT notice_key, coalesce(message_id, '') AS message_id FROM notices
         WHERE link_id = $1 AND ($2::text IS NULL OR notice_key = $2)
         ORDER BY (channel = 'email' AND status = 'sent') DESC, sent_at DESC NULLS LAST, created_at DESC
         LIMIT 1
        """,
        link_id,
        notice_key,
    )
    return ReplyMatch(
        matched_by=matched_by,
        reply_token=None,
        message_id=notice["message_id"] if notice else "",
        case_id=row["case_id"],
        links=(MatchedLink(notice_key=notice["notice_key"] if notice else "", link_id=link_id, position=None),),
    )


async def record_assignment(
    pool: asyncpg.Pool | asyncpg.Connection,
    row_id: int,
    from_domain: str | None,
    target: ReplyMatch,
    by: AssignedBy,
) -> None:
    await pool.execute(_ASSIGNED, row_id, from_domain, target.link_ids, by)


class PenEntry(BaseModel):
    """One reply in the pen: ids, sizes and guesses, nothing of the message itself."""

    id: int
    received_at: datetime
    from_domain: str | None
    size: int
    guesses: list[dict[str, Any]]


async def pen_entries(pool: asyncpg.Pool | asyncpg.Connection) -> list[PenEntry]:
    """The replies in the pen (``unmatched``), the oldest first."""
    rows = await pool.fetch(
        """
        SELECT m.id, m.received_at, m.size, p.from_domain, coalesce(p.guesses, '[]'::jsonb) AS guesses
          FROM inbox_messages m LEFT JOIN inbox_pen p ON p.reply_id = m.id
         WHERE m.status = $1
         ORDER BY m.received_at, m.id
        """,
        UNMATCHED,
    )
    return [PenEntry(**dict(row)) for row in rows]
