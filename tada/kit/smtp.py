"""One SMTP sink (aiosmtpd) on 127.0.0.1: takes every message, relays nothing.

What it does with a message is chosen by its options: keep it as an ``.eml`` file
(``directory``, the outbox of ``make run``), keep it parsed in memory (``collect``,
the tests), count it (always: ``received``), and hand it to a per-message hook
(``on_mail``: the simulation's sites, chaos's platforms and fault injection, the
benchmarks' take-downs). A hook may be a coroutine: the sender waits for the reply
until it returns.
"""

from __future__ import annotations

import inspect
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tada.kit.lifecycle import Scoped
from tada.kit.ports import ensure_port_free, free_port

SERVER_HOSTNAME = "sink.tada.invalid"


@dataclass
class Mail:
    """One message as the sink received it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: str  # the address it came from

    @cached_property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.content, policy=policy.default)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        """The plain-text body ("" when there is none)."""
        body = self.message.get_body(("plain",))
        return body.get_content() if body is not None else ""

    def header(self, name: str, default: str = "") -> str:
        return str(self.message.get(name, default))


MailHook = Callable[[Mail], "Awaitable[object] | object"]


def save_eml(directory: Path, mail: Mail) -> Path:
    """Write the message (with the envelope as ``X-Outbox-*`` headers) to a new ``.eml`` file, atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    envelope_headers = (
        f"X-Outbox-Mail-From: {mail.mail_from}\r\nX-Outbox-Rcpt-To: {', '.join(mail.rcpt_tos)}\r\n"
    ).encode()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
    final = directory / name
    temporary = directory / f".{name}.tmp"
    with temporary.open("wb") as file:
        file.write(envelope_headers + mail.content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, final)
    return final


class SmtpSink(Scoped):
    """``start()`` on ``host:port`` (a free port when 0) in a background thread; ``stop()``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        directory: Path | None = None,
        collect: bool = False,
        on_mail: MailHook | None = None,
        reply: str = "250 OK",
        server_hostname: str = SERVER_HOSTNAME,
        smtputf8: bool = False,
        service: str = "SMTP sink",
    ) -> None:
        self.host = host
        self.port = port
        self.directory = Path(directory) if directory is not None else None
        self.collect = collect
        self.on_mail = on_mail
        self.reply = reply
        self.server_hostname = server_hostname
        self.smtputf8 = smtputf8
        self.service = service  # named when its port is taken
        self.received = 0
        self.collected: list[EmailMessage] = []
        self.envelopes: list[Mail] = []  # what was collected, with its envelope
        self._controller: Controller | None = None

    async def handle_DATA(self, server: object, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        mail = Mail(
            mail_from=envelope.mail_from,
            rcpt_tos=list(envelope.rcpt_tos),
            content=content,
            peer=str(session.peer[0]) if session.peer else "",
        )
        self.received += 1
        if self.directory is not None:
            save_eml(self.directory, mail)
        if self.collect:
            self.collected.append(mail.message)
            self.envelopes.append(mail)
        if self.on_mail is not None:
            outcome = self.on_mail(mail)
            if inspect.isawaitable(outcome):
                await outcome
        return self.reply

    # -- lifecycle -------------------------------------------------------------------------

    def _controller_for(self, **options: Any) -> Controller:
        """The aiosmtpd controller serving this sink (a subclass may serve its own sessions)."""
        return Controller(self, **options)

    def start(self, *, retry_for: float = 0.0) -> None:
        """Listen; with ``retry_for``, keep trying that long while the port is still taken
        (a sink started again on the port it just left)."""
        if not self.port:
            self.port = free_port(self.host)  # aiosmtpd cannot listen on port 0
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + retry_for
        while True:
            try:
                ensure_port_free(self.host, self.port, self.service)
                controller = self._controller_for(
                    hostname=self.host,
                    port=self.port,
                    server_hostname=self.server_hostname,  # skips socket.getfqdn(), which can hang offline
                    enable_SMTPUTF8=self.smtputf8,
                    ready_timeout=10.0,
                )
                controller.start()
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
                continue
            self._controller = controller
            return

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()
