"""The inbox reader (issue 15): every message of the mailbox read, recorded and handed on once.

``InboxReader.run(stop)`` polls the mailbox every ``poll_seconds``; ``poll_once()`` is one poll.
A poll runs only under a PostgreSQL advisory lock on the mailbox, held on a connection of its
own (ended with it): with two workers, one polls and the other skips. Under the lock:

1. messages finished here but not yet marked on the server are marked (a reader that died
   between the two);
2. the messages above the highest UID recorded for this UIDVALIDITY are listed (UID and
   RFC822.SIZE only) and each gets its row, queued, *before* it is read (INSERT ... ON
   CONFLICT DO NOTHING: no row, someone else has it);
3. the rows waiting (queued now, or left in processing by a reader killed mid-message, or in
   error) are taken in turns between senders (tada/domain/inbox_order.py: by the domain of
   the From header, so a flood from one sender holds back no one else's reply); a row tried
   ``max_attempts`` times is recorded failed and marked. In that order they are fetched in
   batches (``batch_size`` UIDs a command, at most ``batch_bytes`` listed; the next batch is
   fetched while this one is handed on), at most the cap each whatever the server said (over
   ``limits.max_bytes``: recorded too_large with its size, never downloaded), and read within
   bounds (tada/domain/mail_reading.py, one thread a batch). Then, one after another, each row is
   claimed and its Message-ID (else a digest of its bytes) taken, so the same message again is
   recorded a duplicate and not processed; and each is handed to ``on_message`` as soon as it is,
   up to ``concurrency`` at once (a stuck one holds back no other), its status recorded. The
   batch's finished messages are marked on the server (a keyword, else \\Seen: never deleted).
   Two replies to one link may so reach it in another order than they came (each carries its
   row id and arrival time).

So a message is never lost (a row is there before anything is done with it, and UIDs only
grow) nor recorded twice (one row per mailbox, UIDVALIDITY and UID; only the attempt holding
the row's claim may finish it). A reader killed during ``on_message`` leaves the row in
processing, and the next poll calls ``on_message`` again for the same ``row_id``: the function
must be idempotent per ``row_id`` (its effects keyed by it).

``on_message(read, message, row_id) -> status``: the message read (``ReadMail``: addresses,
subject, text; never to be logged or stored in clear), the parsed ``EmailMessage`` (for the
classifier) and the row's id; it returns the status to record: a short lower-case word such as
"matched" or "unmatched" (the pen), not one the reader keeps for itself. Raising records the
row in error (the exception's type only) to be tried again, as does taking longer than
``processing_timeout`` (5 minutes). The default records every message
"unmatched"; the worker's is tada/app/reply_routing.py.

Nothing of a message's content is stored: ids, sizes, statuses and problems in tada's words.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage

import asyncpg
import structlog

from tada.app.inbox_store import (
    DUPLICATE,
    ERROR,
    FAILED,
    QUEUED,
    RESERVED,
    STATUS,
    TOO_LARGE,
    UNMATCHED,
    Claimed,
    ClaimLost,
    InboxStore,
    mailbox_key,
)
from tada.clients.imap_mailbox import ImapConfig, ImapError, MailboxSession, open_mailbox
from tada.domain.inbox_order import senders_in_turn
from tada.domain.mail_reading import LIMITS, MailLimits, Reading, ReadMail, read_mail
from tada.errors import Misconfigured
from tada.settings import Settings

log = structlog.get_logger(__name__)

OnMessage = Callable[[ReadMail, EmailMessage, int], Awaitable[str]]
_LOCK_CLASS = 7472616469  # pg_advisory_lock(bigint): this number plus the mailbox's hash, below


async def record_unmatched(read: ReadMail, message: EmailMessage, row_id: int) -> str:
    """The default processing: every message goes to the pen."""
    return UNMATCHED


@dataclass
class PollOutcome:
    polled: bool  # False: another reader holds the mailbox
    new: int = 0  # rows inserted by this poll
    processed: int = 0  # rows finished (any status)
    retried: int = 0
    errors: int = 0


def imap_config(settings: Settings) -> ImapConfig:
    """The mailbox of TADA_IMAP_*; Misconfigured when a required one is missing."""
    if not settings.imap_host:
        raise Misconfigured("TADA_IMAP_HOST is not set")
    if not settings.imap_username or settings.imap_password is None:
        raise Misconfigured("TADA_IMAP_USERNAME and TADA_IMAP_PASSWORD are needed with TADA_IMAP_HOST")
    return ImapConfig(
        host=settings.imap_host,
        port=settings.imap_port,
        username=settings.imap_username,
        password=settings.imap_password,
        security=settings.imap_security,
        mailbox=settings.imap_mailbox,
    )


class InboxReader:
    def __init__(
        self,
        pool: asyncpg.Pool,
        database_url: str,
        config: ImapConfig,
        on_message: OnMessage = record_unmatched,
        *,
        poll_seconds: float = 60.0,
        limits: MailLimits = LIMITS,
        max_attempts: int = 3,
        processing_timeout: float = 300.0,
        batch_size: int = 25,
        batch_bytes: int = 8 * 1024 * 1024,
        concurrency: int = 8,
    ) -> None:
        self.pool = pool
        self.database_url = database_url
        self.config = config
        self.on_message = on_message
        self.poll_seconds = poll_seconds
        self.limits = limits
        self.max_attempts = max_attempts
        self.processing_timeout = processing_timeout  # one on_message call at most (then: an error)
        self.batch_size = batch_size  # messages fetched in one command (and held at once, with the next batch)
        self.batch_bytes = batch_bytes  # listed bytes of a batch at most (a larger message: a batch of its own)
        self.concurrency = concurrency  # messages of a batch handed on at once
        self.mailbox = mailbox_key(config.host, config.port, config.mailbox, config.username)
        self.store = InboxStore(pool, self.mailbox)

    @classmethod
    def from_settings(
        cls, settings: Settings, pool: asyncpg.Pool, on_message: OnMessage = record_unmatched
    ) -> InboxReader:
        return cls(
            pool, settings.database_url, imap_config(settings), on_message, poll_seconds=settings.imap_poll_seconds
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set (between two messages at the latest). A failed poll is
        recorded and logged (host, step, reason) and the next one tried on time."""
        log.info("inbox_reader_started", mailbox=self.mailbox, every_seconds=self.poll_seconds)
        while not stop.is_set():
            try:
                outcome = await self.poll_once(stop)
                if outcome.new or outcome.retried or outcome.errors:
                    log.info("inbox_polled", mailbox=self.mailbox, **outcome.__dict__)
            except ImapError as error:
                log.warning("inbox_poll_failed", where=error.where, step=error.step, reason=error.reason)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("inbox_poll_failed", mailbox=self.mailbox, reason=type(error).__name__)
            except Exception as error:  # noqa: BLE001 - a bug must not end the reading for good; by type only
                log.error("inbox_poll_crashed", mailbox=self.mailbox, reason=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
        log.info("inbox_reader_stopped", mailbox=self.mailbox)

    async def poll_once(self, stop: asyncio.Event | None = None) -> PollOutcome:
        """One poll, if no other reader holds the mailbox; its outcome (or its failure) recorded."""
        lock = await asyncpg.connect(self.database_url)
        try:
            key = await lock.fetchval("SELECT $1::bigint + hashtext($2)", _LOCK_CLASS, self.mailbox)
            if not await lock.fetchval("SELECT pg_try_advisory_lock($1)", key):
                return PollOutcome(polled=False)
            outcome = PollOutcome(polled=True)
            try:
                async with open_mailbox(self.config) as session:
                    await self._poll(session, outcome, stop or asyncio.Event(), lock)
            except ImapError as error:
                await self.store.record_poll(new=outcome.new, error=f"{error.step}: {error.reason}")
                raise
            await self.store.record_poll(new=outcome.new, error=None)
            return outcome
        finally:
            await lock.close()  # the lock goes with the connection

    async def _poll(
        self, session: MailboxSession, outcome: PollOutcome, stop: asyncio.Event, lock: asyncpg.Connection
    ) -> None:
        uidvalidity = session.uidvalidity
        await self._mark(session, uidvalidity, await self.store.unflagged(uidvalidity))
        listed = await session.list_after(await self.store.last_uid(uidvalidity))
        outcome.new += await self.store.queue(uidvalidity, [(item.uid, item.size) for item in listed])
        waiting = await self.store.unfinished(uidvalidity)  # queued now, or left by an earlier poll
        if not waiting:
            return
        on_server = {item.uid: item.size for item in await session.sizes([row["uid"] for row in waiting])}
        by_uid = {row["uid"]: row for row in waiting}
        order = senders_in_turn(sorted(by_uid), await session.senders(sorted(on_server)))  # a flood waits its turn
        to_read: list[asyncpg.Record] = []
        for uid in order:
            row = by_uid[uid]
            if uid not in on_server:
                await self.store.give_up(row["id"], "no longer in the mailbox")
            elif row["attempts"] >= self.max_attempts:
                await self.store.give_up(row["id"], f"not processed in {row['attempts']} attempts")
                await self._mark(session, uidvalidity, [uid])
            else:
                to_read.append(row)
        batches = _batches(to_read, on_server, self.batch_size, self.batch_bytes, self.limits.max_bytes)
        # The next batch is fetched while this one is processed (aioimaplib queues the commands).
        fetching = asyncio.ensure_future(self._fetch(session, batches[0], on_server)) if batches else None
        try:
            for index, batch in enumerate(batches):
                assert fetching is not None
                fetched = await fetching
                fetching = (
                    asyncio.ensure_future(self._fetch(session, batches[index + 1], on_server))
                    if index + 1 < len(batches)
                    else None
                )
                readings = await asyncio.to_thread(self._read_all, fetched)
                done = await self._hand_on_batch(batch, on_server, fetched, readings, outcome, stop, lock)
                finished = [uid for uid, status in done if status not in (ERROR, None)]
                outcome.processed += len(finished)
                outcome.errors += sum(status in (ERROR, FAILED) for _, status in done)
                await self._mark(session, uidvalidity, finished)
                if stop.is_set() or lock.is_closed():
                    return
        finally:
            if fetching is not None and not fetching.done():
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, ImapError):
                    await fetching

    async def _fetch(
        self, session: MailboxSession, batch: list[asyncpg.Record], on_server: dict[int, int]
    ) -> dict[int, bytes]:
        """The batch's messages within the cap, those listed over it left out (never downloaded)."""
        cap = self.limits.max_bytes
        return await session.fetch_many([row["uid"] for row in batch if on_server[row["uid"]] <= cap], cap)

    def _read_all(self, fetched: dict[int, bytes]) -> dict[int, Reading]:
        """Each fetched message within the cap read within bounds (in a thread: pure CPU)."""
        return {uid: read_mail(raw, self.limits) for uid, raw in fetched.items() if len(raw) <= self.limits.max_bytes}

    async def _hand_on_batch(
        self,
        batch: list[asyncpg.Record],
        on_server: dict[int, int],
        fetched: dict[int, bytes],
        readings: dict[int, Reading],
        outcome: PollOutcome,
        stop: asyncio.Event,
        lock: asyncpg.Connection,
    ) -> list[tuple[int, str | None]]:
        """The batch's messages claimed and identified one after another, in turn order, and each
        handed on as soon as it is: at most ``concurrency`` in hand at once. (uid, status) of each
        finished or cut off (status None: its claim was lost)."""
        done: list[tuple[int, str | None]] = []
        gate = asyncio.Semaphore(self.concurrency)

        async def hand_on(claimed: Claimed, reading: Reading) -> None:
            try:
                done.append((claimed.uid, await self._hand_on(claimed, reading)))
            except ClaimLost:
                self._claim_lost(claimed)
                done.append((claimed.uid, None))
            finally:
                gate.release()

        async with asyncio.TaskGroup() as handing:
            for row in batch:
                await gate.acquire()
                if stop.is_set() or lock.is_closed():
                    gate.release()
                    break
                claimed = await self.store.reclaim(row["id"], on_server[row["uid"]])
                if claimed is None:
                    gate.release()
                    continue
                if row["status"] != QUEUED:
                    outcome.retried += 1
                reading = readings.get(claimed.uid)
                try:
                    status = await self._admit(claimed, fetched.get(claimed.uid), reading)
                except ClaimLost:
                    self._claim_lost(claimed)
                    done.append((claimed.uid, None))
                    gate.release()
                    continue
                if status is not None or reading is None:
                    done.append((claimed.uid, status))
                    gate.release()
                    continue
                handing.create_task(hand_on(claimed, reading))
        return done

    def _claim_lost(self, claimed: Claimed) -> None:
        log.warning("inbox_claim_lost", mailbox=self.mailbox, row_id=claimed.row_id)

    async def _admit(self, claimed: Claimed, raw: bytes | None, reading: Reading | None) -> str | None:
        """A message that cannot be handed on finished (too large, gone, a duplicate): its status;
        else its identity recorded, and None."""
        cap = self.limits.max_bytes
        if claimed.size > cap:
            return await self._finish(claimed, TOO_LARGE, problem=f"{claimed.size} bytes, over the {cap} read")
        if raw is None:
            return await self._finish(claimed, FAILED, problem="no longer in the mailbox")
        if len(raw) > cap or reading is None:
            return await self._finish(claimed, TOO_LARGE, problem=f"over the {cap} bytes read (listed smaller)")
        key = reading.read.message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
        first = await self.store.take_key(claimed, reading.read.message_id, key)
        if first is not None:
            log.info("inbox_duplicate", mailbox=self.mailbox, row_id=claimed.row_id, first_row_id=first)
            return DUPLICATE
        return None

    async def _hand_on(self, claimed: Claimed, reading: Reading) -> str:
        notes = "; ".join(reading.read.problems) or None
        try:
            status = await asyncio.wait_for(
                self.on_message(reading.read, reading.message, claimed.row_id), self.processing_timeout
            )
        except Exception as error:  # noqa: BLE001 - any failure of the processing: recorded, tried again
            log.warning("inbox_processing_failed", row_id=claimed.row_id, error=type(error).__name__)
            final = FAILED if claimed.attempts >= self.max_attempts else ERROR
            return await self._finish(claimed, final, problem=f"processing failed: {type(error).__name__}", notes=notes)
        if not isinstance(status, str) or not STATUS.fullmatch(status) or status in RESERVED:
            log.warning("inbox_processing_bad_status", row_id=claimed.row_id)
            final = FAILED if claimed.attempts >= self.max_attempts else ERROR
            return await self._finish(claimed, final, problem="processing returned no valid status", notes=notes)
        return await self._finish(claimed, status, notes=notes)

    async def _finish(
        self, claimed: Claimed, status: str, *, problem: str | None = None, notes: str | None = None
    ) -> str:
        if not await self.store.finish(claimed, status, problem=problem, notes=notes):
            raise ClaimLost()
        return status

    async def _mark(self, session: MailboxSession, uidvalidity: int, uids: list[int]) -> None:
        if uids:
            await session.mark(uids)
            await self.store.flagged(uidvalidity, uids)


def _batches(
    rows: list[asyncpg.Record], sizes: dict[int, int], count: int, size: int, cap: int
) -> list[list[asyncpg.Record]]:
    """``rows`` in order, cut into batches of at most ``count`` messages and ``size`` listed bytes
    (a message larger than ``size`` alone; one listed over ``cap`` counts nothing: not fetched)."""
    batches: list[list[asyncpg.Record]] = []
    current: list[asyncpg.Record] = []
    held = 0
    for row in rows:
        listed = sizes[row["uid"]] if sizes[row["uid"]] <= cap else 0
        if current and (len(current) >= count or held + listed > size):
            batches.append(current)
            current, held = [], 0
        current.append(row)
        held += listed
    if current:
        batches.append(current)
    return batches
