"""The benchmarks' pages: the kit's loopback server on 127.0.0.1 .. 127.0.0.N.

Each address is a distinct "host" (all on one port). Pages are live (200, a little
HTML) unless marked gone (404); a benchmark flips them (the SMTP sink marks a page
gone when its notice arrives). The server counts requests and the number running at
once per host, so a benchmark can check that a per-host limit was kept as the server
saw it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from tada.kit.web import LoopbackWeb, Request, Response

LIVE_BODY = b"<html><head><title>a video</title></head><body><p>still here</p></body></html>"
GONE_BODY = b"<html><body>not found</body></html>"


@dataclass
class HostStats:
    requests: Counter = field(default_factory=Counter)
    running: Counter = field(default_factory=Counter)
    peak: Counter = field(default_factory=Counter)

    def reset(self) -> None:
        self.requests.clear()
        self.running.clear()
        self.peak.clear()


class LocalWeb(LoopbackWeb):
    def __init__(self, hosts: int = 1, *, latency: float = 0.0, live_by_default: bool = True) -> None:
        if not 1 <= hosts <= 250:
            raise ValueError("between 1 and 250 loopback hosts")
        super().__init__(self._page, [f"127.0.0.{i}" for i in range(1, hosts + 1)])
        self.latency = latency
        self.live_by_default = live_by_default
        self.gone: set[str] = set()  # paths answering 404
        self.live: set[str] = set()  # paths answering 200 when not live by default
        self.stats = HostStats()

    async def _page(self, request: Request) -> Response:
        """Runs on the server's one event loop: the counters need no lock."""
        stats, host = self.stats, request.host
        stats.requests[host] += 1
        stats.running[host] += 1
        stats.peak[host] = max(stats.peak[host], stats.running[host])
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            path = request.path
            if path in self.gone or not (self.live_by_default or path in self.live):
                return Response(404, GONE_BODY)
            return Response(200, LIVE_BODY)
        finally:
            stats.running[host] -= 1
