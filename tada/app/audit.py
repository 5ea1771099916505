"""The audit trail of access decisions and purges: ``audit_events``, append-only.

``target`` is a case or link id, never a URL; ``reason`` says why a request was
refused (or what a purge did), never a token.
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
) -> None:
    await pool.execute(
        "INSERT INTO audit_events (actor_role, action, target, allowed, reason) VALUES ($1, $2, $3, $4, $5)",
        actor_role,
        action,
        target[:200] if target else None,
        allowed,
        reason[:500],
    )
