"""One case as the console's case page shows it: its facts and every link, read in one
statement each.

The links are the read model's one indexed read (tada/app/readmodel.py ``case_links``: each
link's notices counted in the same statement from its timeline), no query per link. Sorting and
filtering happen on the rows read, so the page's counts and choices (every state and platform of
the case) come from the same read.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel, Field

from tada.adapters.data_crypto import DataCrypto
from tada.app.readmodel import LinkRow, case_links, state_counts
from tada.domain.states import LinkState
from tada.errors import CaseNotFound


class CaseFacts(BaseModel):
    case_id: str
    status: str  # open, withdrawn or closed
    purged: bool
    language: str
    jurisdiction: str | None
    reference: str | None  # opened; None when there is none (or the case was purged)
    opened_at: datetime
    withdrawn_at: datetime | None
    purged_at: datetime | None


class CaseView(BaseModel):
    case: CaseFacts
    links: list[LinkRow] = Field(default_factory=list)
    #: Links per state, every state listed, in the state machine's order.
    counts: dict[str, int] = Field(default_factory=dict)
    platforms: list[str] = Field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.links)

    @property
    def removed(self) -> int:
        return self.counts.get(LinkState.REMOVED.value, 0)


#: What a link list can be sorted by (``?sort=``; a leading ``-`` reverses it).
SORTS = ("added", "state", "platform", "category", "host", "next", "notices")


async def case_view(pool: asyncpg.Pool, crypto: DataCrypto, case_id: str) -> CaseView:
    """The case and all its links. CaseNotFound for no such case."""
    async with pool.acquire() as conn:
        case = await conn.fetchrow(
            """
            SELECT case_id, status, purged_at IS NOT NULL AS purged, language, jurisdiction, reference,
                   opened_at, withdrawn_at, purged_at
              FROM cases WHERE case_id = $1
            """,
            case_id,
        )
        if case is None:
            raise CaseNotFound(case_id)
        facts = dict(case)
        facts["reference"] = await crypto.open(conn, case_id, "reference", case["reference"])
        links = await case_links(conn, case_id)
    counts = state_counts(links)
    platforms = sorted({link.platform for link in links}, key=str.casefold)
    return CaseView(case=CaseFacts(**facts), links=links, counts=counts, platforms=platforms)


def chosen_links(links: list[LinkRow], *, state: str = "", platform: str = "", sort: str = "added") -> list[LinkRow]:
    """``links`` with only ``state`` and ``platform`` (empty: any), sorted by ``sort``."""
    kept = [
        link for link in links if (not state or link.state == state) and (not platform or link.platform == platform)
    ]
    name = sort.removeprefix("-")
    if name not in SORTS:
        name = "added"
    order = list(LinkState)

    def key(link: LinkRow) -> tuple:
        if name == "state":
            rank = order.index(LinkState(link.state)) if link.state in order else len(order)
            return (rank, link.added_at, link.link_id)
        if name == "platform":
            return (link.platform.casefold(), link.added_at, link.link_id)
        if name == "category":
            return (link.category, link.platform.casefold(), link.link_id)
        if name == "host":
            return (link.host, link.added_at, link.link_id)
        if name == "next":  # soonest first; links with nothing scheduled last
            when = link.next_action_at.timestamp() if link.next_action_at else float("inf")
            return (when, link.link_id)
        if name == "notices":
            return (link.notices_sent, link.added_at, link.link_id)
        return (link.added_at, link.link_id)

    return sorted(kept, key=key, reverse=sort.startswith("-"))


async def shown_link_ids(pool: asyncpg.Pool, case_id: str, *, state: str = "", platform: str = "") -> list[str]:
    """The ids of the case's links with ``state`` and ``platform`` (empty: any): the links a
    filtered case page shows, for an action on all of them."""
    rows = await pool.fetch(
        """
        SELECT link_id FROM links
         WHERE case_id = $1 AND ($2 = '' OR state = $2) AND ($3 = '' OR platform = $3)
         ORDER BY added_at, link_id
        """,
        case_id,
        state,
        platform,
    )
    return [row["link_id"] for row in rows]
