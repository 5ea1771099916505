"""The worker reads the mailbox when TADA_IMAP_HOST is set, beside the Temporal worker, and
stops the reader with itself."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import SecretStr

from tada.app.inbox_store import mailbox_key
from tada.app.inbox_task import inbox_reading
from tada.errors import Misconfigured
from tada.settings import Settings
from tada.worker import run_worker
from tests.support.cli_stack import eventually
from tests.support.imap import PASSWORD, USER

pytestmark = pytest.mark.asyncio(loop_scope="session")


def imap_settings(settings: Settings, imap_server, mailbox: str, **changes) -> Settings:
    return settings.model_copy(
        update={
            "imap_host": "127.0.0.1",
            "imap_port": imap_server.port,
            "imap_username": USER,
            "imap_password": SecretStr(PASSWORD),
            "imap_security": "none",
            "imap_mailbox": mailbox,
            "imap_poll_seconds": 0.1,
            **changes,
        }
    )


async def test_the_worker_reads_the_mailbox_and_stops_with_it(settings, dev_env, imap_server, postbox, db_pool):
    worker_settings = imap_settings(
        settings, imap_server, postbox.mailbox, temporal_address=dev_env.client.service_client.config.target_host
    )
    key = mailbox_key("127.0.0.1", imap_server.port, postbox.mailbox, USER)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(worker_settings, stop=stop))
    try:
        await postbox.append(postbox.message(1))

        async def read() -> bool:
            return bool(
                await db_pool.fetchval(
                    "SELECT count(*) FROM inbox_messages WHERE mailbox = $1 AND status = 'unmatched' AND flagged", key
                )
            )

        await eventually(read, "the message read by the worker's reader", 60)
    finally:
        stop.set()
        await asyncio.wait_for(worker, 60)
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "inbox-reader"]


async def test_no_host_no_reader(settings, db_pool):
    async with inbox_reading(settings, db_pool) as task:
        assert task is None


async def test_a_host_without_a_login_stops_the_start(settings, db_pool, imap_server):
    broken = imap_settings(settings, imap_server, "INBOX", imap_username=None)
    with pytest.raises(Misconfigured, match="TADA_IMAP_USERNAME"):
        async with inbox_reading(broken, db_pool):
            pass


async def test_a_reader_slow_to_stop_is_cancelled_after_the_grace(settings, db_pool, imap_server, postbox):
    await postbox.append(postbox.message(1))
    entered = asyncio.Event()

    async def never_done(read, message, row_id):
        entered.set()
        await asyncio.sleep(3600)
        return "unmatched"

    configured = imap_settings(settings, imap_server, postbox.mailbox)
    async with inbox_reading(configured, db_pool, never_done, grace=0.5) as task:
        await asyncio.wait_for(entered.wait(), 30)
    assert task is not None and task.cancelled()
    key = mailbox_key("127.0.0.1", imap_server.port, postbox.mailbox, USER)
    assert await db_pool.fetchval("SELECT status FROM inbox_messages WHERE mailbox = $1", key) == "processing"
