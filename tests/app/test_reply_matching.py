"""A reply finds the notice email it answers, on a real database, after a real send.

Each way is tried alone (the plus-tag, In-Reply-To, References, the subject's tag), then the
ways a reply goes wrong: a tag retyped (recoverable), a tag forged or unknown (it falls
through to the next way), nothing at all (None). Guesses from a reply's text are checked
against the database.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import parseaddr

import httpx
import pytest

from tada.activities.notices import NoticeActivities, NotifierIdentity
from tada.app.intake import open_case, start_link_row
from tada.app.reply_guesses import ReplyGuess, reply_guesses
from tada.app.reply_matching import match_reply
from tada.app.reply_messages import reply_tag_key
from tada.clients.mailer import Mailer, SmtpConfig
from tada.clients.rate_limit import RecipientRateLimit
from tada.domain.models import NoticeBatch
from tada.domain.reply_tags import ALPHABET, tokens_in_addresses
from tada.domain.urls import normalise_url
from tests.support.delivery import notice_request

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPLY_TO = "takedown@org.test"
RECIPIENT = (
    "replies-matching@site.test"  # its own: the suite's other notices to abuse@site.test keep their hourly limit
)
IDENTITY = NotifierIdentity(notice_from="Org <notices@org.test>", notifier_name="Org", allow_private_targets=True)


class Sent:
    """A notice email of two links, as the platform received it."""

    def __init__(self, case_id: str, link_ids: list[str], message: EmailMessage, token: str) -> None:
        self.case_id, self.link_ids, self.message, self.token = case_id, link_ids, message, token

    @property
    def reply_address(self) -> str:
        return parseaddr(self.message["Reply-To"])[1]


@pytest.fixture
async def sent(db_pool, smtp_server, mailbox, data_crypto) -> Sent:
    case_id = await open_case(db_pool, age=20, minimum_age=16, signpost="", reference="REF-M", crypto=data_crypto)
    link_ids = [
        await start_link_row(
            db_pool, case_id=case_id, url=normalise_url(f"https://site.test/m/{n}"), platform="site.test", category="x"
        )
        for n in range(2)
    ]
    async with httpx.AsyncClient(timeout=5) as http:
        mailer = Mailer(SmtpConfig(host="127.0.0.1", port=smtp_server[1]))
        notices = NoticeActivities(
            db_pool, mailer, http, IDENTITY, RecipientRateLimit(db_pool, per_hour=0), data_crypto, reply_to=REPLY_TO
        )
        await notices.send_batch(
            NoticeBatch(items=[notice_request(case_id, link_id, recipient=RECIPIENT) for link_id in link_ids])
        )
    (message,) = mailbox.messages
    [token] = tokens_in_addresses([parseaddr(message["Reply-To"])[1]], REPLY_TO)
    return Sent(case_id, link_ids, message, token)


@pytest.fixture
def tag_key(data_crypto):
    return reply_tag_key(data_crypto)


def _reply(to: str = REPLY_TO, subject: str = "Re: your request", **headers: str) -> EmailMessage:
    reply = EmailMessage()
    reply["From"] = "Trust and Safety <trust@site.test>"
    reply["To"] = to
    reply["Subject"] = subject
    for name, value in headers.items():
        reply[name.replace("_", "-")] = value
    reply.set_content("Both are removed.")
    return reply


def _forged(token: str) -> str:
    """The token with its last check symbol changed: well formed, wrong check."""
    return token[:-1] + next(symbol for symbol in ALPHABET if symbol != token[-1])


async def test_a_reply_to_the_tagged_address_finds_its_email_and_its_links_in_order(db_pool, sent, tag_key):
    found = await match_reply(db_pool, _reply(to=f"Org <{sent.reply_address}>"), tag_key, reply_to=REPLY_TO)
    assert found is not None and found.matched_by == "tag"
    assert (found.case_id, found.reply_token, found.message_id) == (
        sent.case_id,
        sent.token,
        sent.message["Message-ID"],
    )
    assert found.link_ids == sent.link_ids and [link.position for link in found.links] == [1, 2]
    assert found.notice_keys == [f"{link_id}:1:1:initial" for link_id in sent.link_ids]
    assert found.at_position(2) is not None and found.at_position(2).link_id == sent.link_ids[1]


@pytest.mark.parametrize("header", ["Cc", "Delivered-To", "X-Original-To", "Envelope-To"])
async def test_the_tag_is_found_in_every_header_a_reply_address_can_be_in(db_pool, sent, tag_key, header):
    reply = _reply(**{header.replace("-", "_"): sent.reply_address})
    found = await match_reply(db_pool, reply, tag_key, reply_to=REPLY_TO)
    assert found is not None and (found.matched_by, found.reply_token) == ("tag", sent.token)


async def test_a_retyped_tag_is_recovered(db_pool, sent, tag_key):
    local, _, domain = sent.reply_address.partition("@")
    retyped = local.upper().replace("1", "l").replace("0", "O").replace("-", "") + "@" + domain.upper()
    found = await match_reply(db_pool, _reply(to=f'"Org" <{retyped}>'), tag_key, reply_to=REPLY_TO)
    assert found is not None and (found.matched_by, found.reply_token) == ("tag", sent.token)
    subject = f"RE: [td-{sent.token[:5].lower()} {sent.token[5:10]} {sent.token[10:]}.] Removal"
    found = await match_reply(db_pool, _reply(subject=subject), tag_key, reply_to=REPLY_TO)
    assert found is not None and (found.matched_by, found.reply_token) == ("subject", sent.token)


async def test_in_reply_to_then_references_find_the_recorded_message_id(db_pool, sent, tag_key):
    message_id = sent.message["Message-ID"]
    by_reply = await match_reply(db_pool, _reply(In_Reply_To=message_id), tag_key, reply_to=REPLY_TO)
    assert by_reply is not None and (by_reply.matched_by, by_reply.case_id) == ("in-reply-to", sent.case_id)
    references = f"{message_id} <later-unknown@site.test>"
    by_references = await match_reply(
        db_pool, _reply(In_Reply_To="<unknown@site.test>", References=references), tag_key, reply_to=REPLY_TO
    )
    assert by_references is not None and by_references.matched_by == "references"
    assert by_references.link_ids == sent.link_ids


async def test_the_subject_tag_finds_the_email_when_the_address_lost_its_tag(db_pool, sent, tag_key):
    found = await match_reply(db_pool, _reply(subject=f"Re: {sent.message['Subject']}"), tag_key, reply_to=REPLY_TO)
    assert found is not None and (found.matched_by, found.reply_token) == ("subject", sent.token)


async def test_a_forged_tag_is_no_match_and_falls_through_to_the_next_way(db_pool, sent, tag_key):
    forged = sent.reply_address.replace(sent.reply_address.split("+")[1].split("@")[0], _forged(sent.token).lower())
    assert await match_reply(db_pool, _reply(to=forged), tag_key, reply_to=REPLY_TO) is None
    # the forged token names the recorded row's id: only its check is wrong, and that is refused
    assert await db_pool.fetchval(
        "SELECT count(*) FROM notice_messages WHERE reply_token LIKE $1", sent.token[:10] + "%"
    )
    found = await match_reply(
        db_pool, _reply(to=forged, In_Reply_To=sent.message["Message-ID"]), tag_key, reply_to=REPLY_TO
    )
    assert found is not None and found.matched_by == "in-reply-to"
    forged_subject = f"Re: [TD-{_forged(sent.token)}]"
    assert await match_reply(db_pool, _reply(subject=forged_subject), tag_key, reply_to=REPLY_TO) is None


async def test_an_unknown_tag_with_a_right_check_falls_through(db_pool, sent, tag_key):
    unknown = tag_key.new_token()  # made under the key, never recorded
    reply = _reply(to=f"takedown+{unknown}@org.test", subject=f"Re: {sent.message['Subject']}")
    found = await match_reply(db_pool, reply, tag_key, reply_to=REPLY_TO)
    assert found is not None and found.matched_by == "subject"


async def test_a_tag_under_another_mailbox_counts_only_when_no_reply_address_is_given(db_pool, sent, tag_key):
    elsewhere = sent.reply_address.replace("takedown+", "other+")
    assert await match_reply(db_pool, _reply(to=elsewhere), tag_key, reply_to=REPLY_TO) is None
    found = await match_reply(db_pool, _reply(to=elsewhere), tag_key)
    assert found is not None and found.matched_by == "tag"


async def test_a_reply_with_nothing_of_its_email_is_no_match(db_pool, sent, tag_key):
    assert await match_reply(db_pool, _reply(References="<a@site.test> <b@site.test>"), tag_key) is None


async def test_guesses_are_what_the_text_names_and_the_database_knows(db_pool, sent, tag_key):
    text = (
        f"About case {sent.case_id.lower()} (see {sent.link_ids[1]}), and TD-ZZZZZZZZ, "
        f"TD-{sent.link_ids[0][3:11]}-0000000000000000 and your tag td-{sent.token[:10]}-{sent.token[10:]}."
    )
    guesses = await reply_guesses(db_pool, text, tag_key)
    assert guesses == [
        ReplyGuess("case", sent.case_id, sent.case_id),
        ReplyGuess("link", sent.link_ids[1], sent.case_id),
        ReplyGuess("message", sent.token, sent.case_id),
    ]
    assert await reply_guesses(db_pool, "nothing here", tag_key) == []


async def test_an_email_sent_before_emails_were_recorded_is_found_by_its_notices_message_id(
    db_pool, data_crypto, tag_key
):
    case_id = await open_case(db_pool, age=20, minimum_age=16, signpost="", reference="REF-OLD", crypto=data_crypto)
    link_ids = [
        await start_link_row(
            db_pool,
            case_id=case_id,
            url=normalise_url(f"https://site.test/old/{n}"),
            platform="site.test",
            category="x",
        )
        for n in range(2)
    ]
    message_id = f"<old-{case_id}@org.test>"
    for link_id in link_ids:  # as send_batch recorded a batch before it recorded its email
        await db_pool.execute(
            "INSERT INTO notices (notice_key, link_id, case_id, cycle, kind, channel, recipient, message_id, status) "
            "VALUES ($1, $2, $3, 1, 'initial', 'email', 'replies-old@site.test', $4, 'sent')",
            f"{link_id}:1:1:initial",
            link_id,
            case_id,
            message_id,
        )
    found = await match_reply(db_pool, _reply(References=message_id), tag_key, reply_to=REPLY_TO)
    assert found is not None and (found.matched_by, found.case_id, found.reply_token) == ("references", case_id, None)
    assert found.link_ids == link_ids and {link.position for link in found.links} == {None}
