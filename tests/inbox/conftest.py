"""The inbox's world: one real IMAP server (pymap) for the module's tests, each test in a
mailbox of its own, and the suite's real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio

from tests.support.imap import ImapServer, Postbox, start_pymap


@pytest.fixture(scope="session")
def imap_server():
    server = start_pymap()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def postbox(imap_server: ImapServer):
    """A mailbox of this test's own, and a client to fill it."""
    name = f"Test-{uuid.uuid4().hex[:8]}"
    async with Postbox(imap_server, "INBOX") as admin:
        await admin.create(name)
    async with Postbox(imap_server, name) as box:
        yield box


#: The organisation's reply address of the inbox tests' notices (TADA_REPLY_TO).
REPLY_TO = "takedown@org.example"


@pytest.fixture
def reply_settings(settings):
    """The suite's settings, with notices tagged for the reply address."""
    return settings.model_copy(update={"reply_to": REPLY_TO})
