"""Replies people at platforms write: removed, rejected, not yet, questions, a bare "thanks".

Each quotes tada's notice as its mail client does: Gmail's "On … wrote:" and ``>`` lines,
Outlook's ``From:``/``Sent:`` block (``寄件者:`` in Traditional Chinese), Foxmail's
"原始邮件" divider, an HTML ``<blockquote>``, or (a phone's client) the notice pasted below
the reply with no marker at all.
"""

from __future__ import annotations

import base64
import quopri
import textwrap
from email.header import Header

from tada.domain.states import NoticeKind
from tests.support.mail_samples import NOTIFIER, PLATFORM, mime, notice, quoted

_THREAD = (
    "In-Reply-To: <176458332911.4711.1302@tada.example.org>\nReferences: <176458332911.4711.1302@tada.example.org>"
)


def _head(subject: str, *, content_type: str, encoding: str, sender: str = PLATFORM) -> str:
    return f"""
Return-Path: <{sender}>
Received: from mail.platform.example (mail.platform.example [192.0.2.25])
	by mail.tada.example.org (Postfix) with ESMTPS id 4Y2kR01Hq9z9tLm
	for <{NOTIFIER}>; Wed,  2 Dec 2026 08:14:03 +0000 (UTC)
From: Example Video Trust & Safety <{sender}>
To: Example Support Service <{NOTIFIER}>
Subject: {subject}
Date: Wed, 2 Dec 2026 08:14:01 +0000
Message-ID: <CAF3k9xQv2p1Lr8h7ZsA0yT5nW4mB6cD8eF1gH2iJ3kL4mN5o@mail.platform.example>
{_THREAD}
MIME-Version: 1.0
Content-Type: {content_type}
Content-Transfer-Encoding: {encoding}
"""


def _b64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\n"


def _wrapped(text: str) -> str:
    """Each line wrapped at 72 columns, as mail clients send plain text."""
    return "\n".join(textwrap.fill(line, 72, break_on_hyphens=False) for line in text.split("\n"))


def _gmail_quote(reply: str) -> str:
    return (
        f"{_wrapped(reply)}\n\nOn Tue, 1 Dec 2026 at 10:02, Example Support Service <{NOTIFIER}> wrote:\n\n"
        f"{quoted(notice().text)}\n"
    )


def removed_english() -> bytes:
    """Plain text, UTF-8, quoted-printable; the notice quoted below Gmail's "wrote:" line."""
    reply = (
        "Hello,\n\nThank you for your report. We reviewed the content at the address you reported and it has "
        "been removed for violating our policy on non-consensual intimate imagery.\n\n"
        "Kind regards,\nExample Video Trust & Safety"
    )
    body = quopri.encodestring(_gmail_quote(reply).encode("utf-8")).decode("ascii")
    head = _head(f"Re: {notice().subject}", content_type='text/plain; charset="UTF-8"', encoding="quoted-printable")
    return mime(head, body)


def removed_big5() -> bytes:
    """Traditional Chinese in Big5, 8bit, Outlook quoting the Chinese notice under a 寄件者: block."""
    sent = notice("zh-Hant")
    text = (
        "您好，\n\n感謝您的通知。經審核後，您所檢舉的內容已被移除。\n\n信任及安全團隊\n\n"
        "________________________________\n"
        f"寄件者: Example Support Service <{NOTIFIER}>\n"
        "寄件日期: 2026年12月1日 上午 10:02\n"
        f"收件者: {PLATFORM} <{PLATFORM}>\n"
        f"主旨: {sent.subject}\n\n"
        f"{sent.text}"
    )
    subject = Header(f"回覆: {sent.subject}", "big5").encode()
    head = _head(subject, content_type='text/plain; charset="big5"', encoding="8bit")
    return mime(head, text.encode("big5hkscs"))


def removed_gb2312() -> bytes:
    """Simplified Chinese in GB2312, base64, Foxmail's 原始邮件 divider above the quoted notice."""
    sent = notice("zh-Hant")
    reply = "您好！\n\n我们已收到您的举报。经核实，相关内容已删除。\n\n此致\n平台安全团队\n\n"
    original = (
        "------------------ 原始邮件 ------------------\n"
        f"发件人: Example Support Service <{NOTIFIER}>\n"
        "发送时间: 2026年12月1日 18:02\n"
        f"收件人: {PLATFORM}\n"
        "主题: Removal request\n\n"
    )
    # GB2312 cannot write the Traditional notice; the client sends the whole reply in GB18030.
    data = reply.encode("gb2312") + (original + sent.text).encode("gb18030")
    head = _head(
        Header("回复：移除要求", "gb2312").encode(), content_type="text/plain; charset=gb2312", encoding="base64"
    )
    return mime(head, _b64(data))


def rejected_html() -> bytes:
    """HTML only, quoted-printable: a style, a script, and the notice inside Gmail's blockquote."""
    sent = notice()
    quoted_html = "".join(f"<p>{line}</p>" for line in sent.text.split("\n\n"))
    html = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Your report</title>
<style>.x {{ color: #222; }} p {{ margin: 0 }}</style>
<script>document.write("tracking pixel")</script></head>
<body><div dir="ltr"><p>Hello,</p>
<p>We reviewed the content you reported and found that it <b>does not violate</b> our Community
Guidelines. We will not take action at this time.</p>
<p>Example&nbsp;Video Trust &amp; Safety</p></div>
<div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Tue, 1 Dec 2026 at 10:02, Example Support
Service &lt;{NOTIFIER}&gt; wrote:<br></div>
<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204)">
{quoted_html}</blockquote></div></body></html>
"""
    body = quopri.encodestring(html.encode("utf-8")).decode("ascii")
    head = _head(f"Re: {sent.subject}", content_type='text/html; charset="UTF-8"', encoding="quoted-printable")
    return mime(head, body)


def not_removed() -> bytes:
    """Not (yet) removed: "has not been removed" must not read as removed."""
    reply = "Hi,\n\nThe content has not been removed. We will let you know.\n\nExample Video Trust & Safety"
    head = _head(f"Re: {notice().subject}", content_type="text/plain; charset=us-ascii", encoding="7bit")
    return mime(head, _gmail_quote(reply))


def needs_info() -> bytes:
    """A question back: the platform needs more before it acts."""
    reply = (
        "Hello,\n\nBefore we can act on your report we need more information. Could you please confirm the "
        "exact URL of the video and provide proof that you are authorised to act on behalf of the person "
        "depicted?\n\nThanks,\nExample Video Trust & Safety"
    )
    head = _head(f"Re: {notice().subject}", content_type="text/plain; charset=us-ascii; format=flowed", encoding="7bit")
    return mime(head, _gmail_quote(reply))


def thanks_pasted_over_repost() -> bytes:
    """A client that pastes the original below the reply: "Thanks", then tada's repost notice as it
    is, no "wrote:" line, no ``>``.

    The repost notice says the content "was removed after an earlier notice": only tada's own
    text, given to the classifier, keeps that from reading as the platform's words."""
    sent = notice(kind=NoticeKind.REPOST)
    text = f"Thanks\n\n{sent.text}"
    head = _head(f"Re: {sent.subject}", content_type='text/plain; charset="utf-8"', encoding="8bit")
    return mime(head, text.encode("utf-8"))


def thanks_quoting_notice() -> bytes:
    """ "Thanks" above the initial notice, quoted with ``>`` lines and "wrote:" (it says "please remove")."""
    head = _head(f"Re: {notice().subject}", content_type="text/plain; charset=utf-8", encoding="8bit")
    return mime(head, _gmail_quote("Thanks").encode("utf-8"))
