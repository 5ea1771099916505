"""The report's one query layer: SQL over cases, links and link_events -> ``Report``.

Which links: those added in the period (``links.added_at``; ``--to`` is
inclusive, whole UTC days). Everything else about a link counts whenever it
happened, so a link added in March and removed in April counts as removed.

- removed: the link ever moved to REMOVED (in any cycle);
- removal step: for each cycle, the notices recorded before its first move to
  REMOVED: none -> already gone; the last escalation's kind; else the number of
  follow-ups; else the first notice. A removal the platform confirmed (a
  caseworker recorded its reply) is "platform confirmed";
- time to removal: from the link's first event to its first REMOVED (median and
  90th percentile, continuous, per category);
- hosting provider: the web host the link was escalated to -- the first host
  abuse contact found (its name, else its email's domain), else the domain of the
  address a host escalation was sent to, else "unknown" (``reporting.attribution``);
- the scorecard per platform and per hosting provider: ``reporting.scorecard_queries``;
- a silent platform's link reached ESCALATED or UNRESOLVED with no response recorded.

All queries run in one read-only, repeatable-read transaction, so every figure
comes from the same snapshot.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from tada.domain.states import Category, EventKind
from tada.reporting.attribution import HOST_OF
from tada.reporting.model import (
    STEP_ALREADY_GONE,
    STEP_ESCALATION_ADMIN,
    STEP_ESCALATION_HOST,
    STEP_FIRST_NOTICE,
    STEP_PLATFORM_CONFIRMED,
    CategoryFigures,
    Period,
    PlatformFigures,
    RemovalRate,
    Report,
    Reposts,
    SilentPlatform,
    StepFigures,
    follow_up_step,
    percent,
)
from tada.reporting.scorecard_queries import fetch_scorecard

#: (Event kinds come from EventKind, whose values are fixed identifiers: never user input.)
#: Links in the period ($1 inclusive start, $2 exclusive end; NULL: open) and one row of facts per link.
_SCOPE = f"""
WITH scope AS (
    SELECT link_id, case_id, platform, category
      FROM links
     WHERE ($1::timestamptz IS NULL OR added_at >= $1)
       AND ($2::timestamptz IS NULL OR added_at < $2)
),
facts AS (
    SELECT s.link_id, s.case_id, s.platform, s.category,
           COALESCE(bool_or(e.kind = '{EventKind.TRANSITION}' AND e.to_state = 'REMOVED'), false) AS removed,
           COALESCE(bool_or(e.kind = '{EventKind.TRANSITION}' AND e.to_state IN ('ESCALATED', 'UNRESOLVED')), false)
               AS escalated,
           COALESCE(bool_or(e.kind = '{EventKind.RESPONSE}'), false) AS responded,
           count(e.event_id) FILTER (
               WHERE e.kind = '{EventKind.TRANSITION}' AND e.from_state = 'REMOVED' AND e.to_state = 'REPORTED'
           ) AS reposts,
           EXTRACT(EPOCH FROM min(e.occurred_at) FILTER (
               WHERE e.kind = '{EventKind.TRANSITION}' AND e.to_state = 'REMOVED') - min(e.occurred_at)
           )::float8 AS seconds_to_removal
      FROM scope s
      LEFT JOIN link_events e ON e.link_id = s.link_id
     GROUP BY s.link_id, s.case_id, s.platform, s.category
)
"""

_TOTALS = (
    _SCOPE
    + """
SELECT count(DISTINCT case_id) AS cases, count(*) AS links, count(*) FILTER (WHERE removed) AS removed
  FROM facts
"""
)

_CATEGORIES = (
    _SCOPE
    + """
SELECT category, count(*) AS links, count(*) FILTER (WHERE removed) AS removed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_to_removal) AS median_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds_to_removal) AS p90_seconds
  FROM facts
 GROUP BY category
"""
)

_PLATFORMS = (
    _SCOPE
    + """
SELECT platform, min(category) AS category, count(*) AS links, count(*) FILTER (WHERE removed) AS removed,
       count(*) FILTER (WHERE escalated AND NOT responded) AS silent_links,
       count(*) FILTER (WHERE escalated AND NOT responded AND removed) AS silent_removed
  FROM facts
 GROUP BY platform
 ORDER BY count(*) DESC, platform
"""
)

_HOSTS = (
    _SCOPE
    + ", "
    + HOST_OF
    + """
SELECT host_of.host, count(*) AS links, count(*) FILTER (WHERE facts.removed) AS removed
  FROM facts
  JOIN host_of USING (link_id)
 GROUP BY 1
 ORDER BY count(*) DESC, 1
"""
)

_STEPS = (
    _SCOPE
    + f"""
, first_removal AS (
    SELECT DISTINCT ON (e.link_id, e.cycle) e.link_id, e.cycle, e.event_id, e.detail->>'reason' AS reason
      FROM link_events e JOIN scope USING (link_id)
     WHERE e.kind = '{EventKind.TRANSITION}' AND e.to_state = 'REMOVED'
     ORDER BY e.link_id, e.cycle, e.event_id
)
SELECT f.link_id, f.cycle, f.reason,
       count(n.event_id) AS notices,
       count(n.event_id) FILTER (WHERE n.detail->>'kind' = 'follow_up') AS follow_ups,
       (array_agg(n.detail->>'kind' ORDER BY n.event_id DESC)
            FILTER (WHERE n.detail->>'kind' IN ('escalation_host', 'escalation_admin')))[1] AS last_escalation
  FROM first_removal f
  LEFT JOIN link_events n
         ON n.link_id = f.link_id AND n.cycle = f.cycle AND n.kind = '{EventKind.NOTICE}' AND n.event_id < f.event_id
 GROUP BY f.link_id, f.cycle, f.reason
