"""The local world one benchmark runs in, and workers in processes of their own.

The kit's local stack (tada/kit/stack.py: a Temporal dev server on a SQLite file with
the WAL pragmas, an embedded PostgreSQL and an SMTP sink, on free ports) with the
benchmarks' pages (bench/web.py) and their take-down sink (bench/smtp.py), all on
127.0.0.1 and all under a temporary directory that is deleted afterwards. tada and
bare Temporal run on the same server in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bench.smtp import TakeDownSink
from bench.web import LocalWeb
from tada.adapters.temporal import connect
from tada.kit.postgres import EmbeddedPostgres
from tada.kit.stack import LocalStack, random_key, settings_from_env, temporary_directory
from tada.kit.temporal_server import DevTemporalServer
from tada.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[1]  # bench/ is not installed: its workers import it from here


@dataclass
class Stack:
    """``async with Stack(...) as stack``: servers up; ``stack.settings`` points tada at them."""

    web_hosts: int = 1
    web_latency: float = 0.0
    live_by_default: bool = True
    keep: bool = False
    dir: Path = field(init=False)
    local: LocalStack = field(init=False)
    web: LocalWeb = field(init=False)
    smtp: TakeDownSink = field(init=False)
    env: dict[str, str] = field(init=False)

    async def __aenter__(self) -> Stack:
        self.dir = temporary_directory("tada-bench-")
        self.web = LocalWeb(self.web_hosts, latency=self.web_latency, live_by_default=self.live_by_default)
        self.smtp = TakeDownSink(self.web)
        self.local = LocalStack(self.dir, self.smtp)
        try:
            self.web.start()
            await self.local.start()
        except BaseException:
            await self.__aexit__()
            raise
        self.env = {
            **self.local.env(),
            "TADA_PAYLOAD_KEYS": f"bench:{random_key()}",  # payloads encrypted, as in production
            "TADA_LIVENESS_TIMEOUT_SECONDS": "10",
        }
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.local.stop()
        self.web.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"bench: kept {self.dir}", file=sys.stderr)

    @property
    def temporal(self) -> DevTemporalServer:
        return self.local.temporal

    @property
    def postgres(self) -> EmbeddedPostgres:
        return self.local.postgres

    def settings(self, task_queue: str) -> Settings:
        return settings_from_env({**self.env, "TADA_TASK_QUEUE": task_queue})

    async def tada_client(self, task_queue: str = "tada") -> Client:
        return await connect(self.settings(task_queue))

    async def bare_client(self) -> Client:
        return await Client.connect(self.temporal.address, namespace="default")

    def temporal_db_bytes(self) -> int:
        return self.local.temporal_db_bytes()

    def pids(self) -> dict[str, int]:
        """The Temporal server's and PostgreSQL's process ids (for CpuMeter)."""
        assert self.temporal._process is not None  # noqa: SLF001 (the dev server we started)
        postmaster = int((self.postgres.data_dir / "postmaster.pid").read_text().split()[0])
        return {"temporal": self.temporal._process.pid, "postgres": postmaster}  # noqa: SLF001

    def temporal_rss(self) -> int:
        process = self.temporal._process  # noqa: SLF001 (the dev server we started)
        return psutil.Process(process.pid).memory_info().rss if process else 0


class WorkerProcess:
    """A worker in a process of its own (``python -m bench.worker_proc MODE``), so its RSS and
    CPU are its own; ready once its pollers show on the task queue."""

    def __init__(self, stack: Stack, mode: str, task_queue: str, **options: str) -> None:
        self.stack = stack
        self.mode = mode
        self.task_queue = task_queue
        # Both sides keep as many workflows cached as tada's worker does (TADA_MAX_CACHED_WORKFLOWS).
        self.options = {"max_cached": str(Settings().max_cached_workflows), **options}
        self.log = stack.dir / f"worker-{mode}-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> WorkerProcess:
        env = {**os.environ, **self.stack.env, "TADA_TASK_QUEUE": self.task_queue}
        env.update({f"BENCH_{k.upper()}": str(v) for k, v in self.options.items()})
        env["PYTHONPATH"] = str(REPOSITORY)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.worker_proc", self.mode],
                cwd=self.stack.dir,  # no .env of the developer's
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            await self._wait_ready()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if process.poll() is None:
            process.kill()
            process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.pid).cpu_times()
        return times.user + times.system

    async def _wait_ready(self, timeout: float = 60.0) -> None:
        client = await self.stack.bare_client()
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"bench worker {self.mode} exited ({self.process.returncode}):\n{tail}")
            kinds = []
            for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
                answer = await client.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace="default", task_queue=TaskQueue(name=self.task_queue), task_queue_type=kind
                    )
                )
                kinds.append(bool(answer.pollers))
            if all(kinds):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"bench worker {self.mode} did not poll within {timeout:.0f}s; see {self.log}")
            await asyncio.sleep(0.2)


class CpuMeter:
    """CPU seconds used by named processes between start() and stop()."""

    def __init__(self, **pids: int) -> None:
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._start: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        now = {}
        for name, proc in self._procs.items():
            times = proc.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            if name == "postgres":  # the postmaster's backends are its children, alive
                for child in proc.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        child_times = child.cpu_times()
                        total += child_times.user + child_times.system
            now[name] = total
        return now

    def start(self) -> None:
        self._start = self._now()

    def stop(self) -> None:
        end = self._now()
        self.used = {name: end[name] - self._start[name] for name in end}

    @property
    def total(self) -> float:
        return sum(self.used.values())

    def per_link(self, links: int) -> str:
        parts = ", ".join(f"{name} {seconds / links * 1000:.0f}" for name, seconds in self.used.items())
        return f"{self.total / links * 1000:.0f} ms ({parts})"


async def rss_sampler(worker: WorkerProcess, samples: list[tuple[float, int]], interval: float = 1.0) -> None:
    """Append (monotonic time, RSS bytes) every ``interval`` until cancelled."""
    while True:
        try:
            samples.append((time.monotonic(), worker.rss()))
        except (psutil.NoSuchProcess, AssertionError):  # the worker has stopped
            return
        await asyncio.sleep(interval)
