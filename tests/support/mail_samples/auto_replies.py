"""Automatic replies: Outlook's out-of-office, Chinese ones, a ticket system's acknowledgement."""

from __future__ import annotations

import base64
import quopri
from email.header import Header

from tests.support.mail_samples import NOTIFIER, REFERENCE, mime, notice

_THREAD = (
    "In-Reply-To: <176458332911.4711.1302@tada.example.org>\nReferences: <176458332911.4711.1302@tada.example.org>"
)


def _b64(text: str, charset: str) -> str:
    encoded = base64.b64encode(text.encode(charset)).decode("ascii")
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def _qp(text: str) -> str:
    return quopri.encodestring(text.encode("utf-8")).decode("ascii")


def outlook_out_of_office() -> bytes:
    """Exchange Online's out-of-office: Auto-Submitted, X-Auto-Response-Suppress, text and HTML."""
    boundary = "_000_AM0PR01MB52340C7B1E2D4F5A6B7C8D9EAM0PR01MB5234eurp_"
    head = f"""
Received: from AM0PR01MB5234.eurprd01.prod.exchangelabs.com (2603:10a6:208:12::19)
 by AM0PR01MB5234.eurprd01.prod.exchangelabs.com with HTTPS; Tue, 1 Dec 2026
 10:02:15 +0000
From: Jane Doe <jane.doe@platform.example>
To: Example Support Service <{NOTIFIER}>
Subject: Automatic reply: Removal request: non-consensual intimate images on
 Example Video [{REFERENCE}]
Thread-Topic: Removal request: non-consensual intimate images on Example Video
 [{REFERENCE}]
Thread-Index: AQHbRkx5m0n8nU2gTkqg5V3cZ7Rj3w==
Date: Tue, 1 Dec 2026 10:02:15 +0000
Message-ID: <AM0PR01MB52340C7B1E2D4F5A6B7C8D9E@AM0PR01MB5234.eurprd01.prod.exchangelabs.com>
{_THREAD}
Auto-Submitted: auto-generated
X-MS-Has-Attach:
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: jane.doe@platform.example
X-MS-TNEF-Correlator:
Content-Language: en-GB
Content-Type: multipart/alternative;
	boundary="{boundary}"
MIME-Version: 1.0
"""
    body = f"""--{boundary}
Content-Type: text/plain; charset="us-ascii"

Thank you for your email. I am out of the office until Monday 7 December with
limited access to email. For urgent trust and safety matters please contact
safety-oncall@platform.example.

Jane

--{boundary}
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html>
<head>
<meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3Dus-ascii">
<style type=3D"text/css" style=3D"display:none;"> P {{margin-top:0;margin-bottom:0;}} </style>
</head>
<body dir=3D"ltr">
<div style=3D"font-family: Aptos, sans-serif; font-size: 12pt;">Thank you fo=
r your email. I am out of the office until Monday 7 December with limited a=
ccess to email.</div>
</body>
</html>

--{boundary}--
"""
    return mime(head, body)


def big5_out_of_office() -> bytes:
    """Outlook in Traditional Chinese: a Big5 subject and body, base64, Auto-Submitted."""
    subject = Header("自動回覆: 移除要求：Example Video 上未經同意發布的私密影像", "big5").encode()
    text = (
        "您好：\n\n本人於12月1日至12月8日休假，期間未能查閱電郵。\n如有緊急事項，請致電本公司信任及安全部。\n\n陳小姐\n"
    )
    head = f"""
From: {Header("陳小姐", "big5").encode()} <chan@platform.example>
To: "Example Support Service" <{NOTIFIER}>
Subject: {subject}
Date: Tue, 1 Dec 2026 18:02:16 +0800
Message-ID: <TYZPR06MB6421A1B2C3D4E5F60718293AB4C5@TYZPR06MB6421.apcprd06.prod.outlook.com>
{_THREAD}
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Content-Language: zh-TW
MIME-Version: 1.0
Content-Type: text/plain; charset="big5"
Content-Transfer-Encoding: base64
"""
    return mime(head, _b64(text, "big5") + "\n")


