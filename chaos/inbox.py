"""`make chaos CHAOS_ARGS=inbox`: the inbox reader's worker SIGKILLed mid-batch, then started again;
every reply must be processed exactly once.

Starts PostgreSQL (embedded), a Temporal dev server, an SMTP sink that keeps what it takes,
a real IMAP server (pymap: tada.kit.imap.LocalMailbox) and one tada worker in a process of
its own (chaos/worker_process.py: the product's entry point, with TADA_IMAP_* and
TADA_REPLY_TO set, so it runs the inbox reader and the reply router beside the workflows).
Links are started on a chaos platform whose pages stay up (and whose follow-up is an hour
away: the links wait in AWAITING_RESPONSE); their notices arrive at the sink. Then the
platforms answer: ``--replies`` answers to those notice emails (acknowledgements, an
out-of-office, a question; nothing that moves a link on) go into the mailbox at once, and the
worker reads them. When a share of them is done (``--kill-at``), while a message is in
hand if one is, the worker is SIGKILLed; after ``--worker-down`` seconds it starts again and
reads the rest. Checks:

- one inbox_messages row per reply (by Message-ID), every one matched, marked on the server,
  none left in processing or error, none a duplicate;
- one link_replies row per reply and link its notice email listed, no more, no fewer;
- each link's timeline holds one reply event per reply to its emails: none lost, none twice
  (a reply retried after the kill is told to its links again, and each link hears it once).

Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from pathlib import Path

import aioimaplib
import asyncpg

from chaos.run import TASK_QUEUE, WorkerProcess, _quiet_temporal_client, registry_toml
from chaos.world import PLATFORMS, WebServers, World
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.temporal import connect
from tada.app.intake import open_case, start_link_row
from tada.app.start_links import link_input, start_link
from tada.domain.registry import load_registry
from tada.kit.imap import LocalMailbox
from tada.kit.smtp import SmtpSink
from tada.kit.stack import LocalStack, settings_from_env, temporary_directory

REPLY_TO = "takedown@chaos.test"
WORDS = [
    "Thank you for your report. We have received it and opened ticket #{n}; our team will review it."
    # (a ticket number past the links' own: "#2" alone would name the email's second link),
    "Hello, we are looking into this and will get back to you. Regards",
    "Could you tell us who you are? Please call our office.",
]


@dataclass
class InboxOptions:
    links: int = 60
    cases: int = 6
    replies: int = 400
    kill_at: float = 0.3  # share of the replies done when the worker is SIGKILLed
    worker_down: float = 3.0
    timeout: float = 300.0
    keep: bool = False
    quiet: bool = False


@dataclass
class Findings:
    checks: dict[str, bool] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    counts: dict[str, object] = field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks[name] = ok
        if not ok:
            self.failures.append(f"{name}: {detail}" if detail else name)


def parse_args(argv: list[str]) -> InboxOptions:
    d = InboxOptions()
    p = argparse.ArgumentParser(prog="python -m chaos inbox", description=__doc__.splitlines()[0])
    p.add_argument("--links", type=int, default=d.links)
    p.add_argument("--cases", type=int, default=d.cases)
    p.add_argument("--replies", type=int, default=d.replies, help="answers put in the mailbox at once")
    p.add_argument("--kill-at", type=float, default=d.kill_at, help="share of them done when the worker dies")
    p.add_argument("--worker-down", type=float, default=d.worker_down)
    p.add_argument("--timeout", type=float, default=d.timeout, help="s for each wait")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    p.add_argument("--quiet", action="store_true")
    return InboxOptions(**vars(p.parse_args(argv)))


def answer(notice: EmailMessage, words: str, *, away: bool = False) -> bytes:
    """A platform's answer to ``notice``: to its Reply-To, in reply to its Message-ID."""
    [(_, reply_address)] = getaddresses([notice["Reply-To"]])
    message = EmailMessage()
    message["From"] = f"Trust & Safety <{getaddresses([notice['To']])[0][1]}>"
    message["To"] = reply_address
    message["Subject"] = ("Automatic reply: " if away else "Re: ") + str(notice["Subject"])
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain="platform.chaos.test")
    message["In-Reply-To"] = notice["Message-ID"]
    message["References"] = notice["Message-ID"]
    if away:
        message["Auto-Submitted"] = "auto-replied"
        words = "I am out of the office until Monday."
    message.set_content(words + "\n\n> Please remove the images listed below.\n")
    return bytes(message)


