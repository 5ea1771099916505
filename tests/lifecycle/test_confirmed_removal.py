"""A "gone" is believed only when a second check, ``confirm_gone_after`` later, agrees.

A 404 seen once (a site's hiccup, a deploy, a page that cloaks) never closes a case: the
link waits for the confirming check, and only when that one also says gone does it move to
REMOVED. Both checks are in the timeline. Real SMTP, HTTP and PostgreSQL on the
time-skipping server.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tada.domain.models import PlatformResponse
from tada.domain.states import LinkState, ResponseOutcome
from tada.workflows.link import LinkWorkflow
from tests.lifecycle.harness import PLATFORM_EMAIL, make_policy, running_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState
CONFIRM = timedelta(minutes=30)
CONFIRMING = "confirm removal (second check)"


def _policy():
    policy = make_policy()
    policy.timings.confirm_gone_after = CONFIRM
    return policy


async def _checks(db_pool, link_id: str) -> list[dict]:
    rows = await db_pool.fetch(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'liveness' ORDER BY event_id", link_id
    )
    return [dict(row["detail"]) for row in rows]


async def _waiting_to_confirm(h, handle):
    return await h.wait(handle, lambda s: s.next_action == CONFIRMING)


async def test_gone_twice_is_removed_without_a_notice(time_env, db_pool, settings, mailbox, web):
    web.gone("/gone")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/gone"), _policy())
        waiting = await _waiting_to_confirm(h, handle)
        assert waiting.state == S.REPORTED  # not REMOVED on the first 404
        assert web.hits["/gone"] == 1
        await h.advance(CONFIRM + timedelta(minutes=1))
        status = await h.until(handle, S.REMOVED)
        assert status.notices_sent == 0
        assert mailbox.messages == []
        first, second = (await _checks(db_pool, handle.id))[:2]
        assert first["verdict"] == second["verdict"] == "gone"
        assert second["check"] == "confirming" and "check" not in first
        reason = await db_pool.fetchval(
            "SELECT detail->>'reason' FROM link_events WHERE link_id = $1 AND to_state = 'REMOVED'", handle.id
        )
        assert reason == "already gone: 404 not found, confirmed 30m later"


async def test_gone_then_live_goes_on_as_unknown_and_the_notice_goes_out(time_env, db_pool, settings, mailbox, web):
    web.gone("/flaky")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/flaky"), _policy())
        await _waiting_to_confirm(h, handle)
        web.live("/flaky")  # the 404 was a hiccup
        await h.advance(CONFIRM + timedelta(minutes=1))
        status = await h.until(handle, S.AWAITING_RESPONSE)
        assert status.notices_sent == 1
        assert [m["To"] for m in mailbox.messages] == [PLATFORM_EMAIL]
        checks = await _checks(db_pool, handle.id)
        assert [c["verdict"] for c in checks] == ["gone", "live"]
        assert await h.transitions(handle.id) == [("REPORTED", "AWAITING_RESPONSE")]


async def test_a_follow_up_check_that_sees_gone_waits_for_the_confirmation(time_env, db_pool, settings, mailbox, web):
    web.live("/later")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/later"), _policy())
        await h.until(handle, S.AWAITING_RESPONSE)
        web.gone("/later", status=410)
        await h.advance(timedelta(days=2, minutes=5))
        waiting = await _waiting_to_confirm(h, handle)
        assert waiting.state == S.AWAITING_RESPONSE
        await h.advance(CONFIRM + timedelta(minutes=1))
        await h.until(handle, S.REMOVED)
        assert len(mailbox.messages) == 1  # no follow-up went out meanwhile
        assert [c["verdict"] for c in await _checks(db_pool, handle.id)][:3] == ["live", "gone", "gone"]


async def test_a_caseworker_can_act_while_the_confirmation_waits(time_env, db_pool, settings, mailbox, web):
    web.gone("/told")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/told"), _policy())
        await _waiting_to_confirm(h, handle)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REMOVED))
        status = await h.until(handle, S.REMOVED)
        assert status.notices_sent == 0
        assert web.hits["/told"] == 1  # the platform's word: no second check needed

        web.gone("/withdrawn")
        other = await h.start(web.url("/withdrawn"), _policy())
        await _waiting_to_confirm(h, other)
        await other.signal(LinkWorkflow.withdraw, "victim asked")
        assert (await h.result(other)).state == S.WITHDRAWN


async def test_a_caseworker_recheck_runs_the_confirming_check_at_once(time_env, db_pool, settings, mailbox, web):
    web.gone("/now")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/now"), _policy())
        await _waiting_to_confirm(h, handle)
        await handle.signal(LinkWorkflow.recheck)
        await h.until(handle, S.REMOVED)
        assert web.hits["/now"] == 2


async def test_zero_turns_the_confirmation_off(time_env, db_pool, settings, mailbox, web):
    web.gone("/off")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/off"), make_policy())  # the harness's policy: confirm_gone_after 0s
        await h.until(handle, S.REMOVED)
        assert web.hits["/off"] == 1
