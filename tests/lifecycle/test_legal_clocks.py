"""Legal clocks: a platform under a law with a deadline is followed up when the deadline (and its
grace) has passed, not after the registry's generic follow_up_after; the clock pauses while the
platform waits on the victim; a missed deadline through the whole ladder brings a complaint to the
regulator; a notice whose law needs what the case lacks is refused, naming it; the copyright
route only with its record. Real SMTP, HTTP and PostgreSQL on the time-skipping server, the
shipped registry's laws (the notice activity words them from it).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tada.app.case_authorisation import record_authorisation
from tada.app.intake import open_case
from tada.app.readmodel import find_link
from tada.domain.laws import LawTerms
from tada.domain.models import PlatformResponse
from tada.domain.states import Escalation, LinkState, ResponseOutcome
from tada.workflows.link import CLOCK_PAUSED, LinkWorkflow
from tests.lifecycle.harness import PLATFORM_EMAIL, make_policy, running_worker
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")


S = LinkState
TIDA = LawTerms(
    id="take_it_down_act", name="TAKE IT DOWN Act", response_deadline=timedelta(hours=48),
    deadline_grace=timedelta(hours=2), regulator="Federal Trade Commission",
    regulator_url="https://takeitdown.ftc.gov/", regulator_instructions="File a report there.",
)  # fmt: skip
CITED = "47 U.S.C. § 223a"
HOUR = timedelta(hours=1)


def _policy(**changes):
    policy = make_policy(laws=[TIDA], **changes)
    policy.timings.follow_up_after = timedelta(days=3)
    return policy


async def _case(db_pool, *, authorised: bool = True, victim_made_image: bool = False) -> str:
    return await open_case(
        db_pool, age=30, minimum_age=16, signpost="", reference="REF-1", crypto=suite_crypto(),
        authorised_on=date(2026, 6, 1) if authorised else None, victim_made_image=victim_made_image,
    )  # fmt: skip


async def _clock(db_pool, link_id: str) -> list[dict]:
    rows = await db_pool.fetch(
        "SELECT detail, occurred_at FROM link_events WHERE link_id = $1 AND kind = 'deadline' ORDER BY event_id",
        link_id,
    )
    return [dict(row["detail"]) | {"at": row["occurred_at"]} for row in rows]


def _text(message) -> str:
    return " ".join(message.get_body(("plain",)).get_content().split())


async def test_a_48h_platform_gets_its_follow_up_at_48h_and_grace_not_at_3_days(
    time_env, db_pool, settings, mailbox, web
):
    web.live("/clock/late")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/clock/late"), _policy(), case_id=await _case(db_pool))
        waiting = await h.until(handle, S.AWAITING_RESPONSE)
        [started] = await _clock(db_pool, handle.id)
        assert (started["law"], started["step"], started["deadline"]) == ("take_it_down_act", "started", "48h")
        due = datetime.fromisoformat(started["due_at"])
        assert due - started["at"] == timedelta(hours=48)
        assert waiting.next_action == "follow-up check" and waiting.next_action_at == due + timedelta(hours=2)
        assert waiting.clock is not None and waiting.clock.due_at == due
        [first] = mailbox.messages
        assert CITED in _text(first) and "Please act within 48 hours of this request" in _text(first)
        shown = await find_link(db_pool, handle.id)  # what tada status, link show, the API and the console read
        assert (shown.deadline_law, shown.deadline_step, shown.deadline_due_at) == ("take_it_down_act", "started", due)
        assert shown.deadline is not None and shown.deadline.startswith("due in ")
        notice = await db_pool.fetchval(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'notice'", handle.id
        )
        assert notice["laws"] == "take_it_down_act"
        await h.advance(timedelta(hours=49))
        assert len(mailbox.messages) == 1 and (await h.status(handle)).follow_ups_sent == 0
        await h.advance(timedelta(hours=1, minutes=30))
        status = await h.wait(handle, lambda s: s.follow_ups_sent == 1 and s.state == S.AWAITING_RESPONSE)
        follow_up = _text(mailbox.messages[-1])
        assert f"Our valid request of {started['at'].day} " in follow_up
        assert f"under {TIDA.name}" in follow_up or CITED in follow_up
        assert "was not acted on within 48 hours" in follow_up
        steps = [c["step"] for c in await _clock(db_pool, handle.id)]
        assert steps == ["started", "missed"]
        assert (await find_link(db_pool, handle.id)).deadline_step == "missed"
        assert status.next_action_at is not None  # the next follow-up: the registry's 3 days
        assert status.next_action_at - status.clock.due_at > timedelta(days=3)


async def test_acknowledged_and_removed_in_time_counts_as_met(time_env, db_pool, settings, mailbox, web):
    web.live("/clock/met")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/clock/met"), _policy(), case_id=await _case(db_pool))
        await h.until(handle, S.AWAITING_RESPONSE)
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.ACKNOWLEDGED))
        await h.advance(timedelta(hours=20))
        web.gone("/clock/met")
        await h.advance(timedelta(hours=31))  # the deadline's check: gone
        await h.until(handle, S.REMOVED)
        steps = [c["step"] for c in await _clock(db_pool, handle.id)]
        assert steps == ["started", "met"]
        assert len(mailbox.messages) == 1  # no follow-up


async def test_a_missed_ladder_produces_the_regulator_step(time_env, db_pool, settings, mailbox, web):
    web.live("/clock/ladder")
    policy = _policy(escalation=Escalation.NONE, escalation_email=None)
    policy.timings.follow_ups = 1
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/clock/ladder"), policy, case_id=await _case(db_pool))
        await h.until(handle, S.AWAITING_RESPONSE)
        await h.advance(timedelta(hours=51))  # missed: the follow-up goes out
        await h.wait(handle, lambda s: s.follow_ups_sent == 1)
        await h.advance(timedelta(days=3, hours=1))  # no answer after every follow-up, no escalation route
        waiting = await h.wait(handle, lambda s: s.next_action.startswith("file regulator notice by hand"))
        assert (
            "Federal Trade Commission" in waiting.next_action and "https://takeitdown.ftc.gov/" in waiting.next_action
        )
        assert waiting.state == S.AWAITING_RESPONSE
        await handle.signal(LinkWorkflow.confirm_filed)
        await h.until(handle, S.UNRESOLVED)
        rows = await db_pool.fetch(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'notice' ORDER BY event_id", handle.id
        )
        regulator = rows[-1]["detail"]
        assert (regulator["kind"], regulator["channel"], regulator["laws"]) == (
            "regulator",
            "manual",
            "take_it_down_act",
        )
        assert len(mailbox.messages) == 2  # the request and the follow-up; the complaint is filed by hand
        assert [c["step"] for c in await _clock(db_pool, handle.id)] == ["started", "missed"]


async def test_needs_info_holds_the_clock_until_the_caseworker_answers(time_env, db_pool, settings, mailbox, web):
    web.live("/clock/pause")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/clock/pause"), _policy(), case_id=await _case(db_pool))
        await h.until(handle, S.AWAITING_RESPONSE)
        await h.advance(timedelta(hours=10))
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.NEEDS_INFO))
        paused = await h.wait(handle, lambda s: s.next_action == CLOCK_PAUSED)
        assert paused.clock.paused_at is not None and paused.next_action_at == paused.clock.paused_at + timedelta(
            days=1
        )
        await h.advance(timedelta(hours=60))  # past the 48 hours: paused, so no follow-up
        assert len(mailbox.messages) == 1
        await handle.signal(LinkWorkflow.answered)
        resumed = await h.wait(handle, lambda s: s.next_action == "follow-up check")
        [started, pause, resume] = await _clock(db_pool, handle.id)
        assert [pause["step"], resume["step"]] == ["paused", "resumed"]
        held = resume["at"] - pause["at"]
        assert held >= timedelta(hours=60)
        assert datetime.fromisoformat(resume["due_at"]) == datetime.fromisoformat(started["due_at"]) + held
        assert resumed.next_action_at == datetime.fromisoformat(resume["due_at"]) + timedelta(hours=2)
        await h.advance(timedelta(hours=39))  # 48 h of running clock less the 10 before the pause: still due
        assert len(mailbox.messages) == 1
        await h.advance(timedelta(hours=2))
        await h.wait(handle, lambda s: s.follow_ups_sent == 1)
        assert [c["step"] for c in await _clock(db_pool, handle.id)][-1] == "missed"


async def test_a_case_without_authorisation_is_refused_a_take_it_down_notice_naming_the_element(
    time_env, db_pool, settings, mailbox, web
):
    web.live("/clock/unauthorised")
    async with running_worker(time_env, db_pool, settings) as h:
        case_id = await _case(db_pool, authorised=False)
        handle = await h.start(web.url("/clock/unauthorised"), _policy(), case_id=case_id)
        waiting = await h.wait(handle, lambda s: s.next_action.startswith("notice not sent"))
        assert "authorisation" in waiting.next_action and "tada case authorise" in waiting.next_action
        assert waiting.state == S.REPORTED and mailbox.messages == []
        failed = await db_pool.fetchval(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'delivery_failed'", handle.id
        )
        assert failed["code"] == "incomplete" and "TAKE IT DOWN Act" in failed["reason"]
        assert "authorisation" in failed["reason"]
        assert await h.notice_rows(handle.id) == []  # nothing recorded as sent or pending
        assert await db_pool.fetchval("SELECT needs FROM links WHERE link_id = $1", handle.id) == "delivery"
        told = await record_authorisation(db_pool, time_env.client, case_id, authorised_on=date(2026, 6, 2))
        assert told.links_told == 1
        await h.until(handle, S.AWAITING_RESPONSE)
        [notice] = mailbox.messages
        assert notice["To"] == PLATFORM_EMAIL
        assert "authorisation given to us on 2 June 2026" in _text(notice) and CITED in _text(notice)
        assert [c["step"] for c in await _clock(db_pool, handle.id)] == ["started"]


@pytest.mark.parametrize("victim_made_image", [True, False])
async def test_the_copyright_route_only_with_its_record(time_env, db_pool, settings, mailbox, web, victim_made_image):
    path = f"/clock/copyright-{victim_made_image}"
    web.live(path)
    policy = make_policy(copyright_route=True, copyright_email="dmca@platform.test")
    async with running_worker(time_env, db_pool, settings) as h:
        case_id = await _case(db_pool, victim_made_image=victim_made_image)
        handle = await h.start(web.url(path), policy, case_id=case_id, victim_made_image=victim_made_image)
        await h.until(handle, S.AWAITING_RESPONSE)
        [notice] = mailbox.messages
        detail = await db_pool.fetchval(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'notice'", handle.id
        )
        if victim_made_image:
            assert notice["To"] == "dmca@platform.test" and detail["route"] == "copyright"
            assert "Notice of copyright infringement (17 U.S.C. § 512(c)(3))" in _text(notice)
            assert "under penalty of perjury" in _text(notice)
        else:
            assert notice["To"] == PLATFORM_EMAIL and "route" not in detail
            assert "512(c)" not in _text(notice)
        assert "laws" not in detail  # this platform is bound by no law: none is cited
        assert "TAKE IT DOWN" not in _text(notice)
