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

Alone, the limit holds within one worker process. With ``shared`` (the worker passes
``PostgresHostSlots``, tada/clients/host_slots.py) it holds across every worker on the same
PostgreSQL database: a request that holds its process's slot then takes one of the host's
``per_host`` slots in PostgreSQL too, so only requests already first in line locally ask
the database, and a killed worker's slots free themselves with its session.

``per_host`` 0 (or less) means no limit, and no database is asked.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

DEFAULT_PER_HOST = 4
DEFAULT_MAX_HOSTS = 10_000


class SharedSlots(Protocol):
    """Slots of a host shared with other processes (host_slots.PostgresHostSlots)."""

    def slot(self, host: str, per_host: int) -> AbstractAsyncContextManager[None]: ...


@dataclass
class _Slot:
    semaphore: asyncio.Semaphore
    users: int = 0  # holding or waiting
    held: int = 0  # holding


class HostLimiter:
    """``async with limiter.slot(host): ...`` runs at most ``per_host`` bodies at once per host."""

    def __init__(
        self, per_host: int = DEFAULT_PER_HOST, *, max_hosts: int = DEFAULT_MAX_HOSTS, shared: SharedSlots | None = None
    ) -> None:
        if max_hosts < 1:
            raise ValueError("max_hosts must be at least 1")
        self.per_host = per_host
        self.max_hosts = max_hosts
        self._shared = shared
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
                    if self._shared is None:
                        yield
                    else:
                        async with self._shared.slot(key, self.per_host):
                            yield
                finally:
                    entry.held -= 1
        finally:
            entry.users -= 1
            self._trim()

    def in_use(self, host: str | None) -> int:
        """How many requests to ``host`` hold this process's slot right now (with ``shared``,
        some of them may still be waiting for the database's)."""
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
