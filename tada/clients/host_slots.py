"""A host's slots shared by every worker on one PostgreSQL database.

``HostLimiter`` (host_limiter.py) lets at most ``per_host`` requests to a host run at once in
one process. With ``PostgresHostSlots`` behind it, each of those requests also takes one of
the host's ``per_host`` slots in PostgreSQL, so the limit holds across all the workers that
share the database. Slot ``n`` of a host is the session-level advisory lock
``slot_key(host, n)``, taken with ``pg_try_advisory_lock`` on one connection per process.

- A worker that dies frees its slots: an advisory lock lives only as long as the session
  that took it, and PostgreSQL ends the session when the connection drops.
- The connection is one of the pool's, held only while the process holds or waits for a
  slot, then handed back clean (no lock, no LISTEN): the pool's connections carry no
  session state (tada/adapters/database.py).
- Waiting does not spin. A release NOTIFYs the host's tag, and every worker waiting for that
  host tries again at once; without a notification a waiter tries again after a backoff
  with jitter (50 ms, doubling to 1 s), which is how a dead worker's slots are found free.
- A wait that is cancelled leaves nothing taken: the try under way finishes, and the slot
  it took, if any, is given back.
- The host is never stored: lock keys and notification payloads are hashes of it.
- If the connection breaks (PostgreSQL restarted, the session terminated), the process's
  locks end with its session: requests under way finish, new ones take slots on a new
  connection. A try that cannot reach PostgreSQL raises ``HostSlotsUnavailable``, so the
  activity fails and Temporal retries it.

All workers should run with the same ``per_host``: the limit is the largest any of them uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

CHANNEL = "tada_host_slot"
FIRST_RETRY = 0.05
LAST_RETRY = 1.0
QUERY_TIMEOUT = 10.0

#: A database that is down, or a connection that broke or hung (TimeoutError is an OSError).
#: InternalClientError: asyncpg's word for a connection whose session the server ended under it
#: (terminated, restarted) while the protocol was between operations: as broken as the rest.
_DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)


def _hash64(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8, person=b"tada-host-slot").digest()
    return int.from_bytes(digest, "big", signed=True)


def slot_key(host: str, n: int) -> int:
    """The advisory lock of slot ``n`` of ``host`` (a bigint key, a hash: the host is not stored)."""
    return _hash64("slot", host, str(n))


def host_tag(host: str) -> str:
    """The host as notifications name it: a hash too."""
    return str(_hash64("host", host))


class HostSlotsUnavailable(RuntimeError):
    """PostgreSQL could not be asked for a host slot (down, or the connection broke)."""


@dataclass
class _Claim:
    """One request's slot: which lock it got, on which connection, and the try under way."""

    host: str
    key: int | None = None
    generation: int = -1
    attempt: asyncio.Task[None] | None = None


