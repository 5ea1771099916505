"""Sending notices: email through SMTP or a platform's web form.

Each notice is recorded under its unique key before it is sent and marked sent
afterwards, so a retried activity never sends a notice that already went out.
"""

from __future__ import annotations

import hashlib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import asyncpg
import httpx
import structlog
from pydantic import BaseModel
from temporalio import activity

from activities.forms import fill_fields, submit_form
from activities.mailer import Mailer
from domain.models import NoticeReceipt, NoticeRequest
from domain.notices import NoticeContext, render_notice
from domain.states import Channel

log = structlog.get_logger(__name__)


class NotifierIdentity(BaseModel):
    """Who the notices come from: the organisation, never the victim."""

    notice_from: str
    notifier_name: str
    allow_private_targets: bool = False

    @property
    def email(self) -> str:
        return parseaddr(self.notice_from)[1]


def message_id_for(notice_key: str, sender_email: str) -> str:
    """Deterministic, so a resent notice is recognisably the same message."""
    digest = hashlib.sha256(notice_key.encode()).hexdigest()[:32]
    domain = sender_email.rpartition("@")[2] or "tada.invalid"
    return f"<{digest}@{domain}>"


class NoticeActivities:
    def __init__(
        self, pool: asyncpg.Pool, mailer: Mailer, http: httpx.AsyncClient, identity: NotifierIdentity
    ) -> None:
        self._pool = pool
        self._mailer = mailer
        self._http = http
        self._identity = identity

    @activity.defn(name="send_notice")
    async def send(self, request: NoticeRequest) -> NoticeReceipt:
        message_id = message_id_for(request.notice_key, self._identity.email)
        status = await self._claim(request, message_id)
        receipt = NoticeReceipt(
            notice_key=request.notice_key,
            sent_now=False,
            channel=request.channel,
            recipient=request.recipient,
            message_id=message_id,
        )
        if status == "sent":
            log.info("notice_already_sent", link_id=request.link_id, kind=request.kind)
            return receipt
        link = await self._pool.fetchrow(
            "SELECT l.url, l.host, c.reference FROM links l JOIN cases c USING (case_id) WHERE l.link_id = $1",
            request.link_id,
        )
        context = NoticeContext(
            kind=request.kind,
            platform=request.platform,
            urls=[link["url"]],
            case_reference=link["reference"] or request.case_id,
            notifier_name=self._identity.notifier_name,
            notifier_email=self._identity.email,
            language=request.language,
            follow_up_number=request.follow_up_number,
            previous_removal_at=request.previous_removal_at,
        )
        if request.channel == Channel.EMAIL:
            await self._send_email(request, context, message_id)
        elif request.channel == Channel.FORM:
            await self._submit_form(request, context)
        else:
            raise ValueError(f"channel {request.channel} is not sent by an activity")
        await self._pool.execute(
            "UPDATE notices SET status = 'sent', sent_at = now() WHERE notice_key = $1", request.notice_key
        )
        log.info(
            "notice_sent", link_id=request.link_id, kind=request.kind, channel=request.channel, host=link["host"]
        )
        return receipt.model_copy(update={"sent_now": True})

    async def _claim(self, request: NoticeRequest, message_id: str) -> str:
        """Record the notice before sending it; returns its status ('pending' or 'sent')."""
        return await self._pool.fetchval(
            """
            INSERT INTO notices (notice_key, link_id, case_id, cycle, kind, channel, recipient, message_id, attempts)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
            ON CONFLICT (notice_key) DO UPDATE SET attempts = notices.attempts + 1
            RETURNING status
            """,
            request.notice_key,
            request.link_id,
            request.case_id,
            request.cycle,
            request.kind.value,
            request.channel.value,
            request.recipient or request.form_url,
            message_id,
        )

    async def _send_email(self, request: NoticeRequest, context: NoticeContext, message_id: str) -> None:
        if not request.recipient:
            raise ValueError("an email notice needs a recipient")
        rendered = render_notice(context)
        message = EmailMessage()
        message["From"] = self._identity.notice_from
        message["To"] = Address(addr_spec=request.recipient)
        message["Subject"] = rendered.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id
        message["X-Tada-Notice-Kind"] = request.kind.value
        message.set_content(rendered.text)
        await self._mailer.send(message)

    async def _submit_form(self, request: NoticeRequest, context: NoticeContext) -> None:
        if not request.form_url:
            raise ValueError("a form notice needs a form_url")
        rendered = render_notice(context)
        values = {
            "url": context.urls[0],
            "urls": "\n".join(context.urls),
            "case_reference": context.case_reference,
            "notifier_name": context.notifier_name,
            "notifier_email": context.notifier_email,
        }
        fields = fill_fields(request.form_fields, values) if request.form_fields else {"message": rendered.text}
        await submit_form(
            self._http, request.form_url, fields, allow_private=self._identity.allow_private_targets
        )
