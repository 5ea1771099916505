"""The rehearsal's worker: the real workflows and activities (``worker.build_worker``),
sized for a burst of a thousand-odd links on one machine.

The only differences from production are capacity settings: every link workflow and
notice batch stays in the worker's cache (a cache smaller than the number of open
workflows makes the worker replay histories over and over), and more workflow tasks and
activities run at once.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from tada.settings import Settings
from tada.worker import build_worker


def build_simulation_worker(
    client: Client, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings, *, links: int
) -> Worker:
    return build_worker(
        client,
        pool,
        http,
        settings,
        max_cached_workflows=max(1000, 3 * links),
        max_concurrent_workflow_tasks=200,
        max_concurrent_activities=200,
        max_concurrent_workflow_task_polls=10,
        max_concurrent_activity_task_polls=10,
        graceful_shutdown_timeout=timedelta(seconds=5),
    )
