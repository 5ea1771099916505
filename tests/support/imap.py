"""A real IMAP4rev1 server for the inbox tests: pymap's in-memory backend, as a subprocess on
127.0.0.1, and a small aioimaplib client to put messages in (APPEND) and look at them."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import ssl
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


def start_pymap(port: int = 0) -> ImapServer:
    port = port or free_port()
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


# -- TLS: a certificate of its own, pymap with STARTTLS, a proxy for implicit TLS ------------


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), valid for a day; the certificate is its own CA."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "imap-cert.pem", directory / "imap-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def start_pymap_starttls(cert: Path, key: Path) -> ImapServer:
    """pymap offering STARTTLS with ``cert`` on its plain port."""
    port = free_port()
    process = subprocess.Popen(
        [str(PYMAP), "--host", "127.0.0.1", "--port", str(port), "--cert", str(cert), "--key", str(key), "dict"]
        + ["--demo-user", USER, "--demo-password", PASSWORD],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port("127.0.0.1", port, timeout=30)
    return ImapServer(port, process)


async def tls_front(plain_port: int, cert: Path, key: Path) -> asyncio.Server:
    """Implicit TLS (as on port 993) in front of a plain IMAP port: bytes relayed both ways."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", plain_port)
        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))

    return await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