class PostgresHostSlots:
    """``async with slots.slot(host, per_host): ...`` holds one of ``host``'s ``per_host``
    slots in PostgreSQL for the block, waiting for one if all are taken."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        first_retry: float = FIRST_RETRY,
        last_retry: float = LAST_RETRY,
        query_timeout: float = QUERY_TIMEOUT,
    ) -> None:
        self._pool = pool
        self._first_retry = first_retry
        self._last_retry = last_retry
        self._query_timeout = query_timeout
        self._lock = asyncio.Lock()  # the connection runs one query at a time
        self._conn: Any = None  # the pool's connection, while slots are held or waited for
        self._generation = 0  # a new connection, a new generation: locks of an old one are gone
        self._held: set[int] = set()  # lock keys this process's session holds
        self._users = 0  # requests holding or waiting for a slot
        self._wakeups: dict[str, asyncio.Event] = {}  # by host tag
        self._waiting: dict[str, int] = {}  # by host tag
        self._background: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def slot(self, host: str, per_host: int) -> AsyncIterator[None]:
        claim = _Claim(host)
        self._users += 1
        try:
            await self._take(claim, per_host)
            yield
        finally:
            await self._shielded(self._leave(claim))

    async def _take(self, claim: _Claim, per_host: int) -> None:
        keys = [slot_key(claim.host, n) for n in range(per_host)]
        tag = host_tag(claim.host)
        delay = self._first_retry
        self._waiting[tag] = self._waiting.get(tag, 0) + 1
        try:
            while True:
                wakeup = self._wakeups.setdefault(tag, asyncio.Event())  # before the try: no release is missed
                claim.attempt = asyncio.ensure_future(self._attempt(claim, keys))
                await asyncio.shield(claim.attempt)  # cancelled: the try still ends, and _leave undoes it
                if claim.key is not None:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), random.uniform(delay / 2, delay))
                delay = min(delay * 2, self._last_retry)
        finally:
            self._waiting[tag] -= 1
            if not self._waiting[tag]:
                del self._waiting[tag]
                self._wakeups.pop(tag, None)

    async def _attempt(self, claim: _Claim, keys: list[int]) -> None:
        async with self._lock:
            # A connection kept from before may have broken meanwhile (PostgreSQL restarted):
            # then once more on a new one. A new one that fails is the answer.
            for last_chance in (self._conn is None, True):
                conn = await self._connection()
                try:
                    for key in keys:
                        if key in self._held:  # one of this process's own requests has it
                            continue
                        if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key, timeout=self._query_timeout):
                            self._held.add(key)
                            claim.key, claim.generation = key, self._generation
                            return
                    return
                except _DATABASE_ERRORS as error:
                    self._drop()  # whatever the query did is undone with the session
                    if last_chance:
                        raise HostSlotsUnavailable("the database cannot be asked for host slots") from error

    async def _leave(self, claim: _Claim) -> None:
        if claim.attempt is not None and not claim.attempt.done():
            await asyncio.wait([claim.attempt])  # the wait was cancelled mid-try: let the try end first
        tag = host_tag(claim.host)
        async with self._lock:
            self._users -= 1
            if claim.key is not None and claim.generation == self._generation and self._conn is not None:
                self._held.discard(claim.key)
                try:
                    await self._conn.execute(
                        "SELECT pg_advisory_unlock($1), pg_notify($2, $3)",
                        claim.key,
                        CHANNEL,
                        tag,
                        timeout=self._query_timeout,
                    )
                except _DATABASE_ERRORS as error:
                    log.warning("host_slot_release_failed", host=claim.host, error=type(error).__name__)
                    self._drop()  # its session, and so the lock, ends with it
            self._wake(tag)
            if self._users == 0 and self._conn is not None:
                await self._hand_back()

    async def _connection(self) -> Any:
        if self._conn is None:
            try:
                conn = await self._pool.acquire(timeout=self._query_timeout)
            except _DATABASE_ERRORS as error:
                raise HostSlotsUnavailable("no database connection for host slots") from error
            try:
                await conn.add_listener(CHANNEL, self._notified)
            except _DATABASE_ERRORS as error:
                _terminate(conn)
                raise HostSlotsUnavailable("no database connection for host slots") from error
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        """End the connection's session (and with it every lock it holds); the next try takes a new one."""
        if self._conn is not None:
            _terminate(self._conn)
            self._conn = None
        self._held.clear()
        self._generation += 1

    async def _hand_back(self) -> None:
        """Nothing held or waited for: the connection goes back to the pool, clean."""
        conn, self._conn = self._conn, None
        self._held.clear()
        self._generation += 1
        try:
            await conn.remove_listener(CHANNEL, self._notified)
            await conn.execute("SELECT pg_advisory_unlock_all()", timeout=self._query_timeout)
            await self._pool.release(conn)
        except _DATABASE_ERRORS:
            _terminate(conn)

    def _notified(self, _conn: object, _pid: int, _channel: str, tag: str) -> None:
        self._wake(tag)

    def _wake(self, tag: str) -> None:
        event = self._wakeups.pop(tag, None)
        if event is not None:
            event.set()

    async def _shielded(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` to its end even if the caller is cancelled meanwhile."""
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        await asyncio.shield(task)


def _terminate(conn: Any) -> None:
    with contextlib.suppress(asyncpg.InterfaceError):  # already closed and released
        conn.terminate()
