"""The list of cases, for the console's Cases page: open, withdrawn, closed and purged cases,
newest first, a page at a time, each with how many of its links are removed.

One search box finds a case by its id, the id of one of its links, a link's host, or the
case's own reference. A reference is sealed with its case's key, so searching by reference
means opening each candidate's: only the newest REFERENCE_SEARCH_LIMIT cases (of the chosen
status) are opened for that, and the page says so. Only ids are ever logged.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import asyncpg
from pydantic import BaseModel, Field

from tada.adapters.data_crypto import DataCrypto
from tada.domain.states import LinkState

PER_PAGE = 50
#: How many of the newest cases a search opens the reference of.
REFERENCE_SEARCH_LIMIT = 2_000
MAX_QUERY = 200


class CaseFilter(StrEnum):
    ALL = "all"
    OPEN = "open"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"
    PURGED = "purged"


#: The SQL condition on ``cases c`` of each filter (the schema: ``status`` is open, withdrawn or
#: closed; ``purged_at`` is set once a withdrawn or closed case is purged).
_WHERE = {
    CaseFilter.ALL: "TRUE",
    CaseFilter.OPEN: "c.status = 'open'",
    CaseFilter.WITHDRAWN: "c.status = 'withdrawn' AND c.purged_at IS NULL",
    CaseFilter.CLOSED: "c.status = 'closed' AND c.purged_at IS NULL",
    CaseFilter.PURGED: "c.purged_at IS NOT NULL",
}


class CaseListRow(BaseModel):
    case_id: str
    status: str
    purged: bool
    language: str
    jurisdiction: str | None
    reference: str | None
    opened_at: datetime
    withdrawn_at: datetime | None
    links: int = 0
    removed: int = 0


class CaseList(BaseModel):
    rows: list[CaseListRow] = Field(default_factory=list)
    total: int = 0  # cases matching, on every page
    page: int = 1
    pages: int = 1
    per_page: int = PER_PAGE
    query: str = ""
    #: How many references the search opened (0 without a search).
    references_searched: int = 0
    reference_limit: int = REFERENCE_SEARCH_LIMIT


def case_filter(value: str | None) -> CaseFilter:
    try:
        return CaseFilter(value or CaseFilter.ALL)
    except ValueError:
        return CaseFilter.ALL


async def list_cases(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    *,
    status: CaseFilter = CaseFilter.ALL,
    query: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> CaseList:
    """One page of the cases matching ``status`` and ``query``, newest first."""
    query = query.strip()[:MAX_QUERY]
    where = _WHERE[status]
    args: list[object] = []
    searched = 0
    async with pool.acquire() as conn:
        if query:
            by_reference, searched = await _reference_matches(conn, crypto, where, query)
            args = [query.upper(), query, query.lower(), by_reference]
            where += """ AND (strpos(c.case_id, $1) > 0
                         OR c.case_id IN (SELECT l.case_id FROM links l WHERE l.link_id = $2)
                         OR c.case_id IN (SELECT l.case_id FROM links l WHERE strpos(l.host, $3) > 0)
                         OR c.case_id = ANY($4::text[]))"""
        total = await conn.fetchval(f"SELECT count(*) FROM cases c WHERE {where}", *args)
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        n = len(args)
        found = await conn.fetch(
            f"""
            SELECT c.case_id, c.status, c.purged_at IS NOT NULL AS purged, c.language, c.jurisdiction,
                   c.reference, c.opened_at, c.withdrawn_at
              FROM cases c WHERE {where}
             ORDER BY c.opened_at DESC, c.case_id DESC LIMIT ${n + 1} OFFSET ${n + 2}
            """,
            *args,
            per_page,
            (page - 1) * per_page,
        )
        counts = await conn.fetch(
            f"""
            SELECT case_id, count(*)::int AS links,
                   (count(*) FILTER (WHERE state = '{LinkState.REMOVED}'))::int AS removed
              FROM links WHERE case_id = ANY($1::text[]) GROUP BY case_id
            """,
            [row["case_id"] for row in found],
        )
        by_case = {row["case_id"]: row for row in counts}
        rows = []
        for row in found:
            values = dict(row)
            values["reference"] = await crypto.open_among_many(conn, row["case_id"], "reference", row["reference"])
            count = by_case.get(row["case_id"])
            values["links"], values["removed"] = (count["links"], count["removed"]) if count else (0, 0)
            rows.append(CaseListRow(**values))
    return CaseList(
        rows=rows, total=total, page=page, pages=pages, per_page=per_page, query=query, references_searched=searched
    )


async def _reference_matches(
    conn: asyncpg.Connection, crypto: DataCrypto, where: str, query: str
) -> tuple[list[str], int]:
    """The ids of the newest REFERENCE_SEARCH_LIMIT cases (under ``where``) whose reference holds
    ``query`` (ignoring case), and how many references were opened to find them."""
    candidates = await conn.fetch(
        f"""
        SELECT c.case_id, c.reference FROM cases c
         WHERE {where} AND c.reference IS NOT NULL AND c.purged_at IS NULL
         ORDER BY c.opened_at DESC, c.case_id DESC LIMIT {REFERENCE_SEARCH_LIMIT}
        """
    )
    wanted = query.casefold()
    matches = []
    for row in candidates:
        reference = await crypto.open_among_many(conn, row["case_id"], "reference", row["reference"])
        if reference and wanted in reference.casefold():
            matches.append(row["case_id"])
    return matches, len(candidates)
