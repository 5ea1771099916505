"""Every delivery ends in a recorded outcome, and nothing goes out after a withdrawal.

Real SMTP servers on 127.0.0.1 that refuse (550), fail for a while (451) or hold their DATA
phase (a slow relay); the suite's web server as a form that answers 403; the time-skipping
server and real PostgreSQL.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from tada.domain.models import EscalationContact
from tada.domain.states import Channel, Escalation, LinkState
from tada.workflows.link import LinkWorkflow
from tests.lifecycle.harness import HOST_EMAIL, PLATFORM_EMAIL, make_policy, running_worker
from tests.support.smtp import ScriptedSmtp

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState
NO_SUCH_MAILBOX = "550 5.1.1 <{address}>: no such mailbox"


class RefusingSmtp(ScriptedSmtp):
    """Refuses the addresses in ``refused`` with a 550; delivers the others."""

    def __init__(self, *refused: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.refused = set(refused)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802
        if address in self.refused:
            return NO_SUCH_MAILBOX.format(address=address)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@asynccontextmanager
async def relay(settings, smtp: ScriptedSmtp):
    with smtp:
        yield settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port})


async def _events(db_pool, link_id: str, kind: str) -> list[dict]:
    rows = await db_pool.fetch(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = $2 ORDER BY event_id", link_id, kind
    )
    return [dict(row["detail"]) for row in rows]


def _recipients(smtp: ScriptedSmtp) -> list[str]:
    return [address for mail in smtp.delivered for address in mail.rcpt_tos]


async def test_a_bounced_platform_address_falls_back_to_the_manual_route(time_env, db_pool, settings, web):
    web.live("/a")
    policy = make_policy(manual_instructions="the platform's report page")
    async with relay(settings, RefusingSmtp(PLATFORM_EMAIL)) as smtp_settings:
        async with running_worker(time_env, db_pool, smtp_settings) as h:
            handle = await h.start(web.url("/a"), policy)
            status = await h.wait(handle, lambda s: s.next_action.startswith("file initial notice by hand"))
            assert status.state == S.REPORTED
            [failed] = await _events(db_pool, handle.id, "delivery_failed")
            assert failed == {
                "kind": "initial",
                "channel": "email",
                "code": "550",
                "where": "platform.test",
                "reason": failed["reason"],
            }
            assert PLATFORM_EMAIL not in failed["reason"]
            await handle.signal(LinkWorkflow.confirm_filed)
            status = await h.until(handle, S.AWAITING_RESPONSE)
            assert status.notices_sent == 1


async def test_a_bounced_platform_address_waits_visibly_for_a_new_contact(time_env, db_pool, settings, web):
    web.live("/b")
    smtp = RefusingSmtp(PLATFORM_EMAIL)
    async with relay(settings, smtp) as smtp_settings, running_worker(time_env, db_pool, smtp_settings) as h:
        handle = await h.start(web.url("/b"))
        status = await h.wait(handle, lambda s: s.next_action.startswith("contact bounced"))
        assert status.state == S.REPORTED
        connections = smtp.connections
        await h.advance(timedelta(days=3))  # a daily reminder, never a retry of the dead address
        await asyncio.sleep(0.5)
        assert smtp.connections == connections
        assert (await h.status(handle)).next_action.startswith("contact bounced")
        new = EscalationContact(email="reports@other.test", kind=Escalation.ADMIN)
        await handle.signal(LinkWorkflow.escalate, new)
        await h.until(handle, S.AWAITING_RESPONSE)
        assert _recipients(smtp) == ["reports@other.test"]
        await h.advance(timedelta(days=2, minutes=5))  # the follow-up goes to the new address too
        await h.wait(handle, lambda s: s.follow_ups_sent == 1 and not s.next_action.startswith("send"))
        assert _recipients(smtp) == ["reports@other.test", "reports@other.test"]


async def test_a_bounced_escalation_goes_to_the_next_contact(time_env, db_pool, settings, web):
    web.live("/c")
    policy = make_policy()
    policy.timings.follow_ups = 0
    smtp = RefusingSmtp("abuse@dead-host.test")
    async with relay(settings, smtp) as smtp_settings, running_worker(time_env, db_pool, smtp_settings) as h:
        handle = await h.start(web.url("/c"), policy)
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(
            LinkWorkflow.escalate, EscalationContact(email="abuse@dead-host.test", kind=Escalation.HOST)
        )
        status = await h.wait(handle, lambda s: s.escalations_sent == 1 and not s.next_action.startswith("send"))
        assert status.state == S.ESCALATED
        assert _recipients(smtp) == [PLATFORM_EMAIL, HOST_EMAIL]  # the registry's host contact, next
        [failed] = await _events(db_pool, handle.id, "delivery_failed")
        assert (failed["kind"], failed["where"]) == ("escalation_host", "dead-host.test")


async def test_a_form_that_answers_403_is_a_permanent_failure(time_env, db_pool, settings, web):
    web.live("/d")
    web.gone("/report-form", status=403)
    policy = make_policy(channel=Channel.FORM, email=None, form_url=web.url("/report-form"))
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/d"), policy)
        await h.wait(handle, lambda s: s.next_action.startswith("contact bounced"))
        [failed] = await _events(db_pool, handle.id, "delivery_failed")
        assert (failed["channel"], failed["code"], failed["where"]) == ("form", "403", "127.0.0.1")
        assert len(web.posts) == 1  # not retried


async def test_a_temporary_failure_is_retried_until_it_goes_out(time_env, db_pool, settings, web):
    web.live("/e")
    smtp = ScriptedSmtp(rcpt_reply="451 4.3.0 try again later")
    async with relay(settings, smtp) as smtp_settings, running_worker(time_env, db_pool, smtp_settings) as h:
        handle = await h.start(web.url("/e"))
        while smtp.connections < 2:
            await asyncio.sleep(0.2)
        smtp.rcpt_reply = None  # the relay recovers
        await h.until(handle, S.AWAITING_RESPONSE, timeout=60)
        assert _recipients(smtp) == [PLATFORM_EMAIL]
        assert await _events(db_pool, handle.id, "delivery_failed") == []


@pytest.mark.parametrize("window", [timedelta(0), timedelta(seconds=1)], ids=["direct", "batched"])
async def test_a_withdrawal_stops_a_send_in_flight(time_env, db_pool, settings, web, window):
    web.live("/f")
    policy = make_policy()
    policy.timings.batch_window = window
    smtp = ScriptedSmtp(hold_data=8)
    async with relay(settings, smtp) as smtp_settings, running_worker(time_env, db_pool, smtp_settings) as h:
        handle = await h.start(web.url("/f"), policy)
        async with time_env.time_skipping_unlocked():  # the batch window passes; the relay holds DATA
            await asyncio.to_thread(smtp.data_started.wait, 30)
        await handle.signal(LinkWorkflow.withdraw, "victim asked")
        result = await h.result(handle)
        assert result.state == S.WITHDRAWN
        assert result.notices_sent == 0
        await asyncio.sleep(smtp.hold_data + 1)  # long enough for a send that was not stopped to finish
        assert smtp.delivered == []
        assert await _events(db_pool, handle.id, "notice") == []
        assert await h.notice_rows(handle.id) in ([], [("initial", PLATFORM_EMAIL, "pending")])


async def test_a_pause_stops_a_send_in_flight_and_the_resume_sends_it_once(time_env, db_pool, settings, web):
    web.live("/g")
    smtp = ScriptedSmtp(hold_data=5)
    async with relay(settings, smtp) as smtp_settings, running_worker(time_env, db_pool, smtp_settings) as h:
        handle = await h.start(web.url("/g"))
        await asyncio.to_thread(smtp.data_started.wait, 30)
        await handle.signal(LinkWorkflow.pause)
        await h.wait(handle, lambda s: s.paused)
        await asyncio.sleep(smtp.hold_data + 1)
        assert smtp.delivered == []
        smtp.hold_data = 0
        await handle.signal(LinkWorkflow.resume)
        await h.until(handle, S.AWAITING_RESPONSE, timeout=60)
        assert _recipients(smtp) == [PLATFORM_EMAIL]


async def test_a_withdrawn_link_leaves_its_batch_and_the_others_go_out(time_env, db_pool, settings, web):
    web.live("/h1")
    web.live("/h2")
    policy = make_policy()
    policy.timings.batch_window = timedelta(seconds=1)
    smtp = ScriptedSmtp(hold_data=6)
    async with relay(settings, smtp) as smtp_settings, running_worker(time_env, db_pool, smtp_settings) as h:
        case_id = await h.open_case()
        kept = await h.start(web.url("/h1"), policy, case_id=case_id)
        withdrawn = await h.start(web.url("/h2"), policy, case_id=case_id)
        async with time_env.time_skipping_unlocked():
            await asyncio.to_thread(smtp.data_started.wait, 30)
        smtp.hold_data = 0
        await withdrawn.signal(LinkWorkflow.withdraw, "victim asked")
        assert (await h.result(withdrawn)).state == S.WITHDRAWN
        status = await h.until(kept, S.AWAITING_RESPONSE, timeout=60)
        assert status.notices_sent == 1
        [mail] = smtp.delivered
        assert web.url("/h1") in mail.text and web.url("/h2") not in mail.text
        recorded = await db_pool.fetchval("SELECT message_id FROM notices WHERE link_id = $1", kept.id)
        assert recorded == mail.message["Message-ID"]  # the message that went out, not the one cut
