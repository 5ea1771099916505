"""An SMTP sink (aiosmtpd, on 127.0.0.1) that plays the platform: it counts each notice
and takes down every page the notice lists, so the next liveness check finds it gone."""

from __future__ import annotations

import re
import threading
from email import message_from_bytes, policy
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

from bench.web import LocalWeb
from tada.kit.ports import free_port

_URL = re.compile(r"https?://[^\s<>\"']+")


class TakeDownOnNotice:
    def __init__(self, web: LocalWeb | None) -> None:
        self.web = web
        self.messages = 0
        self.recipients: dict[str, int] = {}
        self.pages_taken_down = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        message = message_from_bytes(envelope.content, policy=policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        with self._lock:
            self.messages += 1
            for rcpt in envelope.rcpt_tos:
                self.recipients[rcpt] = self.recipients.get(rcpt, 0) + 1
            if self.web is not None:
                for url in set(_URL.findall(text)):
                    path = urlsplit(url.rstrip(".,;)")).path
                    if path and path not in self.web.gone:
                        self.web.gone.add(path)
                        self.pages_taken_down += 1
        return "250 OK"


class SmtpSink:
    def __init__(self, web: LocalWeb | None = None) -> None:
        self.handler = TakeDownOnNotice(web)
        self.port = 0
        self._controller: Controller | None = None

    def start(self) -> None:
        self.port = free_port()
        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="sink.bench.invalid",  # no getfqdn(), which can hang offline
            ready_timeout=10.0,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
