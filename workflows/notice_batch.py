"""Batching notices: one email per platform per case.

Links of the same case whose notices fall due for the same recipient within the
batching window are sent as one notice listing them all. Each link workflow hands
its notice to this workflow (signal-with-start) and waits for ``NoticeSent`` (or
``NoticeFailed`` when the recipient can never be reached); each link keeps its own
state and timeline.

A link that is withdrawn or paused while it waits asks for its notice back (``drop``):
a notice still collected is taken out; one being sent stops the send (the activity is
cancelled, and nothing goes out after that), and the batch's other notices go again at
once without it. The link hears ``notice_dropped``, or ``notice_sent`` when the relay
had already accepted it.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import groupby

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError, FailureError

with workflow.unsafe.imports_passed_through():
    from tada.domain.models import NoticeBatch, NoticeBatchKey, NoticeFailed, NoticeRequest, NoticeSent
    from tada.workflows.activity_contracts import Notices
    from tada.workflows.delivery_outcome import permanent_failure
    from tada.workflows.options import NOTICE


@workflow.defn
class NoticeBatchWorkflow:
    @workflow.init
    def __init__(self, key: NoticeBatchKey, pending: list[NoticeRequest] | None = None) -> None:
        self._pending: list[NoticeRequest] = list(pending or [])
        self._drop: set[str] = set()  # notices their links asked back
        self._in_flight: set[str] = set()
        self._done: dict[str, NoticeSent] = {}  # sent by this run: a late "drop" hears so again
        self._given_back: set[str] = set()  # dropped and answered: never sent by this run unless added again

    @workflow.signal
    def add(self, notice: NoticeRequest) -> None:
        key = notice.notice_key
        if key in self._done:  # sent already (the link asked it back too late): it hears so again
            self._drop.add(key)
            return
        self._drop.discard(key)  # handed over again after a pause
        self._given_back.discard(key)
        if all(p.notice_key != key for p in self._pending):  # a retried hand-over
            self._pending.append(notice)

    @workflow.signal
    def drop(self, notice_key: str) -> None:
        self._drop.add(notice_key)

    @workflow.query
    def waiting(self) -> int:
        """How many notices are collected and not yet sent."""
        return len(self._pending)

    @workflow.run
    async def run(self, key: NoticeBatchKey, pending: list[NoticeRequest] | None = None) -> int:
        sent = 0
        while True:
            await workflow.wait_condition(lambda: bool(self._pending) or bool(self._drop))
            await self._answer_drops()
            if not self._pending:
                continue
            await self._collect(key.window)
            due, self._pending = self._pending, []
            due.sort(key=lambda n: n.kind.value)
            for _, group in groupby(due, key=lambda n: n.kind):
                sent += await self._send(list(group))
            await self._answer_every_drop()
            if not self._pending:
                return sent
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(args=[key, self._pending])  # no await since the last drop was answered

    async def _collect(self, window: timedelta) -> None:
        """Wait out the batching window, answering links that ask their notice back meanwhile."""
        if window.total_seconds() <= 0:
            return
        deadline = workflow.now() + window
        while (remaining := deadline - workflow.now()) > timedelta(0):
            try:
                await workflow.wait_condition(lambda: bool(self._drop), timeout=remaining)
            except TimeoutError:
                return
            await self._answer_drops()

    async def _answer_every_drop(self) -> None:
        """Until no drop is left unanswered (more may arrive while the links are told)."""
        while self._drop - self._in_flight:
            await self._answer_drops()

    async def _answer_drops(self) -> None:
        """Every notice asked back that is not being sent: taken out, and its link told."""
        for notice_key in sorted(self._drop - self._in_flight):
            self._drop.discard(notice_key)
            link_id = notice_key.split(":", 1)[0]
            if notice_key in self._done:
                await self._tell(link_id, "notice_sent", self._done[notice_key])
                continue
            self._pending = [p for p in self._pending if p.notice_key != notice_key]
            self._given_back.add(notice_key)  # also out of a group about to be sent
            await self._tell(link_id, "notice_dropped", notice_key)

    async def _send(self, notices: list[NoticeRequest]) -> int:
        notices = [n for n in notices if n.notice_key not in self._drop and n.notice_key not in self._given_back]
        if not notices:
            return 0
        self._in_flight = {n.notice_key for n in notices}
        sending = workflow.start_activity_method(Notices.send_batch, NoticeBatch(items=notices), **NOTICE)
        await workflow.wait_condition(lambda: sending.done() or bool(self._drop & self._in_flight))
        cancelled = not sending.done()
        if cancelled:
            sending.cancel()  # waits until the activity has stopped: nothing goes out after this
        try:
            receipt = await sending
        except ActivityError as error:
            self._in_flight = set()
            failure = permanent_failure(error)
            if failure is None and (cancelled or isinstance(error.cause, CancelledError)):
                # A cancelled send is not retried: whatever ended it (a timeout, its worker gone),
                # it did not finish. Again at once, without the notices asked back.
                rest = [n for n in notices if n.notice_key not in self._drop]
                await self._answer_drops()
                return await self._send(rest)
            if failure is None:
                raise
            for notice in notices:
                await self._tell(
                    notice.link_id, "notice_failed", NoticeFailed(notice_key=notice.notice_key, failure=failure)
                )
            return 0
        self._in_flight = set()
        for notice in notices:
            done = NoticeSent(
                notice_key=notice.notice_key,
                message_id=receipt.message_id,
                recipient=receipt.recipient,
                batch_size=len(notices),
            )
            self._done[notice.notice_key] = done
            self._drop.discard(notice.notice_key)  # too late: it went out, and the link hears so
            await self._tell(notice.link_id, "notice_sent", done)
        return len(notices)

    @staticmethod
    async def _tell(link_id: str, signal: str, payload: object) -> None:
        try:
            await workflow.get_external_workflow_handle(link_id).signal(signal, payload)
        except FailureError:
            workflow.logger.info("link %s closed before it heard from its notice batch", link_id)
