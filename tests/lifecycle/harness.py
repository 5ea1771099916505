"""A running tada worker on the time-skipping server, with one link under test."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from tada.app.intake import open_case, start_link
from tada.domain.models import LinkStatus, PlatformPolicy, Timings
from tada.domain.states import Category, Channel, Escalation, LinkState
from tada.domain.urls import normalise_url
from tada.settings import Settings
from tada.workflows.link import LinkWorkflow
from tests.support.cli_stack import worker_running
from tests.support.crypto import suite_crypto

PLATFORM_EMAIL = "reports@platform.test"
HOST_EMAIL = "abuse@host.test"


def make_policy(**changes) -> PlatformPolicy:
    policy = PlatformPolicy(
        name="platform.test",
        category=Category.PORNOGRAPHIC_SITE,
        channel=Channel.EMAIL,
        email=PLATFORM_EMAIL,
        escalation=Escalation.HOST,
        escalation_email=HOST_EMAIL,
        removed_markers=["This content has been removed"],
        timings=Timings(
            follow_up_after=timedelta(days=2),
            follow_ups=2,
            escalate_after=timedelta(days=7),
            escalations=2,
            recheck_schedule=[timedelta(days=1), timedelta(days=7)],
            unresolved_recheck=timedelta(days=30),
            batch_window=timedelta(0),
            confirm_gone_after=timedelta(0),  # confirmation is tested on its own (test_confirmed_removal.py)
        ),
    )
    return policy.model_copy(update=changes)


@dataclass
class Harness:
    env: WorkflowEnvironment
    pool: asyncpg.Pool
    settings: Settings
    started: list[str] = field(default_factory=list)

    async def open_case(self) -> str:
        return await open_case(self.pool, age=30, minimum_age=16, signpost="", reference="REF-1", crypto=suite_crypto())

    async def start(
        self, url: str, policy: PlatformPolicy | None = None, *, case_id: str | None = None,
        victim_made_image: bool = False,
    ) -> WorkflowHandle:  # fmt: skip
        case_id = case_id or await self.open_case()
        link_id, started = await start_link(
            self.pool,
            self.env.client,
            case_id=case_id,
            language="en",
            url=normalise_url(url),
            policy=policy or make_policy(),
            task_queue=self.settings.task_queue,
            victim_made_image=victim_made_image,  # as the case records it (intake reads it from the case)
        )
        assert started
        self.started.append(link_id)
        return self.env.client.get_workflow_handle_for(LinkWorkflow.run, link_id)

    async def terminate_all(self) -> None:
        """Workflows left asleep without a worker would stop the test server skipping time. Each
        is terminated once it has settled (its history no longer growing, no activity running):
        one terminated in the middle of its work stalled the next test's time skipping for 30 s
        (the test server's sleep then fails with "Timeout expired")."""
        for link_id in self.started:
            handle = self.env.client.get_workflow_handle(link_id)
            request = DescribeWorkflowExecutionRequest(
                namespace=self.env.client.namespace, execution=WorkflowExecution(workflow_id=link_id)
            )
            try:
                lengths: list[int] = []
                for _ in range(50):  # 5 s at the most: until its history stops growing, nothing running
                    described = await self.env.client.workflow_service.describe_workflow_execution(request)
                    lengths.append(described.workflow_execution_info.history_length)
                    if not described.pending_activities and lengths[-3:] == [lengths[-1]] * 3:
                        break
                    await asyncio.sleep(0.1)
                await handle.terminate("test finished")
            except RPCError:
                pass  # already closed

    async def status(self, handle: WorkflowHandle) -> LinkStatus:
        return await handle.query(LinkWorkflow.status)

    async def until(self, handle: WorkflowHandle, state: LinkState, *, timeout: float = 30) -> LinkStatus:
        """Poll (in real time) until the link reaches ``state`` and waits for its next action."""
        return await self.wait(
            handle, lambda s: s.state == state and not s.next_action.startswith(("send", "start")), timeout
        )

    async def notice_sent(self, link_id: str, kind: str, recipient: str, *, timeout: float = 30) -> None:
        """Poll (in real time) until the link's notice of ``kind`` to ``recipient`` is marked sent:
        an escalation's re-check is scheduled as the notice is handed to the relay, before it is."""
        deadline = asyncio.get_running_loop().time() + timeout
        while (kind, recipient, "sent") not in await self.notice_rows(link_id):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {kind} notice sent to {recipient}: {await self.notice_rows(link_id)}")
            await asyncio.sleep(0.05)

    async def wait(self, handle: WorkflowHandle, predicate, timeout: float = 30) -> LinkStatus:
        """Poll (in real time) until the link's status satisfies ``predicate``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            status = await self.status(handle)
            if predicate(status):
                return status
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not reached; the link is {status}")
            await asyncio.sleep(0.05)

    async def result(self, handle: WorkflowHandle) -> LinkStatus:
        """The workflow's result, letting the test server skip time until it comes."""
        async with self.env.time_skipping_unlocked():
            return await handle.result()

    async def advance(self, duration: timedelta) -> None:
        await self.env.sleep(duration)

    async def transitions(self, link_id: str) -> list[tuple[str, str]]:
        rows = await self.pool.fetch(
            "SELECT from_state, to_state FROM link_events WHERE link_id = $1 AND kind = 'transition' ORDER BY event_id",
            link_id,
        )
        return [(r["from_state"], r["to_state"]) for r in rows]

    async def notice_rows(self, link_id: str) -> list[tuple[str, str, str]]:
        rows = await self.pool.fetch(
            "SELECT kind, recipient, status FROM notices WHERE link_id = $1 ORDER BY created_at", link_id
        )
        return [(r["kind"], r["recipient"], r["status"]) for r in rows]


@asynccontextmanager
async def running_worker(env: WorkflowEnvironment, pool: asyncpg.Pool, settings: Settings):
    harness = Harness(env, pool, settings)
    async with worker_running(env.client, pool, settings):
        try:
            yield harness
        finally:
            await harness.terminate_all()
