"""``tada link reply LINK --file TEXT``: a caseworker answers the platform's last reply from
tada, and the platform's answer to that comes back to the link.

The real stack: the worker on the Temporal dev server sends the notice through the real SMTP
test server, the platform's reply goes into a real IMAP mailbox (pymap) and tada's reply
router records it, the ``tada`` CLI (a subprocess, with a caseworker's token) sends the
answer through the same SMTP server, and the router matches the platform's next answer to
the link again. PostgreSQL throughout."""

from __future__ import annotations

import asyncio
import secrets
from email.message import EmailMessage
from email.utils import getaddresses

import pytest
import pytest_asyncio

from tada.adapters.sealing import is_sealed
from tada.app.inbox import InboxReader
from tada.app.reply_routing import ReplyRouter
from tada.domain.reply_tags import tokens_in_addresses, tokens_in_subject
from tests.inbox.conftest import REPLY_TO
from tests.support.cli_stack import (
    HOURLY,
    NOTICE_FROM,
    PLATFORM_EMAIL,
    Stack,
    cli_env,
    eventually,
    registry_toml,
    run_tada,
    stack_settings,
    worker_running,
    write_registry,
)
from tests.support.crypto import suite_crypto
from tests.support.link_ids import link_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

CASEWORKER, OPS = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
TEXT = (
    "Dear Trust & Safety team,\n\n"
    "Thank you. The person shown did not consent; the page is still up.\n"
    "\tReference: 香港 case, see our first notice.\n\n"
    "Take-Down Assistance"
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("caseworker-reply")
    settings = stack_settings(
        dev_env,
        postgres_url,
        smtp_server[1],
        write_registry(home, registry_toml(HOURLY)),
        "cw-reply",
        notice_from=NOTICE_FROM,
        reply_to=REPLY_TO,
        state_dir=home / ".tada",
    )
    env = cli_env(
        settings,
        TADA_NOTICE_FROM=NOTICE_FROM,
        TADA_REPLY_TO=REPLY_TO,
        TADA_STATE_DIR=str(home / ".tada"),
        TADA_API_TOKENS=f"{CASEWORKER}:caseworker,{OPS}:ops",
        TADA_TOKEN=OPS,  # opens cases and adds links; `link reply` runs as the caseworker (caseworker())
        COLUMNS="250",
    )
    async with worker_running(dev_env.client, db_pool, settings):
        yield Stack(env=env, cwd=home, client=dev_env.client, pool=db_pool)


def answer(to: EmailMessage, body: str) -> tuple[str, bytes]:
    """The platform's answer to ``to`` (an email tada sent), as a mail program writes one: its
    Message-ID and bytes."""
    [(_, address)] = getaddresses([to["Reply-To"]])
    message_id = f"<answer-{secrets.token_hex(6)}@platform.test>"
    lines = [
        "From: Trust & Safety <abuse@platform.test>",
        f"To: {address}",
        f"Subject: Re: {to['Subject']}",
        f"Message-ID: {message_id}",
        f"In-Reply-To: {to['Message-ID']}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    return message_id, ("\r\n".join(lines) + f"\r\n\r\n{body}\r\n").encode()


async def caseworker(stack: Stack, *args: str):
    """``tada *args`` with the caseworker's token."""
    return await run_tada(*args, env={**stack.env, "TADA_TOKEN": CASEWORKER}, cwd=stack.cwd)


async def route(stack: Stack, imap_server, postbox, postgres_url) -> int:
    router = ReplyRouter(stack.pool, suite_crypto(), stack.client, reply_to=REPLY_TO)
    config = imap_server.config(mailbox=postbox.mailbox)
    inbox = InboxReader(stack.pool, postgres_url, config, router, poll_seconds=0.05)
    return (await inbox.poll_once()).new


async def test_a_caseworker_answers_the_platform_and_its_answer_comes_back(
    stack, web, mailbox, imap_server, postbox, postgres_url, tmp_path
):
    case_id = await stack.open_case()
    web.live("/cw-reply/a")
    url = web.url("/cw-reply/a")
    assert (await stack.tada("links", "add", case_id, url)).code == 0
    link_id = await link_of(stack.pool, case_id, url)

    def sent_with(text: str) -> list[EmailMessage]:
        return [m for m in mailbox.messages if text in m.get_body(("plain",)).get_content()]

    async def one_sent_with(text: str) -> EmailMessage | None:
        found = sent_with(text)
        return found[0] if found else None

    notice = await eventually(lambda: one_sent_with(url), "the notice", 30)
    platform_id, raw = answer(notice, "We need more information: please tell us why this should be removed.")
    await postbox.append(raw)
    assert await route(stack, imap_server, postbox, postgres_url) == 1

    file = tmp_path / "reply.txt"
    file.write_text(TEXT.replace("\n", "\r\n"), encoding="utf-8")  # written on Windows: CR LF
    sent = await caseworker(stack, "link", "reply", link_id, "--file", str(file), "--json")
    assert sent.code == 0, sent.stderr
    result = sent.json
    assert result["sent"] is True and result["in_reply_to"] == "reply" and result["to"] == PLATFORM_EMAIL

    # The email: to the notice's address, from the organisation, threaded on the platform's reply.
    reply = await eventually(lambda: one_sent_with("The person shown did not consent"), "the caseworker's reply", 30)
    assert reply["To"] == PLATFORM_EMAIL
    assert reply["From"] == NOTICE_FROM
    assert reply["Subject"] == f"Re: {notice['Subject']}"  # the notice's subject, its [TD-…] tag kept
    assert tokens_in_subject(reply["Subject"]) == tokens_in_subject(notice["Subject"])
    assert reply["In-Reply-To"] == platform_id
    assert reply["References"].split() == [notice["Message-ID"], platform_id]
    assert reply["Message-ID"] == result["message_id"] and reply["Message-ID"] != notice["Message-ID"]
    [(_, reply_to)] = getaddresses([reply["Reply-To"]])
    [(_, notice_reply_to)] = getaddresses([notice["Reply-To"]])
    [token] = tokens_in_addresses([reply_to], REPLY_TO)  # a tag of its own: the answer finds this email
    assert reply_to.endswith("@org.example") and reply_to != notice_reply_to
    assert token.replace("-", "") == result["reply_token"].replace("-", "")
    assert reply.get_content_type() == "text/plain" and not reply.is_multipart()  # no HTML part
    assert reply.get_content().replace("\r\n", "\n").rstrip("\n") == TEXT  # the SMTP wire has CR LF
    assert await stack.pool.fetchval(
        "SELECT sent_at IS NOT NULL FROM notice_messages WHERE message_id = $1", reply["Message-ID"]
    )

    # The timeline: a caseworker action, its text sealed at rest and opened for the caseworker.
    events = (await stack.tada("link", "show", link_id, "--json")).json["events"]
    [event] = [e for e in events if e["kind"] == "caseworker"]
    assert event["detail"]["action"] == "reply" and event["detail"]["answering"] == "reply"
    assert event["detail"]["text"] == TEXT
    stored = await stack.pool.fetchval(
        "SELECT detail->>'text' FROM link_events WHERE link_id = $1 AND kind = 'caseworker'", link_id
    )
    assert is_sealed(stored) and "consent" not in stored
    audit = await stack.pool.fetch(
        "SELECT actor_role, allowed, reason FROM audit_events WHERE action = 'link.reply' AND target = $1", link_id
    )
    assert [(row["actor_role"], row["allowed"]) for row in audit] == [("caseworker", True), ("caseworker", True)]
    assert any(row["reason"].startswith("reply email sent") for row in audit)
    shown = await stack.tada("link", "show", link_id)
    assert "action=reply" in shown.stdout and "The person shown did not consent" in shown.stdout

    # The platform's answer to the caseworker's email reaches the link, by its tag.
    _, raw = answer(reply, "Thank you, the content has been removed.")
    await postbox.append(raw)
    assert await route(stack, imap_server, postbox, postgres_url) == 1
    rows = await stack.pool.fetch(
        "SELECT kind, matched_by FROM link_replies WHERE link_id = $1 ORDER BY received_at", link_id
    )
    assert len(rows) == 2 and (rows[1]["kind"], rows[1]["matched_by"]) == ("removed", "tag")

    async def told() -> bool:
        count = await stack.pool.fetchval(
            "SELECT count(*) FROM link_events WHERE link_id = $1 AND kind = 'reply'", link_id
        )
        return count == 2

    await eventually(told, "the workflow told of the answer", 30)
    await stack.withdraw(link_id)


async def test_what_link_reply_refuses(stack, web, mailbox, tmp_path):
    case_id = await stack.open_case()
    web.live("/cw-reply/refused")
    url = web.url("/cw-reply/refused")
    assert (await stack.tada("links", "add", case_id, url)).code == 0
    link_id = await link_of(stack.pool, case_id, url)
    await eventually(
        lambda: stack.pool.fetchval("SELECT 1 FROM notices WHERE link_id = $1 AND status = 'sent'", link_id),
        "the notice sent",
        30,
    )
    sent_before = len(mailbox.messages)

    def file(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    escape = file("escape.txt", b"Hello \x1b[31mred\x1b[0m")
    latin1 = file("latin1.txt", "Grüße".encode("latin-1"))
    long = file("long.txt", b"a" * 20_001)
    empty = file("empty.txt", b" \n\t\n")
    refusals = {
        escape: "must not contain line breaks or control characters",
        latin1: "is not UTF-8 text",
        long: "longer than 20000 characters",
        empty: "the reply is empty",
        str(tmp_path / "missing.txt"): "cannot read it",
    }
    runs = await asyncio.gather(*(caseworker(stack, "link", "reply", link_id, "--file", path) for path in refusals))
    for (path, said), run in zip(refusals.items(), runs, strict=True):
        assert run.code == 2, (path, run.stderr)
        assert said in run.stderr and run.stdout == ""
        assert "red" not in run.stderr and "Grüße" not in run.stderr

    fine = file("fine.txt", b"Please remove it.")
    as_ops = await stack.tada("link", "reply", link_id, "--file", fine)
    assert as_ops.code == 3 and "caseworker" in as_ops.stderr
    unknown = await caseworker(stack, "link", "reply", "TD-NOSUCHLK-0000000000000000", "--file", fine)
    assert unknown.code == 4

    await stack.withdraw(link_id)

    async def withdrawn() -> bool:
        return await stack.state(link_id) == "WITHDRAWN"

    await eventually(withdrawn, "the link withdrawn", 30)
    closed = await caseworker(stack, "link", "reply", link_id, "--file", fine)
    assert closed.code == 3 and "withdrawn" in closed.stderr
    assert len(mailbox.messages) == sent_before  # nothing refused went out
