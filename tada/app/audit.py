"""The audit trail of access decisions and purges: ``audit_events``, append-only.

Written by the CLI (every command's decision, local mode included: actor_role ``local``)
and by the API (every decision on a request that presented a known token). ``target``
is a case or link id, never a URL; ``actor_name`` a monitor's name, never a token;
``reason`` says why a request was refused (or what a purge did), never a token.
"""

from __future__ import annotations

import asyncpg


async def record_audit(
    pool: asyncpg.Pool | asyncpg.Connection,
    *,
    actor_role: str | None,
    action: str,
    target: str | None,
    allowed: bool,
    reason: str = "",
    actor_name: str | None = None,
) -> None:
    await pool.execute(
        "INSERT INTO audit_events (actor_role, action, target, allowed, reason, actor_name)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        actor_role,
        action,
        target[:200] if target else None,
        allowed,
        reason[:500],
        actor_name,
    )
