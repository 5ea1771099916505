"""Sending email through an SMTP relay (aiosmtplib). Locally that relay is the outbox."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
from pydantic import BaseModel, SecretStr


class SmtpConfig(BaseModel):
    host: str
    port: int
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    timeout: float = 30.0


class Mailer:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, message: EmailMessage) -> None:
        config = self._config
        await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            start_tls=config.starttls,
            timeout=config.timeout,
        )
