"""The IMAP client against a real server (pymap): list, fetch within a cap, mark; never delete."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tada.clients.imap_mailbox import SEEN, ImapError, open_mailbox
from tada.kit.ports import free_port
from tests.support.imap import message

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_lists_fetches_and_marks(imap_server, postbox):
    uids = [await postbox.append(message(n)) for n in range(3)]
    async with open_mailbox(imap_server.config(mailbox=postbox.mailbox)) as session:
        assert session.uidvalidity > 0
        assert session.flag == SEEN  # pymap keeps no keywords (no \* in PERMANENTFLAGS)
        listed = await session.list_after(0)
        assert [item.uid for item in listed] == uids
        assert all(item.size == len(message(0)) for item in listed)
        assert await session.list_after(uids[-1]) == []  # "n:*" names the last one: filtered out
        assert [item.uid for item in await session.list_after(uids[0])] == uids[1:]
        assert await session.fetch(uids[1], 10_000) == message(1)
        assert await session.fetch(uids[-1] + 50, 10_000) is None
        assert len(await session.fetch(uids[0], 20)) == 21  # a partial fetch: never more than the cap + 1
        await session.mark(uids[:2])
        assert [item.uid for item in await session.sizes([uids[0], 9999])] == [uids[0]]
    flags = await postbox.flags()
    assert set(flags) == set(uids)  # nothing deleted
    assert [SEEN in flags[uid] for uid in uids] == [True, True, False]


async def test_an_empty_mailbox_lists_nothing(imap_server, postbox):
    async with open_mailbox(imap_server.config(mailbox=postbox.mailbox)) as session:
        assert session.exists == 0
        assert await session.list_after(0) == []


async def test_a_wrong_password_is_a_login_error_without_it(imap_server, postbox):
    config = imap_server.config(mailbox=postbox.mailbox, password=SecretStr("not-the-password"))
    with pytest.raises(ImapError) as raised:
        async with open_mailbox(config):
            pass
    assert raised.value.step == "login"
    assert "not-the-password" not in str(raised.value) and "@" not in str(raised.value)


async def test_a_missing_mailbox_is_a_select_error(imap_server):
    with pytest.raises(ImapError) as raised:
        async with open_mailbox(imap_server.config(mailbox="No-Such-Box")):
            pass
    assert raised.value.step == "select"


async def test_nothing_listening_is_a_connect_error():
    from tests.support.imap import ImapServer

    config = ImapServer(free_port(), None).config(timeout=5)  # type: ignore[arg-type]
    with pytest.raises(ImapError) as raised:
        async with open_mailbox(config):
            pass
    assert raised.value.step == "connect"
    assert "127.0.0.1" in str(raised.value)


async def test_tls_to_a_plain_server_fails_cleanly(imap_server):
    with pytest.raises(ImapError) as raised:
        async with open_mailbox(imap_server.config(security="tls", timeout=5)):
            pass
    assert raised.value.step in ("tls", "connect")


async def test_starttls_refused_when_not_offered(imap_server):
    with pytest.raises(ImapError) as raised:
        async with open_mailbox(imap_server.config(security="starttls", timeout=5)):
            pass
    assert raised.value.step == "tls"


async def test_a_mailbox_of_thousands_is_listed_read_for_senders_and_marked(imap_server, postbox):
    """aioimaplib reads a response's lines by recursion: one FETCH answering with a thousand lines
    or more fails. UIDs come from one SEARCH line, and every other command asks at most 200."""
    for n in range(1_500):
        await postbox.append(postbox.message(n))
    async with open_mailbox(imap_server.config(mailbox=postbox.mailbox)) as session:
        listed = await session.list_after(0)
        assert len(listed) == 1_500 and [item.uid for item in listed] == sorted(item.uid for item in listed)
        senders = await session.senders([item.uid for item in listed])
        assert len(senders) == 1_500 and set(senders.values()) == {"platform.example"}
        await session.mark([item.uid for item in listed])
        assert len(await session.list_after(listed[-2].uid)) == 1
    flags = await postbox.flags()
    assert len(flags) == 1_500 and all(SEEN in found for found in flags.values())
