"""A reader SIGKILLed mid-batch (a process, killed for real) loses no message and repeats none:
the next reader retries the one it was processing and reads the rest once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from tada.app.inbox import InboxReader
from tests.support.imap import PASSWORD, USER

pytestmark = pytest.mark.asyncio(loop_scope="session")

#: A reader in a process of its own: prints each row id it starts on; hangs on the third.
READER = """
import asyncio, sys
from pydantic import SecretStr
from tada.adapters.database import create_pool
from tada.app.inbox import InboxReader
from tada.clients.imap_mailbox import ImapConfig

url, port, mailbox, user, password = sys.argv[1:6]

async def main():
    pool = await create_pool(url)
    started = []

    async def on_message(read, message, row_id):
        started.append(row_id)
        print(row_id, flush=True)
        if len(started) == 3:
            await asyncio.sleep(3600)
        return "unmatched"

    config = ImapConfig("127.0.0.1", int(port), user, SecretStr(password), "none", mailbox)
    # One at a time: killed with the third in hand and the last three still queued.
    await InboxReader(pool, url, config, on_message, concurrency=1).poll_once()

asyncio.run(main())
"""


async def test_a_sigkilled_reader_loses_none_and_repeats_none(imap_server, postbox, db_pool, postgres_url):
    for n in range(6):
        await postbox.append(postbox.message(n))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        READER,
        postgres_url,
        str(imap_server.port),
        postbox.mailbox,
        USER,
        PASSWORD,
        stdout=asyncio.subprocess.PIPE,
        env={key: value for key, value in os.environ.items() if not key.startswith("TADA_")},
    )
    assert process.stdout is not None
    first_run = [int(await asyncio.wait_for(process.stdout.readline(), 60)) for _ in range(3)]
    process.send_signal(signal.SIGKILL)
    await process.wait()

    config = imap_server.config(mailbox=postbox.mailbox)
    calls: list[int] = []

    async def on_message(read, message, row_id):
        calls.append(row_id)
        return "unmatched"

    restarted = InboxReader(db_pool, postgres_url, config, on_message)
    for _ in range(50):  # the killed session's advisory lock goes when the server sees it gone
        outcome = await restarted.poll_once()
        if outcome.polled:
            break
        await asyncio.sleep(0.1)
    assert outcome.polled and (outcome.retried, outcome.new) == (1, 0)  # the killed poll had queued all six
    rows = await db_pool.fetch("SELECT * FROM inbox_messages WHERE mailbox = $1 ORDER BY uid", restarted.mailbox)
    assert len(rows) == 6 and all(row["status"] == "unmatched" and row["flagged"] for row in rows)
    assert [row["id"] for row in rows[:3]] == first_run
    assert calls == [first_run[2]] + [row["id"] for row in rows[3:]]  # the one cut off, then the rest
    assert rows[2]["attempts"] == 2 and all(row["attempts"] == 1 for row in rows if row["id"] != first_run[2])
