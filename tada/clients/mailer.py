"""Sending email through an SMTP relay (aiosmtplib). Locally that relay is the outbox.

Every failure leaves as ``MailFailed``: ``permanent`` when trying again cannot help (the
relay answered 5xx to the recipient or to the message), temporary otherwise (4xx, a
timeout, a lost connection, and refusals of tada's own set-up such as its sender or its
login, which a fix of the configuration cures). Its message names the recipient's domain
and the reply code, never the address, nor the relay's reply text (which often repeats
the address). aiosmtplib's exceptions carry the address, so none of them leaves here.

A cancelled send (the link was withdrawn) closes the connection at once, without QUIT:
a transaction cut before the end of DATA is dropped by the relay. Once the relay has
accepted the message, the send has succeeded, whatever comes after.
"""

from __future__ import annotations

import asyncio
import re
from email.message import EmailMessage
from typing import TYPE_CHECKING

import aiosmtplib
from pydantic import BaseModel, SecretStr

if TYPE_CHECKING:
    from tada.settings import Settings


class SmtpConfig(BaseModel):
    host: str
    port: int
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    timeout: float = 30.0


class MailFailed(Exception):
    """The relay did not take the message. ``code``: the reply code ("550"), or "timeout" /
    "connection" when nothing answered; ``where``: the recipient's domain."""

    def __init__(self, where: str, code: str, reason: str, *, permanent: bool) -> None:
        self.where = where
        self.code = code
        self.reason = reason
        self.permanent = permanent
        super().__init__(f"email to {where}: {reason} ({code})")


#: Enhanced status codes (RFC 3463) whose meaning a caseworker needs, by subject.detail.
_ENHANCED = {
    "1.1": "mailbox does not exist",
    "1.2": "the recipient's domain does not exist",
    "1.3": "the address is not valid",
    "1.10": "the recipient's domain accepts no mail",
    "2.1": "mailbox disabled",
    "2.2": "mailbox full",
    "3.4": "message too big",
    "7.1": "refused by the recipient's policy",
}
_BY_CODE = {
    "421": "the relay is not available now",
    "450": "mailbox busy",
    "451": "the relay had a local error",
    "452": "the relay is out of storage",
    "550": "mailbox unavailable",
    "551": "the recipient is not local to the relay",
    "552": "mailbox full",
    "553": "the mailbox name is not allowed",
    "554": "the relay refused the transaction",
}
_ENHANCED_CODE = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")


def _reason(code: int, reply: str) -> str:
    """A short reason from the reply's codes (the reply's text itself is never used)."""
    enhanced = _ENHANCED_CODE.match(reply or "")
    if enhanced:
        subject_detail = f"{enhanced[2]}.{enhanced[3]}"
        found = _ENHANCED.get(subject_detail) or _BY_CODE.get(str(code), "the relay refused")
        return f"{found}, {enhanced[1]}.{subject_detail}"
    return _BY_CODE.get(str(code), "the relay refused" if code >= 500 else "the relay asked to try later")


def classify(error: BaseException, where: str) -> MailFailed:
    """What a failed send means, as a MailFailed that holds nothing of the address."""
    if isinstance(error, MailFailed):
        return error
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        return _refused(error.recipients[0].code, error.recipients[0].message, where, recipient=True)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        return _refused(error.code, error.message, where, recipient=True)
    if isinstance(error, aiosmtplib.SMTPDataError):
        return _refused(error.code, error.message, where, recipient=False)
    if isinstance(error, aiosmtplib.SMTPSenderRefused):
        return MailFailed(
            where, str(error.code), "the relay refused tada's sender (check TADA_NOTICE_FROM)", permanent=False
        )
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return MailFailed(
            where, str(error.code), "the relay refused tada's login (check the SMTP settings)", permanent=False
        )
    if isinstance(error, aiosmtplib.SMTPTimeoutError | asyncio.TimeoutError | TimeoutError):
        return MailFailed(where, "timeout", "the SMTP relay did not answer in time", permanent=False)
    if isinstance(error, aiosmtplib.SMTPResponseException):  # greeting, EHLO, STARTTLS, RSET...
        return MailFailed(where, str(error.code), "the SMTP relay refused the session", permanent=False)
    if isinstance(error, aiosmtplib.SMTPNotSupported):  # STARTTLS asked for, and the relay has none
        return MailFailed(where, "unsupported", "the SMTP relay lacks what tada is set up to use", permanent=False)
    if isinstance(error, aiosmtplib.SMTPServerDisconnected | aiosmtplib.SMTPConnectError | OSError):
        return MailFailed(where, "connection", "could not talk to the SMTP relay", permanent=False)
    if isinstance(error, ValueError):  # aiosmtplib's own address check: the address can never be sent
        return MailFailed(where, "address", "the address cannot be written in an SMTP envelope", permanent=True)
    return MailFailed(where, "error", f"the SMTP send failed ({type(error).__name__})", permanent=False)


def _refused(code: int, reply: str, where: str, *, recipient: bool) -> MailFailed:
    # RFC 5321 4.5.3.1.10: a 552 to RCPT is to be taken as the temporary 452.
    permanent = code >= 500 and not (recipient and code == 552)
    return MailFailed(where, str(code), _reason(code, reply), permanent=permanent)


class Mailer:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, message: EmailMessage, recipient: str, *, sender: str | None = None) -> None:
        """Send ``message`` to ``recipient`` alone (an address domain.recipients accepted);
        MailFailed if the relay does not take it. ``sender``: the envelope's (where a bounce
        goes), if not the From address."""
        config = self._config
        where = recipient.rpartition("@")[2] or "the address"
        smtp = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password.get_secret_value() if config.password else None,
            start_tls=config.starttls,
            timeout=config.timeout,
        )
        accepted = False
        try:
            await smtp.connect()
            await smtp.send_message(message, sender=sender, recipients=[recipient])
            accepted = True
            await smtp.quit()
        except asyncio.CancelledError:
            if not accepted:  # cut before the relay took it: the connection closes below, no QUIT
                raise
            # Accepted: the cancellation came too late to stop this message, which has gone.
        except Exception as error:  # noqa: BLE001 - whatever failed may hold the address: it leaves as MailFailed
            if not accepted:
                raise classify(error, where) from None  # aiosmtplib's exception holds the address
        finally:
            smtp.close()


def mailer_for(settings: Settings) -> Mailer:
    """The SMTP relay of ``settings`` (TADA_SMTP_*): the one notices and caseworkers' replies go through."""
    return Mailer(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    )
