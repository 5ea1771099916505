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
- A slot given up is kept a moment for the process's next request to the same host. A host
  worked steadily (a big platform) then costs PostgreSQL nothing a request: a kept slot is
  still that process's advisory lock, so the limit across workers is the same. It is given
  back (unlocked, with a NOTIFY) once idle for ``linger`` (1 s), or at once when another
  worker says it wants the host.
- No worker keeps a host from another. A process that finds all of a host's slots taken
  says so: it NOTIFYs that it wants the host (every worker gives back the slots of it that it
  keeps idle), says it again every ``hold_limit`` / 2 at most while it waits (a worker that
  connected after the first notice hears a later one), and holds the host's shared "waiting"
  lock (``waiting_key``) while it waits. A request that ends on a slot held longer than
  ``hold_limit`` (1 s), of a host another worker has said it wants within the last
  ``hold_limit`` + ``last_retry`` (2 s), asks whether anyone still waits (can it take that
  lock exclusively? one round trip): if not, the slot is kept as before; if so, it is given
  back, and for ``first_retry`` (50 ms) the process asks for none of that host's slots, so a
  worker woken by the NOTIFY gets there first. A host nobody has said they want is kept
  without asking (the slot is held afresh), so a waiter whose notice comes just after a
  request was held afresh waits up to twice the hold limit. A process's own waiting never
  stops its own keeping (a session's locks do not conflict with each other).
- Keeping trusts that the connection is alive while asyncpg has not seen it close: a session
  the server ended is noticed as soon as the event loop reads the connection's end (the
  connection LISTENs, so it is read: milliseconds on loopback or a LAN); within that moment a
  kept slot may be reused on a lock PostgreSQL has already dropped, as a request under way
  runs on one. The limit can then be exceeded, only just after a restart, by a few requests.
  A session that ends without a word (a server failed over, the network cut: no FIN) is not
  read as ended; it is found by the next query, and a long-held request asks the hold-limit
  question whenever the connection has answered nothing for ``session_check`` (10 s), so a
  busy host's slots are never kept on such a session for longer than that and the query
  timeout.
- Waiting does not spin. A release NOTIFYs the host's tag, and every worker waiting for that
  host tries again at once; without a notification a waiter tries again after a backoff
  with jitter (50 ms, doubling to 1 s), which is how a dead worker's slots are found free.
- A wait that is cancelled leaves nothing taken: the try under way finishes, and the slot
  it took, if any, is given up as any other (kept for ``linger``, then given back).
- The host is never stored: lock keys and notification payloads are hashes of it.
- If the connection breaks (PostgreSQL restarted, the session terminated), the process's
  locks end with its session: requests under way finish, new ones take slots on a new
  connection. A try that cannot reach PostgreSQL raises ``HostSlotsUnavailable``, so the
  activity fails and Temporal retries it.

All workers should run with the same ``per_host``: the limit is the largest any of them uses;
and the same version of this module (a waiter from before 2026-12-03 says "wanted" only once,
and a holder that connected after it would not ask).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import random
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger(__name__)

CHANNEL = "tada_host_slot"
WANTED = "wanted:"  # a notification's payload: "wanted:" and a host's tag; else a host's tag alone
FIRST_RETRY = 0.05
LAST_RETRY = 1.0
QUERY_TIMEOUT = 10.0
LINGER = 1.0
HOLD_LIMIT = 1.0
SESSION_CHECK = 10.0

#: A database that is down, or a connection that broke or hung (TimeoutError is an OSError).
#: InternalClientError: asyncpg's word for a connection whose session the server ended under it
#: (terminated, restarted) while the protocol was between operations: as broken as the rest.
_DATABASE_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)


def _hash64(*parts: str) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8, person=b"tada-host-slot").digest()
    return int.from_bytes(digest, "big", signed=True)


@functools.lru_cache(maxsize=4096)  # asked on every take and leave, mostly for the same few hosts
def slot_key(host: str, n: int) -> int:
    """The advisory lock of slot ``n`` of ``host`` (a bigint key, a hash: the host is not stored)."""
    return _hash64("slot", host, str(n))


@functools.lru_cache(maxsize=4096)
def waiting_key(host: str) -> int:
    """The advisory lock a process holds shared while it waits for one of ``host``'s slots."""
    return _hash64("waiting", host)


@functools.lru_cache(maxsize=4096)
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
    taken: float = 0.0  # when PostgreSQL granted the lock (a kept slot keeps its first grant's time)
    attempt: asyncio.Task[None] | None = None


