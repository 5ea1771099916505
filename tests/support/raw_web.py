"""A loopback web server that answers as a hostile site does, on 127.0.0.1 in the test's own
event loop: each path gets raw bytes exactly as given (any headers, repeated or contradictory,
a body small on the wire and huge decoded), or a script that writes at its own pace (a drip,
an answer that never ends). One answer a connection, then the connection is closed.
It logs nothing: a request line carries a URL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

#: Writes an answer at its own pace; the connection is closed when it returns.
Script = Callable[[asyncio.StreamWriter], Awaitable[None]]
Answer = bytes | Script

NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\nnot found"


def raw_answer(
    status: int, headers: Sequence[tuple[str, str]] = (), body: bytes = b"", *, content_length: bool = True
) -> bytes:
    """An HTTP/1.1 answer, headers written in order as given (the same name twice is two lines)."""
    lines = [f"HTTP/1.1 {status} Whatever", *(f"{name}: {value}" for name, value in headers)]
    if content_length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def drip(head: bytes, every: float) -> Script:
    """``head`` at once, then one body byte every ``every`` seconds, for ever: no single read
    ever waits long enough to time out."""

    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(head)
        while True:
            await writer.drain()
            await asyncio.sleep(every)
            writer.write(b"x")

    return script


def endless(head: bytes, chunk: bytes = b"<p>" + b"more " * 3000 + b"</p>") -> Script:
    """``head`` (naming no length), then the same chunk again and again, as fast as it is taken."""

    async def script(writer: asyncio.StreamWriter) -> None:
        writer.write(head)
        while True:
            writer.write(chunk)
            await writer.drain()

    return script


class RawSite:
    """``await RawSite().start()``; ``answers[path] = ...``; ``await stop()``."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.hits: dict[str, int] = {}
        self.port = 0
        self._server: asyncio.Server | None = None
        self._serving: set[asyncio.Task[None]] = set()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> RawSite:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._serving):
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._serving.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
            await reader.readexactly(_content_length(head))  # a form's POST: read, so closing resets nothing
            self.hits[path] = self.hits.get(path, 0) + 1
            answer = self.answers.get(path, NOT_FOUND)
            if isinstance(answer, bytes):
                writer.write(answer)
                await writer.drain()
            else:
                await answer(writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._serving.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value)
    return 0
