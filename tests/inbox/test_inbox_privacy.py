"""Nothing of a message's content leaves the reader: no address, subject or body in its logs
or in its rows, whatever happens to the message (read, duplicate, too large, a failure)."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr

from tada.app.inbox import InboxReader
from tada.clients.imap_mailbox import ImapError
from tada.domain.mail_reading import MailLimits
from tests.privacy.log_capture import captured_logs
from tests.support.imap import USER

pytestmark = pytest.mark.asyncio(loop_scope="session")

ADDRESS = "victim.name+secret@private-mail.example"
SUBJECT = "Photos of Jane Doe-Secret"
BODY = "the body text nobody should see 7f3a"


def private(postbox, number: int, **options) -> bytes:
    options.setdefault("body", BODY)
    return postbox.message(number, to=ADDRESS, **options).replace(f"Re: notice {number}".encode(), SUBJECT.encode())


async def test_logs_and_rows_carry_no_content(imap_server, postbox, db_pool, postgres_url, caplog):
    await postbox.append(private(postbox, 1))
    await postbox.append(private(postbox, 2, message_id=postbox.id(1)))  # a duplicate
    await postbox.append(private(postbox, 3, body=BODY * 100))  # too large
    await postbox.append(private(postbox, 4))  # its processing fails, naming the address

    async def on_message(read, message, row_id):
        assert ADDRESS in read.recipients and SUBJECT in read.subject and BODY in read.text
        if read.message_id == postbox.id(4):
            raise ValueError(f"no case for {ADDRESS}: {SUBJECT}")
        return "unmatched"

    config = imap_server.config(mailbox=postbox.mailbox)
    with captured_logs(caplog, logging.DEBUG) as logs:
        inbox = InboxReader(db_pool, postgres_url, config, on_message, limits=MailLimits(max_bytes=2000))
        await inbox.poll_once()
        broken = InboxReader(
            db_pool, postgres_url, imap_server.config(mailbox=postbox.mailbox, password=SecretStr("x"))
        )
        with pytest.raises(ImapError) as raised:
            await broken.poll_once()
    text = logs.text()
    assert "inbox_duplicate" in text and "inbox_processing_failed" in text
    rows = await db_pool.fetch("SELECT * FROM inbox_messages WHERE mailbox = $1", inbox.mailbox)
    polls = await db_pool.fetch("SELECT * FROM inbox_polls WHERE mailbox = $1", inbox.mailbox)
    assert sorted(row["status"] for row in rows) == ["duplicate", "error", "too_large", "unmatched"]
    stored = " ".join(str(value) for row in [*rows, *polls] for value in row.values())
    for secret in (ADDRESS, "private-mail", SUBJECT, "Jane", BODY, USER):
        assert secret not in text, secret
        assert secret not in stored, secret
        assert secret not in str(raised.value), secret
