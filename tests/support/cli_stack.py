"""What a test of the CLI or the API against the real stack sets up: a platform registry on
disk, the worker's settings, the environment of a ``tada`` subprocess, the subprocess itself
and a worker running in the test's event loop (Temporal dev server, PostgreSQL, SMTP)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tada.settings import Settings
from tada.worker import build_worker, new_http_client
from tada.workflows.link import LinkWorkflow

TADA = Path(sys.executable).parent / "tada"
PLATFORM_EMAIL = "reports@platform.test"
NOTICE_FROM = "Take-Down Assistance <takedown@tada.test>"

#: The registry's [defaults] of most stack tests: every step an hour away, so only what a test
#: does moves a link on.
HOURLY = {
    "follow_up_after": "1h",
    "follow_ups": 1,
    "escalate_after": "1h",
    "escalations": 1,
    "recheck_schedule": ["1h"],
    "unresolved_recheck": "1h",
    "batch_window": "1s",
    "confirm_gone_after": "0s",  # a removal's confirmation is tested on the time-skipping server
}
#: The one platform: everything on 127.0.0.1 (the suite's web server), reported by email.
TEST_PLATFORM = {
    "name": "Test Platform",
    "category": "image_host",
    "domains": ["127.0.0.1"],
    "channel": "email",
    "email": PLATFORM_EMAIL,
    "escalation": "host",
}


def registry_toml(defaults: Mapping[str, Any], **platform: Any) -> str:
    """A registry of ``defaults`` and the test platform, changed by ``platform`` (None drops a key)."""
    entry = {key: value for key, value in {**TEST_PLATFORM, **platform}.items() if value is not None}

    def table(values: Mapping[str, Any]) -> str:
        return "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())

    return f"\n[defaults]\n{table(defaults)}\n[[platform]]\n{table(entry)}"


def write_registry(directory: Path, toml: str) -> Path:
    registry = directory / "platforms.toml"
    registry.write_text(toml, encoding="utf-8")
    return registry


def stack_settings(
    dev_env: WorkflowEnvironment, postgres_url: str, smtp_port: int, registry: Path, queue: str, **changes: Any
) -> Settings:
    """The worker's settings on the dev server: a task queue of its own (``tada-<queue>-…``),
    the suite's SMTP server, private targets allowed, no recipient limit."""
    return Settings(
        database_url=postgres_url,
        temporal_address=dev_env.client.service_client.config.target_host,
        task_queue=f"tada-{queue}-{uuid.uuid4().hex[:8]}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        allow_private_targets=True,
        platforms=registry,
        liveness_timeout_seconds=5,
        recipient_hourly_limit=0,
        **changes,
    )


def cli_env(settings: Settings, *, mail: bool = True, **values: str) -> dict[str, str]:
    """A ``tada`` subprocess's environment: this process's without its TADA_ variables, then
    ``settings``' stack (with ``mail``, its SMTP server and private targets too), JSON logs, ``values``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TADA_")}
    env.update(
        TADA_TEMPORAL_ADDRESS=settings.temporal_address,
        TADA_TASK_QUEUE=settings.task_queue,
        TADA_DATABASE_URL=settings.database_url,
        TADA_PLATFORMS=str(settings.platforms),
        TADA_DATA_KEY=settings.data_key.get_secret_value(),  # the worker's (tests/conftest.py)
        TADA_LOG_FORMAT="json",
    )
    if mail:
        env.update(
            TADA_SMTP_HOST=settings.smtp_host,
            TADA_SMTP_PORT=str(settings.smtp_port),
            TADA_ALLOW_PRIVATE_TARGETS="true",
        )
    env.update(values)
    return env


class Run(NamedTuple):
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


async def run_tada(*args: str, env: Mapping[str, str], cwd: Path | None = None) -> Run:
    """``tada *args`` as a subprocess (a minute at the most)."""
    process = await asyncio.create_subprocess_exec(
        str(TADA), *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    return Run(process.returncode, stdout.decode(), stderr.decode())


@asynccontextmanager
async def worker_running(client: Client, pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[None]:
    """The tada worker of ``settings`` on ``client``, for the block. Its workflows run in the
    full sandbox, which re-imports tada's modules for every run and so checks every call the
    workflow code makes (production passes them through, imported once: tada/worker.py
    ``workflow_runner``): a nondeterministic call added to a workflow fails these tests."""
    async with (
        new_http_client(settings) as http,
        build_worker(client, pool, http, settings, workflow_runner=SandboxedWorkflowRunner()),
    ):
        yield


@dataclass
class Stack:
    """The CLI against a running worker: ``tada`` in ``cwd`` with ``env``; the database and Temporal."""

    env: dict[str, str]
    cwd: Path
    client: Client
    pool: asyncpg.Pool

    async def tada(self, *args: str) -> Run:
        return await run_tada(*args, env=self.env, cwd=self.cwd)

    async def open_case(self, *extra: str) -> str:
        run = await self.tada("case", "open", "--age", "30", "--json", *extra)
        assert run.code == 0, run.stderr
        return run.json["case_id"]

    async def state(self, link_id: str) -> str | None:
        return await self.pool.fetchval("SELECT state FROM links WHERE link_id = $1", link_id)

    async def withdraw(self, *link_ids: str) -> None:
        for link_id in link_ids:
            await self.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float) -> Any:
    """Poll ``check`` until it returns something true (and return it), for ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)
