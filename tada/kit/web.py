"""One small HTTP server on 127.0.0.x loopback addresses, in a thread of its own.

Every address given is a distinct "host" (the registry tells platforms apart by host),
all on one port. What a request gets is the caller's: a handler takes a
:class:`Request` and returns a :class:`Response` (or awaits one, to think a while).
The tests' pages, the simulated sites, the RDAP services, the chaos platforms and the
benchmarks' pages are all this server with their own handler. It logs nothing: a
request line carries a URL.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs

from tada.kit.lifecycle import Scoped
from tada.kit.ports import free_port

MAX_BODY_BYTES = 1 << 20


@dataclass
class Request:
    method: str
    target: str  # as sent: the path and any query
    headers: dict[str, str]  # names in lower case
    body: bytes
    host: str  # the loopback address it came in on

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def form(self) -> dict[str, list[str]]:
        """An ``application/x-www-form-urlencoded`` body, parsed."""
        return parse_qs(self.body.decode("utf-8", errors="replace"))


@dataclass
class Response:
    status: int = 200
    body: bytes | str = b""
    content_type: str | None = "text/html; charset=utf-8"  # None: no Content-Type header
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self, version: str, with_body: bool) -> bytes:
        body = self.body.encode("utf-8") if isinstance(self.body, str) else self.body
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = ""
        lines = [f"{version} {self.status} {reason}"]
        if self.content_type is not None:
            lines.append(f"Content-Type: {self.content_type}")
        lines.append(f"Content-Length: {len(body)}")
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + (body if with_body else b"")


Handler = Callable[[Request], "Response | Awaitable[Response]"]


class LoopbackWeb(Scoped):
    """``start()`` binds every address in ``hosts`` on one free port; ``stop()`` closes them.

    ``keep_alive=False`` answers as HTTP/1.0 and closes each connection after its answer
    (one connection a request, as a client's connection count can tell).
    """

    def __init__(
        self,
        handler: Handler,
        hosts: Sequence[str] = ("127.0.0.1",),
        *,
        keep_alive: bool = True,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        if not hosts:
            raise ValueError("at least one loopback address")
        self.handler = handler
        self.hosts = list(hosts)
        self.keep_alive = keep_alive
        self.max_body = max_body
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    def url(self, path: str, host: int = 0) -> str:
        return f"http://{self.hosts[host]}:{self.port}{path}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kit-web", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        loop.close()

    shutdown = stop  # as socketserver's, for callers written against ThreadingHTTPServer

    async def _listen(self) -> None:
        for _ in range(10):  # the port is free on the first address; another may hold it
            port = free_port(self.hosts[0])
            try:
                self._server = await asyncio.start_server(self._serve, host=self.hosts, port=port, backlog=1024)
            except OSError:
                continue
            self.port = port
            return
        raise RuntimeError(f"no port free on all of {len(self.hosts)} loopback address(es)")

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            task.cancel()

    # -- serving ---------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        version = "HTTP/1.1" if self.keep_alive else "HTTP/1.0"
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                length = int(headers.get("content-length", "0") or 0)
                if length > self.max_body:
                    writer.write(Response(413, "<p>Too large.</p>").encode(version, True))
                    await writer.drain()
                    break
                body = await reader.readexactly(length) if length else b""
                request = Request(method=method, target=target, headers=headers, body=body, host=host)
                response = await self._answer(request)
                writer.write(response.encode(version, method != "HEAD"))
                await writer.drain()
                if not self.keep_alive or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            writer.close()

    async def _answer(self, request: Request) -> Response:
        try:
            response = self.handler(request)
            if inspect.isawaitable(response):
                response = await response
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a broken handler: an error page, nothing logged (it could name a URL)
            return Response(500, "<p>Internal error.</p>")
        return response


def serve(handler: Handler, hosts: Sequence[str] = ("127.0.0.1",), *, keep_alive: bool = True) -> LoopbackWeb:
    """A started server (``stop()`` it)."""
    server = LoopbackWeb(handler, hosts, keep_alive=keep_alive)
    server.start()
    return server
