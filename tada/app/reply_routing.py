"""A platform's reply, from the inbox to the links it answers: matched, classified, recorded, told.

``ReplyRouter`` is the inbox reader's ``on_message`` (tada/app/inbox.py). For each message:

1. the notice email it answers (tada/app/reply_matching.py: its Reply-To tag, In-Reply-To,
   References, the subject's tag); none: the holding pen (tada/app/inbox_pen.py: the guesses
   kept for a caseworker, ``unmatched``; one strong guess gives it to its link, ``auto``);
2. what it says (tada/domain/reply_classes.py: bounce, auto-reply, phrases), the lines of any
   notice tada sends cut from its words (tada/domain/notice_wording.py);
3. one ``link_replies`` row for every link the email listed, or for those the reply names
   when it names some ("the first two are removed", "links 1 and 3", a quoted address:
   tada/domain/reply_positions.py): the classification, how it was
   matched, the sender's domain, the attachments' types and sizes (never their names or
   bytes), and a short excerpt of the platform's own words, sealed with the case's key;
4. each link's workflow is told, by the ``reply_received`` signal, the classification only
   (``PlatformReply``: never the words, the subject or the sender). A bounce names the one
   recipient of the email that the delivery report names, else none (a caseworker reads it).

A reader that dies part-way calls this again for the same row: the rows are written once
(their key is the reply and the link), and a link told twice hears it once (it remembers the
reply ids it heard).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from email.message import EmailMessage

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tada.adapters.data_crypto import DataCrypto
from tada.app.client_source import ClientSource, client_of
from tada.app.inbox_pen import Pen
from tada.app.reply_matching import match_reply
from tada.app.reply_messages import reply_tag_key
from tada.domain.mail_reading import ReadMail
from tada.domain.notice_wording import every_notice_text
from tada.domain.registry import Registry
from tada.domain.replies import PlatformReply, ReplyKind
from tada.domain.reply_classes import ReplyClass, classify
from tada.domain.reply_clues import MatchedLink, ReplyMatch
from tada.domain.reply_positions import links_named
from tada.domain.reply_text import body_text
from tada.domain.reply_text_own import own_words
from tada.workflows.link import LinkWorkflow

log = structlog.get_logger(__name__)

MATCHED = "matched"
UNMATCHED = "unmatched"

#: The reply's row for each link (excerpts sealed per link), in one statement that also gives the
#: time the message came in (rows already there, from an attempt cut off, are left as they are).
_RECORD = """
WITH arrived AS (SELECT received_at FROM inbox_messages WHERE id = $1),
     added AS (
         INSERT INTO link_replies (reply_id, link_id, case_id, kind, confidence, rule, matched_by, from_domain,
                                   attachments, excerpt, received_at)
         SELECT $1, l.link_id, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::jsonb, l.excerpt,
                arrived.received_at
           FROM arrived, unnest($9::text[], $10::text[]) AS l(link_id, excerpt)
         ON CONFLICT (reply_id, link_id) DO NOTHING)
