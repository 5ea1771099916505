"""The trusted-flagger report's query: the timelines of the links with a notice in the year,
reduced in the database to what the rule of ``reporting.flagger_actions`` needs.

A notice's provider is worked out in SQL, so no address leaves the database: the platform
(``links.platform``) for a first notice, a follow-up or a repost notice; for an escalation to
a web host, the host contact found for that address (its RDAP name), else the address's
domain, else the link's first host contact, else "unknown host"; for an escalation to an
admin, the domain of the address it went to, else the platform. Regulator complaints are
left out. One read-only, repeatable-read transaction.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import asyncpg

from tada.domain.replies import ReplyKind
from tada.domain.states import EventKind
from tada.reporting.flagger import (
    ContentTypeTotal,
    FlaggerReport,
    ProviderAndType,
    ProviderTotal,
)
from tada.reporting.flagger_actions import TimelineEvent, notice_actions

_NOT_REGULATOR = "COALESCE(e.detail->>'kind', '') <> 'regulator'"
_REJECTION = (
    f"((e.kind = '{EventKind.RESPONSE}' AND e.detail->>'outcome' = 'rejected')"
    f" OR (e.kind = '{EventKind.REPLY}' AND e.detail->>'kind' = '{ReplyKind.REJECTED}'))"
)
_DOMAIN = "lower(NULLIF(split_part(e.detail->>'recipient', '@', 2), ''))"
_HOST_CONTACT = f"""FROM link_events c
            WHERE c.link_id = e.link_id AND c.kind = '{EventKind.CONTACT_FOUND}' AND c.detail->>'kind' = 'host'"""

#: ($1, $2: the year's [start, end) in UTC.)
_TIMELINES = f"""
WITH noticed AS (
    SELECT DISTINCT e.link_id
      FROM link_events e
     WHERE e.kind = '{EventKind.NOTICE}' AND {_NOT_REGULATOR} AND e.occurred_at >= $1 AND e.occurred_at < $2
)
SELECT e.link_id, e.cycle,
       CASE WHEN e.kind = '{EventKind.NOTICE}' THEN 'notice'
            WHEN e.kind = '{EventKind.TRANSITION}' THEN 'transition'
            ELSE 'rejection' END AS kind,
       e.to_state,
       e.kind = '{EventKind.NOTICE}' AND e.occurred_at >= $1 AND e.occurred_at < $2 AS in_year,
       COALESCE(e.detail->>'route' = 'copyright', false) AS copyright,
       CASE WHEN e.kind <> '{EventKind.NOTICE}' THEN NULL
            WHEN e.detail->>'kind' = 'escalation_host' THEN COALESCE(
                (SELECT NULLIF(c.detail->>'name', '') {_HOST_CONTACT}
                    AND lower(c.detail->>'email') = lower(e.detail->>'recipient')
                  ORDER BY c.event_id DESC LIMIT 1),
                {_DOMAIN},
                lower(NULLIF(e.detail->>'recipient_domain', '')),
                (SELECT COALESCE(NULLIF(c.detail->>'name', ''),
                                 lower(NULLIF(split_part(c.detail->>'email', '@', 2), '')),
                                 lower(NULLIF(c.detail->>'email_domain', ''))) {_HOST_CONTACT}
                  ORDER BY c.event_id LIMIT 1),
                'unknown host')
            WHEN e.detail->>'kind' = 'escalation_admin' THEN
                COALESCE({_DOMAIN}, lower(NULLIF(e.detail->>'recipient_domain', '')), l.platform)
            ELSE l.platform END AS provider
  FROM link_events e
  JOIN noticed USING (link_id)
  JOIN links l USING (link_id)
 WHERE (e.kind = '{EventKind.NOTICE}' AND {_NOT_REGULATOR}) OR e.kind = '{EventKind.TRANSITION}' OR {_REJECTION}
 ORDER BY e.link_id, e.event_id
"""


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 January, next 1 January) in UTC."""
    if not 1970 <= year <= 9998:
        raise ValueError(f"year {year} is not between 1970 and 9998")
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


async def build_flagger_report(pool: asyncpg.Pool, *, year: int, now: datetime | None = None) -> FlaggerReport:
    """The trusted-flagger report of the notices delivered in ``year`` (UTC)."""
    bounds = year_bounds(year)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(_TIMELINES, *bounds)
    timelines: dict[str, list[TimelineEvent]] = defaultdict(list)
    for row in rows:
        timelines[row["link_id"]].append(
            TimelineEvent(
                cycle=row["cycle"],
                kind=row["kind"],
                to_state=row["to_state"],
                provider=row["provider"],
                in_year=row["in_year"],
                copyright=row["copyright"],
            )  # fmt: skip
        )
    report = FlaggerReport(title=f"Trusted flagger report {year} (DSA Art. 22(3))", year=year,
                           generated_at=now or datetime.now(UTC))  # fmt: skip
    cells: dict[tuple[str, str], ProviderAndType] = {}
    providers: dict[str, ProviderTotal] = {}
    types: dict[str, ContentTypeTotal] = {}
    for timeline in timelines.values():
        for provider, content, action in notice_actions(timeline):
            cells.setdefault((provider, content), ProviderAndType(provider=provider, content_type=content)).add(action)
            providers.setdefault(provider, ProviderTotal(provider=provider)).add(action)
            types.setdefault(content, ContentTypeTotal(content_type=content)).add(action)
            report.totals.add(action)
    report.rows = sorted(cells.values(), key=lambda r: (-r.notices, r.provider, r.content_type))
    report.by_provider = sorted(providers.values(), key=lambda r: (-r.notices, r.provider))
    report.by_content_type = sorted(types.values(), key=lambda r: (-r.notices, r.content_type))
    return report
