"""A platform answers a notice by email, and its answer reaches the links it is about: the real
worker on the time-skipping server sends the notices (real SMTP), the platform's replies are
put in a real IMAP mailbox (pymap), and the inbox reader, with tada's reply router, matches,
classifies, records and tells each link (tada/app/reply_routing.py). PostgreSQL throughout."""

from __future__ import annotations

from datetime import timedelta
from email.utils import getaddresses

import pytest

from tada.adapters.sealing import is_sealed
from tada.app.caseworker import withdraw_case
from tada.app.inbox import InboxReader
from tada.app.purge import purge_case_data
from tada.app.reply_routing import ReplyRouter
from tada.domain.models import EscalationContact
from tada.domain.states import Escalation, LinkState
from tada.workflows.link import LinkWorkflow
from tests.inbox.conftest import REPLY_TO
from tests.lifecycle.harness import HOST_EMAIL, PLATFORM_EMAIL, make_policy, running_worker
from tests.support.cli_stack import eventually
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

S = LinkState


def answer(notice, body: str, *, headers: str | None = None, in_reply_to: bool = True) -> bytes:
    """A platform's answer to ``notice`` (the email tada sent), as a mail program writes one."""
    [(_, reply_address)] = getaddresses([notice["Reply-To"]])
    lines = [
        "From: Trust & Safety <abuse@platform.test>",
        f"To: {reply_address}",
        f"Subject: Re: {notice['Subject']}",
        f"Message-ID: <answer-{abs(hash(body)) % 10**9}-{notice['Message-ID'].strip('<>')}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to:
        lines.append(f"In-Reply-To: {notice['Message-ID']}")
    if headers:
        lines.append(headers)
    quoted = "\r\n".join(f"> {line}" for line in notice.get_body(("plain",)).get_content().splitlines()[:6])
    return ("\r\n".join(lines) + f"\r\n\r\n{body}\r\n\r\nOn Tue, tada wrote:\r\n{quoted}\r\n").encode()


async def _events(pool, link_id: str, kind: str) -> list[dict]:
    rows = await pool.fetch("SELECT detail FROM link_events WHERE link_id = $1 AND kind = $2", link_id, kind)
    return [row["detail"] for row in rows]


async def test_replies_by_email_move_their_links(
    time_env, db_pool, reply_settings, mailbox, web, imap_server, postbox, postgres_url
):
    policy = make_policy()
    policy.timings.batch_window = timedelta(seconds=5)  # the case's three links: one email
    paths = ("/inbox/a", "/inbox/b", "/inbox/c", "/inbox/d")
    for path in paths:
        web.live(path)
    async with running_worker(time_env, db_pool, reply_settings) as h:
        case_id = await h.open_case()
        batched = [await h.start(web.url(path), policy, case_id=case_id) for path in paths[:3]]
        alone = await h.start(web.url(paths[3]))  # a case of its own: an email of its own
        for link in [*batched, alone]:
            await h.until(link, S.AWAITING_RESPONSE, timeout=90)

        def text(message) -> str:
            return message.get_body(("plain",)).get_content()

        [album] = [m for m in mailbox.messages if web.url(paths[0]) in text(m)]
        [single] = [m for m in mailbox.messages if web.url(paths[3]) in text(m)]
        assert all(web.url(path) in text(album) for path in paths[:3])
        assert "+" in album["Reply-To"] and "[TD-" in album["Subject"]

        web.gone(paths[0])
        web.gone(paths[1])
        web.gone(paths[2])
        await postbox.append(answer(album, "Hello, the content you reported has been removed. Regards"))
        await postbox.append(answer(single, "We have reviewed it and it does not violate our policies."))
        await postbox.append(answer(single, "Sorry, it has been removed now."))  # but the page is still up
        stranger = (
            b"From: someone@elsewhere.test\r\nTo: takedown@org.example\r\nSubject: hello\r\n"
            b"Message-ID: <stranger@elsewhere.test>\r\n\r\nwho are you?\r\n"
        )
        await postbox.append(stranger)

        router = ReplyRouter(db_pool, suite_crypto(), time_env.client, reply_to=REPLY_TO)
        config = imap_server.config(mailbox=postbox.mailbox)
        inbox = InboxReader(db_pool, postgres_url, config, router, poll_seconds=0.05)
        outcome = await inbox.poll_once()
        assert outcome.new == 4

        for link in batched:  # the platform's word and a gone check: removed
            await h.until(link, S.REMOVED, timeout=90)
            [heard] = await _events(db_pool, link.id, "reply")
            assert (heard["kind"], heard["confidence"], heard["matched_by"]) == ("removed", "high", "tag")
        await h.until(alone, S.ESCALATED, timeout=90)  # a confident refusal escalates
        waits = await eventually(lambda: _events(db_pool, alone.id, "waiting"), "the claim against a live page", 30)
        assert {"for": "caseworker: platform says removed, page still live"} in waits
        rows = await db_pool.fetch(
            "SELECT link_id, kind, from_domain, excerpt FROM link_replies WHERE link_id = ANY($1::text[])",
            [link.id for link in [*batched, alone]],
        )
        assert sorted(row["kind"] for row in rows) == ["rejected", "removed", "removed", "removed", "removed"]
        assert {row["from_domain"] for row in rows} == {"platform.test"}
        assert all(is_sealed(row["excerpt"]) and "removed" not in row["excerpt"] for row in rows)
        statuses = await db_pool.fetch(
            "SELECT id, status FROM inbox_messages WHERE mailbox = $1 ORDER BY uid", inbox.mailbox
        )
        assert [row["status"] for row in statuses] == ["matched", "matched", "matched", "unmatched"]

        # A purge deletes what the case's replies said, and their Message-IDs.
        await withdraw_case(db_pool, time_env.client, case_id)
        await purge_case_data(db_pool, case_id)
        assert await db_pool.fetchval("SELECT count(*) FROM link_replies WHERE case_id = $1", case_id) == 0
        album_row = statuses[0]["id"]
        assert await db_pool.fetchval("SELECT message_id FROM inbox_messages WHERE id = $1", album_row) is None


async def test_a_reply_naming_two_of_five_links_reaches_those_two(
    time_env, db_pool, reply_settings, mailbox, web, imap_server, postbox, postgres_url
):
    policy = make_policy()
    policy.timings.batch_window = timedelta(seconds=5)
    paths = [f"/inbox/five/{n}" for n in range(5)]
    for path in paths:
        web.live(path)
    async with running_worker(time_env, db_pool, reply_settings) as h:
        case_id = await h.open_case()
        links = [await h.start(web.url(path), policy, case_id=case_id) for path in paths]
        for link in links:
            await h.until(link, S.AWAITING_RESPONSE, timeout=90)
        [notice] = [m for m in mailbox.messages if web.url(paths[0]) in m.get_body(("plain",)).get_content()]
        listed = await db_pool.fetch(
            "SELECT link_id, position FROM notice_message_links WHERE link_id = ANY($1::text[]) ORDER BY position",
            [link.id for link in links],
        )
        first_two = [row["link_id"] for row in listed[:2]]
        for link_id in first_two:  # their pages are gone
            path = paths[[link.id for link in links].index(link_id)]
            web.gone(path)
        await postbox.append(
            answer(notice, "Hello,\r\nThe first two have been removed. The others we are still reviewing.")
        )

        router = ReplyRouter(db_pool, suite_crypto(), time_env.client, reply_to=REPLY_TO)
        inbox = InboxReader(db_pool, postgres_url, imap_server.config(mailbox=postbox.mailbox), router)
        assert (await inbox.poll_once()).new == 1
        for link in links:
            if link.id in first_two:
                await h.until(link, S.REMOVED, timeout=90)
        told = await db_pool.fetch(
            "SELECT link_id FROM link_replies WHERE link_id = ANY($1::text[])", [link.id for link in links]
        )
        assert sorted(row["link_id"] for row in told) == sorted(first_two)
        for link in links:
            if link.id not in first_two:
                assert (await h.status(link)).state == S.AWAITING_RESPONSE
                assert await _events(db_pool, link.id, "reply") == []


def delivery_report(notice, failed: str) -> bytes:
    """The platform's mail server's RFC 3464 report, to the envelope sender tada gave the notice."""
    [(_, bounces_to)] = getaddresses([notice["Reply-To"]])
    return (
        "Return-Path: <>\r\n"
        "From: Mail Delivery System <MAILER-DAEMON@mx.platform.test>\r\n"
        f"To: {bounces_to}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn-{notice['Message-ID'].strip('<>')}>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system. Your message could not be delivered.\r\n\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.platform.test\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {notice['Message-ID']}\r\nSubject: {notice['Subject']}\r\n\r\n"
        "--b1--\r\n"
    ).encode()


async def test_a_bounce_returns_to_the_inbox_and_the_link_stops_writing_there(
    time_env, db_pool, reply_settings, mailbox, web, imap_server, postbox, postgres_url
):
    """The relay took the notice; the platform's server bounced it later, to the envelope
    sender tada set: the tagged reply address, so the report finds its notice in the inbox."""
    web.live("/inbox/bounce")
    async with running_worker(time_env, db_pool, reply_settings) as h:
        link = await h.start(web.url("/inbox/bounce"))
        await h.until(link, S.AWAITING_RESPONSE, timeout=90)
        [notice] = mailbox.messages
        [(_, reply_address)] = getaddresses([notice["Reply-To"]])
        assert mailbox.envelopes[-1].mail_from == reply_address
        await postbox.append(delivery_report(notice, PLATFORM_EMAIL))
        router = ReplyRouter(db_pool, suite_crypto(), time_env.client, reply_to=REPLY_TO)
        inbox = InboxReader(db_pool, postgres_url, imap_server.config(mailbox=postbox.mailbox), router)
        assert (await inbox.poll_once()).new == 1
        status = await h.wait(link, lambda s: s.next_action.startswith("contact bounced"), timeout=60)
        assert status.state == S.FOLLOW_UP
        [heard] = await _events(db_pool, link.id, "reply")
        assert (heard["kind"], heard["confidence"], heard["matched_by"]) == ("bounce", "high", "tag")
        [failed] = await _events(db_pool, link.id, "delivery_failed")
        assert failed["where"] == "platform.test" and failed["code"] == "bounce"


def _reply(notice, *, to: str, subject: str, in_reply_to: bool, body: str, number: int, extra: str = "") -> bytes:
    lines = [
        "From: Support <support@platform.test>",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: <path-{number}-{notice['Message-ID'].strip('<>')}>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to:
        lines.append(f"In-Reply-To: {notice['Message-ID']}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + f"\r\n\r\n{body}\r\n").encode()


async def test_each_way_a_reply_finds_its_notice(
    time_env, db_pool, reply_settings, mailbox, web, imap_server, postbox, postgres_url
):
    """The plus-tag (retyped: other case, o for 0, l for 1, dashes moved), In-Reply-To alone,
    the subject's tag alone; an out-of-office; a forged tag and nothing else: the pen."""
    web.live("/inbox/paths")
    async with running_worker(time_env, db_pool, reply_settings) as h:
        link = await h.start(web.url("/inbox/paths"))
        await h.until(link, S.AWAITING_RESPONSE, timeout=90)
        [notice] = mailbox.messages
        [(_, tagged)] = getaddresses([notice["Reply-To"]])
        token = tagged.split("+", 1)[1].split("@", 1)[0]
        retyped = token.lower().replace("0", "o").replace("1", "l").replace("-", "")
        retyped = f"{retyped[:4]}-{retyped[4:]}"
        subject_tag = notice["Subject"][notice["Subject"].index("[TD-") :]
        received = "We have received your report and opened ticket 48213."
        replies = [
            _reply(notice, to=f"takedown+{retyped}@org.example", subject="Re: your report", in_reply_to=False,
                   body=received, number=1),
            _reply(notice, to=REPLY_TO, subject="Re: your report", in_reply_to=True, body=received, number=2),
            _reply(notice, to=REPLY_TO, subject=f"Ticket 48213 {subject_tag}", in_reply_to=False, body=received,
                   number=3),
            _reply(notice, to=tagged, subject="Automatic reply: out of office", in_reply_to=True,
                   body="I am out of the office until Monday.", number=4, extra="Auto-Submitted: auto-replied"),
            _reply(notice, to="takedown+ZZZZZZZZZZ-ZZZZZ@org.example", subject="Re: [TD-ZZZZZZZZZZ-ZZZZZ]",
                   in_reply_to=False, body=received, number=5),
        ]  # fmt: skip
        for raw in replies:
            await postbox.append(raw)
        router = ReplyRouter(db_pool, suite_crypto(), time_env.client, reply_to=REPLY_TO)
        inbox = InboxReader(db_pool, postgres_url, imap_server.config(mailbox=postbox.mailbox), router)
        assert (await inbox.poll_once()).new == 5
        heard = await eventually(lambda: _heard(db_pool, link.id, 4), "four replies heard by the link", 30)
        heard.sort(key=lambda r: int(r["reply"]))  # in mailbox order (up to 8 are handed on at once)
        assert [(r["matched_by"], r["kind"]) for r in heard] == [
            ("tag", "acknowledged"), ("in-reply-to", "acknowledged"), ("subject", "acknowledged"),
            ("tag", "auto_reply"),
        ]  # fmt: skip
        statuses = await db_pool.fetch(
            "SELECT status FROM inbox_messages WHERE mailbox = $1 ORDER BY uid", inbox.mailbox
        )
        assert [row["status"] for row in statuses][-1] == "unmatched"  # the forged tag matched nothing
        assert (await h.status(link)).state == S.AWAITING_RESPONSE


async def _async(value):
    return value


async def _heard(pool, link_id: str, count: int) -> list | None:
    rows = await pool.fetch(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'reply' ORDER BY event_id", link_id
    )
    return [row["detail"] for row in rows] if len(rows) >= count else None


async def test_a_bounced_escalation_goes_to_the_next_contact(
    time_env, db_pool, reply_settings, mailbox, web, imap_server, postbox, postgres_url
):
    """A caseworker's contact for the host bounces (its report comes back to the inbox): the
    escalation goes on to the next contact, the registry's, at once."""
    web.live("/inbox/escalation-bounce")
    async with running_worker(time_env, db_pool, reply_settings) as h:
        link = await h.start(web.url("/inbox/escalation-bounce"))
        await h.until(link, S.AWAITING_RESPONSE, timeout=90)
        first = "abuse@first-host.test"
        await link.signal(LinkWorkflow.escalate, EscalationContact(email=first, kind=Escalation.HOST))
        await h.wait(link, lambda s: s.state == S.ESCALATED and s.next_action == "re-check after escalation", 90)
        # the schedule says "re-check" as the escalation is handed to the relay: wait for it to arrive
        [escalation] = await eventually(
            lambda: _async([m for m in mailbox.messages if m["To"] == first] or None), "the escalation sent", 30
        )
        await postbox.append(delivery_report(escalation, first))
        router = ReplyRouter(db_pool, suite_crypto(), time_env.client, reply_to=REPLY_TO)
        inbox = InboxReader(db_pool, postgres_url, imap_server.config(mailbox=postbox.mailbox), router)
        assert (await inbox.poll_once()).new == 1

        async def sent_to_the_next() -> bool:
            return ("escalation_host", HOST_EMAIL, "sent") in await h.notice_rows(link.id)

        await eventually(sent_to_the_next, "the escalation to the registry's contact", 90)
        rows = await h.notice_rows(link.id)
        assert [row[1] for row in rows] == [PLATFORM_EMAIL, first, HOST_EMAIL]
        assert (await h.status(link)).escalations_sent == 1  # the bounced one never counted
