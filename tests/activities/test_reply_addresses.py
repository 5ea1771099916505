"""Every notice email carries its reply token, and the email is recorded with what it listed.

Sent for real through the suite's SMTP server into its database: the Reply-To is the
organisation's reply address with the token as plus-tag, the subject ends with ``[TD-<token>]``,
and ``notice_messages`` / ``notice_message_links`` hold the email's Message-ID and each of
its links at the number the email shows it under.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

import httpx
import pytest

from tada.activities.notices import NoticeActivities, NotifierIdentity
from tada.app.intake import open_case, start_link_row
from tada.app.reply_messages import record_message, reply_tag_key
from tada.clients.mailer import Mailer, SmtpConfig
from tada.clients.rate_limit import RecipientRateLimit
from tada.domain.models import NoticeBatch
from tada.domain.reply_tags import tokens_in_addresses, tokens_in_subject
from tada.domain.states import Channel
from tada.domain.urls import normalise_url
from tada.errors import Misconfigured
from tests.support.delivery import notice_request

pytestmark = pytest.mark.asyncio(loop_scope="session")

IDENTITY = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org", allow_private_targets=True)
REPLY_TO = "Org replies <takedown@org.test>"
RECIPIENT = "replies@site.test"  # its own: the suite's other notices to abuse@site.test keep their hourly limit
_LISTED = re.compile(r"^[ \t]+(\d+)\. (\S+)\s*$", re.M)


def _activities(db_pool, http, smtp_server, data_crypto, reply_to: str | None = REPLY_TO) -> NoticeActivities:
    mailer = Mailer(SmtpConfig(host="127.0.0.1", port=smtp_server[1]))
    return NoticeActivities(
        db_pool, mailer, http, IDENTITY, RecipientRateLimit(db_pool, per_hour=0), data_crypto, reply_to=reply_to
    )


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def _case_with_links(db_pool, data_crypto, count: int) -> tuple[str, dict[str, str]]:
    """A case and ``count`` links of it on one site: {url: link id}."""
    case_id = await open_case(db_pool, age=20, minimum_age=16, signpost="", reference="REF-R", crypto=data_crypto)
    links = {}
    for number in range(count):
        url = normalise_url(f"https://site.test/v/{number}")
        links[url] = await start_link_row(db_pool, case_id=case_id, url=url, platform="site.test", category="other")
    return case_id, links


async def test_a_batch_email_carries_its_token_and_records_every_link_at_its_number(
    db_pool, http, smtp_server, mailbox, data_crypto
):
    case_id, links = await _case_with_links(db_pool, data_crypto, 3)
    notices = _activities(db_pool, http, smtp_server, data_crypto)
    items = [
        notice_request(case_id, link_id, recipient=RECIPIENT) for link_id in reversed(links.values())
    ]  # not in the email's order
    receipt = await notices.send_batch(NoticeBatch(items=items))
    (message,) = mailbox.messages

    name, reply_address = parseaddr(message["Reply-To"])
    [token] = tokens_in_addresses([reply_address], "takedown@org.test")
    collector, _ = smtp_server
    assert collector.envelopes[-1].mail_from == reply_address  # a bounce comes back tagged, to the inbox
    assert name == "Org replies" and reply_address.startswith("takedown+") and reply_address.endswith("@org.test")
    assert reply_tag_key(data_crypto).verify(token)
    assert tokens_in_subject(message["Subject"]) == [token]
    assert message["Subject"].endswith(f"[TD-{token[:10]}-{token[10:]}]") and "REF-R" in message["Subject"]

    row = await db_pool.fetchrow("SELECT * FROM notice_messages WHERE reply_token = $1", token)
    assert (row["message_id"], row["case_id"]) == (message["Message-ID"], case_id) == (receipt.message_id, case_id)
    assert row["sent_at"] is not None
    body = message.get_body(("plain",)).get_content()
    shown = {int(number): links[url] for number, url in _LISTED.findall(body)}
    recorded = await db_pool.fetch(
        "SELECT position, link_id, notice_key FROM notice_message_links WHERE reply_token = $1 ORDER BY position", token
    )
    assert {r["position"]: r["link_id"] for r in recorded} == shown and sorted(shown) == [1, 2, 3]
    assert all(r["notice_key"] == f"{r['link_id']}:1:1:initial" for r in recorded)


async def test_without_a_reply_address_there_is_no_reply_to(db_pool, http, smtp_server, mailbox, data_crypto):
    case_id, links = await _case_with_links(db_pool, data_crypto, 1)
    notices = _activities(db_pool, http, smtp_server, data_crypto, reply_to=None)
    await notices.send_batch(
        NoticeBatch(items=[notice_request(case_id, link, recipient=RECIPIENT) for link in links.values()])
    )
    (message,) = mailbox.messages
    assert message["Reply-To"] is None
    [token] = tokens_in_subject(message["Subject"])  # the subject still names the email
    assert (
        await db_pool.fetchval("SELECT message_id FROM notice_messages WHERE reply_token = $1", token)
        == (message["Message-ID"])
    )


async def test_a_form_notice_records_no_email(db_pool, http, smtp_server, web, data_crypto):
    case_id, links = await _case_with_links(db_pool, data_crypto, 1)
    [link_id] = links.values()
    web.live("/report")
    form = notice_request(case_id, link_id, channel=Channel.FORM, recipient=None, form_url=web.url("/report"))
    await _activities(db_pool, http, smtp_server, data_crypto).send_batch(NoticeBatch(items=[form]))
    assert len(web.posts) == 1
    assert await db_pool.fetchval("SELECT count(*) FROM notice_messages WHERE case_id = $1", case_id) == 0


async def test_a_message_recorded_again_keeps_its_token_and_lists_what_it_lists_now(db_pool, data_crypto):
    case_id, links = await _case_with_links(db_pool, data_crypto, 2)
    key = reply_tag_key(data_crypto)
    (url_a, a), (url_b, b) = links.items()
    for link_id in (a, b):  # notices exist before their email is recorded (send_batch claims them first)
        await db_pool.execute(
            "INSERT INTO notices (notice_key, link_id, case_id, cycle, kind, channel) "
            "VALUES ($1, $2, $3, 1, 'initial', 'email')",
            f"{link_id}:1:1:initial",
            link_id,
            case_id,
        )
    message_id = f"<again-{case_id}@org.test>"
    first = await record_message(
        db_pool, key, message_id=message_id, case_id=case_id, listed=[(f"{a}:1:1:initial", a), (f"{b}:1:1:initial", b)]
    )
    again = await record_message(db_pool, key, message_id=message_id, case_id=case_id, listed=[(f"{b}:1:1:initial", b)])
    assert again == first
    rows = await db_pool.fetch("SELECT link_id, position FROM notice_message_links WHERE reply_token = $1", first)
    assert [(r["link_id"], r["position"]) for r in rows] == [(b, 1)]


@pytest.mark.parametrize("reply_to", ["takedown", "@org.test", "Org <takedown@>"])
async def test_a_reply_address_that_cannot_be_tagged_stops_the_worker_naming_the_setting_only(
    db_pool, http, smtp_server, data_crypto, reply_to
):
    with pytest.raises(Misconfigured) as refused:
        _activities(db_pool, http, smtp_server, data_crypto, reply_to=reply_to)
    assert "TADA_REPLY_TO" in str(refused.value) and "takedown" not in str(refused.value)
