"""A benchmark worker, in a process of its own: ``python -m bench.worker_proc MODE``.

Settings come from the TADA_* environment (bench.stack sets them), options from BENCH_*.

- ``tada``: exactly the production worker (``worker.run_worker``).
- ``tada-scale``: the production worker, with an activity interceptor (the worker's
  sanctioned hook) noting when each link woke (its first liveness check's scheduled and
  started times) in BENCH_WAKE_FILE.
- ``tada-liveness``: the load driver and tada's liveness activity exactly as the production
  worker builds it (``worker.liveness_activities``: database lookup, egress policy, safe
  transport, classification, the per-host limit shared in PostgreSQL) with a limit of
  BENCH_PER_HOST (0: none).
- ``bare``: bare Temporal's workflows and activities (bench.bare), default converter.
SIGTERM stops it cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor, Worker

from bench import bare

if sys.argv[1:2] != ["bare"]:  # the bare worker loads nothing of tada's (its RSS is bare Temporal's)
    import tada.worker as tada_worker
    from tada.adapters.database import create_pool
    from tada.adapters.temporal import connect
    from tada.settings import Settings


class _NoteWakes(ActivityInboundInterceptor):
    """Before a link's first liveness check runs: note (workflow id, scheduled, started)."""

    def __init__(self, next: ActivityInboundInterceptor, out) -> None:  # noqa: A002 (the SDK's name)
        super().__init__(next)
        self._out = out

    async def execute_activity(self, input: ExecuteActivityInput):  # noqa: A002 (the SDK's name)
        info = activity.info()
        if info.activity_type == "check_liveness" and info.attempt == 1:
            self._out.write(f"{info.workflow_id} {info.scheduled_time.timestamp():.6f} {time.time():.6f}\n")
        return await super().execute_activity(input)


class WakeNotes(Interceptor):
    def __init__(self, path: str) -> None:
        self._out = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (open for the process's life)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:  # noqa: A002
        return _NoteWakes(next, self._out)


async def _run(mode: str, stop: asyncio.Event) -> None:
    if mode == "bare":
        await _run_bare(stop)
        return
    settings = Settings()
    cache = os.environ.get("BENCH_MAX_CACHED")
    if cache:  # as TADA_MAX_CACHED_WORKFLOWS would
        settings = settings.model_copy(update={"max_cached_workflows": int(cache)})
    if mode == "tada":
        await tada_worker.run_worker(settings, stop=stop)
        return
    if mode == "tada-scale":
        await tada_worker.run_worker(settings, stop=stop, interceptors=[WakeNotes(os.environ["BENCH_WAKE_FILE"])])
        return
    if mode == "tada-liveness":
        client = await connect(settings)
        pool = await create_pool(settings.database_url)
        settings = settings.model_copy(update={"liveness_per_host": int(os.environ.get("BENCH_PER_HOST", "4"))})
        async with tada_worker.new_http_client(settings) as http:
            liveness = tada_worker.liveness_activities(pool, http, settings)
            async with Worker(
                client,
                task_queue=settings.task_queue,
                workflows=[bare.LoadDriverWorkflow],
                activities=[liveness.check],
                graceful_shutdown_timeout=timedelta(seconds=10),
            ):
                await stop.wait()
        await pool.close()
        return
    raise SystemExit(f"unknown mode {mode!r}")


async def _run_bare(stop: asyncio.Event) -> None:
    import httpx

    address, namespace = os.environ["TADA_TEMPORAL_ADDRESS"], os.environ.get("TADA_TEMPORAL_NAMESPACE", "default")
    client = await Client.connect(address, namespace=namespace)
    async with httpx.AsyncClient(timeout=float(os.environ.get("TADA_LIVENESS_TIMEOUT_SECONDS", "10"))) as http:
        cache = int(os.environ["BENCH_MAX_CACHED"])  # the bench passes tada's, so both sides keep as many
        async with Worker(
            client,
            task_queue=os.environ["TADA_TASK_QUEUE"],
            max_cached_workflows=cache,
            workflows=[
                bare.BareNoopWorkflow,
                bare.BareNoopWithInputWorkflow,
                bare.BarePlanWorkflow,
                bare.BareSleeperWorkflow,
                bare.LoadDriverWorkflow,
            ],
            activities=[bare.noop, bare.wake, bare.BareHttp(http).get],
            graceful_shutdown_timeout=timedelta(seconds=10),
        ):
            await stop.wait()


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "tada"
    if os.environ.get("BENCH_PATCH"):  # experiments: a file run first (it may swap a workflow class)
        import runpy

        runpy.run_path(os.environ["BENCH_PATCH"], run_name="bench_patch")
    if mode != "bare":
        from tada.adapters.log_setup import configure_logging

        configure_logging("json")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await _run(mode, stop)

    profile_to = os.environ.get("BENCH_PROFILE")  # a file: the whole run under cProfile (slower)
    if not profile_to:
        asyncio.run(_main())
        return
    import cProfile

    profiler = cProfile.Profile()
    try:
        profiler.runcall(asyncio.run, _main())
    finally:
        profiler.dump_stats(f"{profile_to}.{mode}.{os.getpid()}")


if __name__ == "__main__":
    main()
