"""The simulation's SMTP server (the kit's sink on 127.0.0.1): takes every notice, relays
nothing, and lets the site (or its host) react to the links the notice lists."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tada.kit.smtp import Mail, SmtpSink
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


class SimulatedMailServer(SmtpSink):
    """``start()`` on 127.0.0.1 and a free port; ``mail`` lists every message."""

    def __init__(self, world: World) -> None:
        super().__init__(
            on_mail=self._arrived,
            reply="250 OK: received by the simulation, relayed nowhere",
            server_hostname=SERVER_HOSTNAME,
        )
        self.world = world
        self.mail: list[ReceivedMail] = []

    def _arrived(self, mail: Mail) -> None:
        urls = list(dict.fromkeys(URL_PATTERN.findall(mail.text)))
        kind = mail.header("X-Tada-Notice-Kind", "initial")
        self.world.notice(kind, urls)
        self.mail.append(
            ReceivedMail(
                peer=mail.peer,
                mail_from=mail.mail_from,
                rcpt_tos=mail.rcpt_tos,
                kind=kind,
                message_id=mail.header("Message-ID"),
                links=len(urls),
            )
        )
