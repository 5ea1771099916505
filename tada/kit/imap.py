"""The local mailbox of ``make run``: a real IMAP4rev1 server (pymap, in-memory backend) on
127.0.0.1, which the worker's inbox reader reads like any other (TADA_IMAP_*).

Mail reaches it through the local SMTP outbox: ``replies_into(mailbox, reply_to)`` is the
outbox's hook that APPENDs each message addressed to the reply address (TADA_REPLY_TO, or
its plus-tagged forms, ``takedown+TAG@org.example``) to the mailbox. So anyone may answer a
notice locally by sending mail to 127.0.0.1's SMTP port, as a platform would. The backend
keeps messages in memory: they are gone when the stack stops; what tada read of them stays
in its database (a new server has a new UIDVALIDITY, so nothing is confused).
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Awaitable, Callable
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import aioimaplib
from pydantic import SecretStr

from tada.kit.lifecycle import Scoped
from tada.kit.ports import ensure_port_free, free_port, wait_for_port
from tada.kit.smtp import Mail

LOCAL_IMAP_PORT = 8143
LOCAL_IMAP_USER = "tada"
#: Where replies go in ``make run`` when TADA_REPLY_TO is not set (notices then carry it).
LOCAL_REPLY_TO = "takedown@tada.invalid"
PYMAP = Path(sys.executable).parent / "pymap"


class LocalMailbox(Scoped):
    """``start()`` pymap on ``host:port`` (a free port when 0), one user; ``stop()``."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, username: str = LOCAL_IMAP_USER, mailbox: str = "INBOX"
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = secrets.token_urlsafe(18)  # a new one each start: only this process's worker knows it
        self.mailbox = mailbox
        self.appended = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not self.port:
            self.port = free_port(self.host)
        ensure_port_free(self.host, self.port, "IMAP mailbox")
        command = [str(PYMAP) if PYMAP.exists() else "pymap", "--host", self.host, "--port", str(self.port)]
        command += ["--no-tls", "dict", "--demo-user", self.username, "--demo-password", self.password]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.host, self.port, timeout=30)
        except TimeoutError:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def settings(self) -> dict[str, Any]:
        """The TADA_IMAP_* values that read this mailbox (as Settings fields)."""
        return {
            "imap_host": self.host,
            "imap_port": self.port,
            "imap_username": self.username,
            "imap_password": SecretStr(self.password),
            "imap_security": "none",  # 127.0.0.1 only
            "imap_mailbox": self.mailbox,
        }

    async def append(self, raw: bytes) -> None:
        """Put one message in (its own connection: the SMTP sink's hook runs in the sink's loop)."""
        client = aioimaplib.IMAP4(host=self.host, port=self.port, timeout=30)
        await client.wait_hello_from_server()
        try:
            if (await client.login(self.username, self.password)).result != "OK":
                raise RuntimeError("the local mailbox refused its own login")
            if (await client.append(raw, mailbox=self.mailbox)).result != "OK":
                raise RuntimeError("the local mailbox refused a message")
            self.appended += 1
        finally:
            await client.logout()


def is_reply_address(reply_to: str, recipient: str) -> bool:
    """``recipient`` is the reply address or one of its plus-tagged forms (the domain in any case)."""
    own_local, _, own_domain = parseaddr(reply_to)[1].rpartition("@")
    local, _, domain = parseaddr(recipient)[1].rpartition("@")
    if not own_local or not local or domain.lower() != own_domain.lower():
        return False
    return local == own_local or local.startswith(own_local + "+")


def replies_into(mailbox: LocalMailbox, reply_to: str) -> Callable[[Mail], Awaitable[None]]:
    """The SMTP sink's hook: a message to the reply address goes into ``mailbox`` (once, whatever
    its number of recipients)."""

    async def hook(mail: Mail) -> None:
        if any(is_reply_address(reply_to, recipient) for recipient in mail.rcpt_tos):
            await mailbox.append(mail.content)

    return hook
