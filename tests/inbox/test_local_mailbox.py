"""``make run``'s mailbox (tada/kit/imap.py): mail sent to the local SMTP sink for the reply
address lands in a real IMAP server, and the inbox reader reads it from there."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import pytest

from tada.app.inbox import InboxReader, imap_config
from tada.kit.imap import LocalMailbox, is_reply_address, replies_into
from tada.kit.smtp import SmtpSink
from tada.settings import Settings
from tests.inbox.conftest import REPLY_TO


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        ("takedown@org.example", True),
        ("takedown+TD7K2M9XQ4R3J8V@ORG.example", True),
        ("Take Down <takedown+x@org.example>", True),
        ("takedownx@org.example", False),
        ("takedown@other.example", False),
        ("abuse@org.example", False),
        ("", False),
    ],
)
def test_the_reply_address_and_its_tags(recipient, expected):
    assert is_reply_address(REPLY_TO, recipient) is expected


@pytest.mark.asyncio(loop_scope="session")
async def test_replies_sent_to_the_sink_are_read_from_the_mailbox(db_pool, postgres_url, settings):
    async with LocalMailbox() as mailbox:
        sink = SmtpSink(on_mail=replies_into(mailbox, REPLY_TO))
        async with sink:
            for number, to in enumerate(["takedown+TAG1@org.example", "reports@platform.example", REPLY_TO]):
                email = EmailMessage()
                email["From"] = "abuse@platform.example"
                email["To"] = to
                email["Subject"] = f"Re: notice {number}"
                email["Message-ID"] = f"<local-{number}.{mailbox.port}@platform.example>"
                email.set_content("Removed.")
                await aiosmtplib.send(email, hostname="127.0.0.1", port=sink.port)
        assert sink.received == 3 and mailbox.appended == 2

        reader_settings = Settings(**{**settings.model_dump(), **mailbox.settings()})
        seen: list[str | None] = []

        async def on_message(read, message, row_id):
            seen.append(read.message_id)
            return "unmatched"

        inbox = InboxReader(db_pool, postgres_url, imap_config(reader_settings), on_message)
        await inbox.poll_once()
    assert seen == [f"<local-0.{mailbox.port}@platform.example>", f"<local-2.{mailbox.port}@platform.example>"]
