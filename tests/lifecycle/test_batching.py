"""One notice per platform per case: 30 links on one site go out as one email."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tada.app.link_ids import batch_id_for
from tada.domain.models import NoticeBatchKey
from tada.domain.states import Channel, LinkState
from tada.workflows.notice_batch import NoticeBatchWorkflow
from tests.lifecycle.harness import PLATFORM_EMAIL, make_policy, running_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

LINKS = 30
WINDOW = timedelta(seconds=60)


async def _eventually(check, timeout: float = 20):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.1)


async def test_thirty_links_one_email_then_a_follow_up_for_the_live_ones(time_env, db_pool, settings, mailbox, web):
    policy = make_policy()
    policy.timings.batch_window = WINDOW
    paths = [f"/album/{n}" for n in range(LINKS)]
    for path in paths:
        web.live(path)
    async with running_worker(time_env, db_pool, settings) as h:
        case_id = await h.open_case()
        handles = [await h.start(web.url(path), policy, case_id=case_id) for path in paths]
        batch = time_env.client.get_workflow_handle(
            await batch_id_for(
                db_pool, NoticeBatchKey(case_id=case_id, channel=Channel.EMAIL, recipient=PLATFORM_EMAIL)
            )
        )

        async def all_collected() -> bool:
            try:
                return await batch.query(NoticeBatchWorkflow.waiting) == LINKS
            except Exception:  # noqa: BLE001 - not started yet: ask again
                return False

        await _eventually(all_collected)
        assert mailbox.messages == []  # nothing goes out before the window closes
        await h.advance(WINDOW + timedelta(seconds=1))
        await _eventually(lambda: _count(mailbox, 1))
        for handle in handles:
            await h.until(handle, LinkState.AWAITING_RESPONSE)
        (first,) = mailbox.messages
        body = first.get_body(("plain",)).get_content()
        assert all(web.url(path) in body for path in paths)
        assert f"({LINKS} addresses)" in body

        removed, still_live = paths[:10], paths[10:]
        for path in removed:
            web.gone(path)
        await h.advance(policy.timings.follow_up_after + WINDOW + timedelta(minutes=1))
        await _eventually(lambda: _count(mailbox, 2))
        follow_up = mailbox.messages[1]
        assert follow_up["X-Tada-Notice-Kind"] == "follow_up"
        assert follow_up["In-Reply-To"] == first["Message-ID"]  # threads onto the first notice
        assert first["Message-ID"] in follow_up["References"]
        text = follow_up.get_body(("plain",)).get_content()
        assert all(web.url(path) in text for path in still_live)
        assert not any(web.url(path) + "\n" in text for path in removed)
        assert f"({len(still_live)} addresses)" in text
        for handle in handles[:10]:
            await h.until(handle, LinkState.REMOVED)
        rows = await db_pool.fetch(
            "SELECT kind, count(*) AS links, count(DISTINCT message_id) AS emails FROM notices "
            "WHERE case_id = $1 GROUP BY kind ORDER BY kind",
            case_id,
        )
        assert [(r["kind"], r["links"], r["emails"]) for r in rows] == [
            ("follow_up", 20, 1),
            ("initial", 30, 1),
        ]


async def _count(mailbox, n: int) -> bool:
    return len(mailbox.messages) >= n
