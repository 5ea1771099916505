"""A real HTTP server on 127.0.0.1 (the kit's) whose pages go live, 404 or soft-removed on
cue, and which records every form POST it receives."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from tada.kit.web import LoopbackWeb, Request, Response, serve

State = TypeVar("State")


@dataclass
class Page:
    status: int = 200
    body: str = "<html><body>a page</body></html>"
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    delay: float = 0.0  # seconds the server thinks before answering
    headers: dict[str, str] = field(default_factory=dict)  # more response headers (Set-Cookie, ...)


@dataclass
class WebServer:
    pages: dict[str, Page] = field(default_factory=dict)
    posts: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)
    #: The Cookie header of every GET, in order (None: none sent).
    cookies_sent: list[str | None] = field(default_factory=list)
    port: int = 0
    #: GETs being answered right now, and the most there ever were at once.
    in_flight: int = 0
    peak_in_flight: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def live(self, path: str, body: str = "<html><body>still here</body></html>") -> None:
        self.pages[path] = Page(200, body)

    def gone(self, path: str, status: int = 404) -> None:
        self.pages[path] = Page(status, "<html><body>not found</body></html>")

    def soft_removed(self, path: str, text: str = "This content has been removed") -> None:
        self.pages[path] = Page(200, f"<html><body><p>{text}</p></body></html>")

    def redirect(self, path: str, location: str) -> None:
        self.pages[path] = Page(302, "", location=location)

    def reset(self) -> None:
        self.pages.clear()
        self.posts.clear()
        self.hits.clear()
        self.cookies_sent.clear()
        self.peak_in_flight = 0

    async def answer(self, request: Request) -> Response:
        """Runs on the server's one event loop: the counters need no lock."""
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        page = self.pages.get(request.path, Page(404, "not found"))
        if request.method == "POST":
            self.posts.append((request.target, request.form()))
            return Response(page.status, content_type=None)
        self.cookies_sent.append(request.headers.get("cookie"))
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await asyncio.sleep(page.delay)
        finally:
            self.in_flight -= 1
        headers = {"Location": page.location} if page.location else {}
        return Response(page.status, page.body, page.content_type, {**headers, **page.headers})


def start_web_server() -> tuple[WebServer, LoopbackWeb]:
    state = WebServer()
    server = serve(state.answer, keep_alive=False)  # one connection a request, as before
    state.port = server.port
    return state, server


def served(started: tuple[State, LoopbackWeb]) -> Iterator[State]:
    """A server fixture's body (``yield from served(start_…())``): the state of a started
    loopback server for the fixture's scope, then the server shut down."""
    state, httpd = started
    yield state
    httpd.shutdown()
