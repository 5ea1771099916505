"""Handing a link's notice to the batch of its case and recipient (signal-with-start)."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from tada.app.link_ids import batch_id_for
from tada.domain.batching import batch_key_for
from tada.domain.models import NoticeRequest
from tada.workflows.activity_contracts import HAND_OVER_NOTICE, NoticeHandOver
from tada.workflows.notice_batch import NoticeBatchWorkflow

log = structlog.get_logger(__name__)


class NoticeHandOverActivities(NoticeHandOver):
    def __init__(self, client: Client, pool: asyncpg.Pool, task_queue: str) -> None:
        self._client = client
        self._pool = pool
        self._task_queue = task_queue

    @activity.defn(name=HAND_OVER_NOTICE)
    async def hand_over(self, notice: NoticeRequest) -> str:
        """Add the notice to its batch, starting the batch if none is collecting. Returns the batch
        id (keyed by the case's id key: the link asks this batch for its notice back by it).
        A retry adds the same notice again, which the batch ignores."""
        key = batch_key_for(notice)
        batch_id = await batch_id_for(self._pool, key)
        await self._client.start_workflow(
            NoticeBatchWorkflow.run,
            args=[key, None],
            id=batch_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="add",
            start_signal_args=[notice],
        )
        log.info("notice_handed_over", link_id=notice.link_id, kind=notice.kind, batch_id=batch_id)
        return batch_id
