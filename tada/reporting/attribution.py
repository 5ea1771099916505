"""SQL that says which hosting provider a link is counted under, shared by the report's
"removal rate per hosting provider" table and its scorecard.

A link's hosting provider is the web host it was escalated to: the first host abuse
contact found (its name, else its email's domain, lower case), else the domain of the
address a host escalation was sent to, else "unknown". The fragments expect a ``scope``
CTE with a ``link_id`` column before them.
"""

from __future__ import annotations

from tada.domain.states import EventKind

UNKNOWN_HOST = "unknown"

#: CTEs ``found``, ``escalated_to`` and ``host_of (link_id, host)``; put after ``WITH scope AS (...)``.
HOST_OF = f"""
found AS (
    SELECT DISTINCT ON (e.link_id) e.link_id,
           COALESCE(NULLIF(e.detail->>'name', ''), lower(NULLIF(split_part(e.detail->>'email', '@', 2), '')),
                    e.detail->>'email_domain') AS host
      FROM link_events e JOIN scope USING (link_id)
     WHERE e.kind = '{EventKind.CONTACT_FOUND}' AND e.detail->>'kind' = 'host'
     ORDER BY e.link_id, e.event_id
),
escalated_to AS (
    SELECT DISTINCT ON (e.link_id) e.link_id,
           COALESCE(lower(NULLIF(split_part(e.detail->>'recipient', '@', 2), '')), e.detail->>'recipient_domain')
               AS host
      FROM link_events e JOIN scope USING (link_id)
     WHERE e.kind = '{EventKind.NOTICE}' AND e.detail->>'kind' = 'escalation_host'
       AND e.detail ?| array['recipient', 'recipient_domain']
     ORDER BY e.link_id, e.event_id
),
host_of AS (
    SELECT scope.link_id, COALESCE(found.host, escalated_to.host, '{UNKNOWN_HOST}') AS host
      FROM scope
      LEFT JOIN found USING (link_id)
      LEFT JOIN escalated_to USING (link_id)
)
"""
