"""The simulation's SMTP server (aiosmtpd on 127.0.0.1): takes every notice, relays
nothing, and lets the site (or its host) react to the links the notice lists."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller

from tada.kit.ports import free_port
from tada.simulation.world import World

#: The simulated pages' addresses as notices list them.
URL_PATTERN = re.compile(r"http://127\.0\.0\.\d{1,3}:\d{1,5}/[^\s<>\"')\]]+")
SERVER_HOSTNAME = "smtp.simulation.tada.test"


@dataclass
class ReceivedMail:
    peer: str  # the address the message came from
    mail_from: str
    rcpt_tos: list[str]
    kind: str
    message_id: str
    links: int


@dataclass
class MailHandler:
    world: World
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        message = message_from_bytes(content, policy=policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        urls = list(dict.fromkeys(URL_PATTERN.findall(text)))
        kind = str(message.get("X-Tada-Notice-Kind", "initial"))
        self.world.notice(kind, urls)
        self.received.append(
            ReceivedMail(
                peer=str(session.peer[0]) if session.peer else "",
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                kind=kind,
                message_id=str(message.get("Message-ID", "")),
                links=len(urls),
            )
        )
        return "250 OK: received by the simulation, relayed nowhere"


class SimulatedMailServer:
    """``start()`` on 127.0.0.1 and a free port; ``received`` lists every message."""

    host = "127.0.0.1"

    def __init__(self, world: World) -> None:
        self.handler = MailHandler(world)
        self.port = 0
        self._controller: Controller | None = None

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    def start(self) -> None:
        self.port = free_port(self.host)
        self._controller = Controller(
            self.handler, hostname=self.host, port=self.port, server_hostname=SERVER_HOSTNAME, ready_timeout=10.0
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
