"""The audit trail: every transition, notice and response, append-only in PostgreSQL."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity

from tada.adapters.data_crypto import DataCrypto
from tada.domain.models import LinkEvent
from tada.domain.victim_data import sealed_detail_fields, storable
from tada.workflows.activity_contracts import RECORD_EVENT, Store

log = structlog.get_logger(__name__)


#: One statement, so one round trip: append the event and, only if it is new (a retry of an
#: event already recorded inserts nothing), bring the link's read model up to date (its state,
#: next action, what it needs of a person, and its legal clock).
RECORD_EVENT_SQL = """
WITH event AS (
    INSERT INTO link_events (event_key, link_id, case_id, cycle, kind, from_state, to_state, detail, occurred_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (event_key) DO NOTHING
    RETURNING link_id
)
UPDATE links
   SET state = COALESCE($7, state), cycle = $4, next_action = $10, next_action_at = $11, updated_at = now(),
       needs = tada_needs(links.needs, $5, $7, $8),
       needs_for = CASE WHEN tada_needs(links.needs, $5, $7, $8) IS NULL THEN NULL
                        WHEN $5 IN ('waiting', 'reply', 'delivery_failed') THEN tada_needs_for($5, $8)
                        ELSE links.needs_for END,
       needs_since = CASE WHEN tada_needs(links.needs, $5, $7, $8) IS NULL THEN NULL
                          WHEN tada_needs(links.needs, $5, $7, $8) IS DISTINCT FROM links.needs
                               OR $5 IN ('waiting', 'reply', 'delivery_failed') THEN $9
                          ELSE links.needs_since END,
       deadline_law = CASE WHEN $5 = 'deadline' THEN $8->>'law' WHEN $7 = 'REPORTED' THEN NULL
                           ELSE links.deadline_law END,
       deadline_step = CASE WHEN $5 = 'deadline' THEN $8->>'step' WHEN $7 = 'REPORTED' THEN NULL
                            ELSE links.deadline_step END,
       deadline_due_at = CASE WHEN $5 = 'deadline' THEN ($8->>'due_at')::timestamptz WHEN $7 = 'REPORTED' THEN NULL
                              ELSE links.deadline_due_at END
  FROM event
 WHERE links.link_id = event.link_id
RETURNING true
"""


class StoreActivities(Store):
    def __init__(self, pool: asyncpg.Pool, crypto: DataCrypto) -> None:
        self._pool = pool
        self._crypto = crypto

    @activity.defn(name=RECORD_EVENT)
    async def record_event(self, event: LinkEvent) -> None:
        """Append one event and bring the link's read model up to date. A retry of an
        event already recorded (same event_key) changes nothing. Notes (victim data) are
        sealed with the case's key before they are stored."""
        detail = {storable(name): storable(value) for name, value in event.detail.items()}
        to_state = event.to_state.value if event.to_state else None
        for name in sealed_detail_fields(detail, kind=event.kind, to_state=to_state):
            detail[name] = await self._crypto.seal(self._pool, event.case_id, f"{event.link_id}/{name}", detail[name])
        recorded = await self._pool.fetchval(
            RECORD_EVENT_SQL,
            event.event_key,
            event.link_id,
            event.case_id,
            event.cycle,
            event.kind,
            event.from_state.value if event.from_state else None,
            to_state,
            detail,
            event.occurred_at,
            event.next_action,
            event.next_action_at,
        )
        if not recorded:
            return
        log.info("event_recorded", link_id=event.link_id, kind=event.kind, to_state=event.to_state)