@dataclass
class _Kept:
    """A slot no request uses, still locked, for this process's next request to its host. Only
    the current session's are kept: a new one (``_drop``) forgets them, and the connection is
    handed back only when none is kept."""

    key: int
    taken: float
    due: float  # when it is given back unless a request takes it first (idle for ``linger``)


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
        linger: float = LINGER,
        hold_limit: float = HOLD_LIMIT,
        session_check: float = SESSION_CHECK,
    ) -> None:
        self._pool = pool
        self._first_retry = first_retry
        self._last_retry = last_retry
        self._query_timeout = query_timeout
        self._linger = linger
        self._hold_limit = hold_limit
        self._session_check = session_check
        self._answered = 0.0  # when the connection last answered a query or brought a notice
        self._lock = asyncio.Lock()  # the connection runs one query at a time
        self._conn: Any = None  # the pool's connection, while slots are held or waited for
        self._generation = 0  # a new connection, a new generation: locks of an old one are gone
        self._held: set[int] = set()  # lock keys this process's session holds (in use or kept)
        self._kept: dict[str, list[_Kept]] = {}  # by host, oldest first
        self._sweeper: asyncio.Task[None] | None = None  # gives kept slots back once due
        self._sweep_now = asyncio.Event()  # another worker wants a host whose slots are kept
        self._yielding: dict[str, float] = {}  # by host: no new slot asked for before then
        self._announced: set[str] = set()  # hosts whose waiting lock this session holds (shared)
        self._said: dict[str, float] = {}  # by host: when this process last said it wants it
        self._wanted: dict[str, float] = {}  # by host tag: when another worker last said it wants it
        self._pruned = 0.0  # when old entries of _wanted were last forgotten
        self._users = 0  # requests holding or waiting for a slot
        self._wakeups: dict[str, asyncio.Event] = {}  # by host tag
        self._waiting: dict[str, int] = {}  # by host tag
        self._background: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def slot(self, host: str, per_host: int) -> AsyncIterator[None]:
        claim = _Claim(host)
        self._users += 1
        try:
            if not self._reuse(claim):  # a slot this process keeps for the host: no query, no wait
                await self._take(claim, per_host)
            yield
        finally:
            if not self._keep_at_once(claim):  # the common case, kept without a task or a query
                await self._shielded(self._leave(claim))

    async def _take(self, claim: _Claim, per_host: int) -> None:
        keys = [slot_key(claim.host, n) for n in range(per_host)]
        tag = host_tag(claim.host)
        delay = self._first_retry
        self._waiting[tag] = self._waiting.get(tag, 0) + 1
        try:
            while True:
                if self._reuse(claim):
                    return
                await self._let_others_first(claim.host)
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
            if self._reuse(claim):  # one of this process's requests gave one up meanwhile
                return
            if self._yielding.get(claim.host, 0.0) > time.monotonic():
                return  # other workers' turn: the caller waits and tries again
            # A connection kept from before may have broken meanwhile (PostgreSQL restarted):
            # then once more on a new one. A new one that fails is the answer.
            for last_chance in (self._conn is None, True):
                conn = await self._connection()
                try:
                    for key in keys:
                        if key in self._held:  # one of this process's own requests has it
                            continue
                        taken = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key, timeout=self._query_timeout)
                        self._answered = time.monotonic()
                        if taken:
                            self._held.add(key)
                            claim.key, claim.generation, claim.taken = key, self._generation, time.monotonic()
                            return
                    await self._say_wanted(conn, claim.host)  # all taken: this process waits
                    return
                except _DATABASE_ERRORS as error:
                    self._drop()  # whatever the query did is undone with the session
                    if last_chance:
                        raise HostSlotsUnavailable("the database cannot be asked for host slots") from error

    async def _say_wanted(self, conn: Any, host: str) -> None:
        """NOTIFY "wanted" for ``host`` (holders give back what they keep idle, and ask at the
        end of a long-held request whether anyone waits), and hold its waiting lock. Said again
        after ``hold_limit`` / 2 while the wait lasts, so a holder that missed the first (it
        connected after) hears it within a retry."""
        now = time.monotonic()
        if host in self._announced and now - self._said.get(host, 0.0) < self._hold_limit / 2:
            return
        self._said[host] = now
        wanted = WANTED + host_tag(host)
        if host in self._announced:
            await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, wanted, timeout=self._query_timeout)
            self._answered = time.monotonic()
            return
        announce = "SELECT pg_try_advisory_lock_shared($1), pg_notify($2, $3)"
        row = await conn.fetchrow(announce, waiting_key(host), CHANNEL, wanted, timeout=self._query_timeout)
        self._answered = time.monotonic()
        if row[0]:
            self._announced.add(host)

    def _wanted_lately(self, tag: str) -> bool:
        """Another worker said it wants the host within the time a waiter says it again."""
        return self._wanted.get(tag, float("-inf")) > time.monotonic() - (self._hold_limit + self._last_retry)

    def _must_ask(self, tag: str) -> bool:
        """Ask at the end of a long-held request whether anyone waits: someone said so lately, or
        the connection has answered nothing for ``session_check`` (the question finds a session
        that died without a word, as on a server that failed over)."""
        return self._wanted_lately(tag) or time.monotonic() - self._answered > self._session_check

    async def _let_others_first(self, host: str) -> None:
        """Just after this process gave a slot back to a worker that waits for it: wait a moment."""
        until = self._yielding.get(host)
        if until is None:
            return
        if until > time.monotonic():
            await asyncio.sleep(until - time.monotonic())
        if self._yielding.get(host) == until:
            del self._yielding[host]

    def _reuse(self, claim: _Claim) -> bool:
        """Take a slot this process keeps for the host, if it has one: no query."""
        kept = self._kept.get(claim.host)
        if not kept or not self._connected():
            return False
        slot = kept.pop()  # the most recently used: the older ones fall due first
        if not kept:
            del self._kept[claim.host]
        claim.key, claim.generation, claim.taken = slot.key, self._generation, slot.taken
        return True

    def _keep(self, claim: _Claim) -> None:
        assert claim.key is not None
        due = time.monotonic() + self._linger
        self._kept.setdefault(claim.host, []).append(_Kept(claim.key, claim.taken, due))
        if self._sweeper is None:
            self._sweeper = asyncio.ensure_future(self._sweep())

    def _ours(self, claim: _Claim) -> bool:
        """The claim holds a lock of this session, and the session looks alive."""
        return claim.key is not None and claim.generation == self._generation and self._connected()

    def _leaving(self, claim: _Claim) -> tuple[str, bool, bool]:
        """A request ends: its host's tag; whether this process's waiting for the host ends with
        it (nothing of it waits any more); whether its slot was held past the hold limit."""
        tag = host_tag(claim.host)
        withdraw = claim.host in self._announced and not self._waiting.get(tag)
        return tag, withdraw, time.monotonic() - claim.taken >= self._hold_limit

    def _keep_at_once(self, claim: _Claim) -> bool:
        """Keep the claim's slot if that needs no query (nobody to ask, nothing to withdraw):
        True when done."""
        if claim.attempt is not None and not claim.attempt.done():
            return False
        tag, withdraw, held_long = self._leaving(claim)
        if not self._ours(claim) or withdraw or (held_long and self._must_ask(tag)):
            return False
        if held_long:  # nobody has said they want the host: held afresh, nobody asked
            claim.taken = time.monotonic()
        self._keep(claim)
        self._users -= 1
        self._wake(tag)  # a request of this process waiting for the host takes it at once
        return True

    async def _leave(self, claim: _Claim) -> None:
        if claim.attempt is not None and not claim.attempt.done():
            await asyncio.wait([claim.attempt])  # the wait was cancelled mid-try: let the try end first
        if self._keep_at_once(claim):
            return
        tag, withdraw, held_long = self._leaving(claim)
        async with self._lock:
            self._users -= 1
            if withdraw:
                await self._withdraw(claim.host)
            if self._ours(claim):
                assert claim.key is not None
                if held_long and self._must_ask(tag) and await self._others_wait(claim.host):
                    if self._ours(claim):  # (a question that failed ended the session, and the slot with it)
                        await self._give_back([(claim.key, claim.host)])
                        self._yielding[claim.host] = time.monotonic() + self._first_retry
                elif self._ours(claim):  # (the question may have found the connection broken)
                    if held_long:
                        claim.taken = time.monotonic()  # nobody else wants the host: held afresh
                    self._keep(claim)
            self._wake(tag)
            await self._hand_back_if_unused()

    async def _others_wait(self, host: str) -> bool:
        """Does another worker wait for one of ``host``'s slots (hold its waiting lock)?"""
        query = "SELECT CASE WHEN pg_try_advisory_lock($1) THEN NOT pg_advisory_unlock($1) ELSE true END"
        try:
            waits = bool(await self._conn.fetchval(query, waiting_key(host), timeout=self._query_timeout))
        except _DATABASE_ERRORS as error:
            log.warning("host_slot_question_failed", host=host, error=type(error).__name__)
            self._drop()  # the session, and with it the slot, is gone
            return True
        self._answered = time.monotonic()
        return waits

    async def _withdraw(self, host: str) -> None:
        """No request of this process waits for ``host`` any more: its waiting lock goes."""
        self._announced.discard(host)
        self._said.pop(host, None)
        if self._conn is None:
            return
        try:
            await self._conn.execute(
                "SELECT pg_advisory_unlock_shared($1)", waiting_key(host), timeout=self._query_timeout
            )
        except _DATABASE_ERRORS as error:
            log.warning("host_slot_release_failed", host=host, error=type(error).__name__)
            self._drop()

    async def _sweep(self) -> None:
        """Give kept slots back as they fall due; the connection too once nothing is held or kept."""
        try:
            while self._kept:
                due = min(kept.due for slots in self._kept.values() for kept in slots)
                self._sweep_now.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sweep_now.wait(), max(0.0, due - time.monotonic()))
                async with self._lock:
                    now = time.monotonic()
                    giving: list[tuple[int, str]] = []
                    for host in list(self._kept):
                        staying = []
                        for kept in self._kept[host]:
                            if now < kept.due:
                                staying.append(kept)
                            else:
                                giving.append((kept.key, host))
                        if staying:
                            self._kept[host] = staying
                        else:
                            del self._kept[host]
                    if giving and self._conn is not None:
                        await self._give_back(giving)
                    for _, host in giving:
                        self._wake(host_tag(host))
                    await self._hand_back_if_unused()
        finally:
            self._sweeper = None

    async def _give_back(self, slots: list[tuple[int, str]]) -> None:
        """Unlock ``slots`` (key, host) in one round trip, each NOTIFYing its host's waiters."""
        now = time.monotonic()
        self._yielding = {host: until for host, until in self._yielding.items() if until > now}  # none pile up
        for key, _ in slots:
            self._held.discard(key)
        if self._conn is None:  # the session ended: its locks went with it
            return
        try:
            await self._conn.execute(
                "SELECT pg_advisory_unlock(k), pg_notify($2, t) FROM unnest($1::bigint[], $3::text[]) AS u(k, t)",
                [key for key, _ in slots],
                CHANNEL,
                [host_tag(host) for _, host in slots],
                timeout=self._query_timeout,
            )
            self._answered = time.monotonic()
        except _DATABASE_ERRORS as error:
            hosts = sorted({host for _, host in slots})
            log.warning("host_slot_release_failed", hosts=hosts, error=type(error).__name__)
            self._drop()  # its session, and so the locks, end with it

    async def _hand_back_if_unused(self) -> None:
        if self._users == 0 and not self._kept and self._conn is not None:
            await self._hand_back()

    def _connected(self) -> bool:
        """A connection this process has, not known to be broken (asyncpg notices a session the
        server ended while the connection was idle, as it LISTENs)."""
        if self._conn is None:
            return False
        try:
            return not self._conn.is_closed()
        except asyncpg.InterfaceError:  # the pool took it back when the server closed it
            return False

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
            self._answered = time.monotonic()
        return self._conn

    def _drop(self) -> None:
        """End the connection's session (and with it every lock it holds); the next try takes a new one."""
        if self._conn is not None:
            _terminate(self._conn)
            self._conn = None
        self._held.clear()
        self._kept.clear()
        self._announced.clear()
        self._said.clear()
        self._generation += 1

    async def _hand_back(self) -> None:
        """Nothing held or waited for: the connection goes back to the pool, clean."""
        conn, self._conn = self._conn, None
        self._held.clear()
        self._announced.clear()
        self._said.clear()
        self._generation += 1
        try:
            await conn.remove_listener(CHANNEL, self._notified)
            await conn.execute("SELECT pg_advisory_unlock_all()", timeout=self._query_timeout)
            await self._pool.release(conn)
        except _DATABASE_ERRORS:
            _terminate(conn)

    def _notified(self, _conn: object, pid: int, _channel: str, payload: str) -> None:
        self._answered = time.monotonic()  # the connection is alive
        if not payload.startswith(WANTED):
            self._wake(payload)  # a slot of the host was given back
        elif self._connected() and pid != self._conn.get_server_pid():  # another worker waits
            tag = payload.removeprefix(WANTED)
            now = time.monotonic()
            if len(self._wanted) > 1000 and now - self._pruned > 1.0:  # none pile up
                self._wanted = {seen: at for seen, at in self._wanted.items() if self._wanted_lately(seen)}
                self._pruned = now
            self._wanted[tag] = now
            for host, slots in self._kept.items():
                if host_tag(host) == tag:
                    for kept in slots:
                        kept.due = now
                    self._sweep_now.set()

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
