"""Bare Temporal: the workflows and activities tada is compared with.

Default data converter (JSON, no encryption), no database, no SMTP; the same
SDK, the same dev server, the same worker defaults as tada's worker.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import httpx

NOOP = "bare_noop"
HTTP_GET = "bare_http_get"
ACTIVITY_TIMEOUT = timedelta(seconds=60)


@activity.defn(name=NOOP)
async def noop() -> None:
    return None


class BareHttp:
    """A plain httpx GET: no egress policy, no database, no per-host limit."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @activity.defn(name=HTTP_GET)
    async def get(self, url: str) -> dict[str, Any]:
        response = await self._http.get(url)
        return {"verdict": "live" if response.status_code == 200 else "other", "status": response.status_code}


@workflow.defn(name="BareNoop")
class BareNoopWorkflow:
    """What bulk import is compared with: a workflow that does nothing."""

    @workflow.run
    async def run(self) -> None:
        return None


@workflow.defn(name="BarePlan")
class BarePlanWorkflow:
    """What a link's happy path is compared with: the same number of activities (no-ops) and
    timers (the same durations), in the same order. ``plan``: "a" an activity, "t:SECONDS" a timer."""

    @workflow.run
    async def run(self, plan: list[str]) -> int:
        done = 0
        for step in plan:
            if step == "a":
                await workflow.execute_activity(NOOP, start_to_close_timeout=ACTIVITY_TIMEOUT)
                done += 1
            else:
                await workflow.sleep(float(step.split(":", 1)[1]))
        return done


@workflow.defn(name="LoadDriver")
class LoadDriverWorkflow:
    """Runs one activity over many arguments, ``parallel`` at a time; counts the verdicts.
    Drives the liveness benchmark for tada and bare alike."""

    @workflow.run
    async def run(self, activity_name: str, args: list[Any], parallel: int) -> dict[str, int]:
        gate = asyncio.Semaphore(parallel)
        verdicts: dict[str, int] = {}

        async def one(arg: Any) -> None:
            async with gate:
                result = await workflow.execute_activity(activity_name, arg, start_to_close_timeout=ACTIVITY_TIMEOUT)
            verdict = str(result.get("verdict")) if isinstance(result, dict) else str(result)
            verdicts[verdict] = verdicts.get(verdict, 0) + 1

        await asyncio.gather(*(one(arg) for arg in args))
        return verdicts
