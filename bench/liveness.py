"""Benchmark 4, liveness checks per second from one worker, against many hosts.

The HTTP server answers on 127.0.0.1 .. 127.0.0.N (N distinct hosts, one port) after a
small think time, and counts per host how many requests run at once. Three workers, one
after the other in alternating rounds (ABC CBA), each fed by the same load driver
workflows (always more activities outstanding than the worker runs at once):

- tada, limited: ``check_liveness`` built as the production worker builds it
  (``tada.worker.liveness_activities``: the URL from PostgreSQL, the egress policy, the safe
  transport, classification, a JSON log line) with the per-host limit
  (TADA_LIVENESS_PER_HOST), its slots shared in PostgreSQL (``PostgresHostSlots``);
- tada, no limit: the same without the limiter, to show what it costs;
- bare: a plain ``httpx`` GET of the URL in an activity.

Targets: tada, limited, at >= 0.9 of bare's checks/s with <= 1.15 of its CPU per check, and the
server never sees more than the limit running at once on any host.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid

from temporalio.api.enums.v1 import EventType

from bench.report import Report, cpu_ratio_line, ratio_line
from bench.stack import CpuMeter, Stack, WorkerProcess
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.app.intake import open_case

TARGET = 0.9  # checks/s, tada limited against bare
CPU_TARGET = 1.15  # CPU per check against bare's
FAST = 200.0  # checks/s once measured on a quiet machine; shown, not a target (it moves with the machine)
DRIVERS = 10
PARALLEL = 20  # per driver: 200 outstanding, twice what one worker runs at once (100)
ROUNDS = 4


async def _rows(stack: Stack, pool, checks: int, hosts: int, hot: float) -> list[tuple[str, str]]:
    """(link_id, url) rows in PostgreSQL: a share ``hot`` on the first host (a big platform), the
    rest spread at random over all of them."""
    settings = stack.settings("tada-liveness")
    case_id = await open_case(pool, age=30, minimum_age=16, signpost="", crypto=DataCrypto.from_settings(settings))
    rng = random.Random(7)
    rows = []
    for i in range(checks):
        link_id = f"{case_id}-{uuid.uuid4().hex[:16]}"
        host = 0 if rng.random() < hot else rng.randrange(hosts)
        rows.append((link_id, stack.web.url(f"/l/{i}", host=host)))
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "links",
            records=[(lid, case_id, url, url.split("/")[2].split(":")[0], "bench", "other") for lid, url in rows],
            columns=["link_id", "case_id", "url", "host", "platform", "category"],
        )
    return rows


async def _drive(client, task_queue: str, activity: str, args: list) -> tuple[float, dict[str, int], list]:
    run = uuid.uuid4().hex[:6]
    share = [args[i::DRIVERS] for i in range(DRIVERS)]
    began = time.monotonic()
    handles = [
        await client.start_workflow(
            "LoadDriver", args=[activity, part, PARALLEL], id=f"load-{run}-{i}", task_queue=task_queue
        )
        for i, part in enumerate(share)
    ]
    verdicts: dict[str, int] = {}
    for handle in handles:
        for verdict, count in (await handle.result()).items():
            verdicts[verdict] = verdicts.get(verdict, 0) + count
    return time.monotonic() - began, verdicts, handles


async def _workflow_tasks(handles: list) -> int:
    """The driver workflows' tasks, from their histories: each activity that ends wakes its
    driver, and a task handles every end that came meanwhile, so fewer tasks a check is less
    work for Temporal and the worker alike (it follows the timing, not the code of a side)."""
    count = 0
    for handle in handles:
        async for event in handle.fetch_history_events():
            count += event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    return count


async def run(
    checks: int = 6_000, hosts: int = 50, per_host: int = 4, latency: float = 0.02, hot: float = 0.2, keep: bool = False
) -> Report:
    report = Report(
        f"4. Liveness: {checks} checks per side over {hosts} hosts (127.0.0.1-{hosts}), "
        f"per-host limit {per_host}, {latency * 1000:.0f} ms server think time, {hot:.0%} on one host"
    )
    load_before = f"{os.getloadavg()[0]:.1f}"
    async with Stack(web_hosts=hosts, web_latency=latency, keep=keep) as stack:
        settings = stack.settings("tada-liveness")
        pool = await create_pool(settings.database_url)
        rows = await _rows(stack, pool, checks, hosts, hot)
        tada_client = await stack.tada_client("tada-liveness")
        bare_client = await stack.bare_client()
        sides = {
            "tada, limited": (
                WorkerProcess(stack, "tada-liveness", "tada-limited", per_host=str(per_host)),
                tada_client,
                "check_liveness",
                [{"link_id": lid, "removed_markers": []} for lid, _ in rows],
            ),
            "tada, no limit": (
                WorkerProcess(stack, "tada-liveness", "tada-unlimited", per_host="0"),
                tada_client,
                "check_liveness",
                [{"link_id": lid, "removed_markers": []} for lid, _ in rows],
            ),
            "bare": (
                WorkerProcess(stack, "bare", "bare-liveness"),
                bare_client,
                "bare_http_get",
                [url for _, url in rows],
            ),
        }
        seconds = dict.fromkeys(sides, 0.0)
        verdicts: dict[str, dict[str, int]] = {name: {} for name in sides}
        peak = dict.fromkeys(sides, 0)
        cpu: dict[str, dict[str, float]] = {name: {} for name in sides}
        tasks = dict.fromkeys(sides, 0)
        for worker, *_ in sides.values():
            await worker.__aenter__()
        try:
            # Warm up each worker (connections, caches) on a few checks, untimed.
            for worker, client, activity, args in sides.values():
                await _drive(client, worker.task_queue, activity, args[:200])
            per_round = (checks + ROUNDS - 1) // ROUNDS
            names = list(sides)
            for number in range(ROUNDS):
                part = slice(number * per_round, min(checks, (number + 1) * per_round))
                for name in names if number % 2 == 0 else reversed(names):
                    worker, client, activity, args = sides[name]
                    stack.web.stats.reset()
                    meter = CpuMeter(
                        worker=worker.pid, postgres=stack.pids()["postgres"], temporal=stack.pids()["temporal"]
                    )
                    meter.start()
                    took, got, handles = await asyncio.wait_for(
                        _drive(client, worker.task_queue, activity, args[part]), 1800
                    )
                    meter.stop()
                    tasks[name] += await _workflow_tasks(handles)  # after the meter: not the side's cost
                    for process, used in meter.used.items():
                        cpu[name][process] = cpu[name].get(process, 0.0) + used
                    seconds[name] += took
                    for verdict, count in got.items():
                        verdicts[name][verdict] = verdicts[name].get(verdict, 0) + count
                    peak[name] = max(peak[name], max(stack.web.stats.peak.values(), default=0))
        finally:
            for worker, *_ in sides.values():
                await worker.__aexit__()
        await pool.close()

    rates = {name: checks / seconds[name] for name in sides}
    limited = rates["tada, limited"]
    kept = peak["tada, limited"] <= per_host
    ratio, met = ratio_line(limited, rates["bare"], TARGET)
    cpu_ratio, cpu_met = cpu_ratio_line(sum(cpu["tada, limited"].values()), sum(cpu["bare"].values()), CPU_TARGET)
    report.verdict(met and cpu_met and kept and verdicts["tada, limited"].get("live", 0) == checks)
    report.add(
        "tada, limited: checks/s",
        f"{limited:.0f}  ({'at least' if limited >= FAST else 'under'} the {FAST:.0f} of a quiet 2-core machine)",
    )
    report.add("tada, no limit: checks/s", f"{rates['tada, no limit']:.0f}")
    report.add("bare Temporal + httpx: checks/s", f"{rates['bare']:.0f}")
    report.add("ratio tada limited / bare", ratio)
    report.add("CPU per check, tada limited / bare", cpu_ratio)
    capacity = os.cpu_count() * checks / sum(cpu["tada, limited"].values())
    report.add(
        "CPU-bound capacity",
        f"tada, limited: {capacity:.0f} checks/s on this machine's {os.cpu_count()} CPUs "
        "if nothing else ran (worker + Temporal + PostgreSQL CPU per check)",
    )
    report.add(
        "most at once on one host",
        f"tada limited {peak['tada, limited']} (limit {per_host}: "
        f"{'kept' if kept else 'EXCEEDED'}); tada no limit {peak['tada, no limit']}; bare {peak['bare']}",
    )
    for name in sides:
        parts = ", ".join(f"{process} {used / checks * 1000:.1f}" for process, used in cpu[name].items())
        report.add(f"CPU per check, {name}", f"{sum(cpu[name].values()) / checks * 1000:.1f} ms ({parts})")
    report.add(
        "driver workflow tasks per check",
        "; ".join(f"{name} {tasks[name] / checks:.2f}" for name in sides) + " (fewer: more ends handled at once)",
    )
    report.add(
        "verdicts",
        "; ".join(f"{name}: " + ", ".join(f"{v} {c}" for v, c in sorted(verdicts[name].items())) for name in sides),
    )
    report.add("load average", f"{load_before} before, {os.getloadavg()[0]:.1f} after (other processes on the machine)")
    report.note(
        f"{DRIVERS} driver workflows × {PARALLEL} activities outstanding per worker (the SDK runs 100 at once); "
        f"{ROUNDS} rounds, order alternating; {hot:.0%} of the links on 127.0.0.1 (one big platform), the rest "
        "at random over all hosts"
    )
    report.note(
        "tada, limited = the liveness check as tada/worker.py builds it: the per-host limit "
        "(TADA_LIVENESS_PER_HOST), each host's slots shared across workers in PostgreSQL (PostgresHostSlots)"
    )
    return report
