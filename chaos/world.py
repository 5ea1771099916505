"""The chaos run's own small world on 127.0.0.x: one web server per platform (each on its
own loopback address, so the registry tells them apart by host) whose pages go 404 when
the notice that the platform's behaviour names arrives, and an SMTP sink that records
every message it is given and can be stopped and started again on the same port."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

URL_PATTERN = re.compile(r"http://127\.0\.0\.\d{1,3}:\d{1,5}/item/\d+")


class Behaviour(StrEnum):
    """When a platform takes content down."""

    NOTICE = "notice"  # after the first notice
    FOLLOW_UP = "follow_up"  # after the first follow-up
    ESCALATION = "escalation"  # after the escalation
    NEVER = "never"  # never: the link ends UNRESOLVED


BEHAVIOURS = list(Behaviour)
#: One loopback address per platform.
ADDRESSES = {b: f"127.0.0.{11 + i}" for i, b in enumerate(BEHAVIOURS)}
ESCALATION_EMAIL = "escalations@chaos.test"


@dataclass
class Page:
    behaviour: Behaviour
    live: bool = True
    notices: int = 0  # platform notices (initial, follow-up) received
    escalations: int = 0


@dataclass
class Received:
    at: float
    message_id: str
    kind: str
    rcpt_tos: list[str]
    urls: list[str]


@dataclass
class World:
    pages: dict[str, Page] = field(default_factory=dict)  # by path, e.g. /item/0007
    mail: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, behaviour: Behaviour) -> None:
        with self.lock:
            self.pages[path] = Page(behaviour)

    def is_live(self, path: str) -> bool | None:
        with self.lock:
            page = self.pages.get(path)
            return None if page is None else page.live

    def notice(self, kind: str, urls: list[str], message_id: str = "") -> None:
        """A platform reads a message once: a second copy of the same Message-ID changes nothing."""
        with self.lock:
            if message_id and sum(1 for m in self.mail if m.message_id == message_id) > 1:
                return
            for url in urls:
                page = self.pages.get("/" + url.split("/", 3)[3])
                if page is None:
                    continue
                if kind.startswith("escalation"):
                    page.escalations += 1
                    if page.behaviour == Behaviour.ESCALATION:
                        page.live = False
                    continue
                page.notices += 1
                if page.behaviour == Behaviour.NOTICE and page.notices >= 1:
                    page.live = False
                elif page.behaviour == Behaviour.FOLLOW_UP and page.notices >= 2:
                    page.live = False


def _handler(world: World) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            live = world.is_live(self.path.split("?")[0])
            status, body = (200, b"<html><body><p>A chaos-test page. No image.</p></body></html>") if live else (
                404, b"<html><body><p>Not found.</p></body></html>")  # fmt: skip
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass


class WebServers:
    """One server per platform address, all on the same free port."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.port = 0
        self._servers: list[_Quiet] = []

    def start(self) -> None:
        for behaviour in BEHAVIOURS:
            server = _Quiet((ADDRESSES[behaviour], self.port), _handler(self.world))
            self.port = server.server_address[1]
            self._servers.append(server)
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def base_url(self, behaviour: Behaviour) -> str:
        return f"http://{ADDRESSES[behaviour]}:{self.port}"

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()


class _MailHandler:
    def __init__(self, world: World) -> None:
        self.world = world
        self.armed = False  # hold the reply to the next message until released
        self.caught = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        message = message_from_bytes(content, policy=policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        urls = list(dict.fromkeys(URL_PATTERN.findall(text)))
        kind = str(message.get("X-Tada-Notice-Kind", ""))
        with self.world.lock:
            self.world.mail.append(
                Received(time.monotonic(), str(message.get("Message-ID", "")), kind, list(envelope.rcpt_tos), urls)
            )
        self.world.notice(kind, urls, str(message.get("Message-ID", "")))
        if self.armed:  # the message is taken; the sender has not heard so yet
            self.armed = False
            self.caught.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30.0)
        return "250 OK: recorded by the chaos sink"


class SmtpSink:
    """aiosmtpd on 127.0.0.1:``port``; ``stop()`` refuses connections until ``start()`` again."""

    host = "127.0.0.1"

    def __init__(self, world: World, port: int) -> None:
        self.port = port
        self._handler = _MailHandler(world)
        self._controller: Controller | None = None

    def start(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            controller = Controller(
                self._handler, hostname=self.host, port=self.port, server_hostname="sink.chaos.test", ready_timeout=10.0
            )
            try:
                controller.start()
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
                continue
            self._controller = controller
            return

    def stop(self) -> None:
        self.release()
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def hold_next(self) -> None:
        """Take the next message, then hold back the 250 until ``release()``: a fault injected
        meanwhile hits a worker whose notice went out but is not yet marked sent."""
        self._handler.caught.clear()
        self._handler.release.clear()
        self._handler.armed = True

    def wait_caught(self, timeout: float) -> bool:
        return self._handler.caught.wait(timeout)

    def release(self) -> None:
        self._handler.armed = False
        self._handler.release.set()
