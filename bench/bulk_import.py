"""Benchmark 2, bulk import: links into cases through ``services.intake.add_links`` (what
``tada links import`` runs: a row in PostgreSQL, then a workflow start with search
attributes, 32 at a time) against bare ``start_workflow`` of as many no-op workflows,
the same number at a time, in the same groups. Measured: time until every workflow is
started. No worker runs unless asked (``--with-worker``), so only the starts are timed.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from bench.report import Report, ratio_line
from bench.stack import CpuMeter, Stack, WorkerProcess
from domain.intake import ImportRow
from domain.registry import load_registry
from domain.urls import normalise_url
from services import intake
from services.data_crypto import DataCrypto
from services.database import create_pool
from services.intake import add_links, open_case

TARGET = 0.9
TASK_QUEUE = "tada-import"


async def _bare(client, links: int, per_case: int) -> float:
    run = uuid.uuid4().hex[:6]
    began = time.monotonic()
    for first in range(0, links, per_case):  # one "import" after the other, like the tada side
        gate = asyncio.Semaphore(intake.START_CONCURRENCY)

        async def one(i: int) -> None:
            async with gate:
                await client.start_workflow("BareNoop", id=f"bare-import-{run}-{i}", task_queue="bare-import")

        await asyncio.gather(*(one(i) for i in range(first, min(links, first + per_case))))
    return time.monotonic() - began


async def _tada(stack: Stack, client, pool, links: int, per_case: int) -> tuple[float, int, int]:
    settings = stack.settings(TASK_QUEUE)
    registry = load_registry(settings.platforms)
    crypto = DataCrypto.from_settings(settings)
    hosts = ["exampletube.test", "videos.example.test", "pics.example.test", "t.me", "www.reddit.com"]
    started = duplicates = 0
    began = time.monotonic()
    for number, first in enumerate(range(0, links, per_case)):
        case_id = await open_case(pool, age=30, minimum_age=16, signpost="", reference=f"BENCH-{number}", crypto=crypto)
        rows = [
            ImportRow(line=i - first + 1, url=normalise_url(f"https://{hosts[i % len(hosts)]}/v/{i}-{uuid.uuid4().hex[:6]}"))
            for i in range(first, min(links, first + per_case))
        ]
        outcome = await add_links(
            pool, client, registry, case_id=case_id, rows=rows, rejected=[], task_queue=TASK_QUEUE
        )
        started += outcome.started
        duplicates += outcome.duplicates
    return time.monotonic() - began, started, duplicates


async def run(links: int = 10_000, per_case: int = 1_000, with_worker: bool = False, keep: bool = False) -> Report:
    report = Report(f"2. Bulk import: {links} links in cases of {per_case} (add_links) vs bare start_workflow")
    load_before = f"{os.getloadavg()[0]:.1f}"
    async with Stack(keep=keep) as stack:
        settings = stack.settings(TASK_QUEUE)
        pool = await create_pool(settings.database_url)
        tada_client = await stack.tada_client(TASK_QUEUE)
        bare_client = await stack.bare_client()
        workers = []
        if with_worker:
            workers = [WorkerProcess(stack, "tada", TASK_QUEUE), WorkerProcess(stack, "bare", "bare-import")]
            for worker in workers:
                await worker.__aenter__()
        try:
            # Warm both paths (connections, first start on a queue) before timing.
            await _bare(bare_client, 20, 20)
            await _tada(stack, tada_client, pool, 20, 20)
            pids = stack.pids()
            bare_cpu = CpuMeter(driver=os.getpid(), temporal=pids["temporal"])
            bare_cpu.start()
            bare_seconds = await asyncio.wait_for(_bare(bare_client, links, per_case), 3600)
            bare_cpu.stop()
            tada_cpu = CpuMeter(driver=os.getpid(), **pids)
            tada_cpu.start()
            tada_seconds, started, duplicates = await asyncio.wait_for(_tada(stack, tada_client, pool, links, per_case), 3600)
            tada_cpu.stop()
            db_bytes = stack.temporal_db_bytes()
        finally:
            for worker in workers:
                await worker.__aexit__()
        rows_in_db = await pool.fetchval("SELECT count(*) FROM links")
        await pool.close()

    tada_rate, bare_rate = links / tada_seconds, links / bare_seconds
    ratio, met = ratio_line(tada_rate, bare_rate, TARGET)
    report.verdict(met and started == links)
    report.add("tada: links started/s", f"{tada_rate:.0f}  ({links} in {tada_seconds:.1f}s)")
    report.add("bare Temporal: starts/s", f"{bare_rate:.0f}  ({links} in {bare_seconds:.1f}s)")
    report.add("ratio tada / bare", ratio)
    report.add("CPU per link, tada", tada_cpu.per_link(links))
    report.add("CPU per link, bare", bare_cpu.per_link(links))
    cost, _ = ratio_line(bare_cpu.total, tada_cpu.total, TARGET)
    report.add("CPU ratio bare / tada", cost.split(" (")[0] + " (what the rate ratio tends to when CPU is the limit)")
    report.add("checked", f"{started} started, {duplicates} duplicates, {rows_in_db} link rows in PostgreSQL (incl. warm-up)")
    report.add("Temporal database after", f"{db_bytes / 1e6:.0f} MB (SQLite + WAL, both sides' workflows)")
    report.add("load average", f"{load_before} before, {os.getloadavg()[0]:.1f} after (other processes on the machine)")
    report.note(f"{intake.START_CONCURRENCY} starts at a time on both sides (services.intake.START_CONCURRENCY); "
                "tada per link: INSERT into links, then start_workflow with 4 search attributes and an encrypted "
                "LinkInput; bare: start_workflow with no input")
    report.note("worker running during the import" if with_worker else "no worker running: the workflows wait")
    return report