SELECT received_at FROM arrived
"""


class ReplyRouter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        crypto: DataCrypto,
        client: ClientSource,
        *,
        reply_to: str | None,
        registry: Registry | None = None,
    ) -> None:
        self._pool = pool
        self._crypto = crypto
        self._client = client
        self._reply_to = reply_to
        self._tag_key = reply_tag_key(crypto)
        # No match: the holding pen keeps the best guesses (registry: the sender's platform),
        # and gives the reply to the one link a single strong guess names (tada/app/inbox_pen.py).
        self.pen = Pen(pool, self._tag_key, registry, self.deliver)

    async def __call__(self, read: ReadMail, message: EmailMessage, row_id: int) -> str:
        match = await match_reply(self._pool, message, self._tag_key, reply_to=self._reply_to)
        if match is None or not match.links:
            return await self.pen.hold(read, message, row_id)
        await self.deliver(read, message, row_id, match)
        return MATCHED

    async def deliver(self, read: ReadMail, message: EmailMessage, row_id: int, match: ReplyMatch) -> None:
        """Classify, record and tell the links of ``match``: a reply the headers matched, or one
        the pen or a caseworker gave to a link (``match.matched_by`` "auto" or "caseworker")."""
        found = classify(message, sent_notice_text=every_notice_text())
        bounced = await self._bounced_recipient(match, found)
        links = await self._links_it_is_about(match, message)
        received_at = await self._record(read, row_id, match, [link.link_id for link in links], found)
        reply = PlatformReply(
            reply_id=row_id, kind=found.kind, confident=found.confidence == "high", rule=found.rule,
            matched_by=match.matched_by, received_at=received_at, bounced=bounced,
        )  # fmt: skip
        client = await client_of(self._client)
        await asyncio.gather(*(tell(client, link.link_id, reply) for link in links))
        log.info(
            "reply_matched", reply=row_id, case_id=match.case_id, links=len(match.links),
            kind=found.kind.value, confidence=found.confidence, matched_by=match.matched_by,
        )  # fmt: skip

    async def _record(
        self, read: ReadMail, row_id: int, match: ReplyMatch, link_ids: list[str], found: ReplyClass
    ) -> datetime:
        """One link_replies row per link, each excerpt sealed for its link; when the message came in."""
        if found.excerpt:
            named = [(f"{link_id}/reply/{row_id}", found.excerpt) for link_id in link_ids]
            excerpts: list[str | None] = list(await self._crypto.seal_many(self._pool, match.case_id, named))
        else:
            excerpts = [None] * len(link_ids)
        attachments = [{"type": a.content_type, "size": a.size} for a in read.attachments]
        received_at = await self._pool.fetchval(
            _RECORD, row_id, match.case_id, found.kind.value, found.confidence, found.rule, match.matched_by,
            read.from_domain, attachments, link_ids, excerpts,
        )  # fmt: skip
        if received_at is None:
            raise LookupError(f"no inbox message {row_id}")
        return received_at

    async def _links_it_is_about(self, match: ReplyMatch, message: EmailMessage) -> list[MatchedLink]:
        """The links of the email the reply names ("the first two", "links 1 and 3", an
        address quoted: tada/domain/reply_positions.py), or all of them if it names none."""
        listed = [link for link in match.links if link.position is not None]
        if len(listed) < 2 or len(listed) != len(match.links):
            return list(match.links)
        rows = await self._pool.fetch(
            "SELECT link_id, url FROM links WHERE link_id = ANY($1::text[])", [link.link_id for link in listed]
        )
        urls = {row["link_id"]: row["url"] for row in rows}
        ordered = sorted(listed, key=lambda link: link.position or 0)
        addresses = [urls.get(link.link_id, "") for link in ordered]
        named = links_named(own_words(body_text(message)), len(ordered), addresses)
        if named is None:
            return list(match.links)
        return [link for number, link in enumerate(ordered, 1) if number in named]

    async def _bounced_recipient(self, match: ReplyMatch, found: ReplyClass) -> str | None:
        """The email's own recipient that the delivery report names (compared without case)."""
        if found.kind != ReplyKind.BOUNCE or not found.bounced:
            return None
        named = {address.casefold() for address in found.bounced}
        recipients = await self._pool.fetch(
            "SELECT DISTINCT recipient FROM notices WHERE notice_key = ANY($1::text[]) AND recipient IS NOT NULL",
            match.notice_keys,
        )
        return next((row["recipient"] for row in recipients if row["recipient"].casefold() in named), None)


async def tell(client: Client, link_id: str, reply: PlatformReply) -> None:
    try:
        await client.get_workflow_handle(link_id).signal(LinkWorkflow.reply_received, reply)
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        log.info("reply_for_a_closed_link", link_id=link_id, reply=reply.reply_id)  # recorded; nothing runs to tell
