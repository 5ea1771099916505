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
   the From header, so a flood from one sender holds back no one else's reply), each with a
   claim; a row tried ``max_attempts`` times is recorded failed and marked. Over ``limits.max_bytes``: recorded
   too_large with its size, never downloaded. Else fetched (at most the cap, whatever the
   server said), read within bounds (tada/domain/mail_reading.py, in a thread), its Message-ID
   (else a digest of its bytes) taken, so the same message again is recorded a duplicate and
   not processed; then handed to ``on_message``, its status recorded, and marked on the server
   (a keyword, else \\Seen: never deleted).

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
from tada.domain.mail_reading import LIMITS, MailLimits, ReadMail, read_mail
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
    ) -> None:
        self.pool = pool
        self.database_url = database_url
        self.config = config
        self.on_message = on_message
        self.poll_seconds = poll_seconds
        self.limits = limits
        self.max_attempts = max_attempts
        self.processing_timeout = processing_timeout  # one on_message call at most (then: an error)
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
        for uid in order:
            row = by_uid[uid]
            if stop.is_set() or lock.is_closed():
                return
            if uid not in on_server:
                await self.store.give_up(row["id"], "no longer in the mailbox")
            elif row["attempts"] >= self.max_attempts:
                await self.store.give_up(row["id"], f"not processed in {row['attempts']} attempts")
                await self._mark(session, uidvalidity, [uid])
            elif claimed := await self.store.reclaim(row["id"], on_server[uid]):
                if row["status"] != QUEUED:
                    outcome.retried += 1
                await self._process(session, uidvalidity, claimed, outcome)

    async def _process(self, session: MailboxSession, uidvalidity: int, claimed: Claimed, outcome: PollOutcome) -> None:
        try:
            status = await self._read_and_hand_on(session, claimed)
        except ClaimLost:
            log.warning("inbox_claim_lost", mailbox=self.mailbox, row_id=claimed.row_id)
            return
        if status in (ERROR, FAILED):
            outcome.errors += 1
        if status == ERROR:
            return  # tried again at the next poll; not marked
        outcome.processed += 1
        await self._mark(session, uidvalidity, [claimed.uid])

    async def _read_and_hand_on(self, session: MailboxSession, claimed: Claimed) -> str:
        cap = self.limits.max_bytes
        if claimed.size > cap:
            return await self._finish(claimed, TOO_LARGE, problem=f"{claimed.size} bytes, over the {cap} read")
        raw = await session.fetch(claimed.uid, cap)
        if raw is None:
            return await self._finish(claimed, FAILED, problem="no longer in the mailbox")
        if len(raw) > cap:
            return await self._finish(claimed, TOO_LARGE, problem=f"over the {cap} bytes read (listed smaller)")
        reading = await asyncio.to_thread(read_mail, raw, self.limits)
        notes = "; ".join(reading.read.problems) or None
        key = reading.read.message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
        first = await self.store.take_key(claimed, reading.read.message_id, key)
        if first is not None:
            log.info("inbox_duplicate", mailbox=self.mailbox, row_id=claimed.row_id, first_row_id=first)
            return DUPLICATE
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
