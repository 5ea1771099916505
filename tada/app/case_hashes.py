"""A case's PDQ hashes: the only trace of the victim's images tada ever holds."""

from __future__ import annotations

import asyncpg

from tada.domain.pdq import parse_pdq
from tada.errors import CaseNotFound, CaseRefused


async def add_case_hash(pool: asyncpg.Pool, case_id: str, pdq: str) -> bool:
    """Add a hash to an open case (InvalidPdq when it is not one). True when it was new."""
    value = parse_pdq(pdq)
    status = await pool.fetchval("SELECT status FROM cases WHERE case_id = $1", case_id)
    if status is None:
        raise CaseNotFound(case_id)
    if status != "open":
        raise CaseRefused(f"case {case_id} is {status}")
    added = await pool.fetchval(
        "INSERT INTO case_hashes (case_id, pdq) VALUES ($1, $2) ON CONFLICT (case_id, pdq) DO NOTHING RETURNING 1",
        case_id,
        value,
    )
    return added is not None


async def case_hashes(pool: asyncpg.Pool, case_id: str) -> list[str]:
    """The case's hashes, oldest first."""
    rows = await pool.fetch("SELECT pdq FROM case_hashes WHERE case_id = $1 ORDER BY added_at, pdq", case_id)
    return [row["pdq"] for row in rows]
