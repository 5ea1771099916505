"""A caseworker corrects the inbox (issue 15): a reply in the pen given to its link, and a reply's
classification corrected.

``assign_reply`` (``tada inbox assign MESSAGE NOTICE|LINK``): the reply must be in the pen
(``unmatched``) and the target a notice key or a link id. The message is fetched again from the
mailbox it was read from (TADA_IMAP_*: the same mailbox, the same UIDVALIDITY; tada never
deletes a message), read within the same bounds, and handed to ``ReplyRouter.deliver``: the
same classification, ``link_replies`` row and ``reply_received`` signal as a matched reply,
``matched_by`` "caseworker". The row becomes ``matched``, the pen entry records who assigned it.

``correct_reply`` (``tada inbox classify MESSAGE AS``): every link the reply was recorded for
gets a ``reply_corrections`` row (from kind, to kind, the role), its ``link_replies`` row the
new kind (high confidence, rule "caseworker"), and is told again. A link remembers the reply
ids it heard and ignores one heard before, so the correction travels under an id of its own:
**the correction row's id, negated** (inbox rows are positive: the two never meet, and a
correction told twice, say after Temporal failed half-way, is heard once). Classifying again
to the kind already corrected to tells the links again under the same ids, and nothing else.

Both run under a row lock on the inbox row (two caseworkers at once: one after the other) and
are audited (tada/app/audit.py): the message id and the link, never anything of the message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
from pydantic import BaseModel

from tada.adapters.data_crypto import DataCrypto
from tada.app.audit import record_audit
from tada.app.client_source import ClientSource, client_of
from tada.app.inbox import imap_config
from tada.app.inbox_pen import CASEWORKER, MATCHED, link_match, record_assignment
from tada.app.inbox_store import UNMATCHED, mailbox_key
from tada.app.reply_routing import ReplyRouter, tell
from tada.clients.imap_mailbox import ImapError, open_mailbox
from tada.domain.mail_reading import LIMITS, Reading, read_mail
from tada.domain.registry import Registry
from tada.domain.replies import PlatformReply, ReplyKind
from tada.domain.reply_clues import ReplyMatch
from tada.errors import InvalidInput, NotFound, Refused, Unavailable
from tada.settings import Settings

KINDS = ", ".join(kind.value for kind in ReplyKind)


class MessageNotFound(NotFound):
    """No inbox row with this id; the argument is the id."""

    @property
    def message(self) -> str:
        return f"no message {self} in the inbox (tada inbox pen lists the pen)"


class TargetNotFound(NotFound):
    """Neither a notice nor a link has this key; the argument is the key."""

    @property
    def message(self) -> str:
        return f"no notice or link {self}"


class Assignment(BaseModel):
    message: int
    case_id: str
    links: list[str]


class Correction(BaseModel):
    message: int
    link_id: str
    correction: int  # reply_corrections.id; the link hears reply -correction
    from_kind: str
    to_kind: str
    told_again: bool = False


async def assign_reply(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    client: ClientSource,
    settings: Settings,
    row_id: int,
    target: str,
    *,
    actor_role: str | None,
    registry: Registry | None = None,
) -> Assignment:
    """Give the pen's reply ``row_id`` to the link ``target`` names (a notice key or a link id)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT mailbox, uidvalidity, uid, status FROM inbox_messages WHERE id = $1 FOR NO KEY UPDATE", row_id
        )
        if row is None:
            raise MessageNotFound(str(row_id))
        if row["status"] != UNMATCHED:
            raise Refused(f"message {row_id} is not in the pen (it is {row['status']})")
        match = await _target(conn, target)
        reading = await _fetch_again(settings, row_id, row)
        router = ReplyRouter(pool, crypto, client, reply_to=settings.reply_to, registry=registry)
        await router.deliver(reading.read, reading.message, row_id, match)
        await conn.execute("UPDATE inbox_messages SET status = $2 WHERE id = $1", row_id, MATCHED)
        await record_assignment(conn, row_id, reading.read.from_domain, match, "caseworker")
    await record_audit(
        pool, actor_role=actor_role, action="inbox.assign", target=match.link_ids[0], allowed=True,
        reason=f"message {row_id} given to its link by a caseworker",
    )  # fmt: skip
    return Assignment(message=row_id, case_id=match.case_id, links=match.link_ids)


async def _target(conn: asyncpg.Connection, target: str) -> ReplyMatch:
    notice = await conn.fetchrow("SELECT link_id FROM notices WHERE notice_key = $1", target)
    found = await link_match(
        conn, notice["link_id"] if notice else target, CASEWORKER, notice_key=target if notice else None
    )
    if found is None:
        raise TargetNotFound(target)
    if await conn.fetchval("SELECT purged_at IS NOT NULL FROM cases WHERE case_id = $1", found.case_id):
        raise Refused(f"case {found.case_id} was purged: no reply is recorded for its links")
    return found


