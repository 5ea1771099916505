"""A real SMTP server on 127.0.0.1 (the kit's sink) that keeps every message it receives."""

from __future__ import annotations

from email.message import EmailMessage

from tada.kit.smtp import SmtpSink


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
