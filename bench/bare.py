"""Bare Temporal: the workflows and activities tada is compared with.

Default data converter (JSON, no encryption), no database, no SMTP; the same
SDK, the same dev server, the same worker defaults as tada's worker.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    import httpx

NOOP = "bare_noop"
WAKE = "bare_wake"
HTTP_GET = "bare_http_get"
ACTIVITY_TIMEOUT = timedelta(seconds=60)


@activity.defn(name=NOOP)
async def noop() -> None:
    return None


_wake_file = None


@activity.defn(name=WAKE)
async def wake() -> None:
    """A sleeper's first step after its timer: note (workflow id, scheduled, started) in BENCH_WAKE_FILE."""
    global _wake_file
    info = activity.info()
    if info.attempt == 1 and os.environ.get("BENCH_WAKE_FILE"):
        if _wake_file is None:
            _wake_file = open(os.environ["BENCH_WAKE_FILE"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115
        _wake_file.write(f"{info.workflow_id} {info.scheduled_time.timestamp():.6f} {time.time():.6f}\n")


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


@workflow.defn(name="BareNoopWithInput")
class BareNoopWithInputWorkflow:
    """The control of the import benchmark: a workflow that does nothing with an opaque input."""

    @workflow.run
    async def run(self, data: str) -> None:
        return None


@workflow.defn(name="BareSleeper")
class BareSleeperWorkflow:
    """What a sleeping link is compared with: one timer until ``wake_at`` (epoch seconds), then one activity."""

    @workflow.run
    async def run(self, wake_at: float) -> None:
        remaining = wake_at - workflow.now().timestamp()
        if remaining > 0:
            await workflow.sleep(remaining)
        await workflow.execute_activity(WAKE, start_to_close_timeout=ACTIVITY_TIMEOUT)


@workflow.defn(name="BarePlan")
class BarePlanWorkflow:
    """What a link's happy path is compared with: the same activities (no-ops) and the same waits,
    in the same order. ``plan``: "a" an activity; "d:SECONDS" a deadline that many seconds from
    now; "w" a wait until it (a timer for what is left; none once it has passed, as in tada);
    "t:SECONDS" a plain timer. The plan is read from a tada link's history (bench/happy.py), so
    it holds whatever tada does: since removals are confirmed, the confirming liveness check,
    its event and the wait before it. Returns [activities run, timers started]."""

    @workflow.run
    async def run(self, plan: list[str]) -> list[int]:
        done = timers = 0
        due = workflow.now()
        for step in plan:
            if step == "a":
                await workflow.execute_activity(NOOP, start_to_close_timeout=ACTIVITY_TIMEOUT)
                done += 1
            elif step.startswith("d:"):
                due = workflow.now() + timedelta(seconds=float(step[2:]))
            elif step == "w":
                remaining = (due - workflow.now()).total_seconds()
                if remaining > 0:
                    await workflow.sleep(remaining)
                    timers += 1
            else:
                await workflow.sleep(float(step.split(":", 1)[1]))
                timers += 1
        return [done, timers]


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
