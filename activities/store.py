"""The audit trail: every transition, notice and response, append-only in PostgreSQL."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity

from domain.models import LinkEvent
from domain.victim_data import sealed_detail_fields, storable
from services.data_crypto import DataCrypto, configured_crypto

log = structlog.get_logger(__name__)


class StoreActivities:
    def __init__(self, pool: asyncpg.Pool, crypto: DataCrypto | None = None) -> None:
        self._pool = pool
        self._crypto = crypto or configured_crypto()

    @activity.defn(name="record_event")
    async def record_event(self, event: LinkEvent) -> None:
        """Append one event and bring the link's read model up to date. A retry of an
        event already recorded (same event_key) changes nothing. Notes (victim data) are
        sealed with the case's key before they are stored."""
        async with self._pool.acquire() as conn, conn.transaction():
            detail = {storable(name): storable(value) for name, value in event.detail.items()}
            to_state = event.to_state.value if event.to_state else None
            for name in sealed_detail_fields(detail, kind=event.kind, to_state=to_state):
                detail[name] = await self._crypto.seal(conn, event.case_id, f"{event.link_id}/{name}", detail[name])
            event_id = await conn.fetchval(
                """
                INSERT INTO link_events (event_key, link_id, case_id, cycle, kind,
                                         from_state, to_state, detail, occurred_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (event_key) DO NOTHING
                RETURNING event_id
                """,
                event.event_key,
                event.link_id,
                event.case_id,
                event.cycle,
                event.kind,
                event.from_state.value if event.from_state else None,
                to_state,
                detail,
                event.occurred_at,
            )
            if event_id is None:
                return
            await conn.execute(
                """
                UPDATE links
                   SET state = COALESCE($2, state), cycle = $3,
                       next_action = $4, next_action_at = $5, updated_at = now()
                 WHERE link_id = $1
                """,
                event.link_id,
                event.to_state.value if event.to_state else None,
                event.cycle,
                event.next_action,
                event.next_action_at,
            )
        log.info("event_recorded", link_id=event.link_id, kind=event.kind, to_state=event.to_state)
