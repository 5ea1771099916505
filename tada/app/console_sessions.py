"""Server-side sessions of the caseworkers' web console (issue 16): ``console_sessions``.

A session is a random token (``secrets.token_urlsafe(32)``) the browser keeps in a cookie;
tada keeps only its SHA-256 (hex), so a copy of the table opens no session. Each session has
its own CSRF token, which every POST carries. A session ends when its person logs out (or out
everywhere), when it has been idle past the console's idle time, when it is older than
``max_hours``, and when its person is disabled or their password reset. Nothing here logs a
token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

TOKEN_BYTES = 32
MAX_HOURS = 12


@dataclass(frozen=True)
class OpenedSession:
    """A new session: ``token`` for the cookie, ``csrf`` for the forms. Neither is shown by repr."""

    token: str = field(repr=False)
    csrf: str = field(repr=False)


@dataclass(frozen=True)
class ConsoleSession:
    """A live session: who it is, and the CSRF token its forms must carry."""

    user_id: int
    name: str
    role: str
    language: str
    totp_enrolled: bool
    csrf: str = field(repr=False)
    created_at: datetime | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


async def open_session(
    pool: asyncpg.Pool | asyncpg.Connection,
    user_id: int,
    address: str,
    *,
    idle_minutes: int | None = None,
    max_hours: int = MAX_HOURS,
) -> OpenedSession:
    """A new session; the sessions of anyone that have ended meanwhile (idle past ``idle_minutes``
    or older than ``max_hours``) are deleted on the way, with the addresses they kept."""
    await pool.execute(
        """DELETE FROM console_sessions WHERE created_at < now() - make_interval(hours => $1)
              OR ($2::int IS NOT NULL AND last_seen_at < now() - make_interval(mins => $2::int))""",
        max_hours,
        idle_minutes,
    )
    token, csrf = secrets.token_urlsafe(TOKEN_BYTES), secrets.token_urlsafe(TOKEN_BYTES)
    await pool.execute(
        "INSERT INTO console_sessions (token_hash, user_id, csrf, address) VALUES ($1, $2, $3, $4)",
        token_hash(token),
        user_id,
        csrf,
        address,
    )
    return OpenedSession(token=token, csrf=csrf)


async def session_for(
    pool: asyncpg.Pool, token: str, *, idle_minutes: int, max_hours: int = MAX_HOURS
) -> ConsoleSession | None:
    """The live session of ``token``, its last use now; None (and the session deleted) when it
    was idle past ``idle_minutes``, is older than ``max_hours`` or its person is disabled."""
    if not token:
        return None
    digest = token_hash(token)
    row = await pool.fetchrow(
        """
        UPDATE console_sessions AS s SET last_seen_at = now()
        FROM console_users AS u
        WHERE s.token_hash = $1 AND u.id = s.user_id AND u.disabled_at IS NULL
          AND s.last_seen_at > now() - make_interval(mins => $2)
          AND s.created_at > now() - make_interval(hours => $3)
        RETURNING u.id AS user_id, u.name, u.role, u.language, u.totp_confirmed AS totp_enrolled, s.csrf, s.created_at
        """,
        digest,
        idle_minutes,
        max_hours,
    )
    if row is None:
        await pool.execute("DELETE FROM console_sessions WHERE token_hash = $1", digest)
        return None
    return ConsoleSession(**dict(row))


async def close_session(pool: asyncpg.Pool | asyncpg.Connection, token: str) -> bool:
    """Log out: True when there was such a session."""
    done = await pool.fetchval("DELETE FROM console_sessions WHERE token_hash = $1 RETURNING 1", token_hash(token))
    return done is not None


async def close_all_sessions(pool: asyncpg.Pool | asyncpg.Connection, user_id: int) -> int:
    """Log out everywhere: how many sessions ended."""
    rows = await pool.fetch("DELETE FROM console_sessions WHERE user_id = $1 RETURNING 1", user_id)
    return len(rows)
