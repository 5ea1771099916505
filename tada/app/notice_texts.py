"""The words of a link's notices, for a caseworker to read (the console's link page).

tada keeps no copy of a notice's text: the notice activity renders it from the templates
(tada/domain/notices.py ``render_notice``) when it sends it. This renders it again from what
the database holds, the way the activity did (activities/notices.py): the platform, the URLs
the notice listed (every link of the case the same email or form listed, found by its
Message-ID; only this link's for a notice filed by hand), the case's reference (opened with
its key), the organisation's name and address (TADA_NOTIFIER_NAME, TADA_NOTICE_FROM), the
platform's language or the case's, the jurisdiction, the follow-up's number, the day of the
first notice to the same recipient and, for a repost, of the removal before; an email's
subject ends with its reply tag (``[TD-…]``), as it went out.

Nothing here logs a URL, an address or the text.
"""

from __future__ import annotations

from datetime import date, datetime
from email.utils import parseaddr

import asyncpg
from pydantic import BaseModel

from tada.adapters.data_crypto import DataCrypto
from tada.app.readmodel import LinkDetail, LinkEventRow, LinkRow
from tada.domain.laws import CitedLaw, Law, cite
from tada.domain.notices import NoticeContext, RenderedNotice, render_notice
from tada.domain.registry import Registry
from tada.domain.reply_tags import tagged_subject
from tada.domain.states import EventKind, LinkState, NoticeKind


class NoticeText(BaseModel):
    """One notice's subject and plain text, keyed by the timeline event that recorded it."""

    event_id: int
    notice_key: str | None
    kind: str
    channel: str
    subject: str
    text: str
    urls_listed: int


_CASE = "SELECT reference, language, jurisdiction, purged_at, authorised_on FROM cases WHERE case_id = $1"
_NOTICE = """
SELECT n.recipient, n.message_id, m.reply_token
  FROM notices n LEFT JOIN notice_messages m ON m.message_id = n.message_id
 WHERE n.notice_key = $1
"""
_LISTED = """
SELECT l.url FROM notices n JOIN links l USING (link_id)
 WHERE n.message_id = $1 AND l.case_id = $2 ORDER BY l.added_at, l.link_id
"""
_FIRST_SENT = "SELECT min(sent_at) FROM notices WHERE case_id = $1 AND recipient = $2 AND status = 'sent'"


class CaseNoticeFacts(BaseModel):
    """What every notice of a link takes from its case and the settings, as the activity takes it."""

    case_reference: str
    language: str
    jurisdiction: str | None
    notifier_name: str
    notifier_email: str
    notifier_title: str = ""
    authorised_on: date | None = None


async def case_notice_facts(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    registry: Registry,
    link: LinkRow,
    *,
    notifier_name: str,
    notice_from: str,
    notifier_title: str = "",
) -> CaseNoticeFacts | None:
    """The case's reference (opened), language (the platform's first), jurisdiction and the
    organisation as notifier; None for a purged case (its reference and URLs are gone)."""
    case = await pool.fetchrow(_CASE, link.case_id)
    if case is None or case["purged_at"] is not None:
        return None
    reference = await crypto.open(pool, link.case_id, "reference", case["reference"]) or link.case_id
    return CaseNoticeFacts(
        case_reference=reference, language=registry.policy_for(link.url).language or case["language"],
        jurisdiction=case["jurisdiction"], notifier_name=notifier_name, notifier_email=parseaddr(notice_from)[1],
        notifier_title=notifier_title, authorised_on=case["authorised_on"],
    )  # fmt: skip


def cited_laws(registry: Registry, ids: str | list[str] | None, language: str) -> list[CitedLaw]:
    """The laws a notice cited (its event's ``laws``, or the ids the workflow would give it), as it cited them."""
    wanted = [i for i in (ids.split(",") if isinstance(ids, str) else ids or []) if i]
    return cite(registry.laws_of(wanted), language)


def law_of(registry: Registry, law_id: str | None) -> Law | None:
    return registry.laws.get(law_id) if law_id else None


