"""The mailbox replies arrive in, over IMAP4rev1 (aioimaplib): list, fetch within a size cap,
and mark as read by tada. Nothing is ever deleted, moved or expunged.

``open_mailbox(config)`` connects (``security``: "tls", implicit TLS, usually port 993;
"starttls", upgraded on the plain port; "none", local servers and tests only), logs in, SELECTs
the mailbox and yields a ``MailboxSession``: its ``uidvalidity``, ``list_after(uid)`` (UIDs and
RFC822.SIZE of the messages above a UID, no content), ``fetch_many(uids, max_bytes)`` and
``fetch(uid, max_bytes)`` (BODY.PEEK[], so the server's \\Seen is untouched, and a partial fetch:
a server lying about a size still cannot send more than the cap of each) and ``mark(uids)``:
the ``$TadaRead`` keyword where the server keeps keywords (PERMANENTFLAGS has ``\\*``), else ``\\Seen``.

Every failure leaves as ``ImapError``, in tada's words: the host and port, the step, the
exception's type; never the server's reply text, which can repeat the login name.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import aioimaplib
from pydantic import SecretStr

KEYWORD = "$TadaRead"
SEEN = "\\Seen"
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_FROM_DOMAIN = re.compile(rb"@([A-Za-z0-9.-]{1,253})")
_SEARCHED = re.compile(rb"\d+(?: \d+)*")
UIDS_PER_COMMAND = 200
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_EXISTS = re.compile(rb"^(\d+) EXISTS")
_PERMANENTFLAGS = re.compile(rb"\[PERMANENTFLAGS \(([^)]*)\)\]")


class ImapError(Exception):
    """The mailbox could not be read. ``step``: connect, tls, login, select, list, fetch, mark."""

    def __init__(self, where: str, step: str, reason: str) -> None:
        self.where = where
        self.step = step
        self.reason = reason
        super().__init__(f"IMAP {where}: {step} failed: {reason}")


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    username: str
    password: SecretStr
    security: Literal["tls", "starttls", "none"] = "tls"
    mailbox: str = "INBOX"
    timeout: float = 60.0  # one command, a whole fetch included
    ssl_context: ssl.SSLContext | None = None  # None: the system's trust store, hostname checked

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Listed:
    uid: int
    size: int  # RFC822.SIZE, as the server reports it


class MailboxSession:
    """One logged-in connection with the mailbox selected."""

    def __init__(
        self, client: aioimaplib.IMAP4, config: ImapConfig, uidvalidity: int, flag: str, exists: int | None
    ) -> None:
        self._client = client
        self._config = config
        self.uidvalidity = uidvalidity
        self.flag = flag  # what ``mark`` sets
        self.exists = exists  # messages in the mailbox when selected (None: not said)

    async def list_after(self, last_uid: int) -> list[Listed]:
        """The messages above ``last_uid``, lowest first (``n:*`` always names the last message,
        so it is filtered here; an empty mailbox is not asked: some servers refuse "1:*" there)."""
        if self.exists == 0:
            return []
        response = await self._command("list", self._client.uid_search(f"UID {last_uid + 1}:*", charset=None))
        found = sorted({int(n) for line in response.lines if (ids := _searched(line)) for n in ids})
        return await self.sizes([uid for uid in found if uid > last_uid])

    async def sizes(self, uids: list[int]) -> list[Listed]:
        """The listed ones among ``uids`` (a message no longer in the mailbox is left out)."""
        listed: list[Listed] = []
        for uid_set in _uid_sets(uids):
            listed += await self._listing(uid_set)
        return listed

    async def senders(self, uids: list[int]) -> dict[int, str]:
        """The sender's domain of each of ``uids`` (lower case; "" when it cannot be read), from
        at most the first 512 bytes of its From header: to take turns between senders, never kept."""
        found: dict[int, str] = {}
        for uid_set in _uid_sets(uids):
            response = await self._command(
                "list", self._client.uid("fetch", uid_set, "(UID BODY.PEEK[HEADER.FIELDS (FROM)]<0.512>)")
            )
            found.update(_senders(response.lines))
        return found

    async def _listing(self, uid_set: str) -> list[Listed]:
        response = await self._command("list", self._client.uid("fetch", uid_set, "(UID RFC822.SIZE)"))
        found: dict[int, Listed] = {}
        for line in response.lines:
            if not isinstance(line, bytes) or b" FETCH " not in line:
                continue
            uid, size = _UID.search(line), _SIZE.search(line)
            if uid and size:
                found[int(uid.group(1))] = Listed(int(uid.group(1)), int(size.group(1)))
        return [found[uid] for uid in sorted(found)]

    async def fetch(self, uid: int, max_bytes: int) -> bytes | None:
        """The message's bytes, at most ``max_bytes + 1`` of them (more than ``max_bytes``: too
        large); ``None`` when the server has no such message any more."""
        return (await self.fetch_many([uid], max_bytes)).get(uid)

    async def fetch_many(self, uids: list[int], max_bytes: int) -> dict[int, bytes]:
        """The bytes of each of ``uids`` the server still has, at most ``max_bytes + 1`` of each,
        in one command (the caller keeps the batch small: all of it is held at once)."""
        found: dict[int, bytes] = {}
        for uid_set in _uid_sets(uids):
            response = await self._command(
                "fetch", self._client.uid("fetch", uid_set, f"(UID BODY.PEEK[]<0.{max_bytes + 1}>)")
            )
            found.update(_bodies(response.lines))
        wanted = set(uids)
        return {uid: body for uid, body in found.items() if uid in wanted}

    async def mark(self, uids: list[int]) -> None:
        """Mark the messages read by tada (never deleted)."""
        for uid_set in _uid_sets(uids):
            await self._command("mark", self._client.uid("store", uid_set, f"+FLAGS.SILENT ({self.flag})"))

    async def _command(self, step: str, call: Awaitable[aioimaplib.Response]) -> aioimaplib.Response:
        return await _checked(self._config, step, call)


def _uid_sets(uids: list[int]) -> list[str]:
    """``uids`` as UID sets of at most ``UIDS_PER_COMMAND`` each: aioimaplib reads a response's
    lines by recursion, so one command must not answer with a thousand of them."""
    ordered = sorted(set(uids))
    return [",".join(map(str, ordered[i : i + UIDS_PER_COMMAND])) for i in range(0, len(ordered), UIDS_PER_COMMAND)]


def _searched(line: object) -> list[bytes]:
    """The UIDs of a SEARCH answer's line (``SEARCH 101 102``, or ``101 102`` as aioimaplib
    gives it); none for any other line (the tagged "completed" one among them)."""
    if not isinstance(line, bytes):
        return []
    numbers = line.removeprefix(b"SEARCH").strip()
    return numbers.split() if _SEARCHED.fullmatch(numbers) else []


def _bodies(lines: list) -> dict[int, bytes]:
    """Each UID's body from a FETCH answer: a FETCH line, its literal, then the line closing it;
    the UID may be named before the literal or after it (RFC 3501 lets the server order them)."""
    found: dict[int, bytes] = {}
    uid: int | None = None
    body: bytes | None = None
    for line in lines:
        if isinstance(line, bytearray):
            body = bytes(line)
            continue
        if not isinstance(line, bytes):
            continue
        if b" FETCH " in line:
            if uid is not None and body is not None:
                found[uid] = body
            match = _UID.search(line)
            uid = int(match.group(1)) if match else None
            body = b"" if line.rstrip().endswith((b'""', b'"")')) or line.rstrip().endswith(b"{0}") else None
        elif uid is None and (match := _UID.search(line)):
            uid = int(match.group(1))  # named after the literal
    if uid is not None and body is not None:
        found[uid] = body
    return found


def _senders(lines: list) -> dict[int, str]:
    """Each UID's sender domain from a FETCH of From headers: a FETCH line, then its literal."""
    found: dict[int, str] = {}
    uid: int | None = None
    for line in lines:
        if isinstance(line, bytes) and b" FETCH " in line and (match := _UID.search(line)):
            uid = int(match.group(1))
            found[uid] = ""
        elif isinstance(line, bytearray) and uid is not None:
            domain = _FROM_DOMAIN.search(bytes(line))
            found[uid] = domain.group(1).decode("ascii").lower() if domain else ""
            uid = None
    return found


