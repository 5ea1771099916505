"""The simulated platforms' emailed answers: what each sends back to a notice email, and the
mailbox (pymap, tada.kit.imap.LocalMailbox) they land in, which the rehearsal's worker reads
with the real inbox reader and reply router.

An answer answers the notice email as a mail program does: To the notice's Reply-To (its
plus-tagged address), ``In-Reply-To`` and ``References`` its Message-ID, ``Re:`` its subject,
the notice quoted below. What is sent, per notice email (``Behaviour``'s reply mix):

- a bounce (RFC 3464 delivery-status report, 5.1.1) from a dead mailbox (``DEAD_MAILBOXES``):
  the notice never arrived, so nothing else happens;
- an out-of-office auto-reply (``Auto-Submitted: auto-replied``), some of the time;
- an acknowledgement (a ticket number), some of the time;
- the decision, when the site makes one on this notice: a confirmation of removal when every
  link the email listed came down, a refusal when every one was refused (a mixed decision
  is not written: one answer speaks for the whole email);
- sometimes the decision comes from a ticket system as a new thread: to the bare reply
  address, no reference, no tag: tada cannot match it, and it waits in the pen;
- otherwise silence.
"""

from __future__ import annotations

import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from tada.domain.states import ResponseOutcome
from tada.simulation.behaviour import Behaviour

#: Abuse desks that no longer exist: mail to them comes back (the first provider's stays alive).
DEAD_MAILBOXES = frozenset({"abuse@offshorelayer.test"})
#: Where the rehearsal's notices ask to be answered (their Reply-To, plus-tagged by tada).
REPLY_TO = "takedown@tada.test"

ACKNOWLEDGEMENT = (
    "Thank you for contacting us. We have received your report and opened ticket #{ticket}. "
    "Our team will review it and get back to you."
)
REMOVED = "Hello,\n\nThe content you reported has been removed from our service.\n\nRegards,\nTrust & Safety"
REJECTED = (
    "Hello,\n\nWe have reviewed your report and the content does not violate our policies. "
    "We will not be taking action.\n\nRegards,\nTrust & Safety"
)
OUT_OF_OFFICE = "I am out of the office until next week with limited access to email. I will reply on my return."


@dataclass
class Notice:
    """What an answer needs of the notice email (never logged)."""

    message_id: str
    reply_to: str
    subject: str
    recipient: str
    text: str
    headers: str  # its header block, for a bounce's text/rfc822-headers
    envelope_sender: str = ""  # MAIL FROM (tada's: the tagged reply address): where a bounce goes


@dataclass
class ReplyMix:
    """Draws what each platform answers; thread-safe (the SMTP server's thread)."""

    seed: int
    sent: dict[str, int] = field(default_factory=dict)  # by what: acknowledgement, removed, ...
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tickets: int = 100000

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed ^ 0x5EED)

    def answers(
        self, notice: Notice, behaviour: Behaviour | None, outcomes: list[ResponseOutcome | None]
    ) -> list[bytes]:
        """The raw messages the platform sends back to ``notice``; ``outcomes``: one per link it
        listed (None: no decision on this notice)."""
        if notice.recipient.casefold() in DEAD_MAILBOXES:
            return [self._counted("bounce", bounce(notice))]
        if behaviour is None:
            return []
        replies: list[bytes] = []
        with self._lock:
            away = self._rng.random() < behaviour.out_of_office
            acknowledges = self._rng.random() < behaviour.acknowledges
            new_thread = self._rng.random() < behaviour.new_thread
            self._tickets += 1
            ticket = self._tickets
        if away:
            replies.append(self._counted("out_of_office", out_of_office(notice)))
        if acknowledges:
            replies.append(self._counted("acknowledgement", answer(notice, ACKNOWLEDGEMENT.format(ticket=ticket))))
        decided = set(outcomes)
        if len(decided) == 1 and None not in decided:
            [outcome] = decided
            words, what = (REMOVED, "removed") if outcome == ResponseOutcome.REMOVED else (REJECTED, "rejected")
            if new_thread:
                replies.append(self._counted(f"{what} (new thread)", answer(notice, words, new_thread=ticket)))
            else:
                replies.append(self._counted(what, answer(notice, words)))
        return replies

    def _counted(self, what: str, raw: bytes) -> bytes:
        with self._lock:
            self.sent[what] = self.sent.get(what, 0) + 1
        return raw


def notice_of(raw: EmailMessage, recipient: str, envelope_sender: str = "") -> Notice | None:
    """The notice email as its recipient got it; None without a Reply-To or Message-ID."""
    reply_to = [address for _, address in getaddresses([raw.get("Reply-To", "")]) if address]
    message_id = raw.get("Message-ID", "")
    if not reply_to or not message_id:
        return None
    body = raw.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    headers = "".join(f"{name}: {value}\r\n" for name, value in raw.items())
    subject = str(raw.get("Subject", ""))
    return Notice(message_id.strip(), reply_to[0], subject, recipient, text, headers, envelope_sender or reply_to[0])


def _base(sender: str, to: str, subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "simulation.test")
    return message


def answer(notice: Notice, words: str, *, new_thread: int | None = None) -> bytes:
    """A person's (or a ticket system's) answer; ``new_thread``: a new ticket's mail, unthreaded."""
    sender = f"Trust & Safety <{notice.recipient}>"
    if new_thread is not None:
        bare = parseaddr(REPLY_TO)[1]
        message = _base(sender, bare, f"Your request {new_thread} has been updated")
        message.set_content(words + "\n")
        return bytes(message)
    message = _base(sender, notice.reply_to, f"Re: {notice.subject}")
    message["In-Reply-To"] = notice.message_id
    message["References"] = notice.message_id
    quoted = "\n".join(f"> {line}" for line in notice.text.splitlines()[:8])
    message.set_content(f"{words}\n\nOn a recent day, you wrote:\n{quoted}\n")
    return bytes(message)


def out_of_office(notice: Notice) -> bytes:
    message = _base(notice.recipient, notice.reply_to, f"Automatic reply: {notice.subject}")
    message["In-Reply-To"] = notice.message_id
    message["References"] = notice.message_id
    message["Auto-Submitted"] = "auto-replied"
    message["X-Autoreply"] = "yes"
    message.set_content(OUT_OF_OFFICE + "\n")
    return bytes(message)


def bounce(notice: Notice) -> bytes:
    """An RFC 3464 delivery-status report: the recipient's mailbox does not exist (5.1.1)."""
    domain = notice.recipient.rpartition("@")[2]
    boundary = f"dsn-{uuid.uuid4().hex}"
    headers = [
        f"From: Mail Delivery System <MAILER-DAEMON@mx.{domain}>",
        f"To: {notice.envelope_sender}",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {format_datetime(datetime.now(UTC))}",
        f"Message-ID: {make_msgid(domain=f'mx.{domain}')}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
    ]
    parts = [
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"This is the mail system at host mx.{domain}.\r\n\r\n"
        "Your message could not be delivered to one or more recipients.\r\n\r\n"
        f"<{notice.recipient}>: 550 5.1.1 user unknown\r\n",
        "Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.{domain}\r\n\r\n"
        f"Final-Recipient: rfc822; {notice.recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n",
        "Content-Type: text/rfc822-headers\r\n\r\n" + notice.headers,
    ]
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
