"""The per-host concurrency limit: never more than ``per_host`` at once, idle hosts forgotten;
shared through PostgreSQL, never more than ``per_host`` at once across processes, and a killed
holder's slot frees itself; a slot given up is kept a moment for the process's next request to
the host (a host worked steadily asks PostgreSQL almost nothing), never so long that another
worker waits for ever."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from tada.adapters.database import create_pool
from tada.clients.host_limiter import HostLimiter
from tada.clients.host_slots import CHANNEL, WANTED, PostgresHostSlots, host_tag, slot_key

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _load(limiter: HostLimiter, hosts: list[str], per_call: float = 0.002) -> dict[str, int]:
    running: dict[str, int] = {}
    peak: dict[str, int] = {}

    async def one(host: str) -> None:
        async with limiter.slot(host):
            key = host.lower()
            running[key] = running.get(key, 0) + 1
            peak[key] = max(peak.get(key, 0), running[key])
            await asyncio.sleep(per_call)
            running[key] -= 1

    await asyncio.gather(*(one(host) for host in hosts))
    return peak


async def test_never_more_than_the_limit_per_host():
    limiter = HostLimiter(3)
    hosts = ["a.test"] * 40 + ["B.test."] * 20 + ["b.test"] * 20 + ["c.test"] * 2
    peak = await _load(limiter, hosts)
    assert peak["a.test"] == 3
    assert max(peak["b.test"], peak["b.test."]) <= 3  # one host, however spelt
    assert peak["c.test"] == 2


async def test_idle_hosts_are_forgotten_beyond_max_hosts():
    limiter = HostLimiter(2, max_hosts=5)
    await _load(limiter, [f"h{i}.test" for i in range(50)], per_call=0)
    assert len(limiter) == 5


async def test_a_busy_host_is_not_forgotten():
    limiter = HostLimiter(1, max_hosts=1)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def hold() -> None:
        async with limiter.slot("busy.test"):
            entered.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await entered.wait()
    await _load(limiter, [f"h{i}.test" for i in range(5)], per_call=0)  # pushes busy.test out of the LRU
    assert limiter.in_use("busy.test") == 1
    second = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    assert limiter.in_use("busy.test") == 1  # the second waits on the same semaphore
    release.set()
    await asyncio.gather(holder, second)
    assert limiter.in_use("busy.test") == 0


async def test_zero_means_no_limit():
    peak = await _load(HostLimiter(0), ["a.test"] * 30)
    assert peak["a.test"] == 30


# Shared through PostgreSQL (tada/clients/host_slots.py): each limiter below has a pool of its
# own, so a session of its own, as each worker process has.

HOLDER = """
import asyncio, sys
from tada.adapters.database import create_pool
from tada.clients.host_limiter import HostLimiter
from tada.clients.host_slots import PostgresHostSlots

