"""Legal clocks at the edges: a rejection before the deadline, a removal after it, a paused clock
that still looks daily, a manual platform's notice under a law (checked before the filing is asked
for). The time-skipping server, real SMTP, HTTP and PostgreSQL; the shipped registry's laws."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tada.app.case_authorisation import record_authorisation
from tada.domain.models import PlatformResponse
from tada.domain.states import Channel, Escalation, LinkState, ResponseOutcome
from tada.workflows.link import CLOCK_PAUSED, LinkWorkflow
from tests.lifecycle.harness import running_worker
from tests.lifecycle.test_legal_clocks import HOUR, _case, _clock, _policy

pytestmark = pytest.mark.asyncio(loop_scope="session")


S = LinkState


async def test_a_rejection_before_the_deadline_still_ends_missed_and_goes_to_the_regulator(
    time_env, db_pool, settings, mailbox, web
):
    """The platform rejects at once, and there is nobody above it: the link is UNRESOLVED before
    the deadline, re-checked at the deadline's check (not 30 days on); up then: missed, and the
    regulator's complaint follows."""
    web.live("/clock/rejected")
    async with running_worker(time_env, db_pool, settings) as h:
        policy = _policy(escalation=Escalation.NONE, escalation_email=None)
        handle = await h.start(web.url("/clock/rejected"), policy, case_id=await _case(db_pool))
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REJECTED))
        unresolved = await h.until(handle, S.UNRESOLVED)
        assert unresolved.clock is not None and unresolved.next_action_at == unresolved.clock.due_at + HOUR * 2
        await h.advance(timedelta(hours=51))
        waiting = await h.wait(handle, lambda s: s.next_action.startswith("file regulator notice by hand"))
        assert waiting.clock is not None and waiting.clock.ended == "missed" and waiting.state == S.UNRESOLVED
        await handle.signal(LinkWorkflow.confirm_filed)
        await h.wait(handle, lambda s: s.next_action == "unresolved re-check")
        assert [c["step"] for c in await _clock(db_pool, handle.id)] == ["started", "missed"]


async def test_a_late_removal_is_missed_not_met(time_env, db_pool, settings, mailbox, web):
    web.live("/clock/late-removal")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/clock/late-removal"), _policy(), case_id=await _case(db_pool))
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REJECTED))
        await h.until(handle, S.ESCALATED)  # to the host, before the deadline's check ever ran
        await h.advance(timedelta(hours=60))
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.REMOVED))
        await h.until(handle, S.REMOVED)
        assert [c["step"] for c in await _clock(db_pool, handle.id)] == ["started", "missed"]


async def test_a_paused_clock_still_looks_daily_and_a_removal_meanwhile_is_met(
    time_env, db_pool, settings, mailbox, web
):
    web.live("/clock/paused-gone")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/clock/paused-gone"), _policy(), case_id=await _case(db_pool))
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.NEEDS_INFO))
        paused = await h.wait(handle, lambda s: s.next_action == CLOCK_PAUSED)
        assert paused.next_action_at is not None  # a daily look, never a link without a timer
        await h.advance(timedelta(days=1, hours=1))
        assert (await h.status(handle)).next_action == CLOCK_PAUSED and len(mailbox.messages) == 1
        web.gone("/clock/paused-gone")
        await h.advance(timedelta(days=1))
        await h.until(handle, S.REMOVED)
        assert [c["step"] for c in await _clock(db_pool, handle.id)] == ["started", "paused", "met"]


async def test_a_manual_platforms_notice_under_a_law_waits_for_the_authorisation_too(
    time_env, db_pool, settings, mailbox, web
):
    """X and Discord are filed by hand: the elements are checked before the filing is asked for."""
    web.live("/clock/manual")
    policy = _policy(channel=Channel.MANUAL, email=None, manual_instructions="the platform's report form")
    async with running_worker(time_env, db_pool, settings) as h:
        case_id = await _case(db_pool, authorised=False)
        handle = await h.start(web.url("/clock/manual"), policy, case_id=case_id)
        waiting = await h.wait(handle, lambda s: s.next_action.startswith("notice not sent"))
        assert "authorisation" in waiting.next_action
        await handle.signal(LinkWorkflow.confirm_filed)  # not asked for: it changes nothing
        await record_authorisation(db_pool, time_env.client, case_id, authorised_on=date(2026, 6, 2))
        filing = await h.wait(handle, lambda s: s.next_action.startswith("file initial notice by hand"))
        assert filing.state == S.REPORTED
        wait = await db_pool.fetchval(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'waiting' ORDER BY event_id DESC LIMIT 1",
            handle.id,
        )
        assert wait == {"for": "manual filing", "kind": "initial", "laws": "take_it_down_act"}
        await handle.signal(LinkWorkflow.confirm_filed)
        await h.until(handle, S.AWAITING_RESPONSE)
        assert [c["step"] for c in await _clock(db_pool, handle.id)] == ["started"]  # from the filing
