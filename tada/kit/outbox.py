"""A local SMTP server that keeps every message as an ``.eml`` file and relays nothing.

With it, ``make run`` sends real notices over real SMTP without any of them
reaching a platform; tests read the files to assert what was sent.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import time
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from tada.kit.ports import ensure_port_free

SERVER_HOSTNAME = "outbox.tada.invalid"


class SaveToDirectory:
    """aiosmtpd handler: store each message under ``directory``, atomically, and accept it."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def handle_DATA(self, server: object, session: object, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        self.save(envelope.mail_from, list(envelope.rcpt_tos), content)
        return "250 Message accepted for delivery"

    def save(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        """Write ``content`` (with the envelope as ``X-Outbox-*`` headers) to a new ``.eml`` file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        envelope_headers = (
            f"X-Outbox-Mail-From: {mail_from}\r\n"
            f"X-Outbox-Rcpt-To: {', '.join(rcpt_tos)}\r\n"
        ).encode("utf-8")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        final = self.directory / name
        temporary = self.directory / f".{name}.tmp"
        with temporary.open("wb") as file:
            file.write(envelope_headers + content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, final)
        return final


class Outbox:
    """An SMTP server on ``host:port`` (in a background thread) writing to ``directory``."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        ensure_port_free(self.host, self.port, "SMTP outbox")
        controller = Controller(
            SaveToDirectory(self.directory),
            hostname=self.host,
            port=self.port,
            server_hostname=SERVER_HOSTNAME,  # skips socket.getfqdn(), which can hang offline
            enable_SMTPUTF8=True,
            ready_timeout=10.0,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Outbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Outbox:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- reading what was sent (tests) -----------------------------------------------------

    def files(self) -> list[Path]:
        """The stored messages, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.eml"))

    def messages(self) -> list[EmailMessage]:
        """The stored messages, parsed, oldest first."""
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in self.files()
        ]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until at least ``count`` messages are stored; returns all of them."""
        deadline = time.monotonic() + timeout
        while len(self.files()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.files())} message(s) in {self.directory}, expected {count}")
            await asyncio.sleep(0.05)
        return self.messages()
