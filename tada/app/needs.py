"""What waits for a person (the console's "Needs me"), oldest first, each with what clears it.

Two sources, both index reads:

- links whose read model says they wait (``links.needs``, kept by every recorded event through
  ``tada_needs`` in schema.sql): a manual filing to file, an escalation contact to supply, a
  notice that can never reach its recipient, a platform reply to read, a removal the platform
  claims that the page does not show, an UNRESOLVED link to decide on;
- the holding pen: replies nothing matched (tada/app/inbox_pen.py), unassigned.

New kinds of item slot in as a value of ``NeedKind`` and a branch of the queue's template. Each
item carries ids, the platform, the host and times; the URL only for the kinds whose action
needs it (a manual filing is filed with it, a removal claim is checked against it): the console
shows it as text to copy, never as a link.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import asyncpg
from pydantic import BaseModel, Field

#: The most items of each source read for one page.
PAGE = 200


class NeedKind(StrEnum):
    FILING = "filing"
    CONTACT = "contact"
    DELIVERY = "delivery"
    REPLY = "reply"
    REMOVAL_CLAIM = "removal_claim"
    DECISION = "decision"
    PEN = "pen"


#: The links waiting for a person, oldest first (``links_needs_idx``, schema.sql; bench/console.py shows its plan).
WAITING_LINKS = """SELECT link_id, case_id, platform, host, state, next_action, needs, needs_for, needs_since, url
                     FROM links WHERE needs IS NOT NULL ORDER BY needs_since, link_id LIMIT $1"""

#: The kinds whose action needs the link's URL on the page.
_WITH_URL = {NeedKind.FILING, NeedKind.REMOVAL_CLAIM}


class Need(BaseModel):
    kind: NeedKind
    since: datetime
    what: str | None = None  # the waiting event's words ("manual filing", "host contact"), a reply's kind
    link_id: str | None = None
    case_id: str | None = None
    platform: str | None = None
    host: str | None = None
    state: str | None = None
    next_action: str | None = None
    url: str | None = Field(default=None, repr=False)
    reply_id: int | None = None  # the pen's message
    guesses: list[dict] = Field(default_factory=list)  # the pen's


class Queue(BaseModel):
    items: list[Need]
    counts: dict[str, int]  # by kind, every kind listed
    total: int


async def needs_me(pool: asyncpg.Pool | asyncpg.Connection, *, limit: int = PAGE) -> Queue:
    """What waits for a person, oldest first, and how many of each kind (all of them, not only this page)."""
    links = await pool.fetch(WAITING_LINKS, limit)
    pen = await pool.fetch(
        """SELECT p.reply_id, p.penned_at, p.from_domain, p.guesses FROM inbox_pen p
            WHERE p.assigned_by IS NULL ORDER BY p.penned_at, p.reply_id LIMIT $1""",
        limit,
    )
    counted = await pool.fetch("SELECT needs, count(*) AS n FROM links WHERE needs IS NOT NULL GROUP BY needs")
    penned = await pool.fetchval("SELECT count(*) FROM inbox_pen WHERE assigned_by IS NULL")
    items = [_link_need(row) for row in links] + [
        Need(kind=NeedKind.PEN, since=row["penned_at"], reply_id=row["reply_id"], host=row["from_domain"],
             guesses=list(row["guesses"] or []))
        for row in pen
    ]  # fmt: skip
    items.sort(key=lambda need: (need.since, need.link_id or "", need.reply_id or 0))
    counts = {kind.value: 0 for kind in NeedKind}
    for row in counted:
        if row["needs"] in counts:
            counts[row["needs"]] = row["n"]
    counts[NeedKind.PEN.value] = int(penned or 0)
    return Queue(items=items[:limit], counts=counts, total=sum(counts.values()))


def _link_need(row: asyncpg.Record) -> Need:
    kind = NeedKind(row["needs"]) if row["needs"] in NeedKind._value2member_map_ else NeedKind.DECISION
    return Need(
        kind=kind, since=row["needs_since"], what=row["needs_for"], link_id=row["link_id"], case_id=row["case_id"],
        platform=row["platform"], host=row["host"], state=row["state"], next_action=row["next_action"],
        url=row["url"] if kind in _WITH_URL else None,
    )  # fmt: skip


async def needs_count(pool: asyncpg.Pool | asyncpg.Connection) -> int:
    """How many things wait for a person (the navigation's count)."""
    found = await pool.fetchval(
        "SELECT (SELECT count(*) FROM links WHERE needs IS NOT NULL)"
        " + (SELECT count(*) FROM inbox_pen WHERE assigned_by IS NULL)"
    )
    return int(found or 0)
