"""A link's workflow stays healthy for years: it starts a fresh history whenever
Temporal suggests it, and no caseworker signal is lost on the way.

A dev server with a tiny history limit makes continue-as-new really happen.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from tada.app.readmodel import link_timeline
from tada.domain import search
from tada.domain.models import PlatformResponse, Timings
from tada.domain.states import Escalation, LinkState, ResponseOutcome
from tada.workflows.link import LinkWorkflow
from tests.conftest import _binary
from tests.lifecycle.harness import make_policy, running_worker
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

HISTORY_LIMIT = 60
SIGNALS = 15


@pytest.fixture(scope="module")
async def small_history_env():
    from temporalio.contrib.pydantic import pydantic_data_converter

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=[search.CASE_ID, search.STATE, search.CATEGORY, search.PLATFORM, search.NEXT_ACTION_AT],
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={HISTORY_LIMIT}",
        ],
    )
    yield env
    await env.shutdown()


@pytest.mark.asyncio(loop_scope="session")
async def test_history_restarts_and_no_signal_is_lost(small_history_env, db_pool, settings, mailbox, web):
    web.live("/long-lived")
    policy = make_policy(
        escalation=Escalation.NONE,
        timings=Timings(
            follow_up_after=timedelta(seconds=1),
            follow_ups=0,
            unresolved_recheck=timedelta(seconds=1),
            recheck_schedule=[timedelta(days=1)],
            batch_window=timedelta(0),
            confirm_gone_after=timedelta(0),
        ),
    )
    async with running_worker(small_history_env, db_pool, settings) as h:
        handle = await h.start(web.url("/long-lived"), policy)
        await h.until(handle, LinkState.UNRESOLVED)  # re-checked every second from now on
        for number in range(SIGNALS):  # signals arrive while histories roll over
            note = f"acknowledged #{number}"
            await handle.signal(LinkWorkflow.respond, PlatformResponse(outcome=ResponseOutcome.ACKNOWLEDGED, note=note))
            await asyncio.sleep(0.15)

        async def recorded() -> int:
            return await db_pool.fetchval(
                "SELECT count(*) FROM link_events WHERE link_id = $1 AND kind = 'response'", handle.id
            )

        deadline = asyncio.get_running_loop().time() + 30
        while await recorded() < SIGNALS and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
        assert await recorded() == SIGNALS

        runs = [wf async for wf in small_history_env.client.list_workflows(f"WorkflowId = '{handle.id}'")]
        assert len(runs) >= 2, "continue-as-new did not happen"
        assert sum(r.status == WorkflowExecutionStatus.CONTINUED_AS_NEW for r in runs) >= 1
        status = await h.status(handle)
        assert status.state == LinkState.UNRESOLVED and status.cycle == 1

        web.gone("/long-lived")  # still working after the roll-overs
        await h.until(handle, LinkState.REMOVED)
        timeline = await link_timeline(
            db_pool, handle.id, suite_crypto()
        )  # notes are sealed at rest; the read model opens them
        notes = [event.detail["note"] for event in timeline.events if event.kind == "response"]
        assert notes == [f"acknowledged #{n}" for n in range(SIGNALS)]
