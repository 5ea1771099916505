"""Test doubles for the egress layer: a DNS that answers from a table, and a network backend
that records every connection attempt and refuses (as a failed test) anything outside 127/8."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import httpcore

from tada.clients.egress import HostNotFound

LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


class FakeDns:
    """name -> addresses; a list of answers per name is served one after the other (rebinding)."""

    def __init__(self, table: dict[str, list[str] | Callable[[], list[str]]]) -> None:
        self.table = table
        self.queries: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.queries.append(host)
        answer = self.table.get(host.lower().rstrip("."))
        if answer is None:
            raise HostNotFound(host)
        return answer() if callable(answer) else list(answer)


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Connects for real only to 127.0.0.0/8 (the test servers); records every attempt."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.connects.append((host, port))
        if ipaddress.ip_address(host) not in LOOPBACK:
            raise AssertionError(f"the egress layer tried to connect to {host}")
        return await self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise AssertionError("unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
