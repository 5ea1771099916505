"""tada's own fault in a liveness check (here: its database refuses connections) is retried a
few times, then recorded as an "unknown" check, and the link goes on: its notice goes out.
Nothing the site does can fail the check (tests/activities/test_hostile_pages.py); this is
the other half, so no link waits for ever on a check that cannot run."""

from __future__ import annotations

import asyncpg
import pytest
from temporalio.worker import Worker

from tada.activities.liveness import LivenessActivities
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.egress import EgressPolicy
from tada.clients.host_limiter import HostLimiter
from tada.domain.states import LinkState
from tada.kit.ports import free_port
from tada.worker import build_activities, new_http_client
from tada.workflows.link import LinkWorkflow
from tada.workflows.notice_batch import NoticeBatchWorkflow
from tests.lifecycle.harness import PLATFORM_EMAIL, Harness

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_check_that_cannot_run_is_unknown_and_the_notice_goes_out(time_env, db_pool, settings, mailbox, web):
    web.gone("/x")  # would be "gone", if the check could read the link's address
    dead = await asyncpg.create_pool(f"postgresql://tada@127.0.0.1:{free_port('127.0.0.1')}/tada", min_size=0)
    async with new_http_client(settings) as http:
        egress = EgressPolicy(allow_private=True)
        broken = LivenessActivities(
            dead,
            http,
            egress=egress,
            limiter=HostLimiter(0),
            max_bytes=4096,
            nxdomain=NxdomainEvidence(egress.resolver, []),
        )
        activities = [broken.check, *build_activities(time_env.client, db_pool, http, settings)[1:]]
        worker = Worker(
            time_env.client,
            task_queue=settings.task_queue,
            workflows=[LinkWorkflow, NoticeBatchWorkflow],
            activities=activities,
        )
        async with worker:
            h = Harness(time_env, db_pool, settings)
            try:
                handle = await h.start(web.url("/x"))
                async with time_env.time_skipping_unlocked():  # the retries' backoff passes
                    status = await h.wait(handle, lambda s: s.notices_sent >= 1, timeout=60)
            finally:
                await h.terminate_all()
    await dead.close()
    assert status.state != LinkState.REMOVED
    assert mailbox.messages[0]["To"] == PLATFORM_EMAIL
    assert web.hits.get("/x", 0) == 0
    reason = await db_pool.fetchval(
        "SELECT detail->>'reason' FROM link_events WHERE link_id = $1 AND kind = 'liveness' ORDER BY event_id LIMIT 1",
        handle.id,
    )
    assert reason == "the check itself failed (ConnectionRefusedError): treated as unknown"