async def main():
    pool = await create_pool(sys.argv[1], min_size=1, max_size=1)
    async with HostLimiter(1, shared=PostgresHostSlots(pool)).slot(sys.argv[2]):
        print("held", flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


@pytest_asyncio.fixture(loop_scope="session")
async def pools(postgres_url, db_pool):
    """Three pools on the suite's database: three workers' worth of sessions."""
    opened = [await create_pool(postgres_url, min_size=1, max_size=2) for _ in range(3)]
    yield opened
    for pool in opened:  # politely when it can be; a test that failed half-way must not hang the suite
        try:
            await asyncio.wait_for(pool.close(), 10)
        except TimeoutError:
            pool.terminate()


async def _advisory_locks(db_pool) -> int:
    return await db_pool.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")


async def _soon(check: Callable[[], Awaitable[bool]], within: float = 3.0) -> None:
    """``check`` comes true within ``within`` seconds (a kept slot is given back after its
    linger, 0.25 s: the rest is a loaded machine's margin)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"still not so after {within} s"
        await asyncio.sleep(0.02)


async def _no_locks(db_pool) -> bool:
    return await _advisory_locks(db_pool) == 0


def _all_idle(*pools) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(pool.get_idle_size() == pool.get_size() for pool in pools)

    return check


async def test_limiters_on_one_database_share_the_limit(pools, db_pool):
    """Three limiters of 2, forty requests each to one host: never more than 2 at once in all,
    and 2 is reached. Afterwards no lock is left and every connection is back in its pool."""
    limiters = [HostLimiter(2, shared=PostgresHostSlots(pool)) for pool in pools]
    running = peak = 0

    async def one(limiter: HostLimiter) -> None:
        nonlocal running, peak
        async with limiter.slot("Shared.test."):
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.005)
            running -= 1

    await asyncio.gather(*(one(limiter) for limiter in limiters for _ in range(40)))
    assert peak == 2
    await _soon(lambda: _no_locks(db_pool))
    await _soon(_all_idle(*pools))


async def test_a_killed_holders_slot_frees_itself(postgres_url, pools, db_pool):
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, postgres_url, "killed.test", stdout=asyncio.subprocess.PIPE
    )
    try:
        assert await asyncio.wait_for(holder.stdout.readline(), 30) == b"held\n"
        limiter = HostLimiter(1, shared=PostgresHostSlots(pools[0]))

        async def take() -> None:
            async with limiter.slot("killed.test"):
                pass

        with pytest.raises(TimeoutError):  # held by the other process; the wait is cancelled
            await asyncio.wait_for(take(), 0.5)
        assert await _advisory_locks(db_pool) == 1  # the holder's: the cancelled wait took nothing
    finally:
        holder.kill()
        await holder.wait()
    await asyncio.wait_for(take(), 30)  # the session died with the process, and its lock with it
    await _soon(lambda: _no_locks(db_pool))


class Relay:
    """A TCP relay to the database: its URL, and how many times a client sent it something."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sends = 0


@asynccontextmanager
async def relayed(database_url: str, lag: float = 0.0) -> AsyncIterator[Relay]:
    """A TCP relay to the database whose answers arrive ``lag`` seconds late."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float, count: bool) -> None:
        try:
            while data := await reader.read(65536):
                if count:
                    relay.sends += 1
                await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    target = urlsplit(database_url)

    async def connected(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(target.hostname, target.port)
        await asyncio.gather(
            pipe(client_reader, server_writer, 0, True),
            pipe(server_reader, client_writer, lag, False),
            return_exceptions=True,
        )

    server = await asyncio.start_server(connected, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    relay = Relay(urlunsplit(target._replace(netloc=f"{target.username}@127.0.0.1:{port}")))
    try:
        yield relay
    finally:
        server.close()


async def test_a_wait_cancelled_at_any_moment_takes_nothing(postgres_url, pools, db_pool):
    """Over a slow network (answers 20 ms late), takes of a free slot, then of a slot another
    limiter holds, cancelled at moments that fall before, during and after their tries in
    PostgreSQL, while a slot of another host keeps the connection in use. Nothing is left
    taken, and the slot is free after."""
    release = asyncio.Event()

    async def hold(holder: HostLimiter, host: str, held: asyncio.Event) -> None:
        async with holder.slot(host):
            held.set()
            await release.wait()

    async with relayed(postgres_url, lag=0.02) as slow:
        slow_pool = await create_pool(slow.url, min_size=1, max_size=2)
        limiter, other = (
            HostLimiter(1, shared=PostgresHostSlots(slow_pool)),
            HostLimiter(1, shared=PostgresHostSlots(pools[0])),
        )

        async def take() -> None:
            async with limiter.slot("cancel.test"):
                pass

        async def cancelled_takes() -> None:
            for i in range(40):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(take(), i * 0.002)

        keeping, held = asyncio.Event(), asyncio.Event()
        holders = [asyncio.create_task(hold(limiter, "keep.test", keeping))]
        await keeping.wait()
        await cancelled_takes()  # the slot is free: tries take it as they are cancelled
        await _soon(lambda: _one_lock(db_pool))  # keep.test's: cancelled tries end, kept slots are given back
        holders.append(asyncio.create_task(hold(other, "cancel.test", held)))
        await held.wait()
        await cancelled_takes()  # now it is held elsewhere: the takes wait, and are cancelled waiting
        assert await _advisory_locks(db_pool) == 2
        release.set()
        await asyncio.gather(*holders)
        await asyncio.wait_for(take(), 10)
        await _soon(lambda: _no_locks(db_pool))
        await _soon(_all_idle(slow_pool))
        await slow_pool.close()


async def _one_lock(db_pool) -> bool:
    return await _advisory_locks(db_pool) == 1


#: pg_locks rows of one advisory lock key (a bigint key is shown as two 32-bit halves).
_THIS_LOCK = "locktype = 'advisory' AND objsubid = 1 AND classid = $1::bigint::oid AND objid = $2::bigint::oid"


def _halves(key: int) -> tuple[int, int]:
    unsigned = key & (2**64 - 1)
    return unsigned >> 32, unsigned & 0xFFFFFFFF


async def _holders(db_pool, host: str) -> int:
    """Sessions holding slot 0 of ``host``: only that lock (other tests' workers may hold their own)."""
    key = _halves(slot_key(host, 0))
    return await db_pool.fetchval(f"SELECT count(*) FROM pg_locks WHERE {_THIS_LOCK} AND granted", *key)


async def _nobody_holds(db_pool, host: str) -> bool:
    return await _holders(db_pool, host) == 0


async def _terminate_holder(db_pool, host: str) -> None:
    """End the session holding slot 0 of ``host`` (as a PostgreSQL restart would), and only it."""
    key = _halves(slot_key(host, 0))
    await db_pool.execute(f"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {_THIS_LOCK}", *key)


async def test_a_lost_session_is_not_a_lost_request(pools, db_pool):
    """The session holding a slot is terminated (as by a PostgreSQL restart): the request under
    way ends normally, and the next takes a slot on a new connection. Only that one session is
    terminated, and only that slot's lock counted: other tests' workers may hold locks of their own."""
    limiter = HostLimiter(1, shared=PostgresHostSlots(pools[0]))
    async with asyncio.timeout(60):
        async with limiter.slot("lost.test"):
            assert await _holders(db_pool, "lost.test") == 1
            await _terminate_holder(db_pool, "lost.test")
            while await _holders(db_pool, "lost.test"):  # the backend ends a moment after it is told to
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # and the event loop reads the connection's end (host_slots.py: keeping)
        async with limiter.slot("lost.test"):
            assert await _holders(db_pool, "lost.test") == 1
        await _soon(lambda: _nobody_holds(db_pool, "lost.test"))


async def _sends_while_worked(postgres_url, db_pool, host: str, seconds: float, **options) -> tuple[int, float]:
    """Work ``host`` four requests at a time for at least ``seconds`` through a relay to the
    database, with a fresh connection (its first queries prepared before): how many times the
    slots sent the database something meanwhile, and for how long it was worked."""
    async with relayed(postgres_url) as relay:
        pool = await create_pool(relay.url, min_size=1, max_size=2)
        limiter = HostLimiter(4, shared=PostgresHostSlots(pool, **options))
        await _load(limiter, [host] * 4)  # the connection's first queries, prepared
        await _soon(lambda: _no_locks(db_pool))
        await _soon(_all_idle(pool))  # the connection handed back (its last sends made)
        before, began = relay.sends, time.monotonic()
        while time.monotonic() - began < seconds:
            await _load(limiter, [host] * 4, per_call=0.01)
        asked, took = relay.sends - before, time.monotonic() - began
        await _soon(lambda: _no_locks(db_pool))
        await _soon(_all_idle(pool))
        await pool.close()
    return asked, took


async def test_a_host_worked_steadily_asks_the_database_almost_nothing(postgres_url, db_pool):
    """Eighty requests to one host, up to four at once, one after another, for longer than the
    hold limit (here 0.1 s): the slots are taken once and kept while in use (a worker on one
    big platform, nobody else waiting), not asked for and given back eighty times; past the
    hold limit nothing is asked either, as no other worker has said it wants the host. All
    are given back once the host falls idle."""
    asked, took = await _sends_while_worked(postgres_url, db_pool, "busy.test", 0.2, hold_limit=0.1)
    # Taking four slots (and the connection's LISTEN), then nothing: no question while nobody
    # wants the host (a question a slot every 0.1 s before; one by one it was 160 round trips).
    assert took > 0.2 and asked <= 6, (asked, took)


async def test_a_busy_host_still_checks_its_session_now_and_then(postgres_url, db_pool):
    """The same steady work with ``session_check`` 0.3 s: a long-held request asks the
    hold-limit question when the connection has answered nothing for that long, so a session
    that died without a word is found (no question at all would never find it)."""
    asked, took = await _sends_while_worked(
        postgres_url, db_pool, "checked.test", 1.4, hold_limit=0.05, session_check=0.3
    )
    # Taking four slots and the LISTEN (about 6, as above), then a question every 0.3 s or so.
    assert asked >= 6 + 3 and asked <= 6 + 2 * (took / 0.3 + 1), (asked, took)


async def test_a_slot_kept_on_a_lost_session_is_not_trusted(pools, db_pool):
    """A slot kept idle whose session is terminated (as by a PostgreSQL restart): once the
    connection has been seen to close (the event loop reads its end a moment later), the next
    request takes a real lock on a new connection, not the dead one. (Within that moment a kept
    slot would be reused: host_slots.py says so.)"""
    limiter = HostLimiter(1, shared=PostgresHostSlots(pools[0]))
    async with limiter.slot("kept-lost.test"):
        pass
    assert await _holders(db_pool, "kept-lost.test") == 1  # kept
    await _terminate_holder(db_pool, "kept-lost.test")
    await _soon(lambda: _nobody_holds(db_pool, "kept-lost.test"))
    await asyncio.sleep(0.2)  # the connection's end is read
    async with limiter.slot("kept-lost.test"):
        assert await _holders(db_pool, "kept-lost.test") == 1
    await _soon(lambda: _nobody_holds(db_pool, "kept-lost.test"))


async def test_a_slot_kept_idle_goes_at_once_to_a_worker_that_wants_it(pools, db_pool):
    """A worker has finished with a host's only slot and keeps it (for up to the linger, a
    second); another worker that wants the host says so and has it long before that."""
    keeper = HostLimiter(1, shared=PostgresHostSlots(pools[0]))
    other = HostLimiter(1, shared=PostgresHostSlots(pools[1]))
    async with keeper.slot("kept.test"):
        pass
    assert await _one_lock(db_pool)  # kept
    began = time.monotonic()
    async with asyncio.timeout(10), other.slot("kept.test"):
        waited = time.monotonic() - began
    assert waited < 0.5, waited
    await _soon(lambda: _no_locks(db_pool))


async def test_a_waiter_says_again_that_it_wants_the_host(postgres_url, pools, db_pool):
    """A worker that waits for a host says so more than once: a holder that connected after its
    first notice (and so never heard it) hears a later one, and asks at the end of a long-held
    request whether anyone waits. Not at every retry: at most every half hold limit."""
    blocker = await asyncpg.connect(postgres_url)  # holds the host's only slot
    listener = await asyncpg.connect(postgres_url)
    heard: list[str] = []
    await listener.add_listener(CHANNEL, lambda *args: heard.append(args[3]))
    try:
        await blocker.execute("SELECT pg_advisory_lock($1)", slot_key("wanted-again.test", 0))
        waiter = HostLimiter(1, shared=PostgresHostSlots(pools[0], hold_limit=2.0))  # said again after 1 s

        async def take() -> None:
            async with waiter.slot("wanted-again.test"):
                pass

        with pytest.raises(TimeoutError):  # tries at about 0, 0.05, 0.15, ... 1.55 s, 2.55 s (with jitter, sooner)
            await asyncio.wait_for(take(), 3.0)
        await asyncio.sleep(0.1)  # the last notice read
    finally:
        await blocker.close()
        await listener.close()
    said = heard.count(WANTED + host_tag("wanted-again.test"))
    assert 2 <= said <= 4, heard  # a notice at every try would be 7 or 8
    await _soon(lambda: _no_locks(db_pool))


async def test_a_host_worked_steadily_by_one_worker_is_not_kept_from_another(pools):
    """One worker keeps a host's two slots busy, four requests at a time (two always waiting
    in its own queue); another worker that wants the host gets a slot within about the hold
    limit (a second), while the first is still at it."""
    busy = HostLimiter(2, shared=PostgresHostSlots(pools[0]))
    other = HostLimiter(2, shared=PostgresHostSlots(pools[1]))
    got = asyncio.Event()
    requests = 0

    async def keep_busy() -> None:
        nonlocal requests
        while not got.is_set():
            async with busy.slot("hogged.test"):
                requests += 1
                await asyncio.sleep(0.005)

    async def want_once() -> None:
        async with other.slot("hogged.test"):
            got.set()

    hogs = [asyncio.create_task(keep_busy()) for _ in range(4)]
    while requests < 10:  # it holds both slots
        await asyncio.sleep(0.005)
    began = time.monotonic()
    await asyncio.wait_for(want_once(), 10)
    waited = time.monotonic() - began
    await asyncio.wait_for(asyncio.gather(*hogs), 10)
    assert requests > 50 and waited < 2.5, (requests, waited)  # busy meanwhile; the other's turn came


async def test_contended_slots_keep_the_limit_through_many_give_backs(pools, db_pool):
    """Three workers of 2 on one host for a few seconds, with a short linger and hold limit
    (slots kept, questioned and given back hundreds of times): never more than 2 at once, every
    worker gets its share, and nothing is left afterwards."""
    limiters = [
        HostLimiter(2, shared=PostgresHostSlots(pool, linger=0.01, hold_limit=0.05, first_retry=0.01)) for pool in pools
    ]
    running = peak = 0
    done = [0, 0, 0]
    stop = time.monotonic() + 2.0

    async def worker(number: int) -> None:
        nonlocal running, peak
        while time.monotonic() < stop:
            async with limiters[number].slot("contended.test"):
                running += 1
                peak = max(peak, running)
                await asyncio.sleep(0.003)
                running -= 1
                done[number] += 1

    await asyncio.wait_for(asyncio.gather(*(worker(n) for n in range(3) for _ in range(3))), 30)
    assert peak == 2
    assert min(done) > sum(done) / 10, done  # no worker starved
    await _soon(lambda: _no_locks(db_pool))
    await _soon(_all_idle(*pools))


async def test_no_limit_asks_no_database(postgres_url):
    closed = await create_pool(postgres_url, min_size=0, max_size=1)
    await closed.close()
    peak = await _load(HostLimiter(0, shared=PostgresHostSlots(closed)), ["a.test"] * 30)
    assert peak["a.test"] == 30


async def test_the_lock_keys_name_no_host():
    keys = {slot_key("site.test", n) for n in range(4)}
    assert len(keys) == 4 and all(-(2**63) <= key < 2**63 for key in keys)
    assert slot_key("site.test", 0) == slot_key("site.test", 0) != slot_key("other.test", 0)
    assert "site" not in host_tag("site.test")
