"""A real HTTP server on 127.0.0.1 whose pages go live, 404 or soft-removed on cue,
and which records every form POST it receives."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


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
    lock: threading.Lock = field(default_factory=threading.Lock)

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


def _handler(server_state: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _page(self) -> Page:
            path = self.path.split("?", 1)[0]
            server_state.hits[path] = server_state.hits.get(path, 0) + 1
            return server_state.pages.get(path, Page(404, "not found"))

        def do_GET(self) -> None:
            page = self._page()
            server_state.cookies_sent.append(self.headers.get("Cookie"))
            with server_state.lock:
                server_state.in_flight += 1
                server_state.peak_in_flight = max(server_state.peak_in_flight, server_state.in_flight)
            try:
                time.sleep(page.delay)
                self._answer(page)
            finally:
                with server_state.lock:
                    server_state.in_flight -= 1

        def _answer(self, page: Page) -> None:
            body = page.body.encode()
            self.send_response(page.status)
            if page.location:
                self.send_header("Location", page.location)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in page.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length).decode()
            server_state.posts.append((self.path, parse_qs(data)))
            page = self._page()
            self.send_response(page.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def start_web_server() -> tuple[WebServer, ThreadingHTTPServer]:
    state = WebServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return state, httpd