"""
)

_REPOSTS = (
    _SCOPE
    + f"""
SELECT count(*) FILTER (WHERE reposts > 0) AS links, COALESCE(sum(reposts), 0)::bigint AS cycles,
       (SELECT count(DISTINCT (e.link_id, e.cycle))
          FROM link_events e JOIN scope USING (link_id)
         WHERE e.kind = '{EventKind.TRANSITION}' AND e.to_state = 'REMOVED' AND e.cycle > 1) AS removed
  FROM facts
"""
)


def period_bounds(period: Period) -> tuple[datetime | None, datetime | None]:
    """[start, end) in UTC for whole days: ``--to`` names the last day included."""
    start = datetime.combine(period.start, time(), UTC) if period.start else None
    end = datetime.combine(period.end + timedelta(days=1), time(), UTC) if period.end else None
    return start, end


def removal_step(reason: str | None, notices: int, follow_ups: int, last_escalation: str | None) -> str:
    """The step at which content came down, from the notices of its cycle before the removal."""
    if reason and reason.startswith("platform confirmed"):
        return STEP_PLATFORM_CONFIRMED
    if last_escalation == "escalation_admin":
        return STEP_ESCALATION_ADMIN
    if last_escalation == "escalation_host":
        return STEP_ESCALATION_HOST
    if follow_ups:
        return follow_up_step(follow_ups)
    if notices:
        return STEP_FIRST_NOTICE
    return STEP_ALREADY_GONE


async def build_report(
    pool: asyncpg.Pool,
    *,
    start: date | None = None,
    end: date | None = None,
    title: str | None = None,
    now: datetime | None = None,
) -> Report:
    """The report for links added from ``start`` to ``end`` (inclusive days, UTC; None: open)."""
    if start and end and start > end:
        raise ValueError(f"the period starts ({start}) after it ends ({end})")
    period = Period(start=start, end=end)
    bounds = period_bounds(period)
    generated_at = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        totals = await conn.fetchrow(_TOTALS, *bounds)
        categories = await conn.fetch(_CATEGORIES, *bounds)
        platforms = await conn.fetch(_PLATFORMS, *bounds)
        hosts = await conn.fetch(_HOSTS, *bounds)
        removals = await conn.fetch(_STEPS, *bounds)
        reposts = await conn.fetchrow(_REPOSTS, *bounds)
        scorecard = await fetch_scorecard(conn, bounds, generated_at)
    report = Report(
        generated_at=generated_at,
        period=period,
        cases=totals["cases"],
        links=totals["links"],
        removed=totals["removed"],
        categories=_categories(categories, totals["links"]),
        platforms=[
            PlatformFigures(name=r["platform"], category=r["category"], links=r["links"], removed=r["removed"])
            for r in platforms
        ],
        hosts=[RemovalRate(name=r["host"], links=r["links"], removed=r["removed"]) for r in hosts],
        steps=_steps(removals),
        silent_platforms=[
            SilentPlatform(
                platform=r["platform"],
                category=r["category"],
                links=r["links"],
                silent_links=r["silent_links"],
                removed=r["silent_removed"],
            )
            for r in sorted(platforms, key=lambda r: (-r["silent_links"], r["platform"]))
            if r["silent_links"]
        ],
        reposts=Reposts(links=reposts["links"], cycles=reposts["cycles"], removed=reposts["removed"]),
        scorecard=scorecard,
    )
    if title:
        report.title = title
    return report


def _categories(rows: list, total: int) -> list[CategoryFigures]:
    """Every known category, in the source report's order, with zeros where there are no links."""
    by_name = {row["category"]: row for row in rows}
    names = [c.value for c in Category] + sorted(set(by_name) - {c.value for c in Category})
    figures = []
    for name in names:
        row = by_name.get(name)
        figures.append(
            CategoryFigures(
                name=name,
                links=row["links"] if row else 0,
                removed=row["removed"] if row else 0,
                share=percent(row["links"] if row else 0, total),
                median_seconds=row["median_seconds"] if row else None,
                p90_seconds=row["p90_seconds"] if row else None,
            )
        )
    return figures


def _steps(rows: list) -> list[StepFigures]:
    counts: dict[str, int] = {}
    for row in rows:
        step = removal_step(row["reason"], row["notices"], row["follow_ups"], row["last_escalation"])
        counts[step] = counts.get(step, 0) + 1
    most_follow_ups = max([2, *(r["follow_ups"] for r in rows)])
    order = [STEP_ALREADY_GONE, STEP_FIRST_NOTICE]
    order += [follow_up_step(n) for n in range(1, most_follow_ups + 1)]
    order += [STEP_ESCALATION_HOST, STEP_ESCALATION_ADMIN, STEP_PLATFORM_CONFIRMED]
    total = sum(counts.values())
    return [
        StepFigures(step=step, removals=counts.get(step, 0), share=percent(counts.get(step, 0), total))
        for step in order
    ]
