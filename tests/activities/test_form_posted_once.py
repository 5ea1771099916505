"""A form that answered is never posted again: its answer is in the heartbeat before anything
else can fail, and a retried activity marks the batch sent instead of posting. Against the
real web server, a database that refuses to mark it sent once, and a real Temporal server
that retries the activity as it would in production."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from tada.activities.notices import NotifierIdentity
from tada.domain.models import NoticeBatch, NoticeReceipt
from tada.domain.states import Channel
from tada.workflows.activity_contracts import Notices
from tests.support.delivery import marking_sent, new_link, notice_batch, notice_status
from tests.support.notices import notice_activities
from tests.support.web import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

IDENTITY = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org", allow_private_targets=True)


def _form_batch(case_id: str, link_id: str, web) -> NoticeBatch:
    web.pages["/report"] = Page(200)
    return notice_batch(case_id, link_id, channel=Channel.FORM, recipient=None, form_url=web.url("/report"))


async def test_a_retry_after_the_form_answered_does_not_post_again(db_pool, data_crypto, web):
    case_id, link_id = await new_link(db_pool)
    batch = _form_batch(case_id, link_id, web)
    beats: list[object] = []
    first = ActivityEnvironment()
    first.on_heartbeat = lambda *details: beats.append(details[0] if details else None)
    async with httpx.AsyncClient(timeout=5) as http:
        notices = notice_activities(db_pool, http, IDENTITY, data_crypto, port=9)
        async with marking_sent(db_pool, link_id, fail_once=True):
            with pytest.raises(asyncpg.PostgresError):
                await first.run(notices.send_batch, batch)  # posted, then the database refused to mark it
        assert len(web.posts) == 1 and await notice_status(db_pool, link_id) == "pending"
        retry = ActivityEnvironment()  # Temporal gives the next attempt the last heartbeat's details
        retry.info = dataclasses.replace(retry.info, attempt=2, heartbeat_details=beats[-1:])
        receipt = await retry.run(notices.send_batch, batch)
    assert len(web.posts) == 1
    assert not receipt.sent_now and await notice_status(db_pool, link_id) == "sent"
    assert await db_pool.fetchval("SELECT attempts FROM notices WHERE link_id = $1", link_id) == 2


@workflow.defn(sandboxed=False)
class SendWithRetries:
    """Just the send, retried as the link workflow's notices are."""

    @workflow.run
    async def run(self, batch: NoticeBatch) -> NoticeReceipt:
        return await workflow.execute_activity_method(
            Notices.send_batch,
            batch,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3),
        )


async def test_temporal_retries_a_form_that_answered_without_posting_again(dev_env, db_pool, data_crypto, web):
    case_id, link_id = await new_link(db_pool)
    batch = _form_batch(case_id, link_id, web)
    queue = f"form-once-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(timeout=5) as http:
        notices = notice_activities(db_pool, http, IDENTITY, data_crypto, port=9)
        async with (
            marking_sent(db_pool, link_id, fail_once=True),
            Worker(dev_env.client, task_queue=queue, workflows=[SendWithRetries], activities=[notices.send_batch]),
        ):
            receipt = await dev_env.client.execute_workflow(
                SendWithRetries.run, batch, id=f"form-once-{link_id}", task_queue=queue
            )
    assert len(web.posts) == 1
    assert not receipt.sent_now and await notice_status(db_pool, link_id) == "sent"
    assert await db_pool.fetchval("SELECT attempts FROM notices WHERE link_id = $1", link_id) == 2