def gb2312_out_of_office_by_subject() -> bytes:
    """A webmail autoresponder in Simplified Chinese: no automatic-reply header, only its subject."""
    subject = Header("自动回复：您好，我目前休假中", "gb2312").encode()
    text = "您好，您的邮件已收到。我目前正在休假，12月8日返回后会尽快回复。\n"
    head = f"""
From: "Li Ming" <liming@platform.example>
To: {NOTIFIER}
Subject: {subject}
Date: Tue, 1 Dec 2026 18:03:40 +0800
Message-ID: <202612011803401234567@platform.example>
X-Mailer: Coremail Webmail Server Version XT5.0.13
MIME-Version: 1.0
Content-Type: text/plain; charset="GB2312"
Content-Transfer-Encoding: base64
"""
    return mime(head, _b64(text, "gb2312") + "\n")


def ticket_acknowledgement() -> bytes:
    """A platform's help desk confirms the report automatically, with its own ticket number."""
    boundary = "--==_mimepart_674c3f1a8b2c4_7f3e2d1c0b9a1234"
    plain = f"""##- Please type your reply above this line -##

Thank you for contacting Example Video Trust & Safety.

We have received your report and a member of our team will review it. Your
ticket number is 4821936. Please keep this number in any correspondence about
this report.

This email is a service from Example Video Trust & Safety.

[{REFERENCE}]
"""
    html = """<!DOCTYPE html><html><head><style>p{color:#2f3941}</style></head><body>
<div style="color:#b5b5b5">##- Please type your reply above this line -##</div>
<p>Thank you for contacting Example Video Trust &amp; Safety.</p>
<p>We have received your report and a member of our team will review it. Your ticket number is 4821936.</p>
</body></html>
"""
    head = f"""
From: Example Video Trust & Safety <support@platform.example>
Reply-To: Example Video Trust & Safety <support+id4821936@platform.example>
To: Example Support Service <{NOTIFIER}>
Subject: [Example Video] Re: {notice().subject} (#4821936)
Date: Tue, 01 Dec 2026 10:02:31 +0000
Message-ID: <ZR7K1PQ5VX_674c3f1a8b2c4_7f3e2d1c0b9a_sprut@zendesk.com>
{_THREAD}
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
Precedence: bulk
X-Mailer: Zendesk Mailer
MIME-Version: 1.0
Content-Type: multipart/alternative;
 boundary="{boundary}";
 charset=UTF-8
Content-Transfer-Encoding: 7bit
"""
    body = f"""
--{boundary}
Content-Type: text/plain;
 charset=UTF-8
Content-Transfer-Encoding: quoted-printable

{_qp(plain)}
--{boundary}
Content-Type: text/html;
 charset=UTF-8
Content-Transfer-Encoding: quoted-printable

{_qp(html)}
--{boundary}--
"""
    return mime(head, body)


def read_receipt_deleted() -> bytes:
    """Exchange's read receipt (RFC 8098) for a notice deleted unread: "was deleted" is no removal."""
    boundary = "_b7c1e2f0-5d3a-4c8e-9f1b-2a6d4e8c0f13_"
    head = f"""
From: Jane Doe <jane.doe@platform.example>
To: Example Support Service <{NOTIFIER}>
Subject: Not read: Removal request: non-consensual intimate images on Example
 Video [{REFERENCE}]
Date: Wed, 2 Dec 2026 08:00:12 +0000
Message-ID: <c3a9f7e1b2d84a6f9e0c1b2a3d4e5f60@AM0PR01MB5234.eurprd01.prod.exchangelabs.com>
{_THREAD}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
	boundary="{boundary}"
"""
    body = f"""--{boundary}
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit

Your message

  To: jane.doe@platform.example
  Subject: Removal request: non-consensual intimate images on Example Video [{REFERENCE}]
  Sent: Tuesday, 1 December 2026 10:02:09 (UTC+00:00) Monrovia, Reykjavik

was deleted without being read on Wednesday, 2 December 2026 08:00:12 (UTC+00:00) Monrovia, Reykjavik.

--{boundary}
Content-Type: message/disposition-notification

Reporting-UA: AM0PR01MB5234.eurprd01.prod.exchangelabs.com; Microsoft Exchange Server
Final-Recipient: rfc822;jane.doe@platform.example
Original-Message-ID: <176458332911.4711.1302@tada.example.org>
Disposition: automatic-action/MDN-sent-automatically; deleted

--{boundary}--
"""
    return mime(head, body)
