"""Records the histories that tests/lifecycle/test_replay.py reads back.

Not collected by a plain ``pytest`` run (the name does not start with ``test_``). Run it
with the workflow code *before* a change that needs ``workflow.patched``, and commit what
it writes to ``histories/`` under a name saying which change the history predates:

    RECORD_SUFFIX=v2 .venv/bin/pytest -q tests/lifecycle/record_histories.py
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle

from tada.app.link_ids import batch_id_for
from tada.domain.models import NoticeBatchKey
from tada.domain.replies import PlatformReply, ReplyKind
from tada.domain.states import Channel, LinkState
from tada.workflows.link import LinkWorkflow
from tests.lifecycle.harness import PLATFORM_EMAIL, make_policy, running_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

HISTORIES = Path(__file__).parent / "histories"
S = LinkState


async def _save(handle: WorkflowHandle, name: str) -> None:
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


def _suffix(request) -> str:
    return os.environ.get("RECORD_SUFFIX", "new")


async def test_record_gone_at_first_check(time_env, db_pool, settings, web, request):
    web.gone("/gone")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/gone"))
        await h.result(handle)
        await _save(handle, f"gone-at-first-check-{_suffix(request)}")


async def test_record_gone_at_follow_up(time_env, db_pool, settings, web, request):
    web.live("/a")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/a"))
        await h.until(handle, S.AWAITING_RESPONSE)
        web.gone("/a")
        await h.advance(timedelta(days=2, hours=1))
        await h.until(handle, S.REMOVED)
        await _save(handle, f"gone-at-follow-up-unbatched-{_suffix(request)}")


async def test_record_batched_notice_then_withdrawn(time_env, db_pool, settings, web, request):
    web.live("/b")
    policy = make_policy()
    policy.timings.batch_window = timedelta(seconds=60)
    async with running_worker(time_env, db_pool, settings) as h:
        case_id = await h.open_case()
        handle = await h.start(web.url("/b"), policy, case_id=case_id)
        await h.wait(handle, lambda s: s.next_action == "send notice" and s.state == S.REPORTED)
        await asyncio.sleep(1)  # the hand-over reaches the batch
        await h.advance(timedelta(seconds=61))
        await h.until(handle, S.AWAITING_RESPONSE, timeout=60)
        await handle.signal(LinkWorkflow.withdraw, "recorded")
        await h.result(handle)
        await _save(handle, f"batched-notice-then-withdrawn-{_suffix(request)}")
        key = NoticeBatchKey(case_id=case_id, channel=Channel.EMAIL, recipient=PLATFORM_EMAIL)
        await _save(
            time_env.client.get_workflow_handle(await batch_id_for(db_pool, key)), f"notice-batch-{_suffix(request)}"
        )


async def test_record_gone_then_confirmed(time_env, db_pool, settings, web, request):
    web.gone("/confirmed")
    policy = make_policy()
    policy.timings.confirm_gone_after = timedelta(minutes=30)
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/confirmed"), policy)
        await h.wait(handle, lambda s: s.next_action.startswith("confirm removal"))
        await h.advance(timedelta(minutes=31))
        await h.until(handle, S.REMOVED)
        await _save(handle, f"gone-then-confirmed-{_suffix(request)}")


async def test_record_bounced_then_filed(time_env, db_pool, settings, web, request):
    from tests.lifecycle.test_delivery_outcomes import RefusingSmtp, relay

    web.live("/bounced")
    async with relay(settings, RefusingSmtp(PLATFORM_EMAIL)) as smtp_settings:
        async with running_worker(time_env, db_pool, smtp_settings) as h:
            handle = await h.start(web.url("/bounced"))
            await h.wait(handle, lambda s: s.next_action.startswith("contact bounced"))
            await handle.signal(LinkWorkflow.confirm_filed)
            await h.until(handle, S.AWAITING_RESPONSE)
            await _save(handle, f"bounced-then-filed-unbatched-{_suffix(request)}")


async def test_record_withdrawn_during_a_send(time_env, db_pool, settings, web, request):
    from tests.lifecycle.test_delivery_outcomes import relay
    from tests.support.smtp import ScriptedSmtp

    web.live("/held")
    smtp = ScriptedSmtp(hold_data=8)
    async with relay(settings, smtp) as smtp_settings, running_worker(time_env, db_pool, smtp_settings) as h:
        handle = await h.start(web.url("/held"))
        await asyncio.to_thread(smtp.data_started.wait, 30)
        await handle.signal(LinkWorkflow.withdraw, "recorded")
        await h.result(handle)
        await _save(handle, f"withdrawn-during-a-send-unbatched-{_suffix(request)}")


async def test_record_replies_from_the_inbox(time_env, db_pool, settings, web, request):
    """The inbox's replies (issue 15): an acknowledgement, a claim of removal against a live
    page, then a confident refusal that escalates; the link is withdrawn after."""
    web.live("/replies")
    async with running_worker(time_env, db_pool, settings) as h:
        handle = await h.start(web.url("/replies"))
        await h.until(handle, S.AWAITING_RESPONSE)
        for number, kind in enumerate((ReplyKind.ACKNOWLEDGED, ReplyKind.REMOVED, ReplyKind.REJECTED), 1):
            reply = PlatformReply(
                reply_id=number, kind=kind, confident=True, rule=f"recorded:{kind}", matched_by="tag",
                received_at=datetime(2026, 12, 2, 9, number, tzinfo=UTC),
            )  # fmt: skip
            await handle.signal(LinkWorkflow.reply_received, reply)
        await h.until(handle, S.ESCALATED)
        await handle.signal(LinkWorkflow.withdraw, "recorded")
        await h.result(handle)
        await _save(handle, f"replies-from-the-inbox-{_suffix(request)}")


async def test_record_legal_clock_paused_missed_and_the_regulator(time_env, db_pool, settings, web, request):
    """A TAKE IT DOWN clock: started, paused by a needs-info response, resumed, missed; the
    follow-up says so; the ladder used up; the regulator's complaint filed by hand."""
    from tada.app.intake import open_case
    from tada.domain.laws import LawTerms
    from tada.domain.models import PlatformResponse
    from tada.domain.states import Escalation, ResponseOutcome
    from tests.support.crypto import suite_crypto

    web.live("/clock")
    law = LawTerms(
        id="take_it_down_act", name="TAKE IT DOWN Act", response_deadline=timedelta(hours=48),
        regulator="Federal Trade Commission", regulator_url="https://takeitdown.ftc.gov/",
    )  # fmt: skip
    policy = make_policy(laws=[law], escalation=Escalation.NONE, escalation_email=None)
    policy.timings.follow_ups = 1
    async with running_worker(time_env, db_pool, settings) as h:
        case_id = await open_case(
            db_pool, age=30, minimum_age=16, signpost="", reference="REF-1", crypto=suite_crypto(),
            authorised_on=datetime(2026, 6, 1, tzinfo=UTC).date(),
        )  # fmt: skip
        handle = await h.start(web.url("/clock"), policy, case_id=case_id)
        await h.until(handle, S.AWAITING_RESPONSE)
        await h.advance(timedelta(hours=5))
        await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.NEEDS_INFO))
        await h.wait(handle, lambda s: s.clock is not None and s.clock.paused_at is not None)
        await h.advance(timedelta(hours=10))
        await handle.signal(LinkWorkflow.answered)
        await h.wait(handle, lambda s: s.next_action == "follow-up check")
        await h.advance(timedelta(hours=46))
        await h.wait(handle, lambda s: s.follow_ups_sent == 1)
        await h.advance(timedelta(days=2, hours=1))
        await h.wait(handle, lambda s: s.next_action.startswith("file regulator notice by hand"))
        await handle.signal(LinkWorkflow.confirm_filed)
        await h.until(handle, S.UNRESOLVED)
        await _save(handle, f"legal-clock-paused-missed-regulator-{_suffix(request)}")
