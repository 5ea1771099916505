"""Bounces: a notice that did not arrive, read from the report the mail system sent back.

**RFC 3464 first.** A ``multipart/report; report-type=delivery-status`` message (or any
message with a ``message/delivery-status`` part) is read with the stdlib email package: one
header block per recipient, its ``Action`` and ``Status``, and the address from
``Original-Recipient`` or else ``Final-Recipient`` (``rfc822; addr``); a report part sent
base64 or quoted-printable (against RFC 3464's 7bit) is decoded and split at its blank lines.
Then:

- a recipient with ``Action: failed`` (or opensmtpd's ``error``) and a 5.x.x status, or with
  no status: **bounce, high**, rule ``dsn:<status>`` (``dsn:5.1.1``; ``dsn:failed`` without a
  status), the address in ``bounced``;
- ``Action: failed`` with a 4.x.x status (the MTA gave up retrying, e.g. ``4.4.7``): the
  notice did not arrive, but a later try may: **bounce, low**, rule ``dsn:4.4.7``;
- only ``Action: delayed`` (still being retried): **other, low**, rule ``dsn-delayed:<status>``,
  nothing in ``bounced``;
- only delivered, relayed or expanded recipients: **other, low**, rule ``dsn:delivered``.

The first failed recipient's status names the rule; every failed address is listed.

**Other formats** (qmail's QSBMF, Exim's ``X-Failed-Recipients``, Postfix, Exchange, Yahoo…)
are left to flufl.bounce's detectors. Its permanent failures are a **bounce**, high when the
message also looks like a mail system's (``X-Failed-Recipients``, a null ``Return-Path``, a
``MAILER-DAEMON`` or ``postmaster`` sender, or a subject such as "Undelivered Mail", "failure
notice", "Mail delivery failed", "退信"), low otherwise; rule ``bounce:permanent``. Only
temporary failures: **other, low**, rule ``bounce:delayed``. A mail system's sender *and*
subject with no address found: **bounce, low**, rule ``bounce:unparsed``.

Addresses are given as found, without angle brackets, the domain in lower case; they are for
the caller to mark a recipient failed, never to log. Pure, no I/O.
"""

from __future__ import annotations

import base64
import quopri
import re
from dataclasses import dataclass, field
from email import message_from_string
from email.message import Message
from email.utils import parseaddr

from flufl.bounce import _scan, all_failures

from tada.domain.reply_text import PARSE_ERRORS, decode_bytes

_BLOCK_GAP = re.compile(r"\r?\n[ \t]*\r?\n")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_MAILER_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mail-delivery-subsystem", "mailerdaemon"})
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification|delivery (?:has )?failed|delivery failure"
    r"|failure notice|mail delivery failed|returned mail|could not be delivered|non-delivery|delivery problem"
    r"|退信|無法傳遞|无法投递|未能送達|未能送达|傳送失敗|投递失败|郵件傳遞失敗|邮件投递失败",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class BounceFinding:
    kind: str  # "bounce" or "other"
    high: bool
    rule: str
    bounced: tuple[str, ...] = field(default=(), repr=False)


def _header(message: Message, name: str) -> str:
    try:
        return str(message.get(name, "") or "")
    except PARSE_ERRORS:
        return ""


def _address(value: str) -> str | None:
    """``rfc822; <a@B.example>`` as ``a@b.example``; None for another address type or no address."""
    kind, _, raw = value.partition(";")
    if not raw:
        kind, raw = "rfc822", kind
    if kind.strip().lower() != "rfc822":
        return None
    address = parseaddr(raw.strip())[1] or raw.strip().strip("<>")
    local, at, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}" if at and local and domain else None


def _status_blocks(message: Message) -> list[Message]:
    blocks: list[Message] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        parsed = [block for block in payload if isinstance(block, Message)] if isinstance(payload, list) else []
        encoding = _header(part, "Content-Transfer-Encoding").strip().lower()
        if encoding not in ("base64", "quoted-printable"):
            blocks += parsed
            continue
        # Encoded (RFC 3464 asks for 7bit; a few MTAs encode anyway): the parser split the encoded
        # text, so it is joined, decoded and split at its blank lines here.
        encoded = "\n".join(str(block.get_payload()) for block in parsed) if parsed else str(payload)
        data = base64.b64decode(encoded + "===") if encoding == "base64" else quopri.decodestring(encoded)
        text = decode_bytes(data, "us-ascii")
        blocks += [message_from_string(block) for block in _BLOCK_GAP.split(text.strip())]
    return blocks


