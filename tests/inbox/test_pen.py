"""The holding pen (issue 15): a reply no header matched keeps tada's guesses (ids and a
platform's name only), goes to its link by itself when one strong guess names it, and is given
to its link by a caseworker (``tada inbox assign``) otherwise. The real stack: the worker on the
time-skipping server sends the notices (real SMTP), replies go into a real IMAP mailbox (pymap),
the inbox reader runs tada's reply router, the CLI runs in-process against the same PostgreSQL,
Temporal and mailbox."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from tada.app.inbox import InboxReader
from tada.app.reply_routing import ReplyRouter
from tada.cli.main import app as tada_app
from tada.cli.runtime import use_settings
from tada.domain.registry import load_registry
from tada.domain.states import LinkState
from tada.settings import Settings
from tests.inbox.conftest import REPLY_TO
from tests.lifecycle.harness import make_policy, running_worker
from tests.support.cli_stack import eventually
from tests.support.crypto import suite_crypto
from tests.support.imap import PASSWORD, USER, ImapServer, Postbox

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState
TOKEN = "cw-pen-token-0123456789"


def mail(body: str, *, sender: str = "abuse@platform.test", subject: str = "About your report") -> bytes:
    """A reply that names no notice email in its headers: no tag, no In-Reply-To, no [TD-...]."""
    return (
        f"From: Trust & Safety <{sender}>\r\nTo: {REPLY_TO}\r\nSubject: {subject}\r\n"
        f"Message-ID: <pen-{uuid.uuid4().hex}@{sender.partition('@')[2]}>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


class Inbox:
    """The worker's inbox reader with tada's router, and the ``tada`` CLI, on one mailbox."""

    def __init__(self, time_env, db_pool, settings: Settings, imap_server: ImapServer, postbox: Postbox, url: str):
        router = ReplyRouter(
            db_pool, suite_crypto(), time_env.client, reply_to=REPLY_TO, registry=load_registry(settings.platforms)
        )
        config = imap_server.config(mailbox=postbox.mailbox)
        self.reader = InboxReader(db_pool, url, config, router, poll_seconds=0.05)
        self.pool = db_pool
        self.postbox = postbox
        self.cli_settings = settings.model_copy(
            update={
                "temporal_address": time_env.client.service_client.config.target_host,
                "imap_host": "127.0.0.1",
                "imap_port": imap_server.port,
                "imap_username": USER,
                "imap_password": SecretStr(PASSWORD),
                "imap_security": "none",
                "imap_mailbox": postbox.mailbox,
                "api_tokens": SecretStr(f"{TOKEN}:caseworker"),
                "cli_token": SecretStr(TOKEN),
            }
        )

    async def receive(self, *messages: bytes) -> list[int]:
        """The messages put in the mailbox and read: their inbox row ids, in order."""
        last = await self.pool.fetchval("SELECT coalesce(max(id), 0) FROM inbox_messages")
        for message in messages:
            await self.postbox.append(message)
        outcome = await self.reader.poll_once()
        assert outcome.new == len(messages)
        rows = await self.pool.fetch(
            "SELECT id FROM inbox_messages WHERE mailbox = $1 AND id > $2 ORDER BY uid", self.reader.mailbox, last
        )
        return [row["id"] for row in rows]

    async def tada(self, *args: str, **changes: Any) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) of ``tada *args``, as a caseworker (settings changed by ``changes``)."""
        with use_settings(self.cli_settings.model_copy(update=changes), configure_logs=False):
            result = await asyncio.to_thread(CliRunner().invoke, tada_app, list(args), env={"COLUMNS": "250"})
        return result.exit_code, result.stdout, result.stderr

    async def status(self, row_id: int) -> str:
        return await self.pool.fetchval("SELECT status FROM inbox_messages WHERE id = $1", row_id)

    async def pen(self, row_id: int) -> dict[str, Any]:
        row = await self.pool.fetchrow("SELECT * FROM inbox_pen WHERE reply_id = $1", row_id)
        return dict(row) if row else {}


@pytest.fixture
def inbox(time_env, db_pool, reply_settings, imap_server, postbox, postgres_url) -> Inbox:
    return Inbox(time_env, db_pool, reply_settings, imap_server, postbox, postgres_url)


def document(out: str) -> Any:
    """The JSON document of ``--json``; in-process, the suite's own log lines may come around it
    (the real CLI logs warnings only, on stderr)."""
    decoder, at = json.JSONDecoder(), 0
    for line in out.splitlines(keepends=True):
        if line[:1] in "[{":
            try:
                return decoder.raw_decode(out[at:])[0]
            except json.JSONDecodeError:
                pass
        at += len(line)
    raise AssertionError("no JSON document on stdout")


async def awaiting(h, web, *paths: str, case_id: str | None = None) -> list:
    """Links of ``paths`` (one case: ``case_id``, else a case each), each with its notice sent."""
    for path in paths:
        web.live(path)
    links = [await h.start(web.url(path), make_policy(), case_id=case_id) for path in paths]
    for link in links:
        await h.until(link, S.AWAITING_RESPONSE)
    return links


