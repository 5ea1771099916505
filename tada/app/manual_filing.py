"""A manual filing, ready for a caseworker: where to file it (the registry's instructions for the
platform's own reporting page), the link's URL, and the notice text tada would have sent, to
paste into the platform's form (the console's "Needs me" shows it with a copy button, and an
"I filed it" that sends the link's ``confirm_filed``).

The text is rendered as the notice activity renders it (tada/domain/notices.py), for this one
link, from the case's facts as the link page's notice texts take them
(tada/app/notice_texts.py ``case_notice_facts``).
"""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel, Field

from tada.adapters.data_crypto import DataCrypto
from tada.app.notice_texts import case_notice_facts
from tada.app.readmodel import find_link
from tada.domain.notices import NoticeContext, render_notice
from tada.domain.registry import Registry
from tada.domain.states import NoticeKind
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


async def manual_filing(
    pool: asyncpg.Pool, crypto: DataCrypto, registry: Registry, settings: Settings, link_id: str
) -> ManualFiling:
    """What the caseworker files for ``link_id`` (LinkNotFound for an unknown link)."""
    link = await find_link(pool, link_id)
    kind_value = await pool.fetchval(
        """SELECT detail->>'kind' FROM link_events WHERE link_id = $1 AND kind = 'waiting'
                AND detail->>'for' = 'manual filing' ORDER BY event_id DESC LIMIT 1""",
        link_id,
    )
    kind = NoticeKind(kind_value) if kind_value in NoticeKind._value2member_map_ else NoticeKind.INITIAL
    facts = await case_notice_facts(
        pool, crypto, registry, link, notifier_name=settings.notifier_name, notice_from=settings.notice_from
    )
    if facts is None:  # purged: nothing to file any more
        raise LinkNotFound(link_id)
    policy = registry.policy_for(link.url)
    rendered = render_notice(NoticeContext(kind=kind, platform=link.platform, urls=[link.url], **facts.model_dump()))
    return ManualFiling(
        link_id=link_id, platform=link.platform, kind=kind,
        where=policy.manual_instructions or f"{policy.name}'s reporting page",
        url=link.url, subject=rendered.subject, text=rendered.text,
    )  # fmt: skip
