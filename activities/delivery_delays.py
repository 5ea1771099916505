"""A notice that keeps failing for a temporary reason is retried for as long as it takes, but
not silently: once it has been failing for ``TADA_DELIVERY_WARN_AFTER``, each of its links
records a ``delivery_delayed`` event (once per notice) and shows "delivery delayed" in
``tada status`` until the notice goes out (the workflow's next event sets the next action
again). Timed on Temporal's clock: from the send's first scheduling to the current attempt's.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import structlog
from temporalio import activity

from tada.activities.store import RECORD_EVENT_SQL
from tada.domain.delivery import DeliveryFailure
from tada.domain.durations import format_duration
from tada.domain.models import NoticeBatch
from tada.domain.states import EventKind

log = structlog.get_logger(__name__)

DEFAULT_WARN_AFTER = timedelta(hours=1)


class DelayedDeliveries:
    def __init__(self, pool: asyncpg.Pool, warn_after: timedelta = DEFAULT_WARN_AFTER) -> None:
        self._pool = pool
        self._warn_after = warn_after

    async def note(self, batch: NoticeBatch, failure: DeliveryFailure) -> bool:
        """Record the delay on every link of the batch when it has lasted long enough.
        True when it has (and was recorded, now or by an earlier attempt)."""
        if not activity.in_activity():
            return False
        info = activity.info()
        failing_for = info.current_attempt_scheduled_time - info.scheduled_time
        if failing_for < self._warn_after:
            return False
        since = format_duration(timedelta(seconds=int(failing_for.total_seconds())))
        for notice in batch.items:
            detail = {
                "kind": notice.kind.value,
                "channel": failure.channel.value,
                "code": failure.code,
                "where": failure.where,
                "reason": failure.reason,
                "failing_for": since,
            }
            await self._pool.fetchval(
                RECORD_EVENT_SQL,
                f"{notice.notice_key}:delayed",  # once per notice, however many attempts
                notice.link_id,
                notice.case_id,
                notice.cycle,
                EventKind.DELIVERY_DELAYED.value,
                None,
                None,
                detail,
                info.current_attempt_scheduled_time,
                f"delivery delayed: {failure.where} answered {failure.code}, still retrying",
                None,
            )
        log.warning("notice_delivery_delayed", links=len(batch.items), where=failure.where, code=failure.code)
        return True
