"""A caseworker answers the platform from tada (``tada link reply``): one email, threaded on
the conversation the link's notice started, sent as the organisation.

- To: the address the link's latest sent email notice went to (``notices.recipient``),
  checked again as every recipient is (tada/domain/recipients.py);
- From: the organisation (TADA_NOTICE_FROM); Reply-To: the organisation's reply address
  (TADA_REPLY_TO) tagged with a reply token of this email's own, which is recorded as a
  notice email listing the link (tada/app/reply_messages.py), so the platform's answer to it
  is matched to the link again (tada/app/reply_routing.py);
- Subject: ``Re:`` and the notice's subject, rendered again from what the database holds
  (no subject is stored), with the notice email's ``[TD-…]`` tag;
- In-Reply-To: the Message-ID of the link's latest reply (bounces left out), else the
  notice's; References: the notice's, then that reply's;
- the body: the caseworker's text as plain text (UTF-8), nothing rendered, no HTML part.

The text is checked first (``check_reply_text``: at most 20,000 characters, no control
characters but line breaks and tabs). After the relay took it, the email is marked sent and
the link's timeline gets a caseworker event (``action: reply``) with the text sealed with the
case's key, like a note; the CLI's ``run`` audits the decision and ``record_sent`` says it went.
No workflow is involved: the link's state does not change, and the platform's answer, when it
comes, reaches the workflow as every reply does.

Nothing here logs or raises an address, a subject, a URL or the text.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import asyncpg
from pydantic import BaseModel

from tada.adapters.data_crypto import DataCrypto
from tada.app.audit import record_audit
from tada.app.notice_texts import case_notice_facts
from tada.app.readmodel import LinkRow, find_link
from tada.app.reply_messages import record_message, reply_tag_key
from tada.clients.mailer import Mailer, MailFailed
from tada.domain.access import Action
from tada.domain.notices import NoticeContext, render_notice, thread_headers
from tada.domain.recipients import BadRecipient, check_recipient
from tada.domain.registry import Registry
from tada.domain.reply_tags import displayed, reply_address, reply_mailbox, tagged_subject
from tada.domain.states import CaseworkerActionKind, EventKind, LinkState, NoticeKind
from tada.domain.victim_data import InvalidField, _check_text, storable
from tada.errors import Misconfigured, Refused, TadaError

MAX_REPLY = 20_000
#: Read from a file at most: a reply of 20,000 characters of four bytes each, and a little.
MAX_REPLY_BYTES = 4 * MAX_REPLY + 1024
#: The timeline event's name for the sealed text (opened by tada/app/readmodel.py).
TEXT_FIELD = "text"


class ReplyNotSent(TadaError):
    """The relay did not take the reply (exit 1, HTTP 502); the message names the domain and the
    reply code, never the address."""

    http_status = 502


class ReplySent(BaseModel):
    link_id: str
    to: str
    subject: str
    message_id: str
    reply_token: str  # as people see it: K3X9P2M7QA-8F4TZ
    in_reply_to: str  # "reply" (the platform's latest) or "notice" (no reply to answer)
    answering_reply: int | None  # link_replies.reply_id
    notice_key: str
    sent_at: datetime


def check_reply_text(value: str) -> str:
    """The caseworker's text: at most 20,000 characters, line breaks and tabs allowed, no other
    control character (CR/LF from a Windows file become LF), not empty."""
    text = value.removeprefix("\ufeff").replace("\r\n", "\n")
    checked = _check_text(text, "the reply", MAX_REPLY, multiline=True)
    if not checked:
        raise InvalidField("the reply is empty")
    return checked


def read_reply_file(data: bytes) -> str:
    """The text of a reply file: UTF-8, checked (InvalidField says why, never echoing it)."""
    if len(data) > MAX_REPLY_BYTES:
        raise InvalidField(f"the reply is longer than {MAX_REPLY} characters")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidField("the reply file is not UTF-8 text") from None
    return check_reply_text(text)


_LATEST_NOTICE = """
SELECT n.notice_key, n.kind, n.cycle, n.recipient, n.message_id, n.created_at, m.reply_token
  FROM notices n LEFT JOIN notice_messages m ON m.message_id = n.message_id
 WHERE n.link_id = $1 AND n.channel = 'email' AND n.status = 'sent' AND n.recipient IS NOT NULL
 ORDER BY n.sent_at DESC NULLS LAST, n.created_at DESC
 LIMIT 1
"""
_LATEST_REPLY = """
SELECT r.reply_id, m.message_id FROM link_replies r JOIN inbox_messages m ON m.id = r.reply_id
 WHERE r.link_id = $1 AND r.kind <> 'bounce'
 ORDER BY r.received_at DESC, r.reply_id DESC
 LIMIT 1
