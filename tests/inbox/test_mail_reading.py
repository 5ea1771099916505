"""Mail is hostile input: every message is read without a crash, within bounds, and says what
was wrong with it (tada/domain/mail_reading.py)."""

from __future__ import annotations

import base64
import time
from email.message import EmailMessage

import pytest

from tada.domain.mail_reading import LIMITS, MailLimits, html_to_text, read_mail

HEAD = b"From: Abuse <abuse@Platform.Example>\r\nTo: takedown+T1@org.example\r\nSubject: Re: notice\r\n"


def nested(depth: int) -> bytes:
    head = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n) for n in range(depth))
    tail = b"".join(b"\r\n--b%d--\r\n" % n for n in reversed(range(depth)))
    return HEAD + b"MIME-Version: 1.0\r\n" + head + b"Content-Type: text/plain\r\n\r\ndeep hello\r\n" + tail


def multipart(parts: bytes, boundary: bytes = b"x") -> bytes:
    return HEAD + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n" + parts


def timed(raw: bytes, limits: MailLimits = LIMITS):
    started = time.monotonic()
    reading = read_mail(raw, limits)
    return reading, time.monotonic() - started


def test_a_plain_reply_is_read_whole():
    raw = (
        b"From: Abuse Desk <abuse@Platform.Example>\r\nTo: A <takedown+T1@org.example>, b@org.example\r\n"
        b"Cc: c@org.example\r\nDelivered-To: takedown@org.example\r\nX-Original-To: takedown+T1@org.example\r\n"
        b"Subject: =?utf-8?q?Re=3A_caf=C3=A9?=\r\nMessage-ID: <m1@platform.example>\r\n"
        b"In-Reply-To: <n1@tada.example>\r\nReferences: <n0@tada.example> <n1@tada.example>\r\n"
        b"Auto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nRemoved.\r\n"
    )
    read, message = read_mail(raw)
    assert isinstance(message, EmailMessage)
    assert read.message_id == "<m1@platform.example>"
    assert read.in_reply_to == "<n1@tada.example>"
    assert read.references == ["<n0@tada.example>", "<n1@tada.example>"]
    assert read.recipients == ["takedown+T1@org.example", "b@org.example", "c@org.example", "takedown@org.example"]
    assert read.subject == "Re: café"
    assert read.from_domain == "platform.example"
    assert read.auto_headers == {"Auto-Submitted": "auto-replied"}
    assert read.text.strip() == "Removed."
    assert read.text_source == "plain"
    assert read.problems == []
    assert read.size == len(raw)


def test_sixty_deep_nesting_is_read_to_the_bound():
    (read, _), seconds = timed(nested(60))
    assert any("nested deeper than 10" in problem for problem in read.problems)
    assert read.text == ""  # the text is 60 levels down
    assert seconds < 5


@pytest.mark.parametrize("depth", [5000, 200_000])
def test_a_nesting_bomb_is_cut_before_the_parser(depth):
    (read, _), seconds = timed(nested(depth))
    assert any("boundary lines" in problem for problem in read.problems)
    assert read.from_domain == "platform.example"
    assert seconds < 10


def test_shallow_nesting_reaches_the_text():
    read, _ = read_mail(nested(5))
    assert read.text.strip() == "deep hello"