async def notice_texts(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    registry: Registry,
    detail: LinkDetail,
    *,
    notifier_name: str,
    notice_from: str,
    notifier_title: str = "",
) -> dict[int, NoticeText]:
    """The text of every notice in ``detail``'s timeline (its ``notice`` events), by event id.
    A purged case has none: its reference and URLs are gone."""
    link = detail.link
    facts = await case_notice_facts(
        pool, crypto, registry, link, notifier_name=notifier_name, notice_from=notice_from,
        notifier_title=notifier_title,
    )  # fmt: skip
    if facts is None:
        return {}
    policy = registry.policy_for(link.url)
    texts: dict[int, NoticeText] = {}
    follow_ups: dict[int, int] = {}  # follow-ups counted per cycle, in the timeline's order
    for event in detail.events:
        if event.kind != EventKind.NOTICE.value:
            continue
        try:
            kind = NoticeKind(event.detail.get("kind", ""))
        except ValueError:
            continue
        if kind == NoticeKind.FOLLOW_UP:
            follow_ups[event.cycle] = follow_ups.get(event.cycle, 0) + 1
        key = event.detail.get("notice_key")
        row = await pool.fetchrow(_NOTICE, key) if key else None
        urls = [link.url]
        first_sent: datetime | None = None
        if row is not None:
            if row["message_id"]:
                urls = [r["url"] for r in await pool.fetch(_LISTED, row["message_id"], link.case_id)] or urls
            recipient = row["recipient"] or policy.form_url
            if recipient:
                first_sent = await pool.fetchval(_FIRST_SENT, link.case_id, recipient)
        named = event.detail.get("laws")  # none named: the laws of the case's place, as the activity cites them
        laws = cited_laws(
            registry, named if named is not None else [law.id for law in registry.case_laws(facts.jurisdiction)],
            facts.language,
        )  # fmt: skip
        missed = _missed_before(detail.events, event)
        clock_law = next((law for law in laws if law.deadline_hours), None)
        missed_law = next((law for law in laws if missed and law.id == missed[0]), None)
        context = NoticeContext(
            kind=kind,
            platform=link.platform,
            urls=urls,
            **facts.model_dump(),
            follow_up_number=follow_ups.get(event.cycle, 0) if kind == NoticeKind.FOLLOW_UP else 0,
            first_notice_at=first_sent,
            previous_removal_at=_removed_before(detail.events, event) if kind == NoticeKind.REPOST else None,
            laws=laws,
            clock=clock_law,
            missed=missed_law if kind != NoticeKind.REPOST else None,
            missed_request_at=missed[1] if missed and kind != NoticeKind.REPOST else None,
            earlier_notices=_sent_before(detail.events, event),
            route=event.detail.get("route"),
            regulator=missed_law.regulator if missed_law and kind == NoticeKind.REGULATOR else None,
        )
        rendered: RenderedNotice = render_notice(context)
        token = row["reply_token"] if row is not None else None
        texts[event.event_id] = NoticeText(
            event_id=event.event_id, notice_key=key, kind=kind.value, channel=str(event.detail.get("channel", "")),
            subject=tagged_subject(rendered.subject, token) if token else rendered.subject, text=rendered.text,
            urls_listed=len(urls),
        )  # fmt: skip
    return texts


def _missed_before(events: list[LinkEventRow], notice: LinkEventRow) -> tuple[str, datetime] | None:
    """The law whose deadline this cycle missed before ``notice``, and when its request went out."""
    started: dict[str, datetime] = {}
    missed = None
    for e in events:
        if e.event_id >= notice.event_id:
            break
        if e.kind == EventKind.DEADLINE.value and e.cycle == notice.cycle:
            law = str(e.detail.get("law", ""))
            if e.detail.get("step") == "started":
                started[law] = e.occurred_at
            elif e.detail.get("step") == "missed" and law in started:
                missed = (law, started[law])
    return missed


def _sent_before(events: list[LinkEventRow], notice: LinkEventRow) -> list[datetime]:
    """When this link's earlier notices to the same recipient went out (a repeated request cites them)."""
    recipient = notice.detail.get("recipient")
    return [
        e.occurred_at
        for e in events
        if e.event_id < notice.event_id and e.kind == EventKind.NOTICE.value and e.detail.get("recipient") == recipient
    ]


def _removed_before(events: list[LinkEventRow], notice: LinkEventRow) -> datetime | None:
    """When the link was last removed before ``notice`` (a repost notice cites the day)."""
    removed = [
        e.occurred_at
        for e in events
        if e.event_id < notice.event_id and e.kind == EventKind.TRANSITION.value and e.to_state == LinkState.REMOVED
    ]
    return removed[-1] if removed else None
