"""Received mail as mail systems and platforms write it, for the reply classifier's tests.

Each sample is the raw bytes an IMAP fetch returns (CRLF line ends, headers as the sending
MTA and the delivering one left them); ``parse`` reads them as the worker will, with the
stdlib email package and its default policy. ``notice`` is a notice tada really renders, so a
reply that quotes it quotes tada's actual words. Addresses are on reserved names (RFC 2606).
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from tada.domain.notices import NoticeContext, RenderedNotice, render_notice
from tada.domain.states import NoticeKind

NOTIFIER = "notices@tada.example.org"
PLATFORM = "abuse@platform.example"
REFERENCE = "TADA-7F3K2Q"


def notice(language: str = "en", kind: NoticeKind = NoticeKind.INITIAL) -> RenderedNotice:
    """A notice tada sends to the sample platform (the initial one unless ``kind`` says otherwise)."""
    return render_notice(
        NoticeContext(
            kind=kind,
            platform="Example Video",
            urls=["https://video.platform.example/watch/8812734"],
            case_reference=REFERENCE,
            notifier_name="Example Support Service",
            notifier_email=NOTIFIER,
            language=language,
            first_notice_at=datetime(2026, 12, 1, 10, 2, tzinfo=UTC),
            previous_removal_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
        )
    )


def mime(head: str, body: bytes | str = b"") -> bytes:
    """Header block and body as one message on the wire: CRLF line ends, a blank line between."""
    raw_body = body.encode("ascii") if isinstance(body, str) else body
    lines = head.strip("\n").split("\n")
    return "\r\n".join(lines).encode("ascii") + b"\r\n\r\n" + raw_body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def parse(raw: bytes) -> EmailMessage:
    """The message as the worker reads it from IMAP."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def quoted(text: str) -> str:
    """``text`` quoted as a mail client quotes it (``> `` on every line, ``>`` on blank ones)."""
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
