"""Damaged and mislabelled mail: what a classifier meets and must survive."""

from __future__ import annotations

import quopri

from tests.support.mail_samples import NOTIFIER, PLATFORM, mime

_HEAD = f"""
From: {PLATFORM}
To: {NOTIFIER}
Date: Wed, 2 Dec 2026 08:14:01 +0000
Message-ID: <broken.1@mail.platform.example>
MIME-Version: 1.0
"""


def lost_boundary() -> bytes:
    """multipart/mixed whose boundary never occurs, a header of raw 8-bit bytes, a broken encoded word."""
    head = (
        _HEAD
        + "Subject: =?utf-8?B?5bey56e7?==?x-unknown?Q?=FF=FE?=\n"
        + 'Content-Type: multipart/mixed; boundary="never-seen"\n'
    )
    raw = mime(head, "--other-boundary\nContent-Type: text/plain\n\nno part here\n")
    return raw.replace(b"Date:", b"X-Note: caf\xe9 \xff\xfe\r\nDate:", 1)


def truncated_base64_unknown_charset() -> bytes:
    """An unknown charset, base64 cut mid-quantum, then junk."""
    head = (
        _HEAD + "Subject: hello\nContent-Type: text/plain; charset=x-unknown-8bit\nContent-Transfer-Encoding: base64\n"
    )
    return mime(head, "SGVsbG8sIHRo@@@ZXJl\n!!!!\n")


def unterminated_html() -> bytes:
    """An HTML body cut off inside a tag and a comment; a charset parameter with no value."""
    head = _HEAD + "Subject: Re: notice\nContent-Type: text/html; charset=\nContent-Transfer-Encoding: 8bit\n"
    return mime(head, b"<html><body><p>Hello <b>there<!-- a comment that never ends <script>var x = '")


def no_headers_at_all() -> bytes:
    """Not a message: a few bytes of binary."""
    return b"\x00\x01\x02\xff\xfe\r\n\r\n\x89PNG\r\n"


def big5_declared_utf8() -> bytes:
    """A removal in Big5 bytes that the header calls UTF-8."""
    head = _HEAD + "Subject: Re: notice\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
    return mime(head, "您好，有關內容已移除。謝謝。\n".encode("big5"))


def utf8_declared_latin1() -> bytes:
    """Chinese in UTF-8 that the header calls ISO-8859-1 (quoted-printable)."""
    head = (
        _HEAD
        + "Subject: Re: notice\nContent-Type: text/plain; charset=iso-8859-1\n"
        + "Content-Transfer-Encoding: quoted-printable\n"
    )
    return mime(head, quopri.encodestring("您好，相關影片已下架。\n".encode()).decode("ascii"))


def latin1_english() -> bytes:
    """ISO-8859-1 truly: an accented name in a signature, the content removed."""
    head = (
        _HEAD + "Subject: Re: notice\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n"
    )
    return mime(head, "Hello,\n\nWe have removed the video.\n\nRen\xe9e, Trust & Safety\n".encode("latin-1"))
