"""A real IMAP4rev1 server for the inbox tests: pymap's in-memory backend, as a subprocess on
127.0.0.1, and a small aioimaplib client to put messages in (APPEND) and look at them."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioimaplib
from pydantic import SecretStr

from tada.clients.imap_mailbox import ImapConfig
from tada.kit.ports import free_port, wait_for_port

PYMAP = Path(sys.executable).parent / "pymap"
USER, PASSWORD = "takedown@org.example", "reader-secret"


@dataclass
class ImapServer:
    port: int
    process: subprocess.Popen

    def config(self, **overrides: object) -> ImapConfig:
        values: dict = {
            "host": "127.0.0.1",
            "port": self.port,
            "username": USER,
            "password": SecretStr(PASSWORD),
            "security": "none",
            "timeout": 30.0,
        }
        return ImapConfig(**{**values, **overrides})

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_pymap() -> ImapServer:
    port = free_port()
    process = subprocess.Popen(
        [str(PYMAP), "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict"]
        + ["--demo-user", USER, "--demo-password", PASSWORD],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
    except TimeoutError:
        process.kill()
        raise
    return ImapServer(port, process)


class Postbox:
    """A second client of the same mailbox: what a sender (APPEND) and a person looking would do."""

    def __init__(self, server: ImapServer, mailbox: str = "INBOX") -> None:
        self.server = server
        self.mailbox = mailbox
        self.client: aioimaplib.IMAP4 | None = None

    async def __aenter__(self) -> Postbox:
        self.client = aioimaplib.IMAP4(host="127.0.0.1", port=self.server.port, timeout=30)
        await self.client.wait_hello_from_server()
        assert (await self.client.login(USER, PASSWORD)).result == "OK"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.client is not None
        await self.client.logout()

    def message(self, number: int, **options: Any) -> bytes:
        """``message`` for this mailbox (tagged with its name)."""
        return message(number, tag=self.mailbox, **options)

    def id(self, number: int) -> str:
        return reply_id(number, self.mailbox)

    async def create(self, mailbox: str) -> None:
        assert self.client is not None
        assert (await self.client.create(mailbox)).result == "OK"

    async def append(self, raw: bytes) -> int:
        """Put a message in; its UID."""
        assert self.client is not None
        response = await self.client.append(raw, mailbox=self.mailbox)
        assert response.result == "OK", response
        found = re.search(rb"APPENDUID \d+ (\d+)", b" ".join(bytes(line) for line in response.lines))
        assert found, response
        return int(found.group(1))

    async def flags(self) -> dict[int, set[str]]:
        """Every message's flags, by UID."""
        assert self.client is not None
        assert (await self.client.select(self.mailbox)).result == "OK"
        response = await self.client.uid("fetch", "1:*", "(UID FLAGS)")
        found: dict[int, set[str]] = {}
        for line in response.lines:
            if isinstance(line, bytes) and (match := re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", line)):
                found[int(match.group(1))] = set(match.group(2).decode().split())
        return found


def message(
    number: int, *, tag: str = "", message_id: str | None = None, body: str = "Thank you, removed.", to: str = ""
) -> bytes:
    """A small reply, with its own Message-ID unless given one (``""``: none). ``tag`` (a test's
    mailbox) goes into the Message-ID and the subject: one test's messages are no other's duplicates."""
    if message_id is None:
        message_id = reply_id(number, tag)
    lines = [
        "From: Abuse Desk <abuse@platform.example>",
        f"To: {to or 'takedown+TAG@org.example'}",
        f"Subject: Re: notice {number} {tag}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


def reply_id(number: int, tag: str = "") -> str:
    return f"<reply-{number}.{tag}@platform.example>"
