"""The chaos run's own small world on 127.0.0.x: one web server per platform (each on its
own loopback address, so the registry tells them apart by host) whose pages go 404 when
the notice that the platform's behaviour names arrives, a report form that refuses every
report (403), and an SMTP relay that records every message it is given, refuses the
addresses that bounce (550 at RCPT), can be slow (it holds the DATA command for seconds
before its 354) and can be stopped and started again on the same port. Both are the kit's
servers (tada/kit/web.py, tada/kit/smtp.py); what is chaos's is here."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope

from tada.kit.smtp import Mail, SmtpSink
from tada.kit.web import LoopbackWeb, Request, Response

URL_PATTERN = re.compile(r"http://127\.0\.0\.\d{1,3}:\d{1,5}/item/\d+")


class Behaviour(StrEnum):
    """When a platform takes content down."""

    NOTICE = "notice"  # after the first notice (sent, or filed by hand)
    FOLLOW_UP = "follow_up"  # after the first follow-up
    ESCALATION = "escalation"  # after the escalation
    NEVER = "never"  # never: the link ends UNRESOLVED


ESCALATION_EMAIL = "escalations@chaos.test"
#: The platform contact the run's caseworker gives a link whose platform address bounced.
DESK_CONTACT = "reports@desk.chaos.test"
FORM_PATH = "/report"


@dataclass(frozen=True)
class Platform:
    """One chaos platform: its pages' behaviour and how it is reached."""

    key: str
    behaviour: Behaviour
    address: str  # its own loopback address: the registry tells platforms apart by host
    channel: str = "email"
    bounces: bool = False  # its mailbox answers 550 (or, for a form, the form answers 403)
    manual_route: bool = False  # the registry entry has manual_instructions
    escalation_bounces: bool = False  # its escalation contact answers 550

    @property
    def email(self) -> str:
        return f"abuse@{self.key.replace('_', '-')}.chaos.test"

    @property
    def escalation_email(self) -> str:
        return f"abuse-admin@{self.key.replace('_', '-')}.chaos.test" if self.escalation_bounces else ESCALATION_EMAIL

    @property
    def needs_caseworker(self) -> bool:
        """A permanent failure leaves its links waiting for a person (a filing, a contact)."""
        return self.bounces or self.escalation_bounces


PLATFORMS = {
    p.key: p
    for p in [
        Platform("notice", Behaviour.NOTICE, "127.0.0.11"),
        Platform("follow_up", Behaviour.FOLLOW_UP, "127.0.0.12"),
        Platform("escalation", Behaviour.ESCALATION, "127.0.0.13"),
        Platform("never", Behaviour.NEVER, "127.0.0.14"),
        Platform("bounce", Behaviour.NOTICE, "127.0.0.15", bounces=True),  # 550, no other route
        Platform("bounce_manual", Behaviour.NOTICE, "127.0.0.16", bounces=True, manual_route=True),
        Platform("form_403", Behaviour.NOTICE, "127.0.0.17", channel="form", bounces=True),
        Platform("escalation_bounce", Behaviour.NEVER, "127.0.0.18", escalation_bounces=True),
    ]
}
#: Every address the relay refuses at RCPT (550 5.1.1), as a mailbox that does not exist.
REFUSED = frozenset(
    {p.email for p in PLATFORMS.values() if p.bounces and p.channel == "email"}
    | {p.escalation_email for p in PLATFORMS.values() if p.escalation_bounces}
)


@dataclass
class Page:
    behaviour: Behaviour
    live: bool = True
    notices: int = 0  # platform notices (initial, follow-up) received or filed
    escalations: int = 0


@dataclass
class Received:
    at: float  # monotonic, when the message's content had arrived
    message_id: str
    kind: str
    rcpt_tos: list[str]
    urls: list[str]
    accepted_at: float = 0.0  # wall clock (time.time()), when the relay answered 250 (or was to)
    acknowledged: bool = False  # the 250 went out (False: the relay stopped before it could answer)


@dataclass
class World:
    pages: dict[str, Page] = field(default_factory=dict)  # by path, e.g. /item/0007
    mail: list[Received] = field(default_factory=list)
    form_posts: int = 0  # reports posted to the refusing form
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, behaviour: Behaviour) -> None:
        with self.lock:
            self.pages[path] = Page(behaviour)

    def is_live(self, path: str) -> bool | None:
        with self.lock:
            page = self.pages.get(path)
            return None if page is None else page.live

    def notice(self, kind: str, urls: list[str], message_id: str = "") -> None:
        """A platform reads a message once: a second copy of the same Message-ID changes nothing.
        A notice a caseworker filed by hand counts as one received (no Message-ID)."""
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
    """The kit's loopback server on every platform's address, all on the same free port; a
    POST to ``FORM_PATH`` is a report to the platform's form, and the form refuses it (403)."""

    def __init__(self, world: World, platforms: list[Platform]) -> None:
        super().__init__(self._page, [p.address for p in platforms])
        self.world = world

    def _page(self, request: Request) -> Response:
        if request.method == "POST" and request.path == FORM_PATH:
            with self.world.lock:
                self.world.form_posts += 1
            return Response(403, "<html><body><p>Forbidden: reports are not taken here.</p></body></html>")
        if self.world.is_live(request.path):
            return Response(200, "<html><body><p>A chaos-test page. No image.</p></body></html>")
        return Response(404, "<html><body><p>Not found.</p></body></html>")

    def base_url(self, platform: Platform) -> str:
        return f"http://{platform.address}:{self.port}"