async def _checked(config: ImapConfig, step: str, call: Awaitable[aioimaplib.Response]) -> aioimaplib.Response:
    try:
        response = await asyncio.wait_for(call, config.timeout)
    except (TimeoutError, aioimaplib.CommandTimeout):
        raise ImapError(config.where, step, "no answer in time") from None
    except (OSError, aioimaplib.AioImapException) as error:
        raise ImapError(config.where, step, type(error).__name__) from None
    if response.result != "OK":
        raise ImapError(config.where, step, f"the server answered {response.result}")
    return response


async def _connect(config: ImapConfig) -> aioimaplib.IMAP4:
    if config.security == "tls":
        context = config.ssl_context or ssl.create_default_context()
        client: aioimaplib.IMAP4 = aioimaplib.IMAP4_SSL(
            host=config.host, port=config.port, timeout=config.timeout, ssl_context=context
        )
    else:
        client = aioimaplib.IMAP4(host=config.host, port=config.port, timeout=config.timeout)
    try:
        await client.wait_hello_from_server()
    except ssl.SSLError as error:
        raise ImapError(config.where, "tls", type(error).__name__) from None
    except (TimeoutError, OSError, aioimaplib.AioImapException) as error:
        raise ImapError(config.where, "connect", type(error).__name__ if str(error) else "no answer") from None
    if config.security == "starttls":
        await _starttls(client, config)
    return client


