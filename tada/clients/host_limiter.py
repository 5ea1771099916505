"""A per-host concurrency limit for outgoing requests: politeness towards each site.

One worker checks the liveness of thousands of links, and a case often has
hundreds on the same platform. ``HostLimiter`` lets at most ``per_host``
requests run at once against any one host (the rest wait their turn, in
order), whatever the worker's overall activity concurrency.

The registry keeps one ``asyncio.Semaphore`` per host, least recently used
first, and forgets idle hosts beyond ``max_hosts``. A host whose semaphore is
held or waited on is never forgotten (a fresh semaphore for it would let a
second ``per_host`` requests through), so the registry may exceed ``max_hosts``
for as long as that many hosts are busy at once, and shrinks back after.

The limit holds within one worker process; N workers allow N × ``per_host``.
``per_host`` 0 (or less) means no limit.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

DEFAULT_PER_HOST = 4
DEFAULT_MAX_HOSTS = 10_000


@dataclass
class _Slot:
    semaphore: asyncio.Semaphore
    users: int = 0  # holding or waiting
    held: int = 0  # holding


class HostLimiter:
    """``async with limiter.slot(host): ...`` runs at most ``per_host`` bodies at once per host."""

    def __init__(self, per_host: int = DEFAULT_PER_HOST, *, max_hosts: int = DEFAULT_MAX_HOSTS) -> None:
        if max_hosts < 1:
            raise ValueError("max_hosts must be at least 1")
        self.per_host = per_host
        self.max_hosts = max_hosts
        self._slots: OrderedDict[str, _Slot] = OrderedDict()

    @staticmethod
    def key(host: str | None) -> str:
        """Hosts compare case-insensitively and without a trailing dot."""
        return (host or "").lower().rstrip(".")

    @asynccontextmanager
    async def slot(self, host: str | None) -> AsyncIterator[None]:
        if self.per_host <= 0:
            yield
            return
        key = self.key(host)
        entry = self._slots.get(key)
        if entry is None:
            entry = self._slots[key] = _Slot(asyncio.Semaphore(self.per_host))
        self._slots.move_to_end(key)
        entry.users += 1
        try:
            async with entry.semaphore:
                entry.held += 1
                try:
                    yield
                finally:
                    entry.held -= 1
        finally:
            entry.users -= 1
            self._trim()

    def in_use(self, host: str | None) -> int:
        """How many requests to ``host`` hold a slot right now."""
        entry = self._slots.get(self.key(host))
        return entry.held if entry else 0

    def __len__(self) -> int:
        """Hosts remembered (busy ones, plus idle ones up to ``max_hosts``)."""
        return len(self._slots)

    def _trim(self) -> None:
        if len(self._slots) <= self.max_hosts:
            return
        for key in [k for k, e in self._slots.items() if e.users == 0]:  # oldest first
            if len(self._slots) <= self.max_hosts:
                break
            del self._slots[key]
