"""The inbox reader against a real IMAP server (pymap) and real PostgreSQL: every message
recorded and handed on once, across restarts, two readers and a reader killed mid-batch."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from tada.app.inbox import InboxReader
from tada.clients.imap_mailbox import SEEN
from tada.domain.mail_reading import MailLimits
from tests.support.cli_stack import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Recorder:
    """A processing function that notes what it was given (row ids and Message-IDs only)."""

    def __init__(self, status: str = "unmatched") -> None:
        self.calls: list[tuple[int, str | None]] = []
        self.status = status

    async def __call__(self, read, message, row_id: int) -> str:
        self.calls.append((row_id, read.message_id))
        return self.status


def reader(imap_server, postbox, db_pool, postgres_url, on_message, **options) -> InboxReader:
    config = imap_server.config(mailbox=postbox.mailbox)
    return InboxReader(db_pool, postgres_url, config, on_message, poll_seconds=0.05, **options)


async def rows(db_pool, inbox: InboxReader):
    return await db_pool.fetch("SELECT * FROM inbox_messages WHERE mailbox = $1 ORDER BY uid", inbox.mailbox)


async def test_each_message_is_processed_once_and_flagged_never_deleted(imap_server, postbox, db_pool, postgres_url):
    uids = [await postbox.append(postbox.message(n)) for n in range(5)]
    recorder = Recorder()
    inbox = reader(imap_server, postbox, db_pool, postgres_url, recorder)
    outcome = await inbox.poll_once()
    assert (outcome.polled, outcome.new, outcome.processed) == (True, 5, 5)
    assert [message_id for _, message_id in recorder.calls] == [postbox.id(n) for n in range(5)]
    found = await rows(db_pool, inbox)
    assert [row["uid"] for row in found] == uids
    assert {row["status"] for row in found} == {"unmatched"}
    assert all(row["flagged"] and row["attempts"] == 1 and row["processed_at"] for row in found)
    assert [row["id"] for row in found] == [row_id for row_id, _ in recorder.calls]
    flags = await postbox.flags()
    assert set(flags) == set(uids) and all(SEEN in flags[uid] for uid in uids)

    again = await inbox.poll_once()
    assert (again.new, again.processed) == (0, 0) and len(recorder.calls) == 5

    newer = await postbox.append(postbox.message(5))
    await inbox.poll_once()
    assert recorder.calls[-1][1] == postbox.id(5) and len(recorder.calls) == 6
    assert (await rows(db_pool, inbox))[-1]["uid"] == newer


async def test_a_new_reader_processes_none_twice(imap_server, postbox, db_pool, postgres_url):
    for n in range(3):
        await postbox.append(postbox.message(n))
    first = Recorder()
    await reader(imap_server, postbox, db_pool, postgres_url, first).poll_once()
    await postbox.append(postbox.message(3))
    second = Recorder()
    restarted = reader(imap_server, postbox, db_pool, postgres_url, second)
    await restarted.poll_once()
    assert [m for _, m in second.calls] == [postbox.id(3)]
    assert len(await rows(db_pool, restarted)) == 4


async def test_two_readers_at_once_process_each_message_once(imap_server, postbox, db_pool, postgres_url):
    recorder = Recorder()
    readers = [reader(imap_server, postbox, db_pool, postgres_url, recorder) for _ in range(2)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(inbox.run(stop)) for inbox in readers]
    try:
        for n in range(12):
            await postbox.append(postbox.message(n))
            await asyncio.sleep(0.02)
        for _ in range(200):
            if len(recorder.calls) >= 12:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # time for a second handling, were there one
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
    counts = Counter(message_id for _, message_id in recorder.calls)
    assert len(counts) == 12 and set(counts.values()) == {1}
    found = await rows(db_pool, readers[0])
    assert len(found) == 12 and all(row["status"] == "unmatched" and row["flagged"] for row in found)


async def test_the_same_message_id_twice_is_a_duplicate(imap_server, postbox, db_pool, postgres_url):
    await postbox.append(postbox.message(1, message_id=postbox.id(99)))
    await postbox.append(postbox.message(2, message_id=postbox.id(99), body="sent again"))
    await postbox.append(postbox.message(3, message_id=""))  # no Message-ID: its bytes' digest stands in
    await postbox.append(postbox.message(3, message_id=""))
    recorder = Recorder()
    inbox = reader(imap_server, postbox, db_pool, postgres_url, recorder)
    await inbox.poll_once()
    found = await rows(db_pool, inbox)
    assert [row["status"] for row in found] == ["unmatched", "duplicate", "unmatched", "duplicate"]
    assert found[1]["duplicate_of"] == found[0]["id"] and found[3]["duplicate_of"] == found[2]["id"]
    assert found[2]["dedupe_key"].startswith("sha256:")
    assert len(recorder.calls) == 2
    assert all(row["flagged"] for row in found)


async def test_a_message_seen_in_another_mailbox_is_a_duplicate(imap_server, postbox, db_pool, postgres_url):
    from tests.support.imap import Postbox

    raw = postbox.message(1)
    await postbox.append(raw)
    other_name = postbox.mailbox + "-other"
    await postbox.create(other_name)
    async with Postbox(imap_server, other_name) as other:
        await other.append(raw)
        recorder = Recorder()
        await reader(imap_server, postbox, db_pool, postgres_url, recorder).poll_once()
        second = reader(imap_server, other, db_pool, postgres_url, recorder)
        await second.poll_once()
    assert len(recorder.calls) == 1
    assert [row["status"] for row in await rows(db_pool, second)] == ["duplicate"]


async def test_an_oversize_message_is_recorded_too_large_without_download(imap_server, postbox, db_pool, postgres_url):
    big = postbox.message(1, body="x" * 5000)
    await postbox.append(big)
    await postbox.append(postbox.message(2))
    recorder = Recorder()
    inbox = reader(imap_server, postbox, db_pool, postgres_url, recorder, limits=MailLimits(max_bytes=2000))
    await inbox.poll_once()
    found = await rows(db_pool, inbox)
    assert [row["status"] for row in found] == ["too_large", "unmatched"]
    assert found[0]["size"] == len(big) and found[0]["message_id"] is None  # never fetched, never read
    assert str(len(big)) in found[0]["problem"]
    assert [m for _, m in recorder.calls] == [postbox.id(2)]
    assert all(row["flagged"] for row in found)


async def test_a_failing_processing_is_retried_then_given_up(imap_server, postbox, db_pool, postgres_url):
    await postbox.append(postbox.message(1))
    attempts: list[int] = []

    async def failing(read, message, row_id):
        attempts.append(row_id)
        raise RuntimeError("the matcher fell over: takedown+T1@org.example")

    inbox = reader(imap_server, postbox, db_pool, postgres_url, failing, max_attempts=3)
    first = await inbox.poll_once()
    assert first.errors == 1
    [row] = await rows(db_pool, inbox)
    assert row["status"] == "error" and not row["flagged"] and row["problem"] == "processing failed: RuntimeError"
    await inbox.poll_once()
    await inbox.poll_once()
    [row] = await rows(db_pool, inbox)
    assert (row["status"], row["attempts"], row["flagged"]) == ("failed", 3, True)
    assert len(attempts) == 3 and len(set(attempts)) == 1  # the same row each time
    assert "@" not in row["problem"]  # the exception's text is never kept


async def test_an_error_then_success(imap_server, postbox, db_pool, postgres_url):
    await postbox.append(postbox.message(1))
    tries = []

    async def flaky(read, message, row_id):
        tries.append(row_id)
        if len(tries) == 1:
            raise ConnectionError()
        return "matched"

    inbox = reader(imap_server, postbox, db_pool, postgres_url, flaky)
    await inbox.poll_once()
    await inbox.poll_once()
    [row] = await rows(db_pool, inbox)
    assert (row["status"], row["attempts"], row["problem"], row["flagged"]) == ("matched", 2, None, True)


@pytest.mark.parametrize("status", ["duplicate", "processing", "Not A Status", ""])
async def test_a_status_the_reader_keeps_for_itself_is_refused(imap_server, postbox, db_pool, postgres_url, status):
    await postbox.append(postbox.message(1))
    inbox = reader(imap_server, postbox, db_pool, postgres_url, Recorder(status))
    await inbox.poll_once()
    [row] = await rows(db_pool, inbox)
    assert row["status"] == "error" and row["problem"] == "processing returned no valid status"


@pytest.mark.parametrize("concurrency", [1, 8], ids=["one-at-a-time", "eight-at-once"])
async def test_a_reader_killed_mid_batch_loses_none_and_repeats_none(
    imap_server, postbox, db_pool, postgres_url, concurrency
):
    for n in range(6):
        await postbox.append(postbox.message(n))
    started, completed = [], []
    stuck = asyncio.Event()

    async def slow_third(read, message, row_id):
        started.append(row_id)
        if len(started) == 3:
            stuck.set()
            await asyncio.sleep(3600)  # killed here
        completed.append(row_id)
        return "unmatched"

    first = reader(imap_server, postbox, db_pool, postgres_url, slow_third, concurrency=concurrency)
    task = asyncio.create_task(first.poll_once())
    await asyncio.wait_for(stuck.wait(), 30)
    if concurrency > 1:  # the stuck one holds back no other: the last three are finished meanwhile
        await eventually(
            lambda: _count_finished(db_pool, first, 5), "five of six finished beside the stuck one", timeout=30
        )
    task.cancel()  # as good as SIGKILL for the rows: nothing after the cancel point runs
    with pytest.raises(asyncio.CancelledError):
        await task
    found = await rows(db_pool, first)
    left = ["queued"] * 3 if concurrency == 1 else ["unmatched"] * 3
    assert [row["status"] for row in found] == ["unmatched", "unmatched", "processing", *left]

    second_calls: list[int] = []

    async def recording(read, message, row_id):
        second_calls.append(row_id)
        return "unmatched"

    restarted = reader(imap_server, postbox, db_pool, postgres_url, recording)
    outcome = await restarted.poll_once()
    assert (outcome.retried, outcome.new) == (1, 0)  # the killed poll had queued all six
    found = await rows(db_pool, restarted)
    assert len(found) == 6 and all(row["status"] == "unmatched" and row["flagged"] for row in found)
    assert found[2]["attempts"] == 2 and all(row["attempts"] == 1 for n, row in enumerate(found) if n != 2)
    # the interrupted one is handed on again (the same row id), the finished ones never
    not_started = [row["id"] for row in found[3:]] if concurrency == 1 else []
    assert second_calls == [found[2]["id"], *not_started]
    assert not set(second_calls) & set(completed)


async def _count_finished(db_pool, inbox: InboxReader, wanted: int) -> bool:
    return sum(row["status"] == "unmatched" for row in await rows(db_pool, inbox)) >= wanted


async def test_polls_are_recorded_and_a_failed_one_says_why(imap_server, postbox, db_pool, postgres_url):
    from pydantic import SecretStr

    from tada.app.inbox import InboxReader
    from tada.clients.imap_mailbox import ImapError

    await postbox.append(postbox.message(1))
    inbox = reader(imap_server, postbox, db_pool, postgres_url, Recorder())
    await inbox.poll_once()
    poll = await db_pool.fetchrow("SELECT * FROM inbox_polls WHERE mailbox = $1", inbox.mailbox)
    assert (poll["polls"], poll["failures"], poll["last_new"], poll["last_error"]) == (1, 0, 1, None)

    config = imap_server.config(mailbox=postbox.mailbox, password=SecretStr("wrong-password"))
    broken = InboxReader(db_pool, postgres_url, config, Recorder())
    with pytest.raises(ImapError):
        await broken.poll_once()
    poll = await db_pool.fetchrow("SELECT * FROM inbox_polls WHERE mailbox = $1", inbox.mailbox)
    assert (poll["polls"], poll["failures"]) == (2, 1)
    assert poll["last_error"] == "login: the server answered NO"
    assert poll["last_ok_at"] is not None


async def test_run_stops_when_told(imap_server, postbox, db_pool, postgres_url):
    inbox = reader(imap_server, postbox, db_pool, postgres_url, Recorder())
    stop = asyncio.Event()
    task = asyncio.create_task(inbox.run(stop))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_a_processing_that_hangs_is_an_error_after_its_timeout(imap_server, postbox, db_pool, postgres_url):
    await postbox.append(postbox.message(1))

    async def hangs(read, message, row_id):
        await asyncio.sleep(3600)
        return "unmatched"

    inbox = reader(imap_server, postbox, db_pool, postgres_url, hangs, processing_timeout=0.2)
    outcome = await asyncio.wait_for(inbox.poll_once(), 30)
    assert outcome.errors == 1
    [row] = await rows(db_pool, inbox)
    assert (row["status"], row["problem"]) == ("error", "processing failed: TimeoutError")


async def test_a_new_uidvalidity_reads_the_mailbox_again_without_repeating_a_message(db_pool, postgres_url):
    """A server that renumbered its mailbox (here: a new server on the same port, which has a
    new UIDVALIDITY): what was read before comes back as duplicates, the rest is read."""
    from tests.support.imap import Postbox, start_pymap

    server = start_pymap()
    recorder = Recorder()
    try:
        async with Postbox(server) as box:
            await box.append(box.message(1, message_id="<renumbered-1@platform.example>"))
        inbox = InboxReader(db_pool, postgres_url, server.config(), recorder)
        await inbox.poll_once()
    finally:
        server.stop()
    server = start_pymap(server.port)
    try:
        async with Postbox(server) as box:
            await box.append(box.message(1, message_id="<renumbered-1@platform.example>"))
            await box.append(box.message(2, message_id="<renumbered-2@platform.example>"))
        again = InboxReader(db_pool, postgres_url, server.config(), recorder)
        assert again.mailbox == inbox.mailbox
        await again.poll_once()
    finally:
        server.stop()
    assert [m for _, m in recorder.calls] == ["<renumbered-1@platform.example>", "<renumbered-2@platform.example>"]
    found = await rows(db_pool, again)
    assert len({row["uidvalidity"] for row in found}) == 2
    assert sorted(row["status"] for row in found) == ["duplicate", "unmatched", "unmatched"]
