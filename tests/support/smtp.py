"""Real SMTP servers on 127.0.0.1: the kit's sink, which keeps every message it receives,
and a scripted one that refuses (550, 451...) or holds its DATA phase on cue."""

from __future__ import annotations

import asyncio
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tada.kit.ports import free_port
from tada.kit.smtp import SERVER_HOSTNAME, Mail, SmtpSink


class Collector(SmtpSink):
    def __init__(self) -> None:
        super().__init__(collect=True)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collected

    def for_recipient(self, recipient: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == recipient]


def start_smtp_server() -> tuple[Collector, Collector]:
    """(what it received, the server: ``.port``, ``.stop()``)."""
    collector = Collector()
    collector.start()
    return collector, collector


class ScriptedSmtp:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that answers as a test tells it to.

    ``rcpt_reply`` / ``data_reply``: the reply to every RCPT / to the end of DATA instead of
    250 (``"550 5.1.1 <{address}>: no such mailbox"``: ``{address}`` is the recipient, as real
    relays repeat it); ``hold_data``: seconds it waits after the DATA command before its 354,
    a slow relay (a client that hangs up meanwhile has sent no message). It counts the
    connections it took and keeps every message it delivered, each a ``Mail``.
    """

    def __init__(self, *, rcpt_reply: str | None = None, data_reply: str | None = None, hold_data: float = 0.0):
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.hold_data = hold_data
        self.connections = 0
        self.delivered: list[Mail] = []
        #: Set when a client has sent DATA: the moment the server starts holding.
        self.data_started = threading.Event()
        self.port = 0
        self._controller: Controller | None = None

    # aiosmtpd handler hooks (they run on the server's own loop, in its thread)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: N802 (aiosmtpd hook)
        if self.rcpt_reply:
            return self.rcpt_reply.format(address=address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        if self.data_reply:
            return self.data_reply.format(address=", ".join(envelope.rcpt_tos))
        content = envelope.original_content or envelope.content
        self.delivered.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), bytes(content), ""))
        return "250 OK: queued"

    def start(self) -> ScriptedSmtp:
        self.port = free_port("127.0.0.1")
        self._controller = _ScriptedController(
            self, hostname="127.0.0.1", port=self.port, server_hostname=SERVER_HOSTNAME
        )
        self._controller.start()
        self.connections = 0  # aiosmtpd's own check that the server is up is none of the test's
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> ScriptedSmtp:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _ScriptedSession(SMTP):
    def __init__(self, script: ScriptedSmtp, **kwargs) -> None:
        super().__init__(script, **kwargs)
        self._script = script

    def connection_made(self, transport) -> None:
        self._script.connections += 1
        super().connection_made(transport)

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 (aiosmtpd command)
        self._script.data_started.set()
        if self._script.hold_data:
            await asyncio.sleep(self._script.hold_data)  # cancelled by aiosmtpd if the client hangs up
        await super().smtp_DATA(arg)


class _ScriptedController(Controller):
    def factory(self) -> SMTP:
        return _ScriptedSession(self.handler, **self.SMTP_kwargs)
