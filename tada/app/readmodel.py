"""The read model: where every case and link stands, straight from PostgreSQL.

The CLI (and later the HTTP API) answers "where is this case" from these
queries, never by querying each workflow: the ``links`` table is kept current by
the workflows' ``record_event`` activity and ``link_events`` holds every step.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, Field, computed_field

from tada.adapters.data_crypto import DataCrypto
from tada.adapters.sealing import is_sealed
from tada.app.replies_read import LinkReplyRow, link_replies
from tada.domain.laws import clock_words
from tada.domain.states import EventKind, LinkState
from tada.errors import CaseNotFound, LinkNotFound


class LinkRow(BaseModel):
    """One link as the read model has it."""

    link_id: str
    case_id: str
    url: str
    host: str
    platform: str
    category: str
    source: str
    state: str
    cycle: int
    next_action: str | None
    next_action_at: datetime | None
    notices_sent: int
    added_at: datetime
    updated_at: datetime
    #: The legal clock (tada/domain/laws.py), as the link's last deadline event left it.
    deadline_law: str | None = None
    deadline_step: str | None = None
    deadline_due_at: datetime | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def deadline(self) -> str | None:
        """ "due in 20h", "overdue by 3h", "paused", "met" or "missed", now; None without a clock."""
        removed = self.state in (LinkState.REMOVED, LinkState.WITHDRAWN)
        return clock_words(self.deadline_step, self.deadline_due_at, datetime.now(UTC), removed=removed)


class CaseSummary(BaseModel):
    case_id: str
    status: str
    language: str
    reference: str | None
    opened_at: datetime
    withdrawn_at: datetime | None


class CaseStatus(BaseModel):
    case: CaseSummary
    links: list[LinkRow] = Field(default_factory=list)
    #: Links per state, every state listed (zeros included), in the state machine's order.
    counts: dict[str, int] = Field(default_factory=dict)
    total: int = 0


class LinkEventRow(BaseModel):
    event_id: int
    cycle: int
    kind: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime


class NoticeRow(BaseModel):
    notice_key: str
    cycle: int
    kind: str
    channel: str
    recipient: str | None
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None


class LinkDetail(BaseModel):
    link: LinkRow
    events: list[LinkEventRow] = Field(default_factory=list)
    notices: list[NoticeRow] = Field(default_factory=list)
    #: What the platform's emails said about the link (tada/app/replies_read.py), oldest first.
    replies: list[LinkReplyRow] = Field(default_factory=list)


# Notices sent = notice events in the timeline: the workflow records one after every
# email or form notice goes out and after a caseworker confirms a manual filing.
_LINKS = f"""
SELECT l.link_id, l.case_id, l.url, l.host, l.platform, l.category, l.source, l.state, l.cycle,
       l.next_action, l.next_action_at, l.added_at, l.updated_at, l.deadline_law, l.deadline_step, l.deadline_due_at,
       (SELECT count(*) FROM link_events e WHERE e.link_id = l.link_id AND e.kind = '{EventKind.NOTICE}')::int
           AS notices_sent
  FROM links l
"""


async def case_status(pool: asyncpg.Pool, case_id: str, crypto: DataCrypto) -> CaseStatus:
    """Every link of a case with its state, next action and notices sent, plus counts by state.
    The reference is opened with the case's key (None once the case is purged)."""
    case = await pool.fetchrow(
        "SELECT case_id, status, language, reference, opened_at, withdrawn_at FROM cases WHERE case_id = $1",
        case_id,
    )
    if case is None:
        raise CaseNotFound(case_id)
    case = dict(case)
    case["reference"] = await crypto.open(pool, case_id, "reference", case["reference"])
    links = await case_links(pool, case_id)
    return CaseStatus(case=CaseSummary(**case), links=links, counts=state_counts(links), total=len(links))


async def case_links(pool: asyncpg.Pool | asyncpg.Connection, case_id: str) -> list[LinkRow]:
    """Every link of a case, in the order they were added: one indexed read (``links_case_idx``)."""
    rows = await pool.fetch(_LINKS + " WHERE l.case_id = $1 ORDER BY l.added_at, l.link_id", case_id)
    return [LinkRow(**dict(row)) for row in rows]


def state_counts(links: list[LinkRow]) -> dict[str, int]:
    """Links per state, every state listed (zeros included), in the state machine's order."""
    counts = {state.value: 0 for state in LinkState}
    for link in links:
        counts[link.state] = counts.get(link.state, 0) + 1
    return counts


async def find_link(pool: asyncpg.Pool, link_id: str) -> LinkRow:
    row = await pool.fetchrow(_LINKS + " WHERE l.link_id = $1", link_id)
    if row is None:
        raise LinkNotFound(link_id)
    return LinkRow(**dict(row))


async def link_timeline(pool: asyncpg.Pool, link_id: str, crypto: DataCrypto) -> LinkDetail:
    """A link with every event of its timeline, oldest first, every notice and every reply
    heard. Sealed notes and reply excerpts are opened with the case's key ("[purged]" once
    the case is purged)."""
    link = await find_link(pool, link_id)
    events = await pool.fetch(
        """
        SELECT event_id, cycle, kind, from_state, to_state, detail, occurred_at, recorded_at
          FROM link_events WHERE link_id = $1 ORDER BY event_id
        """,
        link_id,
    )
    notices = await pool.fetch(
        """
        SELECT notice_key, cycle, kind, channel, recipient, status, attempts, created_at, sent_at
          FROM notices WHERE link_id = $1 ORDER BY created_at, notice_key
        """,
        link_id,
    )
    rows = [_event(row) for row in events]
    for row in rows:
        for name, value in row["detail"].items():
            if is_sealed(value):
                row["detail"][name] = await crypto.open(pool, link.case_id, f"{link_id}/{name}", value)
    return LinkDetail(
        link=link,
        events=[LinkEventRow(**row) for row in rows],
        notices=[NoticeRow(**dict(row)) for row in notices],
        replies=await link_replies(pool, crypto, link_id),
    )


async def case_link_ids(pool: asyncpg.Pool, case_id: str) -> list[str]:
    if await pool.fetchval("SELECT 1 FROM cases WHERE case_id = $1", case_id) is None:
        raise CaseNotFound(case_id)
    rows = await pool.fetch("SELECT link_id FROM links WHERE case_id = $1 ORDER BY added_at, link_id", case_id)
    return [row["link_id"] for row in rows]


def _event(row: asyncpg.Record) -> dict[str, Any]:
    values = dict(row)
    detail = values.get("detail")
    if isinstance(detail, str):  # a pool without the jsonb codec
        detail = json.loads(detail)
    values["detail"] = detail or {}
    return values
