"""Whole lives of one link on the time-skipping server, with real SMTP, HTTP and PostgreSQL.

Each test asserts the exact notices that reached the SMTP server and the
transitions written to PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tada.app.readmodel import link_timeline
from tada.domain.models import EscalationContact, PlatformResponse
from tada.domain.states import Channel, Escalation, LinkState, ResponseOutcome
from tada.workflows.link import LinkWorkflow
from tests.lifecycle.harness import HOST_EMAIL, PLATFORM_EMAIL, make_policy, running_worker
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState
DAY = timedelta(days=1)


def sent(mailbox) -> list[tuple[str, str]]:
    """(notice kind, recipient) of every email received, in order."""
    return [(m["X-Tada-Notice-Kind"], m["To"]) for m in mailbox.messages]


async def settle() -> None:
    await asyncio.sleep(0.3)


async def test_already_gone_is_removed_without_any_notice(time_env, db_pool, settings, mailbox, web):
    web.gone("/gone")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/gone"))
        result = await h.result(handle)  # re-checks at 1 d and 7 d, then the watch ends
        assert result.state == S.REMOVED
        assert result.notices_sent == 0
        assert sent(mailbox) == []
        assert await h.transitions(handle.id) == [("REPORTED", "REMOVED")]
        assert web.hits["/gone"] == 3  # intake check + two repost checks


async def test_removed_after_the_first_notice(time_env, db_pool, settings, mailbox, web):
    web.live("/a")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/a"))
        await h.until(handle, S.AWAITING_RESPONSE)
        assert sent(mailbox) == [("initial", PLATFORM_EMAIL)]
        message = mailbox.messages[0]
        assert web.url("/a") in message.get_body(("plain",)).get_content()
        assert "REF-1" in message["Subject"]
        web.gone("/a")
        await h.advance(2 * DAY + timedelta(hours=1))
        await h.until(handle, S.REMOVED)
        assert sent(mailbox) == [("initial", PLATFORM_EMAIL)]
        assert await h.transitions(handle.id) == [
            ("REPORTED", "AWAITING_RESPONSE"),
            ("AWAITING_RESPONSE", "REMOVED"),
        ]
        assert await h.notice_rows(handle.id) == [("initial", PLATFORM_EMAIL, "sent")]


async def test_removed_after_the_second_follow_up(time_env, db_pool, settings, mailbox, web):
    web.live("/b")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/b"))
        await h.until(handle, S.AWAITING_RESPONSE)
        for number in (1, 2):
            await h.advance(2 * DAY + timedelta(minutes=5))
            await _until_notices(h, handle, 1 + number)
        web.soft_removed("/b")  # the platform's own "removed" page, answered with 200
        await h.advance(2 * DAY + timedelta(minutes=5))
        status = await h.until(handle, S.REMOVED)
        assert status.follow_ups_sent == 2
        assert sent(mailbox) == [
            ("initial", PLATFORM_EMAIL),
            ("follow_up", PLATFORM_EMAIL),
            ("follow_up", PLATFORM_EMAIL),
        ]
        assert await h.transitions(handle.id) == [
            ("REPORTED", "AWAITING_RESPONSE"),
            ("AWAITING_RESPONSE", "FOLLOW_UP"),
            ("FOLLOW_UP", "AWAITING_RESPONSE"),
            ("AWAITING_RESPONSE", "FOLLOW_UP"),
            ("FOLLOW_UP", "AWAITING_RESPONSE"),
            ("AWAITING_RESPONSE", "REMOVED"),
        ]


async def test_rejected_is_escalated_to_the_host_then_removed(time_env, db_pool, settings, mailbox, web):
    web.live("/c")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/c"))
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REJECTED, note="no"))
        await h.wait(handle, lambda s: s.state == S.ESCALATED and s.escalations_sent == 1)
        assert sent(mailbox) == [("initial", PLATFORM_EMAIL), ("escalation_host", HOST_EMAIL)]
        web.gone("/c", status=410)
        await h.advance(7 * DAY + timedelta(minutes=5))
        await h.until(handle, S.REMOVED)
        assert len(mailbox.messages) == 2
        assert await h.transitions(handle.id) == [
            ("REPORTED", "AWAITING_RESPONSE"),
            ("AWAITING_RESPONSE", "ESCALATED"),
            ("ESCALATED", "REMOVED"),
        ]
        response = await db_pool.fetchrow(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'response'", handle.id
        )
        assert response["detail"]["outcome"] == "rejected"
        assert response["detail"]["note"].startswith("tada1:")  # sealed at rest with the case key
        timeline = await link_timeline(db_pool, handle.id, suite_crypto())
        [opened] = [event.detail for event in timeline.events if event.kind == "response"]
        assert opened == {"outcome": "rejected", "note": "no"}


async def test_everything_exhausted_is_unresolved_then_removed_when_gone(time_env, db_pool, settings, mailbox, web):
    web.live("/d")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/d"))
        await h.until(handle, S.AWAITING_RESPONSE)
        for expected in (2, 3):  # two follow-ups
            await h.advance(2 * DAY + timedelta(minutes=5))
            await _until_notices(h, handle, expected)
        await h.advance(2 * DAY + timedelta(minutes=5))  # follow-ups used up: escalation 1
        await _until_notices(h, handle, 4)
        await h.advance(7 * DAY + timedelta(minutes=5))  # still live: escalation 2
        await _until_notices(h, handle, 5)
        await h.advance(7 * DAY + timedelta(minutes=5))  # still live: unresolved
        await h.until(handle, S.UNRESOLVED)
        await h.advance(30 * DAY + timedelta(minutes=5))  # monthly re-check, still live
        await settle()
        assert (await h.status(handle)).state == S.UNRESOLVED
        web.gone("/d")
        await h.advance(30 * DAY + timedelta(minutes=5))
        await h.until(handle, S.REMOVED)
        assert sent(mailbox) == [
            ("initial", PLATFORM_EMAIL),
            ("follow_up", PLATFORM_EMAIL),
            ("follow_up", PLATFORM_EMAIL),
            ("escalation_host", HOST_EMAIL),
            ("escalation_host", HOST_EMAIL),
        ]
        moves = await h.transitions(handle.id)
        assert moves[-3:] == [
            ("AWAITING_RESPONSE", "ESCALATED"),
            ("ESCALATED", "UNRESOLVED"),
            ("UNRESOLVED", "REMOVED"),
        ]


async def test_removed_then_reposted_starts_a_second_cycle(time_env, db_pool, settings, mailbox, web):
    web.live("/e")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/e"))
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REMOVED))
        await h.until(handle, S.REMOVED)
        # still live (the caseworker recorded the platform's word): the 1-day re-check sees a repost
        await h.advance(DAY + timedelta(minutes=5))
        status = await h.until(handle, S.AWAITING_RESPONSE)
        assert status.cycle == 2
        assert sent(mailbox) == [("initial", PLATFORM_EMAIL), ("repost", PLATFORM_EMAIL)]
        assert "posted again" in mailbox.messages[1].get_body(("plain",)).get_content()
        web.gone("/e")
        await h.advance(2 * DAY + timedelta(minutes=5))
        status = await h.until(handle, S.REMOVED)
        assert status.cycle == 2
        assert await h.transitions(handle.id) == [
            ("REPORTED", "AWAITING_RESPONSE"),
            ("AWAITING_RESPONSE", "REMOVED"),
            ("REMOVED", "REPORTED"),
            ("REPORTED", "AWAITING_RESPONSE"),
            ("AWAITING_RESPONSE", "REMOVED"),
        ]
        cycles = await db_pool.fetch(
            "SELECT DISTINCT cycle FROM link_events WHERE link_id = $1 ORDER BY cycle", handle.id
        )
        assert [r["cycle"] for r in cycles] == [1, 2]


async def test_withdraw_mid_way_sends_nothing_more(time_env, db_pool, settings, mailbox, web):
    web.live("/f")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/f"))
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.withdraw, "victim asked to stop")
        result = await h.result(handle)
        assert result.state == S.WITHDRAWN
        await h.advance(30 * DAY)
        await settle()
        assert sent(mailbox) == [("initial", PLATFORM_EMAIL)]
        assert await h.transitions(handle.id) == [
            ("REPORTED", "AWAITING_RESPONSE"),
            ("AWAITING_RESPONSE", "WITHDRAWN"),
        ]
        state = await db_pool.fetchval("SELECT state FROM links WHERE link_id = $1", handle.id)
        assert state == "WITHDRAWN"


async def test_pause_holds_the_timers(time_env, db_pool, settings, mailbox, web):
    web.live("/g")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/g"))
        await h.until(handle, S.AWAITING_RESPONSE)
        await h.advance(DAY)  # one of the two days before the follow-up has passed
        await handle.signal(LinkWorkflow.pause)
        await _until(h, handle, lambda s: s.paused)
        await h.advance(10 * DAY)  # paused: no follow-up however long it takes
        await settle()
        assert len(mailbox.messages) == 1
        await handle.signal(LinkWorkflow.resume)
        status = await _until(h, handle, lambda s: not s.paused)
        assert status.next_action == "follow-up check"
        await h.advance(DAY - timedelta(hours=2))  # the remaining day has not run out yet
        await settle()
        assert len(mailbox.messages) == 1
        await h.advance(timedelta(hours=3))
        await _until_notices(h, handle, 2)
        assert sent(mailbox)[-1] == ("follow_up", PLATFORM_EMAIL)
        actions = await db_pool.fetch(
            "SELECT detail->>'action' AS action FROM link_events WHERE link_id = $1 AND kind = 'caseworker' "
            "ORDER BY event_id",
            handle.id,
        )
        assert [r["action"] for r in actions] == ["pause", "resume"]


async def test_admin_escalation_waits_visibly_for_a_contact(time_env, db_pool, settings, mailbox, web):
    web.live("/h")
    policy = make_policy(escalation=Escalation.ADMIN, escalation_email=None)
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/h"), policy)
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REJECTED))
        status = await _until(h, handle, lambda s: s.next_action.startswith("needs admin contact"))
        assert status.state == S.ESCALATED and not status.escalation_contact_known
        row = await db_pool.fetchrow("SELECT state, next_action FROM links WHERE link_id = $1", handle.id)
        assert row["state"] == "ESCALATED" and row["next_action"].startswith("needs admin contact")
        await handle.signal(LinkWorkflow.escalate, EscalationContact(email="admin@channel.test", kind=Escalation.ADMIN))
        await _until_notices(h, handle, 2)
        assert sent(mailbox) == [("initial", PLATFORM_EMAIL), ("escalation_admin", "admin@channel.test")]


async def test_manual_channel_waits_for_the_caseworker_to_file(time_env, db_pool, settings, mailbox, web):
    web.live("/i")
    policy = make_policy(channel=Channel.MANUAL, email=None, manual_instructions="the platform's NCII form")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/i"), policy)
        status = await _until(h, handle, lambda s: s.next_action.startswith("file initial notice by hand"))
        assert status.state == S.REPORTED
        await h.advance(5 * DAY)  # nothing happens until the caseworker files it
        await settle()
        assert (await h.status(handle)).state == S.REPORTED
        await handle.signal(LinkWorkflow.confirm_filed)
        status = await h.until(handle, S.AWAITING_RESPONSE)
        assert status.notices_sent == 1
        assert mailbox.messages == []


async def test_form_channel_posts_the_platforms_form(time_env, db_pool, settings, mailbox, web):
    web.live("/j")
    web.live("/report")  # the form endpoint answers 200
    policy = make_policy(
        channel=Channel.FORM,
        email=None,
        form_url=web.url("/report"),
        form_fields={"link": "{url}", "reporter": "{notifier_name}", "ref": "{case_reference}"},
    )
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/j"), policy)
        await h.until(handle, S.AWAITING_RESPONSE)
        assert len(web.posts) == 1
        path, fields = web.posts[0]
        assert path == "/report"
        assert fields == {"link": [web.url("/j")], "reporter": [settings.notifier_name], "ref": ["REF-1"]}
        assert mailbox.messages == []


async def _until(h, handle, predicate):
    return await h.wait(handle, predicate)


async def _until_notices(h, handle, count: int):
    return await h.wait(handle, lambda s: s.notices_sent >= count and not s.next_action.startswith("send"))
