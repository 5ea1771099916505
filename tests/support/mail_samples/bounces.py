"""Bounces as MTAs send them: Postfix and Exchange RFC 3464 reports, Exim's and qmail's plain text."""

from __future__ import annotations

import base64

from tests.support.mail_samples import NOTIFIER, mime, notice


def _returned_notice() -> str:
    """The notice as a bounce sends it back (its headers, then its text)."""
    sent = notice()
    return (
        f"Return-Path: <{NOTIFIER}>\n"
        f"From: Example Support Service <{NOTIFIER}>\n"
        "To: takedown@platform.example\n"
        f"Subject: {sent.subject}\n"
        "Date: Tue, 01 Dec 2026 10:02:09 +0000\n"
        "Message-ID: <176458332911.4711.1302@tada.example.org>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: 7bit\n"
        "\n"
        f"{sent.text}"
    )


_POSTFIX_REPORT = f"""Reporting-MTA: dns; mail.tada.example.org
X-Postfix-Queue-ID: 4Y2kQ81Zx3z9tKp
X-Postfix-Sender: rfc822; {NOTIFIER}
Arrival-Date: Tue,  1 Dec 2026 10:02:10 +0000 (UTC)

Final-Recipient: rfc822; takedown@Platform.Example
Original-Recipient: rfc822;takedown@platform.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx1.platform.example
Diagnostic-Code: smtp; 550 5.1.1 <takedown@platform.example>: Recipient address
    rejected: User unknown in virtual mailbox table
"""


def _report(encoded: bool) -> str:
    if not encoded:
        return f"\n{_POSTFIX_REPORT}"
    data = base64.encodebytes(_POSTFIX_REPORT.replace("\n", "\r\n").encode("ascii")).decode("ascii")
    return f"Content-Transfer-Encoding: base64\n\n{data}"


def postfix_user_unknown(*, encoded_report: bool = False) -> bytes:
    """Postfix's RFC 3464 report: the platform's address does not exist (550 5.1.1).

    ``encoded_report``: the delivery-status part in base64, as a relaying gateway may re-encode it."""
    boundary = "4Y2kQ81Zx3z9tKp.1764583331/mail.tada.example.org"
    head = f"""
Return-Path: <>
Delivered-To: {NOTIFIER}
Received: by mail.tada.example.org (Postfix)
	id 4Y2kQ81Zx3z9tKp; Tue,  1 Dec 2026 10:02:11 +0000 (UTC)
Date: Tue,  1 Dec 2026 10:02:11 +0000 (UTC)
From: MAILER-DAEMON@mail.tada.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {NOTIFIER}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
Content-Transfer-Encoding: 8bit
Message-Id: <20261201100211.4Y2kQ81Zx3z9tKp@mail.tada.example.org>
"""
    body = f"""This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.tada.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<takedown@platform.example>: host mx1.platform.example[192.0.2.25] said: 550
    5.1.1 <takedown@platform.example>: Recipient address rejected: User unknown
    in virtual mailbox table (in reply to RCPT TO command)

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status
{_report(encoded_report)}
--{boundary}
Content-Description: Undelivered Message
Content-Type: message/rfc822

{_returned_notice()}
--{boundary}--
"""
    return mime(head, body.encode("utf-8"))


