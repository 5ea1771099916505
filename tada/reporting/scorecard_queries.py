"""The scorecard's one query: per-link facts from the timeline, grouped by platform and by
hosting provider (``GROUPING SETS``), inside the report's read-only snapshot.

Per link:
- removed, time to removal: as the report counts them (first event -> first REMOVED);
- answered, time to first answer: a ``response`` (any outcome), or a ``reply`` the inbox
  classified as anything but ``auto_reply`` or ``bounce``; its time is the reply's
  ``received_at`` (else the event's), measured from the link's first notice;
- clocks met / missed: ``deadline`` events with step ``met`` / ``missed`` (one per clock);
- overdue now: for some law, the link's last ``deadline`` step is ``started`` or ``resumed``
  with ``due_at`` before ``now``, or ``missed``; and its state now (its last transition,
  else ``links.state``) is neither REMOVED nor WITHDRAWN;
- reposts: REMOVED -> REPORTED transitions; bounces: ``delivery_failed`` events.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from tada.domain.replies import ReplyKind
from tada.domain.states import EventKind
from tada.reporting.attribution import HOST_OF
from tada.reporting.scorecard import Scorecard, ScoreRow

#: ($1, $2: the period's [start, end), NULL open; $3: now.) Event kinds and reply kinds are
#: fixed identifiers from the domain's enums, never user input.
_NOT_ANSWERS = f"'{ReplyKind.AUTO_REPLY}', '{ReplyKind.BOUNCE}'"
_ANSWER = (
    f"(e.kind = '{EventKind.RESPONSE}' OR "
    f"(e.kind = '{EventKind.REPLY}' AND COALESCE(e.detail->>'kind', '') NOT IN ({_NOT_ANSWERS})))"
)
_ANSWERED_AT = (
    f"CASE WHEN e.kind = '{EventKind.REPLY}' AND e.detail ? 'received_at' "
    "THEN (e.detail->>'received_at')::timestamptz ELSE e.occurred_at END"
)

_SCORECARD = f"""
WITH scope AS (
    SELECT link_id, platform, state
      FROM links
     WHERE ($1::timestamptz IS NULL OR added_at >= $1)
       AND ($2::timestamptz IS NULL OR added_at < $2)
),
{HOST_OF},
clock_last AS (
    SELECT DISTINCT ON (e.link_id, e.detail->>'law')
           e.link_id, e.detail->>'step' AS step, (e.detail->>'due_at')::timestamptz AS due_at
      FROM link_events e JOIN scope USING (link_id)
     WHERE e.kind = '{EventKind.DEADLINE}'
     ORDER BY e.link_id, e.detail->>'law', e.event_id DESC
),
clock_overdue AS (
    SELECT DISTINCT link_id
      FROM clock_last
     WHERE step = 'missed' OR (step IN ('started', 'resumed') AND due_at < $3)
),
facts AS (
    SELECT s.link_id, s.platform, s.state,
           COALESCE(bool_or(e.kind = '{EventKind.TRANSITION}' AND e.to_state = 'REMOVED'), false) AS removed,
           EXTRACT(EPOCH FROM min(e.occurred_at) FILTER (
               WHERE e.kind = '{EventKind.TRANSITION}' AND e.to_state = 'REMOVED') - min(e.occurred_at)
           )::float8 AS seconds_to_removal,
           COALESCE(bool_or({_ANSWER}), false) AS answered,
           EXTRACT(EPOCH FROM min({_ANSWERED_AT}) FILTER (WHERE {_ANSWER})
               - min(e.occurred_at) FILTER (WHERE e.kind = '{EventKind.NOTICE}'))::float8 AS seconds_to_answer,
           count(e.event_id) FILTER (WHERE e.kind = '{EventKind.DEADLINE}' AND e.detail->>'step' = 'met') AS met,
           count(e.event_id) FILTER (WHERE e.kind = '{EventKind.DEADLINE}' AND e.detail->>'step' = 'missed') AS missed,
           count(e.event_id) FILTER (
               WHERE e.kind = '{EventKind.TRANSITION}' AND e.from_state = 'REMOVED' AND e.to_state = 'REPORTED'
           ) AS reposts,
           count(e.event_id) FILTER (WHERE e.kind = '{EventKind.DELIVERY_FAILED}') AS bounces,
           (array_agg(e.to_state ORDER BY e.event_id DESC) FILTER (WHERE e.kind = '{EventKind.TRANSITION}'))[1]
               AS last_state
      FROM scope s
      LEFT JOIN link_events e ON e.link_id = s.link_id
     GROUP BY s.link_id, s.platform, s.state
)
SELECT GROUPING(f.platform) = 0 AS by_platform,
       CASE WHEN GROUPING(f.platform) = 0 THEN f.platform ELSE h.host END AS name,
       count(*) AS links,
       count(*) FILTER (WHERE f.removed) AS removed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY f.seconds_to_removal) AS median_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY f.seconds_to_removal) AS p90_seconds,
       count(*) FILTER (WHERE f.answered) AS answered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY f.seconds_to_answer) AS median_answer_seconds,
       COALESCE(sum(f.met), 0)::bigint AS clocks_met,
       COALESCE(sum(f.missed), 0)::bigint AS clocks_missed,
       count(o.link_id) FILTER (
           WHERE COALESCE(f.last_state, f.state) NOT IN ('REMOVED', 'WITHDRAWN')
       ) AS overdue_now,
       COALESCE(sum(f.reposts), 0)::bigint AS reposts,
       COALESCE(sum(f.bounces), 0)::bigint AS bounces
  FROM facts f
  JOIN host_of h USING (link_id)
  LEFT JOIN clock_overdue o USING (link_id)
 GROUP BY GROUPING SETS ((f.platform), (h.host))
 ORDER BY 1 DESC, count(*) DESC, 2
"""


async def fetch_scorecard(
    conn: asyncpg.Connection, bounds: tuple[datetime | None, datetime | None], now: datetime
) -> Scorecard:
    """The scorecard of the links in ``bounds``, "overdue now" as of ``now`` (in the caller's transaction)."""
    rows = await conn.fetch(_SCORECARD, *bounds, now)
    platforms: list[ScoreRow] = []
    hosts: list[ScoreRow] = []
    for row in rows:
        figures = dict(row)
        (platforms if figures.pop("by_platform") else hosts).append(ScoreRow(**figures))
    return Scorecard(as_of=now, platforms=platforms, hosts=hosts)