def _message_id(raw: bytes) -> str:
    for line in raw.split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise ValueError("no Message-ID")


async def _deliver(mailbox: LocalMailbox, replies: list[bytes]) -> None:
    """Every reply into the mailbox at once: APPENDed to a folder the reader does not read, then
    copied into INBOX in one command (the reader finds the whole batch at its next poll)."""
    client = aioimaplib.IMAP4(host=mailbox.host, port=mailbox.port, timeout=60)
    await client.wait_hello_from_server()
    try:
        assert (await client.login(mailbox.username, mailbox.password)).result == "OK"
        assert (await client.create("Arriving")).result == "OK"
        for raw in replies:
            assert (await client.append(raw, mailbox="Arriving")).result == "OK"
        assert (await client.select("Arriving")).result == "OK"
        assert (await client.uid("copy", "1:*", mailbox.mailbox)).result == "OK"
    finally:
        await client.logout()


async def _wait(what, timeout: float, pause: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        found = await what()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(pause)


async def main_async(options: InboxOptions) -> int:
    directory = temporary_directory("tada-chaos-inbox-")
    t0 = time.monotonic()

    def say(text: str) -> None:
        if not options.quiet:
            print(f"[{time.monotonic() - t0:6.1f}s] {text}", flush=True)

    try:
        findings = await _run(options, directory, say)
    finally:
        if options.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)
    _summary(findings, time.monotonic() - t0)
    return 1 if findings.failures else 0


