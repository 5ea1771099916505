"""A reduced `make chaos CHAOS_ARGS=inbox` (chaos/inbox.py): the worker that reads the mailbox (a
process of its own) SIGKILLed mid-batch with a reply in hand, then started again: every reply
processed exactly once (one inbox_messages row each, one link_replies row per link its email
listed, one reply event per reply in each link's timeline)."""

import pytest

from chaos.inbox import InboxOptions, main_async

pytestmark = [pytest.mark.chaos, pytest.mark.asyncio(loop_scope="session")]


async def test_a_reader_killed_mid_batch_processes_every_reply_once(capsys):
    status = await main_async(InboxOptions(links=10, cases=3, replies=120, kill_at=0.3, worker_down=1, timeout=120))
    out = capsys.readouterr().out
    assert status == 0, out
    assert "all checks passed" in out
    for check in (
        "the worker was killed mid-batch, a reply in hand",
        "one inbox_messages row per reply, every one matched and marked",
        "each link's reply events counted once (none lost, none twice)",
    ):
        assert f"[ok] {check}" in out, out
