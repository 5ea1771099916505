"""Benchmark 5, the inbox: replies read, matched, classified and told to their links per second.

A real IMAP server (pymap, tada.kit.imap.LocalMailbox) on 127.0.0.1 holds a mailbox of
platforms' replies (5,000 by default), written as platforms write them: answers to notice
emails recorded in PostgreSQL (tada.app.reply_messages.record_message, so their plus-tags,
In-Reply-To and subject tags are real ones), acknowledgements, confirmations of removal,
refusals, requests for information, out-of-office auto-replies and RFC 3464 bounces; some
with attachments (a screenshot, a PDF), some in HTML; and a flood from one sender (an
auto-responder answering one notice over and over) mixed in among the first of them.

Two sides read the same kind of mailbox, on the same server, in alternating rounds (AB BA),
each round a folder of fresh messages (new Message-IDs: tada never processes one twice):

- tada: ``InboxReader.poll_once`` with ``ReplyRouter`` as in the worker: a row per message,
  the fetch within the cap, the bounded reading, the match, the classifier, a link_replies
  row per link (the excerpt sealed), the reply_received signal to each link's workflow (the
  workflows are started on a queue no worker polls: the signal is the real RPC), the mark;
- bare: aioimaplib alone: log in, select, list the UIDs, ``UID FETCH a,b,… (BODY.PEEK[])``,
  25 UIDs a command, as tada's reader fetches them.

Printed: replies per second each side and their ratio (target: tada >= 0.5 of bare), CPU per
reply (this process, pymap, PostgreSQL and Temporal), and whether the flood delayed the
others: the position, in tada's processing order, of the last reply not from the flood, and
when it was done (its senders take turns: tada/app/inbox.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aioimaplib
import asyncpg
import structlog

from bench.report import Report, ratio_line
from bench.stack import CpuMeter, Stack
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.adapters.temporal import connect
from tada.app.inbox import InboxReader, imap_config
from tada.app.intake import open_case
from tada.app.reply_messages import record_message, reply_tag_key
from tada.app.reply_routing import ReplyRouter
from tada.domain.reply_tags import reply_address, tagged_subject
from tada.kit.imap import LocalMailbox

TARGET = 0.5
REPLY_TO = "takedown@org.bench.test"
IDLE_QUEUE = "bench-inbox-nobody-polls"  # the links' workflows wait here: signals land, nothing runs
ROUNDS = 2
CASES = 40
FLOOD_SENDER = "noreply@tickets.floodplatform.test"
#: Replies arriving between two polls. Larger, and tada's poll fails: aioimaplib handles each line
#: of a response by recursion, so listing ~1,000 new messages at once exceeds Python's recursion
#: limit and the command never answers ("list failed: no answer in time"; see the report).
BATCH = 250
#: UIDs fetched a command, both sides (tada's reader: InboxReader.batch_size).
FETCH_BATCH = 25

#: What the platforms write (the phrases tada's classifier reads), with their weights.
KINDS: list[tuple[str, float, str]] = [
    ("acknowledged", 0.35, "Thank you for your report. We have received it and opened ticket #{n}; we will review it."),
    ("removed", 0.25, "Hello,\n\nThe content you reported has been removed from our service.\n\nRegards"),
    ("rejected", 0.10, "We have reviewed the content and it does not violate our policies. No action taken."),
    ("needs_info", 0.08, "Please provide more information: we need the exact URL and proof of identity."),
    ("auto_reply", 0.12, "I am out of the office until Monday with limited access to email."),
    ("bounce", 0.05, ""),
    ("other", 0.05, "Hi, who is this? Please call our office."),
]


@dataclass
class NoticeEmail:
    message_id: str
    reply_address: str  # its Reply-To, plus-tagged
    subject: str  # tagged
    recipient: str
    links: list[str]


@dataclass
class Side:
    seconds: list[float] = field(default_factory=list)
    messages: int = 0
    cpu: list[float] = field(default_factory=list)
    cpu_parts: dict[str, float] = field(default_factory=dict)

    def rate(self) -> float:
        return self.messages / sum(self.seconds) if self.seconds else 0.0


async def _notices(pool: asyncpg.Pool, crypto: DataCrypto, emails: int, client) -> list[NoticeEmail]:
    """``emails`` notice emails recorded as tada records them (1 to 3 links each), the links'
    workflows started (and never run)."""
    tag_key = reply_tag_key(crypto)
    rng = random.Random(5)
    cases = [await open_case(pool, age=30, minimum_age=16, signpost="", crypto=crypto) for _ in range(CASES)]
    out: list[NoticeEmail] = []
    link_rows, notice_rows = [], []
    plans = []
    for n in range(emails):
        case_id = cases[n % CASES]
        links = [f"{case_id}-{uuid.uuid4().hex[:16]}" for _ in range(rng.choice((1, 1, 1, 2, 3)))]
        recipient = f"abuse@platform{n % 60:02d}.bench.test"
        message_id = make_msgid(domain="org.bench.test")
        for link_id in links:
            url = f"http://platform{n % 60:02d}.bench.test/v/{link_id[-16:]}"
            link_rows.append((link_id, case_id, url, url.split("/")[2], "bench", "other"))
            notice_rows.append(
                (f"{link_id}:1:0", link_id, case_id, 1, "initial", "email", recipient, message_id, "sent")
            )
        plans.append((case_id, links, recipient, message_id))
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "links", records=link_rows, columns=["link_id", "case_id", "url", "host", "platform", "category"]
        )
        await conn.copy_records_to_table(
            "notices",
            records=notice_rows,
            columns=[
                "notice_key",
                "link_id",
                "case_id",
                "cycle",
                "kind",
                "channel",
                "recipient",
                "message_id",
                "status",
            ],
        )
    for case_id, links, recipient, message_id in plans:
        listed = [(f"{link_id}:1:0", link_id) for link_id in links]
        token = await record_message(pool, tag_key, message_id=message_id, case_id=case_id, listed=listed)
        subject = tagged_subject(f"Request to remove non-consensual intimate images (case {case_id})", token)
        out.append(NoticeEmail(message_id, reply_address(REPLY_TO, token), subject, recipient, links))
    gate = asyncio.Semaphore(50)

    async def start(link_id: str) -> None:
        async with gate:
            await client.start_workflow("LinkWorkflow", id=link_id, task_queue=IDLE_QUEUE)

    await asyncio.gather(*(start(link_id) for email in out for link_id in email.links))
    return out


def _png(rng: random.Random, size: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)


def _reply(rng: random.Random, notice: NoticeEmail, kind: str, words: str, number: int) -> bytes:
    """One reply to ``notice``: threaded, quoting it; 20 % in HTML, 10 % with an attachment."""
    if kind == "bounce":
        return _bounce(notice)
    message = EmailMessage()
    message["From"] = f"Trust & Safety <{notice.recipient}>"
    message["To"] = notice.reply_address
    message["Subject"] = ("Automatic reply: " if kind == "auto_reply" else "Re: ") + notice.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=notice.recipient.rpartition("@")[2])
    message["In-Reply-To"] = notice.message_id
    message["References"] = notice.message_id
    if kind == "auto_reply":
        message["Auto-Submitted"] = "auto-replied"
    text = words.format(n=number) + "\n\nOn Tuesday, Take-Down Assistance wrote:\n> Please remove the images.\n"
    message.set_content(text)
    if rng.random() < 0.2:
        paragraphs = "".join(f"<p>{line}</p>" for line in text.splitlines() if line)
        message.add_alternative(f"<html><body><div style='font-family:Arial'>{paragraphs}</div></body></html>", "html")
    if rng.random() < 0.1:
        if rng.random() < 0.5:
            message.add_attachment(_png(rng, rng.randrange(20_000, 80_000)), "image", "png", filename="screenshot.png")
        else:
            pdf = b"%PDF-1.4\n" + rng.randbytes(rng.randrange(40_000, 120_000))
            message.add_attachment(pdf, "application", "pdf", filename="decision.pdf")
    return bytes(message)


def _bounce(notice: NoticeEmail) -> bytes:
    domain = notice.recipient.rpartition("@")[2]
    boundary = f"dsn-{uuid.uuid4().hex}"
    head = (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.{domain}>\r\nTo: {notice.reply_address}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {make_msgid(domain=f'mx.{domain}')}\r\n"
        f"Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
    )
    parts = [
        f"Content-Type: text/plain\r\n\r\n<{notice.recipient}>: 550 5.1.1 user unknown\r\n",
        f"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.{domain}\r\n\r\n"
        f"Final-Recipient: rfc822; {notice.recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n",
        f"Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: {notice.message_id}\r\nTo: {notice.recipient}\r\n"
        f"Subject: {notice.subject}\r\n",
    ]
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return (head + body).encode()


def _flood(notice: NoticeEmail, number: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Ticket system <{FLOOD_SENDER}>"
    message["To"] = notice.reply_address
    message["Subject"] = f"Re: {notice.subject} (update {number})"
    message["Message-ID"] = make_msgid(domain=FLOOD_SENDER.rpartition("@")[2])
    message["In-Reply-To"] = notice.message_id
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(f"Your request has been updated ({number}). This is an automated message.\n")
    return bytes(message)


def mailbox_messages(notices: list[NoticeEmail], replies: int, flood: int, seed: int) -> tuple[list[bytes], set[int]]:
    """``replies`` messages in mailbox order, and the positions of the flood's (the first half of the
    mailbox: each of its messages comes before most of the others)."""
    rng = random.Random(seed)
    others = replies - flood
    kinds, weights = [k[0] for k in KINDS], [k[1] for k in KINDS]
    words = {k[0]: k[2] for k in KINDS}
    regular = []
    for number in range(others):
        kind = rng.choices(kinds, weights)[0]
        regular.append(_reply(rng, rng.choice(notices), kind, words[kind], 100_000 + number))
    flooded = notices[0]
    positions = set(rng.sample(range(min(replies, max(flood, replies // 2))), flood))
    out, regular_iter, number = [], iter(regular), 0
    for position in range(replies):
        if position in positions:
            out.append(_flood(flooded, number))
            number += 1
        else:
            out.append(next(regular_iter))
    return out, positions


async def _client(mailbox: LocalMailbox) -> aioimaplib.IMAP4:
    client = aioimaplib.IMAP4(host=mailbox.host, port=mailbox.port, timeout=60)
    await client.wait_hello_from_server()
    assert (await client.login(mailbox.username, mailbox.password)).result == "OK"
    return client


async def _fill(mailbox: LocalMailbox, folder: str, messages: list[bytes], *, create: bool) -> None:
    client = await _client(mailbox)
    try:
        if create:
            assert (await client.create(folder)).result == "OK"
        for raw in messages:
            assert (await client.append(raw, mailbox=folder)).result == "OK"
    finally:
        await client.logout()


async def bare_read(mailbox: LocalMailbox, folder: str, *, skip: int = 0, batch: int = FETCH_BATCH) -> int:
    """aioimaplib alone: the messages of ``folder`` after the first ``skip`` fetched, ``batch`` UIDs
    a command (as tada's reader fetches them)."""
    client = await _client(mailbox)
    try:
        assert (await client.select(folder)).result == "OK"
        listed = await client.uid_search("ALL")
        uids = [int(uid) for line in listed.lines[:-1] for uid in line.split()][skip:]
        fetched = 0
        for start in range(0, len(uids), batch):
            uid_set = ",".join(map(str, uids[start : start + batch]))
            answer = await client.uid("fetch", uid_set, "(BODY.PEEK[])")
            assert answer.result == "OK"
            fetched += sum(isinstance(line, bytearray) and len(line) > 100 for line in answer.lines)
        return fetched
    finally:
        await client.logout()


async def run(replies: int = 5_000, flood_share: float = 0.2, batch: int = BATCH, *, keep: bool = False) -> Report:
    # tada's own lines at INFO (one per reply) would be most of what this process does and prints
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    flood = round(replies * flood_share)
    report = Report(f"5. Inbox: {replies} replies read, matched, classified, told (tada vs aioimaplib)")
    async with Stack(keep=keep) as stack:
        mailbox = LocalMailbox()
        mailbox.start()
        try:
            return await _measure(stack, mailbox, replies, flood, batch, report)
        finally:
            mailbox.stop()


async def _measure(stack: Stack, mailbox: LocalMailbox, replies: int, flood: int, batch: int, report: Report) -> Report:
    settings = stack.settings("bench-inbox").model_copy(update={"reply_to": REPLY_TO, **mailbox.settings()})
    crypto = DataCrypto.from_settings(settings)
    pool = await create_pool(settings.database_url, max_size=10)
    client = await connect(settings)
    assert mailbox._process is not None  # noqa: SLF001 (the server we started)
    pids = {"bench": os.getpid(), "pymap": mailbox._process.pid, **stack.pids()}  # noqa: SLF001
    tada, bare = Side(), Side()
    flood_last: list[str] = []
    try:
        notices = await _notices(pool, crypto, max(10, replies // 4), client)
        router = ReplyRouter(pool, crypto, client, reply_to=REPLY_TO)
        order = ["bare", "tada", "tada", "bare"][: 2 * ROUNDS]
        for index, side_name in enumerate(order):
            folder = f"Round{index}"
            messages, _ = mailbox_messages(notices, replies, flood, seed=index)
            side = bare if side_name == "bare" else tada
            config = imap_config(settings.model_copy(update={"imap_mailbox": folder}))
            reader = InboxReader(pool, settings.database_url, config, router, poll_seconds=0.1, batch_size=FETCH_BATCH)
            done = seconds = 0.0
            # The mail arrives ``batch`` at a time, each read (one poll) before the next comes in.
            for start in range(0, replies, batch):
                await _fill(mailbox, folder, messages[start : start + batch], create=start == 0)
                meter = CpuMeter(**(pids if side is tada else {"bench": pids["bench"], "pymap": pids["pymap"]}))
                meter.start()
                began = time.monotonic()
                if side is bare:
                    done += await bare_read(mailbox, folder, skip=start)
                else:
                    done += (await reader.poll_once()).processed
                seconds += time.monotonic() - began
                meter.stop()
                side.cpu.append(meter.total)
                for name, used in meter.used.items():
                    side.cpu_parts[name] = side.cpu_parts.get(name, 0.0) + used
            assert done == replies, f"{side_name} read {done} of {replies}"
            side.seconds.append(seconds)
            side.messages += int(done)
            if side is tada:
                flood_last.append(await _flood_delay(pool, reader.mailbox, batch))
        await _checks(pool, report, tada.messages)
    finally:
        await pool.close()

    line, met = ratio_line(tada.rate(), bare.rate(), TARGET)
    report.verdict(met)
    report.add("replies a round", f"{replies} ({flood} from one sender, the flood; {replies - flood} others)")
    report.add("tada, replies/s", f"{tada.rate():.0f} (rounds: {', '.join(f'{s:.1f}s' for s in tada.seconds)})")
    report.add(
        "bare aioimaplib, replies/s", f"{bare.rate():.0f} (rounds: {', '.join(f'{s:.1f}s' for s in bare.seconds)})"
    )
    report.add("ratio tada / bare", line)
    report.add("CPU per reply, tada", _cpu(tada))
    report.add("CPU per reply, bare", _cpu(bare))
    for n, text in enumerate(flood_last, 1):
        report.add(f"flood, tada round {n}", text)
    report.note(
        f"each round a folder of fresh replies on the same pymap server, arriving {batch} at a time, each "
        "arrival read (one poll) before the next; order bare, tada, tada, bare; times and CPU are the reads'"
    )
    report.note("the links' workflows wait on a queue no worker polls: each signal is the real RPC, nothing runs")
    return report


def _cpu(side: Side) -> str:
    parts = ", ".join(f"{name} {used / side.messages * 1000:.2f}" for name, used in side.cpu_parts.items())
    return f"{sum(side.cpu) / side.messages * 1000:.2f} ms ({parts})"


async def _flood_delay(pool: asyncpg.Pool, mailbox_key: str, batch: int) -> str:
    """Whether the flood held the others back: in each arrival with flood messages in it, at which
    position of tada's processing order the last other reply was done, against its position in
    the mailbox (first come, first served), and when (seconds into that poll)."""
    rows = await pool.fetch(
        "SELECT uid, message_id, processed_at FROM inbox_messages WHERE mailbox = $1 ORDER BY uid", mailbox_key
    )
    flood_domain = "@" + FLOOD_SENDER.rpartition("@")[2]
    done_at, in_order, flooded, arrivals = [], [], 0, 0
    waits = []
    for start in range(0, len(rows), batch):
        arrival = rows[start : start + batch]
        is_flood = [flood_domain in (row["message_id"] or "") for row in arrival]
        if not any(is_flood) or all(is_flood):
            continue
        arrivals += 1
        flooded += sum(is_flood)
        by_time = sorted(range(len(arrival)), key=lambda i: (arrival[i]["processed_at"], i))
        rank = {i: r for r, i in enumerate(by_time, 1)}
        others = [i for i, flood in enumerate(is_flood) if not flood]
        done_at.append(max(rank[i] for i in others))
        in_order.append(max(others) + 1)
        first = arrival[by_time[0]]["processed_at"]
        waits.append((max(arrival[i]["processed_at"] for i in others) - first).total_seconds())
    if not arrivals:
        return "no arrival held flood messages among others"
    mean = sum(done_at) / arrivals
    fifo = sum(in_order) / arrivals
    return (
        f"in the {arrivals} arrivals with the flood ({flooded} of its messages), the last other reply was "
        f"done at position {mean:.0f} of {batch} on average ({sum(waits) / arrivals:.1f}s into the poll); "
        f"first come, first served: {fifo:.0f}"
    )


async def _checks(pool: asyncpg.Pool, report: Report, processed: int) -> None:
    statuses = {
        r["status"]: r["n"]
        for r in await pool.fetch("SELECT status, count(*) AS n FROM inbox_messages GROUP BY status")
    }
    kinds = {
        r["kind"]: r["n"]
        for r in await pool.fetch(
            "SELECT kind, count(*) AS n FROM (SELECT DISTINCT ON (reply_id) reply_id, kind FROM link_replies) k"
            " GROUP BY kind"
        )
    }
    rows = await pool.fetchval("SELECT count(*) FROM link_replies")
    report.add(
        "checked (tada rounds)",
        f"{sum(statuses.values())} rows for {processed} replies: "
        + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
        + f"; {rows} link replies",
    )
    report.add("classified", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
    ok = sum(statuses.values()) == processed and statuses.get("matched", 0) == processed
    report.verdict(ok)
