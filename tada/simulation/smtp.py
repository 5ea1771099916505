"""The simulation's SMTP server (the kit's sink on 127.0.0.1): takes every notice, relays
nothing, and lets the site (or its host) react to the links the notice lists; the answers the
platform sends back by email (tada/simulation/replies.py) are queued in ``outbox`` for the
rehearsal's mailbox. A notice to a dead mailbox reaches nobody: it only comes back, bounced."""

from __future__ import annotations

import queue
import re
from dataclasses import dataclass

from tada.kit.smtp import Mail, SmtpSink
from tada.simulation.behaviour import Behaviour
from tada.simulation.replies import DEAD_MAILBOXES, ReplyMix, notice_of
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

    def __init__(
        self, world: World, mix: ReplyMix | None = None, behaviour: dict[str, Behaviour] | None = None
    ) -> None:
        super().__init__(
            on_mail=self._arrived,
            reply="250 OK: received by the simulation, relayed nowhere",
            server_hostname=SERVER_HOSTNAME,
        )
        self.world = world
        self.mail: list[ReceivedMail] = []
        self.mix = mix
        self.behaviour = behaviour or {}
        self.outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()  # raw answers for the mailbox

    def _arrived(self, mail: Mail) -> None:
        urls = list(dict.fromkeys(URL_PATTERN.findall(mail.text)))
        kind = mail.header("X-Tada-Notice-Kind", "initial")
        dead = any(rcpt.casefold() in DEAD_MAILBOXES for rcpt in mail.rcpt_tos)
        decisions: list = []
        if not dead:
            self.world.notice(kind, urls, decisions if self.mix is not None else None)
        if self.mix is not None:
            notice = notice_of(mail.message, mail.rcpt_tos[0] if mail.rcpt_tos else "", mail.mail_from)
            if notice is not None:
                link = next((self.world.links[url] for url in urls if url in self.world.links), None)
                behaviour = self.behaviour.get(link.site.category) if link is not None else None
                for raw in self.mix.answers(notice, behaviour, decisions):
                    self.outbox.put(raw)
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
