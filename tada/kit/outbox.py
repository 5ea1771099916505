"""The SMTP outbox of ``make run``: the kit's sink keeping every message as an ``.eml`` file.

With it, ``make run`` sends real notices over real SMTP without any of them
reaching a platform; tests read the files to assert what was sent.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from email.message import EmailMessage
from pathlib import Path

from tada.kit.smtp import SmtpSink

SERVER_HOSTNAME = "outbox.tada.invalid"


class Outbox(SmtpSink):
    """An SMTP server on ``host:port`` (in a background thread) writing to ``directory``."""

    directory: Path

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
        super().__init__(
            host=host,
            port=port,
            directory=directory,
            reply="250 Message accepted for delivery",
            server_hostname=SERVER_HOSTNAME,
            smtputf8=True,
            service="SMTP outbox",
        )

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