async def _fetch_again(settings: Settings, row_id: int, row: asyncpg.Record) -> Reading:
    config = imap_config(settings)
    if mailbox_key(config.host, config.port, config.mailbox, config.username) != row["mailbox"]:
        raise Refused(f"message {row_id} was read from another mailbox than this TADA_IMAP_* one")
    try:
        async with open_mailbox(config) as session:
            if session.uidvalidity != row["uidvalidity"]:
                raise Refused(f"message {row_id} cannot be found again: the mailbox was renumbered (new UIDVALIDITY)")
            raw = await session.fetch(row["uid"], LIMITS.max_bytes)
    except ImapError as error:  # in tada's words: the host, the step, the reason
        raise Unavailable(f"message {row_id} cannot be fetched again: {error}") from None
    if raw is None:
        raise Refused(f"message {row_id} is no longer in the mailbox")
    return await asyncio.to_thread(read_mail, raw, LIMITS)


@dataclass
class _Told:
    link_id: str
    reply: PlatformReply


async def correct_reply(
    pool: asyncpg.Pool,
    client: ClientSource,
    row_id: int,
    kind: str,
    *,
    actor_role: str | None,
    actor_name: str | None = None,
) -> list[Correction]:
    """Correct the classification of reply ``row_id`` to ``kind`` for every link it was recorded
    for; ``actor_name`` (the console's person) goes in the audit trail."""
    try:
        to_kind = ReplyKind(kind)
    except ValueError:
        raise InvalidInput(f"not a reply kind: use one of {KINDS}") from None
    corrections: list[Correction] = []
    told: list[_Told] = []
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT true FROM inbox_messages WHERE id = $1 FOR NO KEY UPDATE", row_id):
            raise MessageNotFound(str(row_id))
        replies = await conn.fetch(
            "SELECT link_id, case_id, kind, matched_by, received_at FROM link_replies WHERE reply_id = $1"
            " ORDER BY link_id FOR UPDATE",
            row_id,
        )
        if not replies:
            raise Refused(f"message {row_id} was recorded for no link: give it to one first (tada inbox assign)")
        for reply in replies:
            if reply["kind"] == to_kind.value:
                continue
            correction = await conn.fetchval(
                "INSERT INTO reply_corrections (reply_id, link_id, case_id, from_kind, to_kind, by_role)"
                " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                row_id, reply["link_id"], reply["case_id"], reply["kind"], to_kind.value, actor_role,
            )  # fmt: skip
            await conn.execute(
                "UPDATE link_replies SET kind = $3, confidence = 'high', rule = 'caseworker'"
                " WHERE reply_id = $1 AND link_id = $2",
                row_id, reply["link_id"], to_kind.value,
            )  # fmt: skip
            corrections.append(Correction(message=row_id, link_id=reply["link_id"], correction=correction,
                                          from_kind=reply["kind"], to_kind=to_kind.value))  # fmt: skip
            told.append(_Told(reply["link_id"], _corrected(-correction, to_kind, reply)))
        if not corrections:
            corrections, told = await _told_again(conn, row_id, to_kind, replies)
    temporal = await client_of(client)
    for each in told:
        await tell(temporal, each.link_id, each.reply)
    for correction in corrections:
        await record_audit(
            pool, actor_role=actor_role, action="inbox.classify", target=correction.link_id, allowed=True,
            reason=f"message {row_id} corrected from {correction.from_kind} to {correction.to_kind}"
            + (" (told again)" if correction.told_again else ""), actor_name=actor_name,
        )  # fmt: skip
    return corrections


async def _told_again(
    conn: asyncpg.Connection, row_id: int, to_kind: ReplyKind, replies: list[asyncpg.Record]
) -> tuple[list[Correction], list[_Told]]:
    """Every link has ``to_kind`` already: its last correction to it is told again (the link
    hears it once), or, the classifier's own kind, a refusal."""
    corrections: list[Correction] = []
    told: list[_Told] = []
    for reply in replies:
        last = await conn.fetchrow(
            "SELECT id, from_kind FROM reply_corrections WHERE reply_id = $1 AND link_id = $2 ORDER BY id DESC LIMIT 1",
            row_id,
            reply["link_id"],
        )
        if last is None:
            continue
        corrections.append(Correction(message=row_id, link_id=reply["link_id"], correction=last["id"],
                                      from_kind=last["from_kind"], to_kind=to_kind.value, told_again=True))  # fmt: skip
        told.append(_Told(reply["link_id"], _corrected(-last["id"], to_kind, reply)))
    if not corrections:
        raise Refused(f"message {row_id} is classified {to_kind.value} already")
    return corrections, told


def _corrected(reply_id: int, kind: ReplyKind, reply: asyncpg.Record) -> PlatformReply:
    return PlatformReply(
        reply_id=reply_id, kind=kind, confident=True, rule="caseworker", matched_by=reply["matched_by"],
        received_at=reply["received_at"], bounced=None,
    )  # fmt: skip