async def _starttls(client: aioimaplib.IMAP4, config: ImapConfig) -> None:
    """aioimaplib has no STARTTLS: the command, then the same connection upgraded (RFC 3501 6.2.1)."""
    protocol = client.protocol
    if "STARTTLS" not in protocol.capabilities:
        raise ImapError(config.where, "tls", "the server offers no STARTTLS")
    command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
    await _checked(config, "tls", protocol.execute(command))
    if protocol.incomplete_line:  # bytes after the OK, before TLS: injected (CVE-2011-0411's kind)
        raise ImapError(config.where, "tls", "the server sent data before TLS began")
    context = config.ssl_context or ssl.create_default_context()
    try:
        transport = await asyncio.wait_for(
            protocol.loop.start_tls(protocol.transport, protocol, context, server_hostname=config.host),
            config.timeout,
        )
    except (TimeoutError, OSError, ConnectionError) as error:  # ssl.SSLError is an OSError
        raise ImapError(config.where, "tls", type(error).__name__) from None
    if transport is None:
        raise ImapError(config.where, "tls", "the connection closed")
    protocol.transport = transport
    await _capabilities(client, config)


async def _capabilities(client: aioimaplib.IMAP4, config: ImapConfig) -> None:
    """Ask again after STARTTLS: what the server said before it is not to be trusted."""
    try:
        await asyncio.wait_for(client.protocol.capability(), config.timeout)
    except (TimeoutError, OSError, aioimaplib.AioImapException) as error:
        raise ImapError(config.where, "tls", type(error).__name__) from None


@asynccontextmanager
async def open_mailbox(config: ImapConfig) -> AsyncIterator[MailboxSession]:
    """Connected, logged in, the mailbox selected; logged out (or dropped) at the end."""
    client = await _connect(config)
    try:
        await _checked(config, "login", client.login(config.username, config.password.get_secret_value()))
        selected = await _checked(config, "select", client.select(config.mailbox))
        uidvalidity, flag, exists = _selected(selected.lines)
        if uidvalidity is None:
            raise ImapError(config.where, "select", "the server gave no UIDVALIDITY")
        yield MailboxSession(client, config, uidvalidity, flag, exists)
    finally:
        await _logout(client)


def _selected(lines: list) -> tuple[int | None, str, int | None]:
    uidvalidity, flag, exists = None, SEEN, None
    for line in lines:
        if not isinstance(line, bytes):
            continue
        if found := _EXISTS.match(line):
            exists = int(found.group(1))
        if found := _UIDVALIDITY.search(line):
            uidvalidity = int(found.group(1))
        if (found := _PERMANENTFLAGS.search(line)) and b"\\*" in found.group(1).split():
            flag = KEYWORD
    return uidvalidity, flag, exists


async def _logout(client: aioimaplib.IMAP4) -> None:
    try:
        await asyncio.wait_for(client.logout(), 5.0)
    except (TimeoutError, OSError, aioimaplib.AioImapException):
        pass
    transport = getattr(client.protocol, "transport", None)
    if transport is not None:
        transport.close()