async def _run(o: InboxOptions, d: Path, say) -> Findings:
    findings = Findings()
    platform = PLATFORMS["never"]  # its pages stay up; the hour-long step keeps every link waiting
    world = World()
    web = WebServers(world, [platform])
    web.start()
    sink = SmtpSink(collect=True)
    stack = LocalStack(d, sink)
    mailbox = LocalMailbox()
    worker: WorkerProcess | None = None
    pool: asyncpg.Pool | None = None
    try:
        await stack.start()
        mailbox.start()
        registry_file = d / "platforms.toml"
        registry_file.write_text(registry_toml(web, 3600, [platform]), encoding="utf-8")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TADA_")},
            **stack.env(),
            "TADA_TASK_QUEUE": TASK_QUEUE,
            "TADA_PLATFORMS": str(registry_file),
            "TADA_PAYLOAD_KEYS": "",
            "TADA_REPLY_TO": REPLY_TO,
            "TADA_IMAP_HOST": mailbox.host,
            "TADA_IMAP_PORT": str(mailbox.port),
            "TADA_IMAP_USERNAME": mailbox.username,
            "TADA_IMAP_PASSWORD": mailbox.password,
            "TADA_IMAP_SECURITY": "none",
            "TADA_IMAP_POLL_SECONDS": "0.5",
        }
        settings = settings_from_env(env)
        worker = WorkerProcess("inbox worker", env, d / "worker.log")
        worker.start()
        client = await connect(settings)
        pool = await asyncpg.create_pool(stack.postgres.url, min_size=0, max_size=4)
        crypto = DataCrypto.from_settings(settings)
        registry = load_registry(registry_file)
        say(f"stack up; pymap on {mailbox.port}; one worker (reader and workflows); temp dir {d}")

        cases = [await open_case(pool, age=30, minimum_age=16, signpost="", crypto=crypto) for _ in range(o.cases)]
        for i in range(o.links):
            path = f"/item/{i:04d}"
            world.add(path, platform.behaviour)
            url = f"{web.base_url(platform)}{path}"
            policy = registry.policy_for(url)
            case_id = cases[i % o.cases]
            link_id = await start_link_row(
                pool, case_id=case_id, url=url, platform=policy.name, category=policy.category.value
            )
            await start_link(client, link_input(case_id=case_id, link_id=link_id, url=url, policy=policy), TASK_QUEUE)

        async def all_awaiting() -> bool:
            n = await pool.fetchval("SELECT count(*) FROM links WHERE state = 'AWAITING_RESPONSE'")
            return n == o.links

        if not await _wait(all_awaiting, o.timeout):
            findings.check("every link's notice sent", False, "not every link reached AWAITING_RESPONSE")
            return findings
        notices = [m for m in sink.collected if m["Reply-To"] and m["Message-ID"]]
        listed = {
            row["message_id"]: row["links"]
            for row in await pool.fetch(
                "SELECT m.message_id, array_agg(l.link_id) AS links FROM notice_messages m "
                "JOIN notice_message_links l USING (reply_token) GROUP BY m.message_id"
            )
        }
        say(f"{o.links} links awaiting a response; {len(notices)} notice emails at the sink")

        rng = random.Random(15)
        expected_events: Counter = Counter()
        expected_link_replies = 0
        replies: list[bytes] = []
        by_reply: dict[str, set[str]] = {}  # reply's Message-ID: the links of the email it answers
        for n in range(o.replies):
            notice = rng.choice(notices)
            links = listed[notice["Message-ID"]]
            expected_events.update(links)
            expected_link_replies += len(links)
            away = rng.random() < 0.15
            raw = answer(notice, rng.choice(WORDS).format(n=700_000 + n), away=away)
            replies.append(raw)
            by_reply[_message_id(raw)] = set(links)
        await _deliver(mailbox, replies)
        say(f"{o.replies} replies in the mailbox at once; the worker reads them")

        target = max(1, int(o.kill_at * o.replies))
        progress = (
            "SELECT count(*) FILTER (WHERE status NOT IN ('queued', 'processing', 'error')) AS done, "
            "count(*) FILTER (WHERE status = 'processing') AS processing FROM inbox_messages"
        )

        async def mid_batch() -> bool:  # a share done, and a reply in hand (or well past the share)
            row = await pool.fetchrow(progress)
            return row["done"] >= target and (row["processing"] > 0 or row["done"] >= target + o.replies // 5)

        await _wait(mid_batch, o.timeout, pause=0.002)
        worker.kill()
        at_kill = await pool.fetchrow(
            "SELECT count(*) FILTER (WHERE status NOT IN ('queued', 'processing', 'error')) AS done, "
            "count(*) FILTER (WHERE status = 'processing') AS processing, "
            "count(*) FILTER (WHERE status = 'queued') AS queued, "
            "count(*) FILTER (WHERE status NOT IN ('queued', 'processing') AND NOT flagged) AS unmarked"
            " FROM inbox_messages"
        )
        findings.check(
            "the worker was killed mid-batch, a reply in hand",
            0 < at_kill["done"] < o.replies and at_kill["processing"] > 0,
            f"{at_kill['done']} done, {at_kill['processing']} in processing",
        )
        findings.counts["at the kill"] = (
            f"{at_kill['done']} of {o.replies} done, {at_kill['processing']} in hand (processing), "
            f"{at_kill['queued']} queued, {at_kill['unmarked']} done but not yet marked on the server"
        )
        say(f"FAULT worker SIGKILLed mid-batch: {findings.counts['at the kill']}")
        await asyncio.sleep(o.worker_down)
        worker.start()
        say("worker started again")

        async def finished() -> bool:
            row = await pool.fetchrow(
                "SELECT count(*) FILTER (WHERE status NOT IN ('queued', 'processing', 'error') AND flagged) AS n"
                " FROM inbox_messages"
            )
            heard = await pool.fetchval("SELECT count(*) FROM link_events WHERE kind = 'reply'")
            return row["n"] >= o.replies and heard >= expected_link_replies

        await _wait(finished, o.timeout)
        await asyncio.sleep(2.0)  # anything told twice would land now
        await _checks(findings, pool, o, by_reply, expected_events, expected_link_replies, d / "worker.log")
        findings.counts["worker starts"] = worker.starts
        return findings
    finally:
        if worker is not None:
            worker.stop()
        if pool is not None:
            await pool.close()
        mailbox.stop()
        await stack.stop()
        web.stop()


async def _checks(
    f: Findings,
    pool: asyncpg.Pool,
    o: InboxOptions,
    by_reply: dict[str, set[str]],
    expected_events: Counter,
    expected_link_replies: int,
    log: Path,
) -> None:
    rows = await pool.fetch("SELECT id, message_id, status, flagged, attempts FROM inbox_messages")
    statuses = Counter(row["status"] for row in rows)
    ids = Counter(row["message_id"] for row in rows)
    f.counts["inbox_messages"] = f"{len(rows)} rows: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    f.counts["tried again after the kill"] = sum(row["attempts"] > 1 for row in rows)
    f.check(
        "one inbox_messages row per reply, every one matched and marked",
        len(rows) == o.replies
        and len(ids) == o.replies
        and statuses == Counter({"matched": o.replies})
        and all(row["flagged"] for row in rows),
        f"{len(rows)} rows, {len(ids)} Message-IDs, {dict(statuses)}, "
        f"{sum(not row['flagged'] for row in rows)} not marked",
    )
    link_replies = await pool.fetchval("SELECT count(*) FROM link_replies")
    f.counts["link_replies"] = f"{link_replies} rows ({expected_link_replies} expected)"
    recorded: dict[str, set[str]] = {}
    for row in await pool.fetch(
        "SELECT m.message_id, r.link_id FROM link_replies r JOIN inbox_messages m ON m.id = r.reply_id"
    ):
        recorded.setdefault(row["message_id"], set()).add(row["link_id"])
    wrong = {mid: links for mid, links in by_reply.items() if recorded.get(mid, set()) != links}
    about = [
        f"a reply (row {r['id']}, {r['status']}, attempt {r['attempts']}): "
        f"{len(recorded.get(r['message_id'], set()))} of its email's {len(wrong[r['message_id']])} links"
        for r in rows
        if r["message_id"] in wrong
    ]
    f.check(
        "one link_replies row per reply and link of its email",
        link_replies == expected_link_replies and not wrong,
        f"{link_replies} rows, {expected_link_replies} expected; " + "; ".join(about[:5]),
    )
    events = await pool.fetch("SELECT link_id, detail->>'reply' AS reply FROM link_events WHERE kind = 'reply'")
    per_link = Counter(row["link_id"] for row in events)
    twice = [key for key, n in Counter((row["link_id"], row["reply"]) for row in events).items() if n > 1]
    f.counts["reply events"] = (
        f"{len(events)} in {len(per_link)} links' timelines ({sum(expected_events.values())} expected)"
    )
    f.check(
        "each link's reply events counted once (none lost, none twice)",
        per_link == expected_events and not twice,
        f"{len(twice)} told twice; {sum((expected_events - per_link).values())} missing; "
        f"{sum((per_link - expected_events).values())} extra",
    )
    text = log.read_text(errors="replace") if log.exists() else ""
    f.check(
        "the reader never crashed (its log)",
        "inbox_poll_crashed" not in text and "inbox_processing_failed" not in text,
        "inbox_poll_crashed or inbox_processing_failed in the worker's log",
    )


def _summary(f: Findings, seconds: float) -> None:
    print()
    print("== tada chaos run: the inbox ==")
    for name, value in f.counts.items():
        print(f"{name}: {value}")
    print("checks:")
    for name, ok in f.checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    print(f"total {seconds:.0f}s")
    if f.failures:
        print("\nFAILED:")
        for failure in f.failures:
            print(f"  - {failure}")
    else:
        print("\nall checks passed")


def main(argv: list[str]) -> None:
    options = parse_args(argv)
    _quiet_temporal_client()
    sys.exit(asyncio.run(main_async(options)))
