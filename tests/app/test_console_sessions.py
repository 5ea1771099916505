"""The console's sessions (issue 16, tada/app/console_sessions.py) on a real database: a
session is kept by its token's hash only, lives while used, ends when idle, when too old,
when its person is disabled or their password reset, and at "log out everywhere". Time is
moved in SQL, never slept."""

from __future__ import annotations

import hashlib
import secrets

import pytest

from tada.app.accounts import add_user, disable_user, reset_password
from tada.app.console_sessions import close_all_sessions, close_session, open_session, session_for, token_hash

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "correct horse battery"
IDLE = 30


async def person(db_pool, role: str = "caseworker"):
    return await add_user(db_pool, f"s-{secrets.token_hex(4)}", role, PASSWORD)


async def age(db_pool, token: str, column: str, interval: str) -> None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    await db_pool.execute(
        f"UPDATE console_sessions SET {column} = {column} - $2::text::interval WHERE token_hash = $1", digest, interval
    )


async def rows(db_pool, user_id: int) -> int:
    return await db_pool.fetchval("SELECT count(*) FROM console_sessions WHERE user_id = $1", user_id)


async def test_a_session_is_kept_by_its_hash_and_lives_while_used(db_pool):
    user = await person(db_pool, "ops")
    opened = await open_session(db_pool, user.id, "127.0.0.1")
    assert len(opened.token) >= 43 and len(opened.csrf) >= 43 and opened.token != opened.csrf
    assert opened.token not in repr(opened) and opened.csrf not in repr(opened)
    stored = await db_pool.fetchrow("SELECT * FROM console_sessions WHERE user_id = $1", user.id)
    assert stored["token_hash"] == hashlib.sha256(opened.token.encode()).hexdigest()
    assert opened.token not in [str(value) for value in stored.values()]
    assert stored["address"] == "127.0.0.1"

    session = await session_for(db_pool, opened.token, idle_minutes=IDLE)
    assert session is not None
    assert (session.user_id, session.name, session.role, session.language, session.csrf, session.totp_enrolled) == (
        user.id, user.name, "ops", "en", opened.csrf, False,
    )  # fmt: skip
    assert opened.csrf not in repr(session)
    await age(db_pool, opened.token, "last_seen_at", "29 minutes")
    assert await session_for(db_pool, opened.token, idle_minutes=IDLE) is not None  # and touched again
    seen = await db_pool.fetchval(
        "SELECT now() - last_seen_at FROM console_sessions WHERE token_hash = $1", stored["token_hash"]
    )
    assert seen.total_seconds() < 5
    assert await session_for(db_pool, "not-a-token", idle_minutes=IDLE) is None
    assert await session_for(db_pool, "", idle_minutes=IDLE) is None


async def test_an_idle_session_ends(db_pool):
    user = await person(db_pool)
    opened = await open_session(db_pool, user.id, "127.0.0.1")
    await age(db_pool, opened.token, "last_seen_at", "31 minutes")
    assert await session_for(db_pool, opened.token, idle_minutes=IDLE) is None
    assert await rows(db_pool, user.id) == 0  # deleted
    kept = await open_session(db_pool, user.id, "127.0.0.1")
    await age(db_pool, kept.token, "last_seen_at", "31 minutes")
    assert await session_for(db_pool, kept.token, idle_minutes=60) is not None  # a longer idle time


async def test_a_session_ends_at_its_maximum_age_however_busy(db_pool):
    user = await person(db_pool)
    opened = await open_session(db_pool, user.id, "127.0.0.1")
    await age(db_pool, opened.token, "created_at", "11 hours 59 minutes")
    assert await session_for(db_pool, opened.token, idle_minutes=IDLE) is not None
    await age(db_pool, opened.token, "created_at", "2 minutes")
    assert await session_for(db_pool, opened.token, idle_minutes=IDLE) is None
    assert await rows(db_pool, user.id) == 0
    short = await open_session(db_pool, user.id, "127.0.0.1")
    await age(db_pool, short.token, "created_at", "2 hours")
    assert await session_for(db_pool, short.token, idle_minutes=IDLE, max_hours=1) is None


async def test_log_out_and_log_out_everywhere(db_pool):
    user, other = await person(db_pool), await person(db_pool)
    first, second, third = [await open_session(db_pool, user.id, f"10.0.0.{n}") for n in (1, 2, 3)]
    theirs = await open_session(db_pool, other.id, "10.0.0.9")
    assert await close_session(db_pool, first.token)
    assert not await close_session(db_pool, first.token)
    assert await session_for(db_pool, first.token, idle_minutes=IDLE) is None
    assert await session_for(db_pool, second.token, idle_minutes=IDLE) is not None
    assert await close_all_sessions(db_pool, user.id) == 2
    for opened in (second, third):
        assert await session_for(db_pool, opened.token, idle_minutes=IDLE) is None
    assert await session_for(db_pool, theirs.token, idle_minutes=IDLE) is not None
    assert await close_all_sessions(db_pool, user.id) == 0


async def test_disabling_or_resetting_a_password_ends_every_session(db_pool):
    user = await person(db_pool)
    sessions = [await open_session(db_pool, user.id, "127.0.0.1") for _ in range(2)]
    await reset_password(db_pool, user.name, "a brand new password")
    assert await rows(db_pool, user.id) == 0
    sessions = [await open_session(db_pool, user.id, "127.0.0.1") for _ in range(2)]
    await disable_user(db_pool, user.name)
    assert await rows(db_pool, user.id) == 0
    for opened in sessions:
        assert await session_for(db_pool, opened.token, idle_minutes=IDLE) is None


async def test_a_disabled_persons_session_never_answers(db_pool):
    """Even a session that escaped disable_user (opened in a race) is refused and deleted."""
    user = await person(db_pool)
    opened = await open_session(db_pool, user.id, "127.0.0.1")
    await db_pool.execute("UPDATE console_users SET disabled_at = now() WHERE id = $1", user.id)
    assert await session_for(db_pool, opened.token, idle_minutes=IDLE) is None
    assert await rows(db_pool, user.id) == 0


async def test_ended_sessions_are_deleted_when_a_new_one_opens(db_pool):
    user = await add_user(db_pool, f"tidy-{secrets.token_hex(4)}", "caseworker", "a long enough password")
    sessions = [await open_session(db_pool, user.id, "192.0.2.7") for _ in range(3)]
    await db_pool.execute(
        "UPDATE console_sessions SET last_seen_at = now() - interval '2 hours' WHERE token_hash = $1",
        token_hash(sessions[0].token),
    )
    await db_pool.execute(
        "UPDATE console_sessions SET created_at = now() - interval '13 hours' WHERE token_hash = $1",
        token_hash(sessions[1].token),
    )
    await open_session(db_pool, user.id, "192.0.2.8", idle_minutes=30)
    kept = {row["token_hash"] for row in await db_pool.fetch("SELECT token_hash FROM console_sessions")}
    assert token_hash(sessions[0].token) not in kept and token_hash(sessions[1].token) not in kept
    assert token_hash(sessions[2].token) in kept