"""
_RECORD_EVENT = """
INSERT INTO link_events (event_key, link_id, case_id, cycle, kind, detail, occurred_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""


async def send_reply(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    mailer: Mailer,
    registry: Registry,
    *,
    link_id: str,
    text: str,
    notice_from: str,
    reply_to: str | None,
) -> ReplySent:
    """Send ``text`` (checked by ``check_reply_text``) to the platform of ``link_id`` as the
    organisation's answer to its latest reply. LinkNotFound, Refused (withdrawn, purged, no
    email notice sent), ReplyNotSent (the relay refused)."""
    text = check_reply_text(text)
    link = await find_link(pool, link_id)
    case = await pool.fetchrow("SELECT status, purged_at FROM cases WHERE case_id = $1", link.case_id)
    if case["purged_at"] is not None:
        raise Refused(f"case {link.case_id} is purged: nothing more is sent for it")
    if case["status"] != "open":
        raise Refused(f"case {link.case_id} is {case['status']}: nothing more is sent for it")
    if link.state == LinkState.WITHDRAWN:
        raise Refused(f"link {link_id} is withdrawn: nothing more is sent for it")
    notice = await pool.fetchrow(_LATEST_NOTICE, link_id)
    if notice is None:
        raise Refused(f"link {link_id} has no email notice sent: there is no conversation to answer")
    try:
        recipient = check_recipient(notice["recipient"])
    except BadRecipient as refused:
        raise Refused(f"the notice's address cannot be written to ({refused.where}: {refused.reason})") from None
    sender = parseaddr(notice_from)[1]
    if "@" not in sender:
        raise Misconfigured("TADA_NOTICE_FROM: an address needs a local part and a domain")
    if reply_to:
        try:
            reply_mailbox(reply_to)
        except ValueError:
            raise Misconfigured("TADA_REPLY_TO: an address needs a local part and a domain") from None
    reply = await pool.fetchrow(_LATEST_REPLY, link_id)
    headers = _thread(notice["message_id"], reply["message_id"] if reply else None)
    answered = reply is not None and headers.get("In-Reply-To") == _bracketed(reply["message_id"])
    answering = "reply" if answered else "notice"

    subject = "Re: " + await _notice_subject(pool, crypto, registry, link, notice, sender)
    message_id = f"<{secrets.token_hex(16)}@{sender.rpartition('@')[2]}>"
    token = await record_message(
        pool, reply_tag_key(crypto), message_id=message_id, case_id=link.case_id,
        listed=[(notice["notice_key"], link_id)],
    )  # fmt: skip

    message = EmailMessage()
    message["From"] = notice_from
    message["To"] = Address(addr_spec=recipient)
    message["Subject"] = subject
    if reply_to:
        name, address = parseaddr(reply_to)
        message["Reply-To"] = Address(display_name=name, addr_spec=reply_address(address, token))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    for name, value in headers.items():
        message[name] = value
    message["X-Tada-Notice-Kind"] = "caseworker_reply"
    message.set_content(text + "\n", charset="utf-8")
    try:
        await mailer.send(message, recipient)
    except MailFailed as failed:
        raise ReplyNotSent(f"the reply was not sent: {failed}") from None

    sent_at = datetime.now(UTC)
    await pool.execute("UPDATE notice_messages SET sent_at = $2 WHERE reply_token = $1", token, sent_at)
    sealed = await crypto.seal(pool, link.case_id, f"{link_id}/{TEXT_FIELD}", storable(text))
    detail = {"action": CaseworkerActionKind.REPLY.value, "answering": answering, "notice_key": notice["notice_key"]}
    if answering == "reply":
        detail["reply"] = str(reply["reply_id"])
    detail[TEXT_FIELD] = sealed
    await pool.execute(
        _RECORD_EVENT, f"{link_id}:caseworker-reply:{token}", link_id, link.case_id, link.cycle,
        EventKind.CASEWORKER.value, detail, sent_at,
    )  # fmt: skip
    return ReplySent(
        link_id=link_id,
        to=recipient,
        subject=subject,
        message_id=message_id,
        reply_token=displayed(token),
        in_reply_to=answering,
        answering_reply=reply["reply_id"] if answering == "reply" else None,
        notice_key=notice["notice_key"],
        sent_at=sent_at,
    )


async def record_sent(
    pool: asyncpg.Pool, actor_role: str | None, sent: ReplySent, *, actor_name: str | None = None
) -> None:
    """The audit trail's word that the reply went (beside the access decision ``run`` audited);
    ``actor_name`` is the console's person who sent it."""
    await record_audit(
        pool, actor_role=actor_role, action=Action.LINK_REPLY.value, target=sent.link_id, allowed=True,
        reason=f"reply email sent (reply token {sent.reply_token})", actor_name=actor_name,
    )  # fmt: skip


def _bracketed(message_id: str | None) -> str | None:
    if not message_id:
        return None
    return f"<{message_id.strip().removeprefix('<').removesuffix('>')}>"


def _thread(notice_id: str | None, reply_id: str | None) -> dict[str, str]:
    """In-Reply-To the platform's reply (else the notice), References the notice then the reply.
    A Message-ID that cannot be written in a header (spaces, brackets) is left out."""
    ids: list[str] = []
    for value in (notice_id, reply_id):
        try:
            if value:
                thread_headers(value, [])  # checks it
                ids.append(value)
        except ValueError:
            continue
    return thread_headers(ids[0], ids[1:]) if ids else {}


async def _notice_subject(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    registry: Registry,
    link: LinkRow,
    notice: asyncpg.Record,
    sender: str,
) -> str:
    """The notice email's subject, as the notice activity rendered it, with its tag."""
    follow_up_number = 0
    kind = NoticeKind(notice["kind"])
    if kind == NoticeKind.FOLLOW_UP:
        follow_up_number = await pool.fetchval(
            "SELECT count(*) FROM notices WHERE link_id = $1 AND cycle = $2 AND kind = $3 AND created_at <= $4",
            link.link_id,
            notice["cycle"],
            kind.value,
            notice["created_at"],
        )
    facts = await case_notice_facts(pool, crypto, registry, link, notifier_name="-", notice_from=sender)
    if facts is None:  # purged meanwhile
        raise Refused(f"case {link.case_id} is purged: nothing more is sent for it")
    context = NoticeContext(
        kind=kind, platform=link.platform, urls=[link.url], **facts.model_dump(), follow_up_number=follow_up_number
    )
    subject = render_notice(context).subject
    return tagged_subject(subject, notice["reply_token"]) if notice["reply_token"] else subject
