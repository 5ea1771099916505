"""A notice that keeps failing for a temporary reason is not retried silently: once it has been
failing for TADA_DELIVERY_WARN_AFTER (on Temporal's clock: from the send's first scheduling to
the current attempt), each of its links records delivery_delayed, once, and shows "delivery
delayed". A real relay on 127.0.0.1 that answers 451; real PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from tada.activities.delivery_delays import DelayedDeliveries
from tada.activities.notices import TEMPORARY_FAILURE, NoticeActivities, NotifierIdentity
from tada.clients.mailer import Mailer, SmtpConfig
from tada.clients.rate_limit import RecipientRateLimit
from tests.support.delivery import new_link, notice_batch
from tests.support.smtp import ScriptedSmtp

pytestmark = pytest.mark.asyncio(loop_scope="session")

IDENTITY = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org", allow_private_targets=True)
WARN_AFTER = timedelta(hours=1)


async def _attempt(db_pool, data_crypto, batch, port: int, failing_for: timedelta) -> ApplicationError:
    environment = ActivityEnvironment()
    first = environment.info.scheduled_time
    environment.info = dataclasses.replace(environment.info, current_attempt_scheduled_time=first + failing_for)
    async with httpx.AsyncClient(timeout=5) as http:
        notices = NoticeActivities(
            db_pool,
            Mailer(SmtpConfig(host="127.0.0.1", port=port, timeout=3)),
            http,
            IDENTITY,
            RecipientRateLimit(db_pool),
            data_crypto,
            delays=DelayedDeliveries(db_pool, WARN_AFTER),
        )
        with pytest.raises(ApplicationError) as failed:
            await environment.run(notices.send_batch, batch)
    return failed.value


async def _delays(db_pool, link_id: str) -> list[dict]:
    rows = await db_pool.fetch(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'delivery_delayed'", link_id
    )
    return [dict(row["detail"]) for row in rows]


async def test_a_notice_failing_for_longer_than_the_warning_time_shows_as_delayed(db_pool, data_crypto):
    case_id, link_id = await new_link(db_pool)
    batch = notice_batch(case_id, link_id)
    with ScriptedSmtp(rcpt_reply="451 4.3.0 <{address}> try again later") as smtp:
        early = await _attempt(db_pool, data_crypto, batch, smtp.port, timedelta(minutes=20))
        assert early.type == TEMPORARY_FAILURE and not early.non_retryable
        assert await _delays(db_pool, link_id) == []  # not yet: twenty minutes of retrying is normal
        for failing_for in (timedelta(hours=1, minutes=5), timedelta(hours=3)):
            await _attempt(db_pool, data_crypto, batch, smtp.port, failing_for)
    [delay] = await _delays(db_pool, link_id)  # once, however many attempts after the hour
    assert (delay["code"], delay["where"], delay["failing_for"]) == ("451", "site.test", "1h5m")
    assert "abuse@" not in str(delay)
    next_action = await db_pool.fetchval("SELECT next_action FROM links WHERE link_id = $1", link_id)
    assert next_action.startswith("delivery delayed: site.test answered 451")