def _unique(addresses: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addresses))


def read_dsn(message: Message) -> BounceFinding | None:
    """An RFC 3464 report's finding, None if the message carries no delivery-status blocks."""
    failed: list[tuple[str, str | None]] = []  # (status, address)
    delayed: list[str] = []
    delivered = False
    for block in _status_blocks(message):
        action = _header(block, "Action").strip().lower()
        status_match = _STATUS.search(_header(block, "Status"))
        status = ".".join(status_match.groups()) if status_match else ""
        address = _address(_header(block, "Original-Recipient")) or _address(_header(block, "Final-Recipient"))
        if action.startswith(("failed", "error")) or (not action and status.startswith("5")):
            failed.append((status, address))
        elif action.startswith("delayed") or (not action and status.startswith("4")):
            delayed.append(status)
        elif action.startswith(("delivered", "relayed", "expanded")):
            delivered = True
    if failed:
        permanent = [(status, address) for status, address in failed if not status.startswith("4")]
        status = (permanent or failed)[0][0]
        chosen = [address for _, address in failed if address]
        return BounceFinding("bounce", bool(permanent), f"dsn:{status or 'failed'}", _unique(chosen))
    if delayed:
        return BounceFinding("other", False, f"dsn-delayed:{delayed[0] or '4.0.0'}")
    if delivered:
        return BounceFinding("other", False, "dsn:delivered")
    return None


def _looks_like_a_mail_system(message: Message) -> tuple[bool, bool]:
    """(sender is a mail system, subject is a bounce's) and whether anything else says so."""
    sender = parseaddr(_header(message, "From"))[1].rpartition("@")[0].lower()
    by_sender = sender in _MAILER_SENDERS or _header(message, "Return-Path").strip() == "<>"
    by_subject = bool(_BOUNCE_SUBJECT.search(_header(message, "Subject")))
    return by_sender or bool(_header(message, "X-Failed-Recipients")), by_subject


def _decoded(addresses: frozenset[bytes]) -> tuple[str, ...]:
    found = [_address(raw.decode("ascii", errors="replace")) for raw in sorted(addresses)]
    return _unique([address for address in found if address])


def _failures(message: Message) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """flufl.bounce's (temporary, permanent) failures, as ``all_failures`` finds them (its detectors in
    its order, the first that finds any decides), except that a detector that fails on a damaged
    message is passed over instead of stopping the search, and nothing is logged: flufl.bounce
    logs each detector it runs and the traceback of one that fails."""
    detectors = getattr(_scan, "_DETECTORS", None)
    if not isinstance(detectors, list):  # another flufl.bounce than the one this was written for
        try:
            return all_failures(message)
        except Exception:  # noqa: BLE001 - a detector that cannot read this message: no bounce found
            return frozenset(), frozenset()
    for detector in detectors:
        try:
            temporary, permanent = detector().process(message)
        except Exception:  # noqa: BLE001 - a detector that cannot read this message: the next one may
            continue
        if temporary or permanent:
            return frozenset(temporary), frozenset(permanent)
    return frozenset(), frozenset()


def read_other_bounce(message: Message) -> BounceFinding | None:
    """A non-RFC 3464 bounce's finding by flufl.bounce's detectors, None if it is no bounce. Only a
    message that looks like a mail system's is given to the detectors: they walk every line of
    every part, attachments included, for each of their formats (milliseconds a reply), and a
    platform's own answer is none of them."""
    by_sender, by_subject = _looks_like_a_mail_system(message)
    if not (by_sender or by_subject):
        return None
    temporary, permanent = _failures(message)
    if permanent:
        return BounceFinding("bounce", by_sender or by_subject, "bounce:permanent", _decoded(permanent))
    if temporary:
        return BounceFinding("other", False, "bounce:delayed")
    if by_sender and by_subject:
        return BounceFinding("bounce", False, "bounce:unparsed")
    return None


def read_bounce(message: Message) -> BounceFinding | None:
    """The bounce rules of this module's docstring, RFC 3464 first."""
    try:
        finding = read_dsn(message)
    except PARSE_ERRORS:  # binascii.Error is a ValueError
        finding = None
    return finding or read_other_bounce(message)