async def case_of(pool, link_id: str) -> str:
    return await pool.fetchval("SELECT case_id FROM links WHERE link_id = $1", link_id)


async def reply_events(pool, link_id: str) -> list[dict]:
    rows = await pool.fetch(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'reply' ORDER BY event_id", link_id
    )
    return [row["detail"] for row in rows]


async def heard(pool, link_id: str, count: int = 1) -> list[dict]:
    """The link's reply events once it has recorded ``count`` of them (the workflow records them
    by an activity, after the signal)."""
    return await eventually(lambda: _at_least(pool, link_id, count), f"{count} reply events of the link", 30)


async def _at_least(pool, link_id: str, count: int) -> list[dict] | None:
    events = await reply_events(pool, link_id)
    return events if len(events) >= count else None


async def test_a_strangers_mail_lands_in_the_pen_with_no_guesses_and_a_platforms_with_its_name(
    time_env, db_pool, reply_settings, inbox
):
    async with running_worker(time_env, db_pool, reply_settings):
        stranger, reddit = await inbox.receive(
            mail("who are you?", sender="someone@elsewhere.test"),
            mail("Hello, about your report.", sender="support@reddit.com", subject="Hi Jane Doe"),
        )
        assert [await inbox.status(stranger), await inbox.status(reddit)] == ["unmatched", "unmatched"]
        assert (await inbox.pen(stranger))["guesses"] == []
        penned = await inbox.pen(reddit)
        assert penned["guesses"] == [{"kind": "platform", "id": "Reddit", "case_id": None}]
        assert penned["from_domain"] == "reddit.com" and penned["assigned_to"] is None
        stored = json.dumps({key: str(value) for key, value in penned.items()})
        assert "support@" not in stored and "Jane" not in stored and "report" not in stored

        code, out, err = await inbox.tada("inbox", "pen", "--json")
        assert code == 0, err
        listed = {entry["id"]: entry for entry in document(out)}
        assert listed[stranger]["guesses"] == [] and listed[stranger]["from_domain"] == "elsewhere.test"
        assert listed[reddit]["guesses"][0]["id"] == "Reddit"
        ids = [entry["id"] for entry in document(out)]
        assert ids.index(stranger) < ids.index(reddit)  # oldest first
        code, out, _ = await inbox.tada("inbox", "pen")
        assert code == 0 and "platform Reddit" in out and "reddit.com" in out and "Jane" not in out


async def test_a_mail_naming_one_link_id_is_given_to_that_link_by_itself(time_env, db_pool, reply_settings, inbox, web):
    async with running_worker(time_env, db_pool, reply_settings) as h:
        [link] = await awaiting(h, web, "/pen/auto")
        web.gone("/pen/auto")
        [row] = await inbox.receive(mail(f"Regarding {link.id}: the content you reported has been removed."))
        await h.until(link, S.REMOVED)
        assert await inbox.status(row) == "matched"
        penned = await inbox.pen(row)
        assert (penned["assigned_to"], penned["assigned_by"]) == ([link.id], "auto")
        case_id = await case_of(db_pool, link.id)
        assert {"kind": "link", "id": link.id, "case_id": case_id} in penned["guesses"]
        recorded = await db_pool.fetchrow("SELECT kind, matched_by FROM link_replies WHERE reply_id = $1", row)
        assert tuple(recorded) == ("removed", "auto")
        [event] = await heard(db_pool, link.id)
        assert (event["kind"], event["matched_by"], event["reply"]) == ("removed", "auto", str(row))
        code, out, _ = await inbox.tada("inbox", "pen", "--json")
        assert code == 0 and row not in [entry["id"] for entry in document(out)]
        code, out, _ = await inbox.tada("inbox", "status", "--json")
        [box] = [box for box in document(out)["mailboxes"] if box["configured"]]
        assert (box["matched"], box["assigned_auto"], box["assigned_by_caseworker"]) == (1, 1, 0)
        code, out, _ = await inbox.tada("inbox", "status")
        assert "1 by tada's one strong guess, 0 by a caseworker" in " ".join(out.split())


async def test_a_mail_naming_two_cases_stays_in_the_pen_with_both_guesses(
    time_env, db_pool, reply_settings, inbox, web
):
    async with running_worker(time_env, db_pool, reply_settings) as h:
        first, second = await awaiting(h, web, "/pen/two-a", "/pen/two-b")
        cases = [await case_of(db_pool, first.id), await case_of(db_pool, second.id)]
        [row] = await inbox.receive(mail(f"Cases {cases[0]} and {cases[1].lower()}: the content has been removed."))
        assert await inbox.status(row) == "unmatched"
        penned = await inbox.pen(row)
        assert penned["guesses"] == [{"kind": "case", "id": case, "case_id": case} for case in cases]
        assert penned["assigned_to"] is None
        for link in (first, second):
            assert await reply_events(db_pool, link.id) == []
            assert (await h.status(link)).state == S.AWAITING_RESPONSE
        code, out, _ = await inbox.tada("inbox", "pen")
        assert code == 0 and f"case {cases[0]}, case {cases[1]}" in out


