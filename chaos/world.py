"""The chaos run's own small world on 127.0.0.x: one web server per platform (each on its
own loopback address, so the registry tells them apart by host) whose pages go 404 when
the notice that the platform's behaviour names arrives, and an SMTP sink that records
every message it is given and can be stopped and started again on the same port. Both
are the kit's servers (tada/kit/web.py, tada/kit/smtp.py); what is chaos's is here."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

from tada.kit.smtp import Mail, SmtpSink
from tada.kit.web import LoopbackWeb, Request, Response

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


class WebServers(LoopbackWeb):
    """The kit's loopback server on every platform's address, all on the same free port."""

    def __init__(self, world: World) -> None:
        super().__init__(self._page, [ADDRESSES[b] for b in BEHAVIOURS])
        self.world = world

    def _page(self, request: Request) -> Response:
        if self.world.is_live(request.path):
            return Response(200, "<html><body><p>A chaos-test page. No image.</p></body></html>")
        return Response(404, "<html><body><p>Not found.</p></body></html>")

    def base_url(self, behaviour: Behaviour) -> str:
        return f"http://{ADDRESSES[behaviour]}:{self.port}"


class ChaosSink(SmtpSink):
    """The kit's sink on 127.0.0.1:``port``: records every message for the checks and lets the
    platforms read it; ``stop()`` refuses connections until ``start()`` again, on the same port."""

    def __init__(self, world: World, port: int) -> None:
        super().__init__(
            port=port,
            on_mail=self._arrived,
            reply="250 OK: recorded by the chaos sink",
            server_hostname="sink.chaos.test",
        )
        self.world = world
        self.armed = False  # hold the reply to the next message until released
        self.caught = threading.Event()
        self.released = threading.Event()

    async def _arrived(self, mail: Mail) -> None:
        urls = list(dict.fromkeys(URL_PATTERN.findall(mail.text)))
        kind, message_id = mail.header("X-Tada-Notice-Kind"), mail.header("Message-ID")
        with self.world.lock:
            self.world.mail.append(Received(time.monotonic(), message_id, kind, mail.rcpt_tos, urls))
        self.world.notice(kind, urls, message_id)
        if self.armed:  # the message is taken; the sender has not heard so yet
            self.armed = False
            self.caught.set()
            await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 30.0)

    def start(self, *, retry_for: float = 20.0) -> None:
        super().start(retry_for=retry_for)

    def stop(self) -> None:
        self.release()
        super().stop()

    def hold_next(self) -> None:
        """Take the next message, then hold back the 250 until ``release()``: a fault injected
        meanwhile hits a worker whose notice went out but is not yet marked sent."""
        self.caught.clear()
        self.released.clear()
        self.armed = True

    def wait_caught(self, timeout: float) -> bool:
        return self.caught.wait(timeout)

    def release(self) -> None:
        self.armed = False
        self.released.set()
