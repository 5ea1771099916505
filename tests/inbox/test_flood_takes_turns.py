"""A sender who floods the reply address holds back no one else's reply: the waiting messages
are read in turns between senders (tada/domain/inbox_order.py). Real pymap and PostgreSQL."""

from __future__ import annotations

import pytest

from tada.app.inbox import InboxReader

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _mail(sender: str, number: int, tag: str) -> bytes:
    return (
        f"From: <{sender}>\r\nTo: takedown@org.example\r\nSubject: {number}\r\n"
        f"Message-ID: <turns-{number}.{tag}@x.test>\r\n\r\nbody {number}\r\n"
    ).encode()


async def test_a_flood_waits_its_turn(imap_server, postbox, db_pool, postgres_url):
    flood = [await postbox.append(_mail("noise@flood.test", n, postbox.mailbox)) for n in range(40)]
    platform = [await postbox.append(_mail("abuse@platform.test", 100 + n, postbox.mailbox)) for n in range(2)]
    order: list[int] = []

    async def note(read, message, row_id):
        order.append(row_id)
        return "unmatched"

    # One message handed on at a time, so the order handed on is the order of turns exactly.
    inbox = InboxReader(db_pool, postgres_url, imap_server.config(mailbox=postbox.mailbox), note, concurrency=1)
    outcome = await inbox.poll_once()
    assert (outcome.new, outcome.processed) == (42, 42)
    ids = {
        row["uid"]: row["id"]
        for row in await db_pool.fetch("SELECT uid, id FROM inbox_messages WHERE mailbox = $1", inbox.mailbox)
    }
    assert order.index(ids[platform[0]]) == 1 and order.index(ids[platform[1]]) == 3  # not 40th and 41st
    assert [uid for uid in sorted(ids, key=lambda uid: order.index(ids[uid])) if uid in flood] == flood  # in order