class ChaosSink(SmtpSink):
    """The kit's sink on 127.0.0.1:``port``: records every message for the checks and lets the
    platforms read it; refuses the ``REFUSED`` addresses at RCPT with a 550 that repeats the
    address (as real relays do); ``slow_down()`` holds every DATA command before its 354 (a slow
    relay: a client that hangs up meanwhile has sent nothing); ``stop()`` refuses connections
    until ``start()`` again, on the same port."""

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
        self.refused = 0  # RCPTs answered 550
        # the slow relay: while ``_hold`` > 0, each DATA waits that long (or until the next
        # slow_down()/speed_up(), which end the holds under way)
        self._hold = 0.0
        self._generation = 0
        self._count_lock = threading.Lock()
        self.holding = 0  # DATA commands held right now
        self.held = 0  # held in all
        self.cut = 0  # held, and the client hung up meanwhile: nothing of that message came
        self._answering: dict[int, Received] = {}  # by session task: the message its 250 is for

    # -- aiosmtpd hooks (on the relay's own loop, in its thread) ----------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802 (aiosmtpd hook)
        if address.lower() in REFUSED:
            with self._count_lock:
                self.refused += 1
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def hold_data(self, envelope: Envelope) -> None:
        """Before the 354: wait while the relay is slow (cancelled if the client hangs up)."""
        hold, generation = self._hold, self._generation
        if hold <= 0:
            return
        deadline = time.monotonic() + hold
        with self._count_lock:
            self.holding += 1
            self.held += 1
        try:
            while self._generation == generation and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            with self._count_lock:
                self.cut += 1
            raise
        finally:
            with self._count_lock:
                self.holding -= 1

    async def _arrived(self, mail: Mail) -> None:
        urls = list(dict.fromkeys(URL_PATTERN.findall(mail.text)))
        kind, message_id = mail.header("X-Tada-Notice-Kind"), mail.header("Message-ID")
        received = Received(time.monotonic(), message_id, kind, mail.rcpt_tos, urls, accepted_at=time.time())
        with self.world.lock:
            self.world.mail.append(received)
        self._answering[id(asyncio.current_task())] = received
        self.world.notice(kind, urls, message_id)
        if self.armed:  # the message is taken; the sender has not heard so yet
            self.armed = False
            self.caught.set()
            await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 30.0)
        received.accepted_at = time.time()  # the 250 goes out now

    def answering(self, task: int) -> Received | None:
        """The message a session (by its task) has just taken, if any: handed out once."""
        return self._answering.pop(task, None)

    # -- control (from the run's loop) --------------------------------------------------------

    def slow_down(self, hold: float) -> None:
        """From now on every DATA command waits ``hold`` seconds before its 354; holds under way end."""
        self._generation += 1
        self._hold = hold

    def speed_up(self) -> None:
        """Back to normal: no more holds, and those under way end at once."""
        self._hold = 0.0
        self._generation += 1

    def start(self, *, retry_for: float = 20.0) -> None:
        """The kit's start (again on the same port, for up to ``retry_for`` seconds)."""
        super().start(retry_for=retry_for)

    def _controller_for(self, **options: Any) -> Controller:
        return _ChaosController(self, **options)  # the chaos session: slow DATA

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


class _ChaosSession(SMTP):
    def __init__(self, sink: ChaosSink, **kwargs) -> None:
        super().__init__(sink, **kwargs)
        self._sink = sink

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 (aiosmtpd command)
        if self.envelope is not None and self.envelope.rcpt_tos:
            await self._sink.hold_data(self.envelope)  # aiosmtpd cancels it if the client hangs up
        task = id(asyncio.current_task())
        try:
            await super().smtp_DATA(arg)  # the message, the handler (ChaosSink._arrived), then the 250
            received = self._sink.answering(task)
            if received is not None:
                received.acknowledged = True
        finally:
            self._sink.answering(task)


class _ChaosController(Controller):
    def factory(self) -> SMTP:
        return _ChaosSession(self.handler, **self.SMTP_kwargs)
