"""Batching notices: one email per platform per case.

Links of the same case whose notices fall due for the same recipient within the
batching window are sent as one notice listing them all. Each link workflow hands
its notice to this workflow (signal-with-start) and waits for ``NoticeSent``; each
link keeps its own state and timeline.
"""

from __future__ import annotations

from itertools import groupby

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from tada.domain.models import NoticeBatch, NoticeBatchKey, NoticeRequest, NoticeSent
    from tada.workflows.activity_contracts import Notices
    from tada.workflows.options import NOTICE


@workflow.defn
class NoticeBatchWorkflow:
    @workflow.init
    def __init__(self, key: NoticeBatchKey, pending: list[NoticeRequest] | None = None) -> None:
        self._pending: list[NoticeRequest] = list(pending or [])

    @workflow.signal
    def add(self, notice: NoticeRequest) -> None:
        if all(p.notice_key != notice.notice_key for p in self._pending):  # a retried hand-over
            self._pending.append(notice)

    @workflow.query
    def waiting(self) -> int:
        """How many notices are collected and not yet sent."""
        return len(self._pending)

    @workflow.run
    async def run(self, key: NoticeBatchKey, pending: list[NoticeRequest] | None = None) -> int:
        sent = 0
        while True:
            await workflow.wait_condition(lambda: bool(self._pending))
            if key.window.total_seconds() > 0:
                await workflow.sleep(key.window)
            due, self._pending = self._pending, []
            due.sort(key=lambda n: n.kind.value)
            for _, group in groupby(due, key=lambda n: n.kind):
                sent += await self._send(list(group))
            if not self._pending:
                return sent
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(args=[key, self._pending])

    async def _send(self, notices: list[NoticeRequest]) -> int:
        receipt = await workflow.execute_activity_method(Notices.send_batch, NoticeBatch(items=notices), **NOTICE)
        for notice in notices:
            done = NoticeSent(
                notice_key=notice.notice_key,
                message_id=receipt.message_id,
                recipient=receipt.recipient,
                batch_size=len(notices),
            )
            try:
                await workflow.get_external_workflow_handle(notice.link_id).signal("notice_sent", done)
            except FailureError:
                workflow.logger.info("link %s closed before its notice was confirmed", notice.link_id)
        return len(notices)
