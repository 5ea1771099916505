"""A small HTTP/1.1 server on 127.0.0.x loopback addresses, in a thread of its own.

Each address is a distinct "host" (``127.0.0.1`` .. ``127.0.0.N``, all on one
port). Pages are live (200, a little HTML) unless marked gone (404); a
benchmark flips them (the SMTP sink marks a page gone when its notice
arrives). The server counts requests and the number running at once per host,
so a benchmark can check that a per-host limit was kept as the server saw it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass, field

from tada.kit.ports import free_port

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


class LocalWeb:
    def __init__(self, hosts: int = 1, *, latency: float = 0.0, live_by_default: bool = True) -> None:
        if not 1 <= hosts <= 250:
            raise ValueError("between 1 and 250 loopback hosts")
        self.hosts = [f"127.0.0.{i}" for i in range(1, hosts + 1)]
        self.latency = latency
        self.live_by_default = live_by_default
        self.gone: set[str] = set()  # paths answering 404
        self.live: set[str] = set()  # paths answering 200 when not live by default
        self.stats = HostStats()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None

    def url(self, path: str, host: int = 0) -> str:
        return f"http://{self.hosts[host]}:{self.port}{path}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="bench-web", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, host=self.hosts, port=self.port, backlog=1024)

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            task.cancel()

    # -- serving ---------------------------------------------------------------------------

    def _answer(self, path: str) -> tuple[int, bytes]:
        if path in self.gone:
            return 404, GONE_BODY
        if self.live_by_default or path in self.live:
            return 200, LIVE_BODY
        return 404, GONE_BODY

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        stats = self.stats
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                stats.requests[host] += 1
                stats.running[host] += 1
                stats.peak[host] = max(stats.peak[host], stats.running[host])
                try:
                    if self.latency:
                        await asyncio.sleep(self.latency)
                    status, body = self._answer(target.split("?", 1)[0])
                    reason = "OK" if status == 200 else "Not Found"
                    writer.write(
                        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
                        + (body if method != "HEAD" else b"")
                    )
                    await writer.drain()
                finally:
                    stats.running[host] -= 1
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()
