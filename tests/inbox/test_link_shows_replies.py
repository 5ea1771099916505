"""A platform's emailed reply is shown with its link: ``tada link show`` (text and --json) and
the API's ``GET /v1/links/{link}`` list when it came, the sender's domain, its classification,
the rule, how it was matched, its attachments' types and sizes and the excerpt of its words,
opened, as plain text: no HTML rendered, no escape sequence passed on.

The real stack: the worker on the Temporal dev server sends the notice (real SMTP), the
platform's answer goes into a real IMAP mailbox (pymap), the inbox reader with tada's reply
router records it (PostgreSQL), the ``tada`` CLI runs as a subprocess and the API as a real
uvicorn server."""

from __future__ import annotations

import secrets
from email.message import EmailMessage
from email.utils import getaddresses

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from tada.api.server import ApiRunner
from tada.app.inbox import InboxReader
from tada.app.reply_routing import ReplyRouter
from tada.kit.ports import free_port
from tests.inbox.conftest import REPLY_TO
from tests.support.cli_stack import (
    HOURLY,
    NOTICE_FROM,
    PLATFORM_EMAIL,
    Stack,
    cli_env,
    eventually,
    registry_toml,
    stack_settings,
    worker_running,
    write_registry,
)
from tests.support.crypto import suite_crypto
from tests.support.link_ids import link_of

pytestmark = pytest.mark.asyncio(loop_scope="session")

CASEWORKER = secrets.token_urlsafe(24)
PDF = b"%PDF-1.4\n" + b"0" * 2000
#: What a hostile or careless platform might put in its words: terminal escapes (colour, a
#: hyperlink, a title change), a direction override, markup.
HOSTILE = (
    "\x1b[31mRED\x1b[0m \x1b]8;;http://evil.test/\x07click\x1b]8;;\x07 \x1b]0;owned\x07 \u202eevil <b>bold</b> &amp;"
)


class World:
    def __init__(self, stack: Stack, api: httpx.AsyncClient) -> None:
        self.stack = stack
        self.api = api


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("replies-shown")
    settings = stack_settings(
        dev_env,
        postgres_url,
        smtp_server[1],
        write_registry(home, registry_toml(HOURLY)),
        "replies-shown",
        notice_from=NOTICE_FROM,
        reply_to=REPLY_TO,
        state_dir=home / ".tada",
        api_tokens=SecretStr(f"{CASEWORKER}:caseworker"),
        api_host="127.0.0.1",
        api_port=free_port(),
    )
    env = cli_env(settings, TADA_NOTICE_FROM=NOTICE_FROM, TADA_STATE_DIR=str(home / ".tada"), COLUMNS="250")
    runner = ApiRunner(settings)
    async with worker_running(dev_env.client, db_pool, settings):
        await runner.start()
        try:
            async with httpx.AsyncClient(base_url=runner.url, timeout=30) as http:
                yield World(Stack(env=env, cwd=home, client=dev_env.client, pool=db_pool), http)
        finally:
            await runner.stop()


def platform_answer(notice: EmailMessage, body: str, *, message_id: str) -> bytes:
    """The platform's answer to ``notice``: its words (and an HTML part tada must not render),
    the quoted notice, and a PDF attached."""
    [(_, reply_address)] = getaddresses([notice["Reply-To"]])
    answer = EmailMessage()
    answer["From"] = "Trust & Safety <abuse@platform.test>"
    answer["To"] = reply_address
    answer["Subject"] = f"Re: {notice['Subject']}"
    answer["Message-ID"] = message_id
    answer["In-Reply-To"] = notice["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in notice.get_body(("plain",)).get_content().splitlines()[:4])
    answer.set_content(f"{body}\n\nOn Tue, tada wrote:\n{quoted}\n")
    answer.add_alternative(f"<p>{body}</p><script>alert('html')</script>", subtype="html")
    answer.add_attachment(PDF, maintype="application", subtype="pdf", filename="ticket-4711.pdf")
    return bytes(answer)


async def route_mailbox(db_pool, client, imap_server, postbox, postgres_url) -> int:
    """One poll of the mailbox with tada's reply router: how many messages were new."""
    router = ReplyRouter(db_pool, suite_crypto(), client, reply_to=REPLY_TO)
    inbox = InboxReader(db_pool, postgres_url, imap_server.config(mailbox=postbox.mailbox), router, poll_seconds=0.05)
    return (await inbox.poll_once()).new


async def test_link_show_and_the_api_list_the_links_replies(
    world, web, mailbox, imap_server, postbox, postgres_url, db_pool
):
    stack = world.stack
    case_id = await stack.open_case()
    web.live("/shown/a")
    url = web.url("/shown/a")
    added = await stack.tada("links", "add", case_id, url, "--json")
    assert added.code == 0, added.stderr
    link_id = await link_of(stack.pool, case_id, url)

    async def the_notice() -> EmailMessage | None:
        found = [m for m in mailbox.messages if url in m.get_body(("plain",)).get_content()]
        return found[0] if found else None

    notice = await eventually(the_notice, "the notice", 30)
    assert notice["To"] == PLATFORM_EMAIL and "[TD-" in notice["Subject"]
    before = (await stack.tada("link", "show", link_id, "--json")).json
    assert before["replies"] == []

    words = f"Hello, the content you reported has been removed. {HOSTILE}"
    await postbox.append(platform_answer(notice, words, message_id=f"<answer-{secrets.token_hex(6)}@platform.test>"))
    assert await route_mailbox(db_pool, stack.client, imap_server, postbox, postgres_url) == 1

    shown = await stack.tada("link", "show", link_id, "--json")
    assert shown.code == 0, shown.stderr
    [reply] = shown.json["replies"]
    assert (reply["kind"], reply["confidence"], reply["matched_by"]) == ("removed", "high", "tag")
    assert reply["rule"] and reply["from_domain"] == "platform.test"
    assert reply["received_at"] and isinstance(reply["reply_id"], int)
    [attachment] = reply["attachments"]
    assert attachment["type"] == "application/pdf" and abs(attachment["size"] - len(PDF)) < 64
    excerpt = reply["excerpt"]
    assert excerpt.startswith("Hello, the content you reported has been removed.")
    assert "<b>bold</b>" in excerpt  # the platform's text, as text: never rendered
    assert "alert" not in excerpt and "tada wrote" not in excerpt  # no HTML part, no quoted notice
    assert "ticket-4711" not in shown.stdout  # attachments by type and size, never their names
    for raw in ("\x1b", "\x07", "\u202e", "\\u001b", "\\u202e"):
        assert raw not in shown.stdout

    table = await stack.tada("link", "show", link_id)
    assert table.code == 0, table.stderr
    assert "Replies" in table.stdout
    size = f"{attachment['size'] / 1024:.1f} KB"
    for expected in ("platform.test", "removed (high)", reply["rule"], f"application/pdf ({size})", "<b>bold</b>"):
        assert expected in table.stdout, expected
    assert "has been removed" in table.stdout
    assert not any(raw in table.stdout for raw in ("\x1b", "\x07", "\u202e", "alert", "ticket-4711"))

    response = await world.api.get(f"/v1/links/{link_id}", headers={"Authorization": f"Bearer {CASEWORKER}"})
    assert response.status_code == 200, response.text
    assert response.json()["replies"] == shown.json["replies"]
    assert "\x1b" not in response.text and "\u202e" not in response.text

    await stack.withdraw(link_id)
