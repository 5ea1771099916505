"""What the delivery-outcome tests share: a link to notify, its notice request, the row the
activity keeps for it, and a database trigger that makes marking a notice sent slow or
fail once (a real fault of the real database, for the moments after a send)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from tada.app.intake import open_case, start_link_row
from tada.domain.models import NoticeBatch, NoticeRequest
from tada.domain.states import Channel, NoticeKind
from tada.domain.urls import normalise_url
from tests.support.crypto import suite_crypto


async def new_link(pool: asyncpg.Pool, url: str = "https://site.test/watch?v=1") -> tuple[str, str]:
    """(case_id, link_id) of a fresh link in its own case."""
    case_id = await open_case(pool, age=20, minimum_age=16, signpost="", reference="CASE-REF", crypto=suite_crypto())
    link_id = await start_link_row(
        pool, case_id=case_id, url=normalise_url(url), platform="site.test", category="other"
    )
    return case_id, link_id


def notice_batch(case_id: str, link_id: str, **changes: object) -> NoticeBatch:
    """A batch of one ``notice_request``."""
    return NoticeBatch(items=[notice_request(case_id, link_id, **changes)])


def notice_request(case_id: str, link_id: str, **changes: object) -> NoticeRequest:
    """One initial notice by email to abuse@site.test (``changes``: any NoticeRequest field)."""
    request = NoticeRequest(
        notice_key=f"{link_id}:1:1:initial",
        link_id=link_id,
        case_id=case_id,
        cycle=1,
        kind=NoticeKind.INITIAL,
        channel=Channel.EMAIL,
        recipient="abuse@site.test",
        platform="site.test",
    )
    return request.model_copy(update=changes)


async def notice_status(pool: asyncpg.Pool, link_id: str) -> str | None:
    """The notice row's status ('pending', 'sent'), or None when none was recorded."""
    return await pool.fetchval("SELECT status FROM notices WHERE link_id = $1", link_id)


@asynccontextmanager
async def marking_sent(
    pool: asyncpg.Pool, link_id: str, *, sleep: float = 0.0, fail_once: bool = False
) -> AsyncIterator[None]:
    """While inside: marking this link's notice sent first sleeps ``sleep`` seconds in the
    database, and with ``fail_once`` the first such update fails (a sequence counts, outside
    the failed transaction)."""
    name = f"tada_test_{uuid.uuid4().hex[:12]}"
    fail = f"IF nextval('{name}') = 1 THEN RAISE EXCEPTION 'marking refused once'; END IF;" if fail_once else ""
    await pool.execute(f"CREATE SEQUENCE {name}")
    await pool.execute(
        f"""
        CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_sleep({float(sleep)});
            {fail}
            RETURN NEW;
        END;
        $$
        """
    )
    await pool.execute(
        f"CREATE TRIGGER {name} BEFORE UPDATE ON notices FOR EACH ROW "
        f"WHEN (NEW.status = 'sent' AND OLD.status <> 'sent' AND NEW.link_id = '{link_id}') EXECUTE FUNCTION {name}()"
    )
    try:
        yield
    finally:
        await pool.execute(f"DROP TRIGGER {name} ON notices")
        await pool.execute(f"DROP FUNCTION {name}()")
        await pool.execute(f"DROP SEQUENCE {name}")
