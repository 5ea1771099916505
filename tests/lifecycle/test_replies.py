"""A platform's emailed reply, as the inbox hands it to the link (the ``reply_received`` signal,
a classification and never the reply's words), on the time-skipping server with the real
worker, PostgreSQL, SMTP and web server: what each kind makes the link do (tada/domain/replies.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tada.domain.replies import PlatformReply, ReplyKind
from tada.domain.states import LinkState
from tada.workflows.link import LinkWorkflow
from tests.lifecycle.harness import HOST_EMAIL, PLATFORM_EMAIL, make_policy, running_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState
_REPLY_IDS = iter(range(9_000, 10_000))


def reply(kind: ReplyKind, *, confident: bool = True, bounced: str | None = None) -> PlatformReply:
    return PlatformReply(
        reply_id=next(_REPLY_IDS), kind=kind, confident=confident, rule=f"test:{kind}", matched_by="tag",
        received_at=datetime(2026, 12, 2, 9, 30, tzinfo=UTC), bounced=bounced,
    )  # fmt: skip


async def _events(h, link_id: str, kind: str) -> list[dict]:
    rows = await h.pool.fetch(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = $2 ORDER BY event_id", link_id, kind
    )
    return [row["detail"] for row in rows]


async def _recorded(h, link_id: str, kind: str, count: int = 1) -> list[dict]:
    """The link's events of ``kind`` once there are ``count`` (signals are handled at once: no
    time needs to pass, and none is skipped)."""
    for _ in range(600):
        events = await _events(h, link_id, kind)
        if len(events) >= count:
            return events
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} {kind} event(s) not recorded")


async def test_removed_with_the_page_gone_is_removed(time_env, db_pool, settings, mailbox, web):
    web.live("/reply/removed-gone")
    async with running_worker(time_env, db_pool, settings) as h:
        link = await h.start(web.url("/reply/removed-gone"))
        await h.until(link, S.AWAITING_RESPONSE)
        web.gone("/reply/removed-gone")
        await link.signal(LinkWorkflow.reply_received, reply(ReplyKind.REMOVED))
        status = await h.until(link, S.REMOVED)
        assert status.state == S.REMOVED
        [recorded] = await _events(h, link.id, "reply")
        assert recorded["kind"] == "removed" and recorded["matched_by"] == "tag" and recorded["confidence"] == "high"
        assert recorded["received_at"] == "2026-12-02T09:30:00+00:00"
        reasons = await h.pool.fetch(
            "SELECT detail->>'reason' AS reason FROM link_events WHERE link_id = $1 AND to_state = 'REMOVED'", link.id
        )
        assert [r["reason"] for r in reasons] == ["platform said removed, and the page is gone: 404 not found"]


async def test_removed_with_the_page_live_goes_to_a_caseworker(time_env, db_pool, settings, mailbox, web):
    web.live("/reply/removed-live")
    async with running_worker(time_env, db_pool, settings) as h:
        link = await h.start(web.url("/reply/removed-live"))
        await h.until(link, S.AWAITING_RESPONSE)
        await link.signal(LinkWorkflow.reply_received, reply(ReplyKind.REMOVED))
        await _recorded(h, link.id, "reply")
        waiting = await h.wait(link, lambda s: s.state == S.AWAITING_RESPONSE)
        assert waiting.next_action == "follow-up check"  # the link goes on meanwhile
        waits = await _recorded(h, link.id, "waiting")
        assert waits[-1] == {"for": "caseworker: platform says removed, page still live"}
        checks = await _events(h, link.id, "liveness")
        assert [c["verdict"] for c in checks] == ["live", "live"]  # at intake, and at the claim


async def test_a_confident_refusal_escalates_and_a_doubtful_one_waits(time_env, db_pool, settings, mailbox, web):
    web.live("/reply/rejected-a")
    web.live("/reply/rejected-b")
    async with running_worker(time_env, db_pool, settings) as h:
        sure = await h.start(web.url("/reply/rejected-a"))
        unsure = await h.start(web.url("/reply/rejected-b"))
        await h.until(sure, S.AWAITING_RESPONSE)
        await h.until(unsure, S.AWAITING_RESPONSE)
        await sure.signal(LinkWorkflow.reply_received, reply(ReplyKind.REJECTED))
        await unsure.signal(LinkWorkflow.reply_received, reply(ReplyKind.REJECTED, confident=False))
        await h.until(sure, S.ESCALATED)
        assert (S.AWAITING_RESPONSE, S.ESCALATED) in [tuple(map(S, t)) for t in await h.transitions(sure.id)]
        await h.notice_sent(sure.id, "escalation_host", HOST_EMAIL)
        [doubtful] = await _recorded(h, unsure.id, "reply")
        assert doubtful["review"] == "caseworker" and doubtful["confidence"] == "low"
        assert (await h.status(unsure)).state == S.AWAITING_RESPONSE


async def test_an_acknowledgement_is_recorded_and_nothing_else(time_env, db_pool, settings, mailbox, web):
    web.live("/reply/ack")
    async with running_worker(time_env, db_pool, settings) as h:
        link = await h.start(web.url("/reply/ack"))
        before = await h.until(link, S.AWAITING_RESPONSE)
        acknowledged = reply(ReplyKind.ACKNOWLEDGED)
        await link.signal(LinkWorkflow.reply_received, acknowledged)
        await link.signal(LinkWorkflow.reply_received, acknowledged)  # the inbox's reader restarted mid-way
        await link.signal(LinkWorkflow.reply_received, reply(ReplyKind.AUTO_REPLY))
        recorded = await _recorded(h, link.id, "reply", 2)
        await asyncio.sleep(0.5)  # had the repeat counted, it would be recorded by now
        recorded = await _events(h, link.id, "reply")
        assert [r["kind"] for r in recorded] == ["acknowledged", "auto_reply"]  # the repeat heard once
        assert all("review" not in r for r in recorded)
        after = await h.status(link)
        assert (after.state, after.next_action_at) == (before.state, before.next_action_at)


async def test_a_bounced_platform_notice_waits_for_a_new_contact(time_env, db_pool, settings, mailbox, web):
    """The relay took the notice; the platform's mail server sent it back later. The link hears
    of it from the inbox, as a delivery failure for good: no route left but a caseworker's."""
    web.live("/reply/bounce-platform")
    async with running_worker(time_env, db_pool, settings) as h:
        link = await h.start(web.url("/reply/bounce-platform"))
        await h.until(link, S.AWAITING_RESPONSE)
        await link.signal(LinkWorkflow.reply_received, reply(ReplyKind.BOUNCE, bounced=PLATFORM_EMAIL))
        status = await h.wait(link, lambda s: s.next_action.startswith("contact bounced"), timeout=60)
        assert status.state == S.FOLLOW_UP
        [failed] = await _events(h, link.id, "delivery_failed")
        assert failed == {
            "kind": "reply", "channel": "email", "code": "bounce", "where": "platform.test",
            "reason": "the recipient's mail server sent the notice back",
        }  # fmt: skip
        assert [row[1] for row in await h.notice_rows(link.id)] == [PLATFORM_EMAIL]  # never sent there again


async def test_a_bounced_escalation_goes_on_to_the_next_contact(time_env, db_pool, settings, mailbox, web):
    web.live("/reply/bounce-host")
    policy = make_policy()
    policy.timings.follow_ups = 0
    async with running_worker(time_env, db_pool, settings) as h:
        link = await h.start(web.url("/reply/bounce-host"), policy)
        await h.until(link, S.AWAITING_RESPONSE)
        await h.advance(policy.timings.follow_up_after + timedelta(minutes=1))
        await h.wait(link, lambda s: s.state == S.ESCALATED and s.next_action == "re-check after escalation")
        await link.signal(LinkWorkflow.reply_received, reply(ReplyKind.BOUNCE, bounced=HOST_EMAIL))
        status = await h.wait(link, lambda s: "host contact" in s.next_action, timeout=60)
        assert status.state == S.ESCALATED and status.escalations_sent == 0  # the bounced one never counted
        assert status.next_action.startswith("host contact bounced")