async def test_one_case_with_one_link_awaiting_takes_a_mail_naming_the_case(
    time_env, db_pool, reply_settings, inbox, web
):
    async with running_worker(time_env, db_pool, reply_settings) as h:
        [link] = await awaiting(h, web, "/pen/case-only")
        case_id = await case_of(db_pool, link.id)
        [row] = await inbox.receive(mail(f"Your report {case_id}: we have received it and will review it."))
        assert await inbox.status(row) == "matched"
        assert (await inbox.pen(row))["assigned_by"] == "auto"
        [event] = await heard(db_pool, link.id)
        assert event["kind"] == "acknowledged"


async def test_a_caseworker_gives_a_pen_entry_to_its_link_which_hears_it(time_env, db_pool, reply_settings, inbox, web):
    async with running_worker(time_env, db_pool, reply_settings) as h:
        case_id = await h.open_case()
        removed, acknowledged = await awaiting(h, web, "/pen/assign-a", "/pen/assign-b", case_id=case_id)
        web.gone("/pen/assign-a")
        gone_row, ack_row = await inbox.receive(
            mail("Hello, the content you reported has been removed."),
            mail("We have received your report and will review it."),
        )
        assert [await inbox.status(gone_row), await inbox.status(ack_row)] == ["unmatched", "unmatched"]
        start = await db_pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_events")

        code, out, err = await inbox.tada("inbox", "assign", str(gone_row), removed.id)
        assert code == 0, err
        assert f"message {gone_row} given to {removed.id}" in out
        await h.until(removed, S.REMOVED)
        [event] = await heard(db_pool, removed.id)
        assert (event["kind"], event["matched_by"]) == ("removed", "caseworker")
        assert await inbox.status(gone_row) == "matched"
        penned = await inbox.pen(gone_row)
        assert (penned["assigned_to"], penned["assigned_by"]) == ([removed.id], "caseworker")
        recorded = await db_pool.fetchrow(
            "SELECT kind, matched_by, from_domain FROM link_replies WHERE reply_id = $1", gone_row
        )
        assert tuple(recorded) == ("removed", "caseworker", "platform.test")

        notice_key = await db_pool.fetchval(
            "SELECT notice_key FROM notices WHERE link_id = $1 AND status = 'sent'", acknowledged.id
        )
        code, out, err = await inbox.tada("inbox", "assign", str(ack_row), notice_key, "--json")
        assert code == 0, err
        assert document(out) == {"message": ack_row, "case_id": case_id, "links": [acknowledged.id]}
        code, out, _ = await inbox.tada("inbox", "status", "--json")
        [box] = [box for box in document(out)["mailboxes"] if box["configured"]]
        assert (box["matched"], box["assigned_auto"], box["assigned_by_caseworker"]) == (2, 0, 2)
        [event] = await heard(db_pool, acknowledged.id)
        assert (event["kind"], event["matched_by"]) == ("acknowledged", "caseworker")

        audit = await db_pool.fetch(
            "SELECT actor_role, action, target, allowed, reason FROM audit_events WHERE id > $1 ORDER BY id", start
        )
        done = [tuple(row) for row in audit if row["reason"].startswith("message")]
        assert done == [
            ("caseworker", "inbox.assign", removed.id, True, f"message {gone_row} given to its link by a caseworker"),
            (
                "caseworker",
                "inbox.assign",
                acknowledged.id,
                True,
                f"message {ack_row} given to its link by a caseworker",
            ),
        ]

        # Refusals: a row not in the pen, a target that does not exist, a message that does not.
        code, _, err = await inbox.tada("inbox", "assign", str(gone_row), removed.id)
        assert code == 3 and f"message {gone_row} is not in the pen (it is matched)" in err
        [stranger] = await inbox.receive(mail("who are you?", sender="someone@elsewhere.test"))
        code, _, err = await inbox.tada("inbox", "assign", str(stranger), f"{case_id}-0123456789abcdef")
        assert code == 4 and f"no notice or link {case_id}-0123456789abcdef" in err, err
        assert await inbox.status(stranger) == "unmatched"
        code, _, err = await inbox.tada("inbox", "assign", str(stranger), removed.id, imap_mailbox="Elsewhere")
        assert code == 3 and f"message {stranger} was read from another mailbox than this TADA_IMAP_* one" in err
        code, _, err = await inbox.tada("inbox", "assign", str(stranger), removed.id, imap_host=None)
        assert code == 2 and "TADA_IMAP_HOST is not set" in err
        assert await inbox.status(stranger) == "unmatched" and await reply_events(db_pool, removed.id) != []
        code, _, err = await inbox.tada("inbox", "assign", "987654321", removed.id)
        assert code == 4 and "no message 987654321 in the inbox" in err
        code, _, err = await inbox.tada("inbox", "assign", "not-a-number", removed.id)
        assert code == 2
