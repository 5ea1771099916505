"""``tada inbox status``: the last poll and the messages by outcome, as text and as JSON."""

from __future__ import annotations

import os

import pytest

from tada.app.inbox import InboxReader
from tada.domain.mail_reading import MailLimits
from tests.support.cli_stack import run_tada
from tests.support.imap import PASSWORD, USER

pytestmark = pytest.mark.asyncio(loop_scope="session")


def env(postgres_url: str, **values: str) -> dict[str, str]:
    base = {key: value for key, value in os.environ.items() if not key.startswith("TADA_")}
    return {
        **base,
        "TADA_DATABASE_URL": postgres_url,
        "TADA_DATA_KEY": os.environ["TADA_DATA_KEY"],
        "TADA_LOG_FORMAT": "json",
        **values,
    }


async def test_status_counts_each_outcome(imap_server, postbox, db_pool, postgres_url, tmp_path):
    await postbox.append(postbox.message(1))
    await postbox.append(postbox.message(2, message_id=postbox.id(1)))  # a duplicate
    await postbox.append(postbox.message(3, body="x" * 3000))  # too large
    await postbox.append(postbox.message(4))
    await postbox.append(postbox.message(5))
    statuses = iter(["matched", "unmatched"])

    async def on_message(read, message, row_id):
        if read.message_id == postbox.id(5):
            raise ValueError("broken")
        return next(statuses)

    config = imap_server.config(mailbox=postbox.mailbox)
    inbox = InboxReader(db_pool, postgres_url, config, on_message, limits=MailLimits(max_bytes=2000))
    await inbox.poll_once()
    settings_env = env(
        postgres_url,
        TADA_IMAP_HOST="127.0.0.1",
        TADA_IMAP_PORT=str(imap_server.port),
        TADA_IMAP_USERNAME=USER,
        TADA_IMAP_PASSWORD=PASSWORD,
        TADA_IMAP_MAILBOX=postbox.mailbox,
    )

    run = await run_tada("inbox", "status", "--json", env=settings_env, cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert run.json["reader_configured"] is True
    [mine] = [box for box in run.json["mailboxes"] if box["mailbox"] == inbox.mailbox]
    assert mine["configured"] is True
    assert (mine["last_new"], mine["polls"], mine["failed_polls"], mine["last_error"]) == (5, 1, 0, None)
    assert (mine["matched"], mine["pen"], mine["duplicates"], mine["too_large"], mine["errors"]) == (1, 1, 1, 1, 1)
    assert mine["messages"] == 5 and mine["last_poll_at"]
    assert USER not in run.stdout  # the login name is not in the mailbox's name

    text = await run_tada("inbox", "status", env=settings_env, cwd=tmp_path)
    assert text.code == 0, text.stderr
    block = text.stdout[text.stdout.index(inbox.mailbox) :]
    assert "Pen (unmatched)  1" in block and "Duplicates       1" in block and "Too large        1" in block


async def test_status_without_a_mailbox_says_how_to_set_one(postgres_url, db_pool, tmp_path):
    run = await run_tada("inbox", "status", env=env(postgres_url), cwd=tmp_path)
    assert run.code == 0, run.stderr
    assert "TADA_IMAP_HOST" in run.stdout
    as_json = await run_tada("inbox", "status", "--json", env=env(postgres_url), cwd=tmp_path)
    assert as_json.json["reader_configured"] is False
