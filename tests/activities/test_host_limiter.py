"""The per-host concurrency limit: never more than ``per_host`` at once, idle hosts forgotten."""

from __future__ import annotations

import asyncio

import pytest

from tada.clients.host_limiter import HostLimiter

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
