"""A withdrawal stops a send in flight: the sending activity heartbeats all the time it works,
a cancellation cuts the SMTP transaction before the end of DATA (nothing delivered, nothing
marked sent), and a notice the relay had already taken is marked sent, honestly. Against a
real SMTP server that holds its DATA phase, and a database that is slow to mark."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import httpx
import pytest
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker
from temporalio.workflow import ActivityCancellationType

from tada.activities.notices import NotifierIdentity
from tada.domain.models import NoticeBatch
from tada.workflows.activity_contracts import Notices
from tests.support.delivery import marking_sent, new_link, notice_batch, notice_status
from tests.support.notices import notice_activities
from tests.support.smtp import ScriptedSmtp

pytestmark = pytest.mark.asyncio(loop_scope="session")

IDENTITY = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org")
HOLD = 5.0  # seconds the relay holds DATA before its 354


class Heartbeats:
    """Records when the activity heartbeated, and what it said."""

    def __init__(self, env: ActivityEnvironment) -> None:
        self.at: list[float] = []
        self.details: list[object] = []
        env.on_heartbeat = self.beat

    def beat(self, *details: object) -> None:
        self.at.append(time.monotonic())
        self.details.append(details[0] if details else None)

    def longest_gap(self, started: float, ended: float) -> float:
        marks = [started, *self.at, ended]
        return max(b - a for a, b in zip(marks, marks[1:], strict=False))


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_cancelled_send_is_cut_before_the_relay_takes_it(db_pool, data_crypto):
    case_id, link_id = await new_link(db_pool)
    env = ActivityEnvironment()
    beats = Heartbeats(env)
    with ScriptedSmtp(hold_data=HOLD) as smtp:
        async with httpx.AsyncClient() as http:
            notices = notice_activities(db_pool, http, IDENTITY, data_crypto, port=smtp.port, timeout=30)
            started = time.monotonic()
            sending = asyncio.ensure_future(env.run(notices.send_batch, notice_batch(case_id, link_id)))
            await _until(smtp.data_started.is_set)
            await asyncio.sleep(2.5)  # well into the hold: the activity must go on heartbeating
            env.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sending
            ended = time.monotonic()
        assert ended - started < HOLD, "the cancellation waited for the relay"
        assert beats.longest_gap(started, ended) <= 2.0
        await asyncio.sleep(HOLD - (ended - started) + 1.0)  # past the hold: the relay had its chance
        assert smtp.delivered == []
    assert await notice_status(db_pool, link_id) == "pending"  # recorded, never marked sent


async def test_a_notice_the_relay_took_before_the_cancellation_is_marked_sent(db_pool, data_crypto):
    case_id, link_id = await new_link(db_pool)
    env = ActivityEnvironment()
    with ScriptedSmtp() as smtp:
        async with httpx.AsyncClient() as http, marking_sent(db_pool, link_id, sleep=1.5):
            notices = notice_activities(db_pool, http, IDENTITY, data_crypto, port=smtp.port)
            sending = asyncio.ensure_future(env.run(notices.send_batch, notice_batch(case_id, link_id)))
            await _until(lambda: len(smtp.delivered) == 1)
            await asyncio.sleep(0.3)  # the activity is marking it sent, in the slow database
            env.cancel()
            receipt = await sending  # it went out: the activity says so rather than "cancelled"
    assert receipt.sent_now
    assert await notice_status(db_pool, link_id) == "sent"


async def test_the_activity_heartbeats_while_it_waits_for_a_slow_relay(db_pool, data_crypto):
    case_id, link_id = await new_link(db_pool)
    env = ActivityEnvironment()
    beats = Heartbeats(env)
    with ScriptedSmtp(hold_data=3.0) as smtp:
        async with httpx.AsyncClient() as http:
            notices = notice_activities(db_pool, http, IDENTITY, data_crypto, port=smtp.port, timeout=30)
            started = time.monotonic()
            receipt = await env.run(notices.send_batch, notice_batch(case_id, link_id))
            ended = time.monotonic()
    assert receipt.sent_now and len(smtp.delivered) == 1
    assert ended - started >= 3.0 and beats.longest_gap(started, ended) <= 2.0
    assert beats.details[-1] == {"handed_over": [f"{link_id}:1:1:initial"]}


@workflow.defn(sandboxed=False)
class SendThenWithdraw:
    """Starts the send, and cancels it when told, as a withdrawal does."""

    def __init__(self) -> None:
        self._withdrawn = False

    @workflow.run
    async def run(self, batch: NoticeBatch) -> str:
        send = workflow.start_activity_method(
            Notices.send_batch,
            batch,
            start_to_close_timeout=timedelta(seconds=60),
            heartbeat_timeout=timedelta(seconds=30),  # as workflows/options.py sets it
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        await workflow.wait_condition(lambda: self._withdrawn or send.done())
        send.cancel()
        try:
            await send
        except ActivityError as error:
            return "cancelled" if isinstance(error.cause, CancelledError) else f"failed: {error.cause}"
        return "sent"

    @workflow.signal
    def withdraw(self) -> None:
        self._withdrawn = True


async def test_temporal_cancels_a_send_in_flight_through_its_heartbeat(dev_env, db_pool, data_crypto):
    case_id, link_id = await new_link(db_pool)
    queue = f"withdraw-{uuid.uuid4().hex[:8]}"
    with ScriptedSmtp(hold_data=HOLD) as smtp:
        async with httpx.AsyncClient() as http:
            notices = notice_activities(db_pool, http, IDENTITY, data_crypto, port=smtp.port, timeout=30)
            async with Worker(
                dev_env.client,
                task_queue=queue,
                workflows=[SendThenWithdraw],
                activities=[notices.send_batch],
                # Heartbeats reach Temporal at most this often (by default 0.8 x the heartbeat
                # timeout), and a cancellation reaches the activity only in a heartbeat's answer.
                max_heartbeat_throttle_interval=timedelta(seconds=1),
            ):
                handle = await dev_env.client.start_workflow(
                    SendThenWithdraw.run, notice_batch(case_id, link_id), id=f"withdraw-{link_id}", task_queue=queue
                )
                await _until(smtp.data_started.is_set)
                withdrawn = time.monotonic()
                await handle.signal(SendThenWithdraw.withdraw)
                assert await handle.result() == "cancelled"
                assert time.monotonic() - withdrawn < HOLD - 1.0, "the cancellation waited for the relay"
        await asyncio.sleep(HOLD + 1.0)
        assert smtp.delivered == []
    assert await notice_status(db_pool, link_id) == "pending"
