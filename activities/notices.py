"""Sending notices: email through SMTP or a platform's web form.

Each notice is recorded under its unique key before it is sent and marked sent
afterwards, so a retried activity never sends a notice that already went out.

Every send ends in an outcome the workflow can record (tada/domain/delivery.py):
- an address that can never work (domain.recipients) fails at once, before anything
  is recorded or sent, and a refusal that trying again cannot cure (SMTP 5xx, a form's
  4xx) fails the same way: a non-retryable ``PERMANENT_FAILURE`` with a DeliveryFailure;
- anything else (SMTP 4xx, timeouts, lost connections, a form's 5xx or 429) is a
  retryable ``TEMPORARY_FAILURE``; its message names the code and the domain or host.
No message that leaves here holds the recipient's address or a URL.

The activity heartbeats for the whole time it works (activities/heartbeat.py), so a
withdrawal cancels it at once: a send still in progress is cut (the SMTP connection
closed before the end of DATA is acknowledged, the form POST abandoned) and nothing is
marked sent. A notice the relay or the form had already taken is marked sent whatever
happens next, and the activity then completes with its receipt: it went out.
A form is never posted twice: once it answered, the heartbeat says so before anything
else can fail, and a retried activity marks the batch sent instead of posting again
(email needs no such care: its deterministic Message-ID makes a resend recognisable).

Replies find their email (issue 15): before an email is sent it is recorded under a reply
token (tada/app/reply_messages.py) with the links it lists, in the order it lists them. The
token ends the subject (``[TD-<token>]``) and, with TADA_REPLY_TO, is the plus-tag of the
email's Reply-To (``takedown+<token>@org.example``); tada/app/reply_matching.py reads it back.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import asyncpg
import httpx
import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from tada.activities.delivery_delays import DelayedDeliveries
from tada.activities.heartbeat import Beat, beating, previous_details
from tada.adapters.data_crypto import DataCrypto
from tada.app.reply_messages import record_message, reply_tag_key
from tada.clients.forms import FormFailed, fill_fields, submit_form
from tada.clients.mailer import Mailer, MailFailed
from tada.clients.rate_limit import RecipientRateLimit
from tada.domain.delivery import INCOMPLETE_NOTICE, PERMANENT_FAILURE, DeliveryFailure
from tada.domain.laws import COPYRIGHT_ELEMENTS, CaseElements, Law, cite, clock_law, missing_elements, refusal
from tada.domain.mail_thread import thread_headers
from tada.domain.models import NoticeBatch, NoticeReceipt, NoticeRequest
from tada.domain.notices import NoticeContext, render_notice
from tada.domain.recipients import BadRecipient, check_recipient
from tada.domain.registry import Registry
from tada.domain.reply_tags import reply_address, reply_mailbox, tagged_subject
from tada.domain.states import Channel
from tada.errors import Misconfigured
from tada.workflows.activity_contracts import CHECK_NOTICE, SEND_NOTICE_BATCH, Notices

log = structlog.get_logger(__name__)

#: How long a sent batch waits for the database to mark it sent (inside NOTICE's 2-minute timeout).
MARK_SENT_PATIENCE = 90.0
#: ``ApplicationError.type`` of a send that failed for now and is tried again.
TEMPORARY_FAILURE = "DeliveryFailedTemporarily"
#: What a heartbeat says once the relay or the form has taken the batch: the batch's keys.
HANDED_OVER = "handed_over"


class NotifierIdentity(BaseModel):
    """Who the notices come from: the organisation, never the victim."""

    notice_from: str
    notifier_name: str
    notifier_title: str = "Authorised representative"
    allow_private_targets: bool = False

    @property
    def email(self) -> str:
        return parseaddr(self.notice_from)[1]


def message_id_for(notice_key: str, sender_email: str) -> str:
    """Deterministic, so a resent notice is recognisably the same message."""
    digest = hashlib.sha256(notice_key.encode()).hexdigest()[:32]
    domain = sender_email.rpartition("@")[2] or "tada.invalid"
    return f"<{digest}@{domain}>"


class NoticeActivities(Notices):
    def __init__(
        self,
        pool: asyncpg.Pool,
        mailer: Mailer,
        http: httpx.AsyncClient,
        identity: NotifierIdentity,
        rate_limit: RecipientRateLimit,
        crypto: DataCrypto,
        *,
        delays: DelayedDeliveries | None = None,
        reply_to: str | None = None,
        registry: Registry | None = None,
    ) -> None:
        self._crypto = crypto  # the case reference is sealed at rest
        #: The laws' words and elements, by id (a notice request names the laws it cites).
        self._registry = registry
        #: TADA_REPLY_TO: the organisation's reply address, each email's Reply-To with its token.
        self._reply_to = reply_to
        if reply_to:
            try:
                reply_mailbox(reply_to)
            except ValueError:  # the message names the setting, never the address
                raise Misconfigured("TADA_REPLY_TO: an address needs a local part and a domain") from None
        #: Reply tokens need the data key; without one (never in the worker) emails carry none.
        self._tag_key = reply_tag_key(crypto) if crypto.configured else None
        #: A notice failing for a temporary reason for long is recorded as delayed (activities/delivery_delays.py).
        self._delays = delays or DelayedDeliveries(pool)
        self._pool = pool
        self._rate_limit = rate_limit
        self._mailer = mailer
        self._http = http
        self._identity = identity

    @activity.defn(name=SEND_NOTICE_BATCH)
    async def send_batch(self, batch: NoticeBatch) -> NoticeReceipt:
        """Send one notice listing every link of the batch (same case, recipient and kind)."""
        async with beating() as beat:
            return await self._send_batch(batch, beat)

    @activity.defn(name=CHECK_NOTICE)
    async def check_notice(self, notice: NoticeRequest) -> str | None:
        """For a notice a caseworker files by hand: why it cannot be filed yet (a law it cites, or
        the copyright route, needs what the case lacks), or None. The same check as a send's."""
        case = await self._pool.fetchrow(
            "SELECT authorised_on, jurisdiction FROM cases WHERE case_id = $1", notice.case_id
        )
        try:
            self._check_elements(notice, self._laws_cited(notice, case["jurisdiction"]), case["authorised_on"])
        except ApplicationError as refused:
            return str(refused.message)
        return None

    async def _send_batch(self, batch: NoticeBatch, beat: Beat) -> NoticeReceipt:
        first = batch.items[0]
        keys = sorted(n.notice_key for n in batch.items)
        message_id = message_id_for("+".join(keys), self._identity.email)
        receipt = NoticeReceipt(
            notice_key=first.notice_key,
            sent_now=False,
            channel=first.channel,
            recipient=first.recipient,
            message_id=message_id,
        )
        address = _checked_address(first)  # before anything is recorded or sent
        case = await self._pool.fetchrow(
            "SELECT authorised_on, jurisdiction FROM cases WHERE case_id = $1", first.case_id
        )
        laws = self._laws_cited(first, case["jurisdiction"] if case else None)
        self._check_elements(first, laws, case["authorised_on"] if case else None)  # before anything is recorded
        async with self._pool.acquire() as conn, conn.transaction():
            statuses = [await self._claim(conn, n, message_id) for n in batch.items]
        if "sent" in statuses:  # a batch is marked sent as a whole: this is a retry
            log.info("notice_already_sent", link_id=first.link_id, kind=first.kind, batch_size=len(keys))
            return receipt
        if _handed_over_by_earlier_attempt(keys):  # taken, but its attempt ended before marking it sent
            beat.now({HANDED_OVER: keys})  # said again, for the next attempt should this one fail too
            await self._mark_sent_surely(keys)
            log.info("notice_already_sent", link_id=first.link_id, kind=first.kind, batch_size=len(keys))
            return receipt
        links = await self._pool.fetch(
            "SELECT l.link_id, l.url, l.host, l.state, c.reference, c.jurisdiction "
            "FROM links l JOIN cases c USING (case_id) "
            "WHERE l.link_id = ANY($1::text[]) ORDER BY l.added_at, l.link_id",
            [n.link_id for n in batch.items],
        )
        listed = [row for row in links if row["state"] != "WITHDRAWN"]  # withdrawn meanwhile: left out
        if listed:
            recipient = first.recipient or first.form_url or ""
            await self._rate_limit.wait_turn(recipient)
            earlier = await self._earlier_notices(first.case_id, recipient)
            cited = cite(laws, first.language)
            clock = clock_law(laws)
            context = NoticeContext(
                kind=first.kind,
                platform=first.platform,
                urls=[row["url"] for row in listed],
                case_reference=await self._crypto.open(self._pool, first.case_id, "reference", listed[0]["reference"])
                or first.case_id,
                notifier_name=self._identity.notifier_name,
                notifier_email=self._identity.email,
                language=first.language,
                follow_up_number=first.follow_up_number,
                previous_removal_at=first.previous_removal_at,
                jurisdiction=listed[0]["jurisdiction"],
                first_notice_at=earlier[0]["sent_at"] if earlier else None,
                notifier_title=self._identity.notifier_title,
                laws=cited,
                clock=next((law for law in cited if clock and law.id == clock.id), None),
                missed=next((law for law in cited if law.id == first.missed_law), None),
                missed_request_at=first.missed_request_at,
                earlier_notices=await self._earlier_days([row["link_id"] for row in listed], recipient),
                route=first.route,
                authorised_on=case["authorised_on"] if case else None,
            )
            sending: Coroutine[object, object, None]
            if first.channel == Channel.EMAIL:
                token = await self._record_message(batch, message_id, listed)
                thread = thread_headers(
                    earlier[0]["message_id"] if earlier else None, [row["message_id"] for row in earlier]
                )
                sending = self._send_email(
                    first.model_copy(update={"recipient": address}),
                    context,
                    message_id,
                    in_reply_to=thread.get("In-Reply-To"),
                    references=thread.get("References"),
                    reply_token=token,
                )
            else:
                sending = self._submit_form(first, context)
            try:
                await self._hand_over(sending, first.channel, keys, beat)
            except ApplicationError as error:
                if error.type == TEMPORARY_FAILURE and error.details:
                    await self._delays.note(batch, DeliveryFailure.model_validate(error.details[0]))
                raise
        await self._mark_sent_surely(keys)
        log.info(
            "notice_sent",
            link_ids=[row["link_id"] for row in listed],
            kind=first.kind,
            channel=first.channel,
            host=links[0]["host"] if links else None,
        )
        return receipt.model_copy(update={"sent_now": bool(listed)})

    async def _record_message(self, batch: NoticeBatch, message_id: str, listed: list) -> str | None:
        """The email's reply token, recorded with the notices of the links it lists, as listed."""
        if self._tag_key is None:
            return None
        keys = {n.link_id: n.notice_key for n in batch.items}
        return await record_message(
            self._pool,
            self._tag_key,
            message_id=message_id,
            case_id=batch.items[0].case_id,
            listed=[(keys[row["link_id"]], row["link_id"]) for row in listed],
        )

    async def _hand_over(
        self, sending: Coroutine[object, object, None], channel: Channel, keys: list[str], beat: Beat
    ) -> None:
        """Run the send as a task of its own, so a cancellation of the activity is a decision:
        cut the send if it is still going on (and raise the cancellation), or, if the relay or
        the form had already taken it, let the caller mark it sent. Once taken, the heartbeat
        says so at once: a retry must not post a form again."""
        send = asyncio.ensure_future(sending)
        try:
            await asyncio.shield(send)
        except asyncio.CancelledError:
            send.cancel()  # closes the SMTP connection before the end of DATA is acknowledged
            await asyncio.wait([send])
            if send.cancelled() or send.exception() is not None:
                log.info("notice_send_cancelled", channel=channel, batch_size=len(keys))
                raise
            log.info("notice_taken_before_cancel", channel=channel, batch_size=len(keys))
        except (MailFailed, FormFailed) as failed:
            raise _delivery_error(channel, failed) from None
        beat.now({HANDED_OVER: keys})

    async def _mark_sent_surely(self, keys: list[str]) -> None:
        """Mark the batch sent, to the end even if the activity is cancelled meanwhile: it went
        out, and the record must say so. The cancellation is then not raised: the activity
        completes with its receipt, which is what happened."""
        mark = asyncio.ensure_future(self._mark_sent(keys))
        while not mark.done():
            try:
                await asyncio.wait([mark])
            except asyncio.CancelledError:
                log.info("notice_mark_sent_despite_cancel", batch_size=len(keys))
        mark.result()

    async def _mark_sent(self, keys: list[str], patience: float = MARK_SENT_PATIENCE) -> None:
        """Mark the batch sent. The notice has gone out: failing now would make the retry send
        it again, so a database outage is waited out here rather than raised (and should it
        last longer, the heartbeat tells the retry that the notice went out)."""
        delay, waited = 0.5, 0.0
        while True:
            try:
                await self._pool.execute(
                    """
                    WITH marked AS (
                        UPDATE notices SET status = 'sent', sent_at = now() WHERE notice_key = ANY($1::text[])
                        RETURNING message_id
                    )
                    UPDATE notice_messages SET sent_at = now()
                     WHERE sent_at IS NULL AND message_id IN (SELECT message_id FROM marked)
                    """,
                    keys,
                )
                return
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError):
                if waited >= patience:
                    raise
                log.warning("notice_mark_sent_retry", keys=len(keys), waited=round(waited, 1))
                await asyncio.sleep(delay)  # send_batch heartbeats meanwhile
                waited += delay
                delay = min(delay * 2, 5.0)

    def _laws_cited(self, request: NoticeRequest, jurisdiction: str | None) -> list[Law]:
        """The laws the request names; for a link started before laws were in the registry (None),
        those of the case's place that bind every platform (its notices cited them before)."""
        if request.laws == []:
            return []
        if self._registry is None:
            if request.laws is None:
                return []
            raise Misconfigured("the notice activity needs the platform registry to cite a law")
        if request.laws is None:
            return self._registry.case_laws(jurisdiction)
        laws = self._registry.laws_of(request.laws)
        if len(laws) < len(set(request.laws)):  # the registry changed since the link started
            log.warning("notice_law_not_in_registry", link_id=request.link_id, laws=len(request.laws) - len(laws))
        return laws

    def _check_elements(self, request: NoticeRequest, laws: list[Law], authorised_on) -> None:
        """Refuse, before anything is recorded or sent, a notice citing a law (or taking the
        copyright route) whose elements the case cannot supply: the reason names each one."""
        supplied = CaseElements(
            authorised_on=authorised_on, notifier_name=self._identity.notifier_name,
            notifier_title=self._identity.notifier_title, notifier_email=self._identity.email,
        )  # fmt: skip
        needs = [(law.name, law.elements) for law in laws]
        if request.route == "copyright":
            needs.append(("17 U.S.C. § 512(c)(3) (copyright)", list(COPYRIGHT_ELEMENTS)))
        for what, elements in needs:
            missing = missing_elements(elements, supplied)
            if missing:
                reason = refusal(what, missing)
                log.warning("notice_incomplete", link_id=request.link_id, missing=[m.value for m in missing])
                failure = DeliveryFailure(
                    channel=request.channel, code=INCOMPLETE_NOTICE, where="the case", reason=reason
                )
                raise _permanent(failure, reason)

    async def _earlier_days(self, link_ids: list[str], recipient: str) -> list:
        """When each earlier notice about these links went to this recipient, oldest first."""
        rows = await self._pool.fetch(
            """
            SELECT min(sent_at) AS sent_at FROM notices
             WHERE link_id = ANY($1::text[]) AND recipient = $2 AND status = 'sent'
             GROUP BY message_id ORDER BY min(sent_at)
            """,
            link_ids,
            recipient,
        )
        return [row["sent_at"] for row in rows]

    async def _earlier_notices(self, case_id: str, recipient: str) -> list:
        """This case's notices already sent to this recipient, oldest first: follow-ups thread onto them."""
        return await self._pool.fetch(
            """
            SELECT message_id, min(sent_at) AS sent_at FROM notices
             WHERE case_id = $1 AND recipient = $2 AND status = 'sent'
             GROUP BY message_id ORDER BY min(sent_at)
            """,
            case_id,
            recipient,
        )

    @staticmethod
    async def _claim(conn: asyncpg.Connection, request: NoticeRequest, message_id: str) -> str:
        """Record the notice before sending it; returns its status ('pending' or 'sent')."""
        return await conn.fetchval(
            """
            INSERT INTO notices (notice_key, link_id, case_id, cycle, kind, channel, recipient, message_id, attempts)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)
            ON CONFLICT (notice_key) DO UPDATE
               SET attempts = notices.attempts + 1,
                   -- a batch sent again without a withdrawn notice is another message: its own id
                   message_id = CASE WHEN notices.status = 'sent' THEN notices.message_id ELSE EXCLUDED.message_id END
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

    async def _send_email(
        self,
        request: NoticeRequest,
        context: NoticeContext,
        message_id: str,
        in_reply_to: str | None = None,
        references: str | None = None,
        reply_token: str | None = None,
    ) -> None:
        """Plain text with an HTML alternative; follow-ups thread onto the first notice
        through ``in_reply_to``/``references`` (see ``domain.notices.thread_headers``).
        ``reply_token`` ends the subject and, with a reply address, tags its Reply-To."""
        if not request.recipient:
            raise ValueError("an email notice needs a recipient")
        rendered = render_notice(context)
        message = EmailMessage()
        message["From"] = self._identity.notice_from
        message["To"] = Address(addr_spec=request.recipient)
        message["Subject"] = tagged_subject(rendered.subject, reply_token) if reply_token else rendered.subject
        bounces_to = None
        if self._reply_to:
            name, address = parseaddr(self._reply_to)
            tagged = reply_address(address, reply_token) if reply_token else address
            message["Reply-To"] = Address(display_name=name, addr_spec=tagged)
            bounces_to = tagged  # the envelope's sender too: a bounce comes back, tagged, to the inbox
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
        if references:
            message["References"] = references
        message["X-Tada-Notice-Kind"] = request.kind.value
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        await self._mailer.send(message, request.recipient, sender=bounces_to)

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
        await submit_form(self._http, request.form_url, fields, allow_private=self._identity.allow_private_targets)


def _checked_address(request: NoticeRequest) -> str | None:
    """The email notice's address, checked; an address that can never work is a permanent
    failure now, before anything is recorded or sent. None for a form."""
    if request.channel == Channel.FORM:
        if not request.form_url:
            raise _permanent(
                DeliveryFailure(channel=request.channel, code="form", where="the form", reason="no form address")
            )
        return None
    if request.channel != Channel.EMAIL:
        raise ValueError(f"channel {request.channel} is not sent by an activity")
    try:
        return check_recipient(request.recipient)
    except BadRecipient as refused:
        failure = DeliveryFailure(channel=request.channel, code="address", where=refused.where, reason=refused.reason)
        raise _permanent(failure, str(refused)) from None


def _handed_over_by_earlier_attempt(keys: list[str]) -> bool:
    details = previous_details()
    return isinstance(details, dict) and sorted(details.get(HANDED_OVER) or []) == keys


def _delivery_error(channel: Channel, failed: MailFailed | FormFailed) -> ApplicationError:
    failure = DeliveryFailure(channel=channel, code=failed.code, where=failed.where, reason=failed.reason)
    log.warning(
        "notice_delivery_failed",
        channel=channel,
        code=failed.code,
        where=failed.where,
        permanent=failed.permanent,
    )
    if failed.permanent:
        return _permanent(failure, str(failed))
    retry_after = getattr(failed, "retry_after", None)
    return ApplicationError(
        str(failed),
        failure.model_dump(mode="json"),
        type=TEMPORARY_FAILURE,
        next_retry_delay=timedelta(seconds=retry_after) if retry_after else None,
    )


def _permanent(failure: DeliveryFailure, message: str | None = None) -> ApplicationError:
    return ApplicationError(
        message or f"{failure.where}: {failure.reason}",
        failure.model_dump(mode="json"),
        type=PERMANENT_FAILURE,
        non_retryable=True,
    )