def exchange_delayed() -> bytes:
    """Exchange Online's delay notice: still retrying after hours (Action: delayed, 4.4.7)."""
    boundary = "_000_DB9PR01MB7354E0A3C0F4A1B2C3D4E5F6DB9PR01MB7354eurp_"
    head = f"""
Return-Path: <>
From: Microsoft Outlook
	<MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@host.example>
To: <{NOTIFIER}>
Date: Tue, 1 Dec 2026 14:05:42 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
MIME-Version: 1.0
Subject: Delivery delayed:Removal request: non-consensual intimate images on
 Example Video [TADA-7F3K2Q]
Message-ID: <d1a6c1e0-93c4-4f1b-8d0a-2b6d3d5c2f10@DB9PR01MB7354.eurprd01.prod.exchangelabs.com>
Auto-Submitted: auto-replied
X-MS-Exchange-Message-Is-Ndr:
"""
    body = f"""--{boundary}
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Delivery is delayed to these recipients or groups:

abuse@host.example

Subject: Removal request: non-consensual intimate images on Example Video [=
TADA-7F3K2Q]

This message hasn't been delivered yet. Delivery will continue to be attemp=
ted.

The server will keep trying to deliver this message for the next 1 days, 19=
 hours and 57 minutes. You'll be notified if the message can't be delivered=
 by that time.

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns;DB9PR01MB7354.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail.tada.example.org
Arrival-Date: Tue, 1 Dec 2026 10:02:11 +0000

Final-Recipient: rfc822;abuse@host.example
Action: delayed
Status: 4.4.7
Will-Retry-Until: Thu, 3 Dec 2026 10:02:11 +0000
X-Display-Name: abuse@host.example

--{boundary}
Content-Type: text/rfc822-headers

Return-Path: <{NOTIFIER}>
From: Example Support Service <{NOTIFIER}>
To: abuse@host.example
Subject: Removal request: non-consensual intimate images on Example Video
 [TADA-7F3K2Q]

--{boundary}--
"""
    return mime(head, body)


def postfix_gave_up() -> bytes:
    """Postfix gives up after its queue lifetime: Action: failed with a 4.4.7 status."""
    boundary = "9C1D03E2A7.1764842531/mail.tada.example.org"
    head = f"""
Return-Path: <>
From: MAILER-DAEMON@mail.tada.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {NOTIFIER}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="{boundary}"
Date: Fri,  4 Dec 2026 10:02:11 +0000 (UTC)
"""
    body = f"""This is a MIME-encapsulated message.

--{boundary}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.tada.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<abuse@host.example>: connect to mx.host.example[198.51.100.7]:25: Connection
    timed out

--{boundary}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.tada.example.org
Arrival-Date: Tue,  1 Dec 2026 10:02:10 +0000 (UTC)

Final-Recipient: rfc822; abuse@host.example
Action: failed
Status: 4.4.7
Diagnostic-Code: X-Postfix; delivery temporarily suspended: connect to
    mx.host.example[198.51.100.7]:25: Connection timed out

--{boundary}--
"""
    return mime(head, body)


def exim_failed() -> bytes:
    """Exim's plain-text bounce: no RFC 3464 part, the failed address in X-Failed-Recipients."""
    head = f"""
Return-path: <>
Envelope-to: {NOTIFIER}
Delivery-date: Tue, 01 Dec 2026 10:03:02 +0000
Received: from Debian-exim by mx.host.example with local (Exim 4.96)
	id 1tQx7A-0004Zk-2B
	for {NOTIFIER}; Tue, 01 Dec 2026 10:03:02 +0000
X-Failed-Recipients: abuse@host.example
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.host.example>
To: {NOTIFIER}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tQx7A-0004Zk-2B@mx.host.example>
Date: Tue, 01 Dec 2026 10:03:02 +0000
"""
    body = f"""This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  abuse@host.example
    host mx.host.example [198.51.100.7]
    SMTP error from remote mail server after RCPT TO:<abuse@host.example>:
    550 5.1.1 <abuse@host.example>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

{_returned_notice()}
"""
    return mime(head, body.encode("utf-8"))


def qmail_failed() -> bytes:
    """qmail's QSBMF bounce: plain text, nothing in the headers names the failed address."""
    head = f"""
Return-Path: <>
Received: (qmail 21873 invoked for bounce); 1 Dec 2026 10:05:33 -0000
Date: 1 Dec 2026 10:05:33 -0000
From: MAILER-DAEMON@mail.host.example
To: {NOTIFIER}
Subject: failure notice
"""
    body = f"""Hi. This is the qmail-send program at mail.host.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<abuse@host.example>:
198.51.100.9 does not like recipient.
Remote host said: 550 5.1.1 <abuse@host.example>... User unknown
Giving up on 198.51.100.9.

--- Below this line is a copy of the message.

{_returned_notice()}
"""
    return mime(head, body.encode("utf-8"))