def test_five_thousand_parts():
    parts = b"".join(b"--x\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % n for n in range(5000)) + b"--x--\r\n"
    (read, _), seconds = timed(multipart(parts))
    assert any("boundary lines" in problem or "more than 200 parts" in problem for problem in read.problems)
    assert read.text.strip() == "part 0"
    assert seconds < 10


def test_a_parameter_bomb_in_every_part_is_bounded():
    header = b"Content-Type: text/plain; " + b"a=b; " * 1000 + b"\r\nContent-Disposition: inline; " + b"a=b; " * 1000
    parts = b"".join(b"--x\r\n" + header + b"\r\n\r\nbody\r\n" for _ in range(2000)) + b"--x--\r\n"
    (read, _), seconds = timed(multipart(parts))
    assert read.text.strip() == "body"
    assert seconds < 15


def test_nested_comments_in_a_header_do_not_recurse_away():
    raw = HEAD + b"Content-Type: text/plain; " + b"(" * 5000 + b"\r\nCc: " + b"(" * 5000 + b"\r\n\r\nbody\r\n"
    read, message = read_mail(raw)
    assert read.text.strip() == "body"
    assert read.recipients == ["takedown+T1@org.example"]
    assert str(message["Content-Type"])


def test_attachments_are_described_never_decoded():
    picture = base64.encodebytes(b"\x89PNG" + bytes(30_000))
    parts = (
        b"--x\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b'--x\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="shot.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + picture + b"--x--\r\n"
    )
    read, _ = read_mail(multipart(parts))
    [attachment] = read.attachments
    assert attachment.name == "shot.png" and attachment.content_type == "image/png"
    assert 25_000 < attachment.size < 35_000
    assert read.text.strip() == "see attached"


def test_a_ten_megabyte_base64_text_part_decodes_one_mebibyte():
    encoded = base64.encodebytes(b"A" * (10 * 1024 * 1024))
    raw = HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encoded
    (read, _), seconds = timed(raw)
    assert len(read.text) == LIMITS.max_text_bytes
    assert read.text_truncated
    assert any("text over" in problem for problem in read.problems)
    assert seconds < 5


def test_a_quoted_printable_bomb_is_bounded():
    encoded = b"=41" * (4 * 1024 * 1024)  # 12 MB encoded, 4 MB decoded
    raw = HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded
    read, _ = read_mail(raw)
    assert len(read.text) == LIMITS.max_text_bytes and read.text_truncated


def test_quoted_printable_text():
    raw = (
        HEAD + b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Le contenu a =E9t=E9 retir=E9. Une tr=E8=\r\ns longue ligne.\r\n"
    )
    read, _ = read_mail(raw)
    assert read.text.strip() == "Le contenu a été retiré. Une très longue ligne."


def test_two_thousand_headers_are_cut_to_the_bound():
    headers = b"".join(b"X-Header-%d: value\r\n" % n for n in range(2000))
    raw = HEAD + headers + b"Content-Type: text/plain\r\n\r\nbody\r\n"
    read, message = read_mail(raw)
    assert len(message.keys()) <= LIMITS.max_header_fields
    assert any("header section over" in problem for problem in read.problems)
    assert read.from_domain == "platform.example"
    assert "body" in read.text


def test_headers_without_end_are_bounded():
    raw = HEAD + b"X-Long: " + b"a" * (200 * 1024)
    read, _ = read_mail(raw)
    assert any("header section" in problem for problem in read.problems)


@pytest.mark.parametrize(
    "parts",
    [
        b"--x\r\nContent-Type: text/plain\r\n\r\nno end boundary\r\n",  # never closed
        b"no boundary at all, just text\r\n",  # a multipart with no parts
        b"--y\r\nContent-Type: text/plain\r\n\r\nthe wrong boundary\r\n--y--\r\n",
        b"--x\r\nContent-Type: text/plain; charset=\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64!!!\r\n--x--",
        b"--x\r\nContent-Type: multipart/alternative\r\n\r\n--x--\r\n",  # a multipart without boundary
    ],
)
def test_malformed_boundaries_become_a_readable_message(parts):
    read, _ = read_mail(multipart(parts))
    assert read.from_domain == "platform.example"
    assert read.subject == "Re: notice"


def test_a_multipart_without_a_boundary_parameter_notes_it():
    raw = HEAD + b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\ntext\r\n--x--\r\n"
    read, _ = read_mail(raw)
    assert any("malformed MIME" in problem for problem in read.problems)


@pytest.mark.parametrize(
    ("charset", "text"),
    [("big5", "內容已移除，謝謝。"), ("gb2312", "内容已删除，谢谢。"), ("gbk", "内容已删除"), ("utf-8", "内容已删除")],
)
def test_chinese_bodies(charset, text):
    body = base64.encodebytes(text.encode(charset))
    raw = (
        HEAD
        + f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
        + body
    )
    read, _ = read_mail(raw)
    assert read.text.strip() == text
    assert read.problems == []


def test_a_big5_eight_bit_body_and_subject():
    raw = (
        b"From: a@b.example\r\nSubject: =?big5?b?"
        + base64.b64encode("回覆".encode("big5"))
        + b"?=\r\nContent-Type: text/plain; charset=big5\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "已移除".encode("big5")
    )
    read, _ = read_mail(raw)
    assert read.subject == "回覆"
    assert read.text.strip() == "已移除"


@pytest.mark.parametrize("charset", ["zlib", "base64", "rot13", "x-no-such-charset", "punycode"])
def test_a_charset_that_is_no_text_encoding_is_refused(charset):
    raw = HEAD + f"Content-Type: text/plain; charset={charset}\r\n\r\nplain words\r\n".encode()
    read, _ = read_mail(raw)
    assert read.text.strip() == "plain words"
    assert any("charset" in problem for problem in read.problems)


def test_html_only_is_read_as_text_never_rendered():
    html = (
        b"<html><head><title>T</title><style>p{color:red}</style><script>alert(1)</script></head>"
        b"<body><p>The content was <b>removed</b> &amp; closed.</p><div>Case 42</div>"
        b'<img src="http://tracker.example/x.png"></body></html>'
    )
    raw = HEAD + b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html
    read, _ = read_mail(raw)
    assert read.text_source == "html"
    assert read.text == "The content was removed & closed.\n\nCase 42"


def test_plain_is_preferred_to_html():
    parts = (
        b"--x\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
        b"--x\r\nContent-Type: text/plain\r\n\r\nplain\r\n--x--\r\n"
    )
    read, _ = read_mail(multipart(parts, b"x").replace(b"multipart/mixed", b"multipart/alternative"))
    assert read.text.strip() == "plain" and read.text_source == "plain"


def test_a_returned_message_is_described_not_read_as_the_body():
    parts = (
        b"--x\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        b"--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: the notice\r\n\r\nnotice text\r\n--x--\r\n"
    )
    read, _ = read_mail(multipart(parts).replace(b"multipart/mixed", b"multipart/report"))
    assert read.text.strip() == "Delivery failed."
    assert [a.content_type for a in read.attachments] == ["message/rfc822"]


def test_garbage_is_read_without_a_crash():
    for raw in (b"", b"\x00\xff" * 1000, b"\r\n\r\n\r\n", bytes(range(256)) * 100, b"Subject: =?x?q?bad\r\n\r\n"):
        read, _ = read_mail(raw)
        assert read.size == len(raw)


def test_bad_header_values_are_notes_not_crashes():
    raw = (
        b"From: <<<@@@>>>\r\nTo: ,,,;;;<\r\nMessage-ID: not an id with spaces\r\nReferences: <a@b> junk <c@d>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nok\r\n"
    )
    read, _ = read_mail(raw)
    assert read.message_id is None
    assert read.references == ["<a@b>", "<c@d>"]
    assert read.text.strip() == "ok"


def test_more_than_the_size_bound_is_cut():
    raw = HEAD + b"\r\n" + b"x" * 5000
    read, _ = read_mail(raw, MailLimits(max_bytes=1000))
    assert read.size == len(raw)
    assert any("only the first 1000" in problem for problem in read.problems)


def test_html_to_text_survives_broken_markup():
    assert html_to_text("<p>a<b>b</p><<<>>><script>x").startswith("ab\n")
