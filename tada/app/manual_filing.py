"""A manual filing, ready for a caseworker: where to file it (the registry's instructions for the
platform's own reporting page), the link's URL, and the notice text tada would have sent, to
paste into the platform's form (the console's "Needs me" shows it with a copy button, and an
"I filed it" that sends the link's ``confirm_filed``).

The text is rendered as the notice activity renders it (tada/domain/notices.py), for this one
link, from the case's facts as the link page's notice texts take them
(tada/app/notice_texts.py ``case_notice_facts``).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel, Field

from tada.adapters.data_crypto import DataCrypto
from tada.app.notice_texts import case_notice_facts, cited_laws, law_of
from tada.app.readmodel import find_link
from tada.domain.laws import CaseElements, missing_elements, refusal
from tada.domain.notices import NoticeContext, render_notice
from tada.domain.registry import Registry
from tada.domain.states import EventKind, NoticeKind
from tada.errors import LinkNotFound
from tada.settings import Settings


class ManualFiling(BaseModel):
    link_id: str
    platform: str
    kind: NoticeKind
    where: str  # the registry's instructions, or "<platform>'s reporting page"
    url: str = Field(repr=False)
    subject: str = Field(repr=False)
    text: str = Field(repr=False)
    #: Why it cannot be filed yet: a law it cites needs what the case lacks (the element, and how to
    #: supply it). The text is then that reason, never a notice the platform could not act on.
    refused: str | None = None


async def manual_filing(
    pool: asyncpg.Pool, crypto: DataCrypto, registry: Registry, settings: Settings, link_id: str
) -> ManualFiling:
    """What the caseworker files for ``link_id`` (LinkNotFound for an unknown link)."""
    link = await find_link(pool, link_id)
    waiting = await pool.fetchrow(
        """SELECT detail->>'kind' AS kind, detail->>'laws' AS laws FROM link_events
            WHERE link_id = $1 AND kind = 'waiting' AND detail->>'for' = 'manual filing'
            ORDER BY event_id DESC LIMIT 1""",
        link_id,
    )
    kind_value = str(waiting["kind"]) if waiting else ""
    kind = NoticeKind(kind_value) if kind_value in NoticeKind._value2member_map_ else NoticeKind.INITIAL
    facts = await case_notice_facts(
        pool, crypto, registry, link, notifier_name=settings.notifier_name, notice_from=settings.notice_from,
        notifier_title=settings.notifier_title,
    )  # fmt: skip
    if facts is None:  # purged: nothing to file any more
        raise LinkNotFound(link_id)
    policy = registry.policy_for(link.url, facts.jurisdiction)
    clock = await _clock(pool, link_id, link.cycle)
    # the laws the workflow named when it asked for the filing (its input's, not today's registry's);
    # a wait without them: the laws of the case's place that bind every platform, as the activity cites
    if waiting is not None and waiting["laws"] is not None:
        law_ids = [law_id for law_id in waiting["laws"].split(",") if law_id]
    else:
        law_ids = [law.id for law in registry.case_laws(facts.jurisdiction)]
    laws = cited_laws(registry, law_ids, facts.language)
    missed = next((law for law in laws if clock and clock[2] == "missed" and law.id == clock[0]), None)
    context = NoticeContext(
        kind=kind, platform=link.platform, urls=[link.url], **facts.model_dump(), laws=laws,
        clock=next((law for law in laws if law.deadline_hours), None),
        missed=missed, missed_request_at=clock[1] if missed and clock else None,
        earlier_notices=await _sent(pool, link_id),
        regulator=missed.regulator if missed and kind == NoticeKind.REGULATOR else None,
    )  # fmt: skip
    rendered = render_notice(context)
    where = policy.manual_instructions or f"{policy.name}'s reporting page"
    regulator = law_of(registry, clock[0] if clock else None)
    if kind == NoticeKind.REGULATOR and regulator is not None and regulator.regulator:
        where = (
            f"{regulator.regulator}: {regulator.regulator_url or ''} {regulator.regulator_instructions or ''}".strip()
        )
    refused = _refusal(registry, law_ids, facts, settings)
    return ManualFiling(
        link_id=link_id, platform=link.platform, kind=kind, where=where, url=link.url,
        subject=rendered.subject, text=refused or rendered.text, refused=refused,
    )  # fmt: skip


def _refusal(registry: Registry, law_ids: list[str], facts, settings: Settings) -> str | None:
    supplied = CaseElements(
        authorised_on=facts.authorised_on, notifier_name=facts.notifier_name, notifier_title=facts.notifier_title,
        notifier_email=facts.notifier_email,
    )  # fmt: skip
    for law in registry.laws_of(law_ids):
        missing = missing_elements(law.elements, supplied)
        if missing:
            return refusal(law.name, missing)
    return None


async def _clock(pool: asyncpg.Pool, link_id: str, cycle: int) -> tuple[str, datetime, str] | None:
    """This cycle's legal clock: its law, when its request went out, and its last step."""
    rows = await pool.fetch(
        "SELECT detail, occurred_at FROM link_events WHERE link_id = $1 AND cycle = $2 AND kind = $3 ORDER BY event_id",
        link_id, cycle, EventKind.DEADLINE.value,
    )  # fmt: skip
    started = next((r for r in rows if r["detail"].get("step") == "started"), None)
    if started is None:
        return None
    return (started["detail"].get("law", ""), started["occurred_at"], rows[-1]["detail"].get("step", ""))


async def _sent(pool: asyncpg.Pool, link_id: str) -> list:
    """When the link's requests to the platform itself went out (a repeated request cites them)."""
    rows = await pool.fetch(
        """SELECT occurred_at FROM link_events WHERE link_id = $1 AND kind = $2
                AND detail->>'kind' IN ('initial', 'follow_up', 'repost') ORDER BY event_id""",
        link_id, EventKind.NOTICE.value,
    )  # fmt: skip
    return [row["occurred_at"] for row in rows]
