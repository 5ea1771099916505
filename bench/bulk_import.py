"""Benchmark 2, bulk import: links into cases through ``tada.app.intake.add_links`` (what
``tada links import`` runs: a row in PostgreSQL, then a workflow start, 32 at a time)
against bare ``start_workflow`` of as many no-op workflows, the same number at a time,
in the same groups. Measured: time until every workflow is started.
No worker runs unless asked (``--with-worker``), so only the starts are timed.

A third side, the control, is bare Temporal carrying what a tada start must carry: an
opaque input as large as tada's encrypted ``LinkInput``. It tells how much of the gap is
the dev server storing it, and how much is tada's own work (the INSERT, the registry,
encryption) in the importing process. (A start carries no search attributes: the link's
workflow sets them in its first task; see ``tada.app.start_links.start_options``.)
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from bench.report import Report, cpu_ratio_line, ratio_line
from bench.stack import CpuMeter, Stack, WorkerProcess
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.app.intake import add_links, open_case
from tada.app.start_links import START_CONCURRENCY
from tada.domain.intake import ImportRow
from tada.domain.models import LinkInput
from tada.domain.registry import load_registry
from tada.domain.urls import normalise_url

TARGET = 0.95
TASK_QUEUE = "tada-import"


async def _bare(client, first: int, count: int, run: str, control: int | None = None):
    """Bare starts; with ``control`` (input bytes), starts that carry as much as tada's do:
    an opaque input of the same size."""
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def one(i: int) -> None:
        async with gate:
            if control is None:
                await client.start_workflow("BareNoop", id=f"bare-import-{run}-{i}", task_queue="bare-import")
            else:
                await client.start_workflow(
                    "BareNoopWithInput",
                    os.urandom(control // 2).hex(),
                    id=f"control-import-{run}-{i}",
                    task_queue="bare-import",
                )

    async with asyncio.TaskGroup() as group:
        for i in range(first, first + count):
            group.create_task(one(i))


class _Tada:
    def __init__(self, stack: Stack, client, pool) -> None:
        settings = stack.settings(TASK_QUEUE)
        self.client, self.pool = client, pool
        self.registry = load_registry(settings.platforms)
        self.crypto = DataCrypto.from_settings(settings)
        self.started = self.duplicates = 0

    async def one_import(self, first: int, count: int) -> None:
        """What `tada links import CASE FILE` does for a file of ``count`` links (after parsing)."""
        hosts = ["exampletube.test", "videos.example.test", "pics.example.test", "t.me", "www.reddit.com"]
        case_id = await open_case(self.pool, age=30, minimum_age=16, signpost="", reference="BENCH", crypto=self.crypto)
        rows = [
            ImportRow(
                line=i - first + 1, url=normalise_url(f"https://{hosts[i % len(hosts)]}/v/{i}-{uuid.uuid4().hex[:6]}")
            )
            for i in range(first, first + count)
        ]
        outcome = await add_links(
            self.pool, self.client, self.registry, case_id=case_id, rows=rows, rejected=[], task_queue=TASK_QUEUE
        )
        self.started += outcome.started
        self.duplicates += outcome.duplicates


async def _tada_input_bytes(tada: _Tada) -> int:
    """How many bytes tada's start carries as input: a LinkInput as its client encodes it (encrypted)."""
    link = LinkInput(
        case_id="TD-ABCDEFGH",
        link_id="TD-ABCDEFGH-0123456789abcdef",
        host="exampletube.test",
        policy=tada.registry.policy_for("https://exampletube.test/v/1"),
    )
    [payload] = await tada.client.data_converter.encode([link])
    return payload.ByteSize()


async def run(links: int = 10_000, per_case: int = 1_000, with_worker: bool = False, keep: bool = False) -> Report:
    report = Report(f"2. Bulk import: {links} links in cases of {per_case} (add_links) vs bare start_workflow")
    load_before = f"{os.getloadavg()[0]:.1f}"
    seconds = {"tada": 0.0, "bare": 0.0, "control": 0.0}
    cpu: dict[str, dict[str, float]] = {"tada": {}, "bare": {}, "control": {}}
    async with Stack(keep=keep) as stack:
        settings = stack.settings(TASK_QUEUE)
        pool = await create_pool(settings.database_url)
        tada = _Tada(stack, await stack.tada_client(TASK_QUEUE), pool)
        bare_client = await stack.bare_client()
        pids = stack.pids()
        run_id = uuid.uuid4().hex[:6]
        workers = []
        if with_worker:
            workers = [WorkerProcess(stack, "tada", TASK_QUEUE), WorkerProcess(stack, "bare", "bare-import")]
        try:
            for worker in workers:
                await worker.__aenter__()
            control = await _tada_input_bytes(tada)
            # Warm every path (connections, the first start on a queue) before timing.
            await _bare(bare_client, links, 20, run_id)
            await _bare(bare_client, links, 20, run_id, control)
            await tada.one_import(links, 20)
            tada.started = tada.duplicates = 0
            # One import (case) after the other on each side, in alternating order: ABC, CBA, ...
            for number, first in enumerate(range(0, links, per_case)):
                count = min(per_case, links - first)
                order = ("bare", "tada", "control")
                for side in order if number % 2 == 0 else order[::-1]:
                    meter = CpuMeter(driver=os.getpid(), **(pids if side == "tada" else {"temporal": pids["temporal"]}))
                    meter.start()
                    began = time.monotonic()
                    if side == "tada":
                        await asyncio.wait_for(tada.one_import(first, count), 3600)
                    else:
                        await asyncio.wait_for(
                            _bare(bare_client, first, count, run_id, control if side == "control" else None), 3600
                        )
                    seconds[side] += time.monotonic() - began
                    meter.stop()
                    for process, used in meter.used.items():
                        cpu[side][process] = cpu[side].get(process, 0.0) + used
            db_bytes = stack.temporal_db_bytes()
        finally:
            for worker in workers:
                await worker.__aexit__()
        rows_in_db = await pool.fetchval("SELECT count(*) FROM links")
        await pool.close()

    tada_rate, bare_rate, control_rate = (links / seconds[side] for side in ("tada", "bare", "control"))
    ratio, met = ratio_line(tada_rate, bare_rate, TARGET)
    report.verdict(met and tada.started == links)
    report.add("tada: links started/s", f"{tada_rate:.0f}  ({links} in {seconds['tada']:.1f}s)")
    report.add("bare Temporal: starts/s", f"{bare_rate:.0f}  ({links} in {seconds['bare']:.1f}s)")
    report.add("ratio tada / bare", ratio)
    report.add(
        "control: bare carrying tada's load",
        f"{control_rate:.0f} starts/s: bare starts with an opaque input of "
        f"{control} bytes (tada's encrypted LinkInput); tada / control "
        f"{tada_rate / control_rate:.2f}, control / bare {control_rate / bare_rate:.2f}",
    )
    for side in ("tada", "bare", "control"):
        parts = ", ".join(f"{process} {used / links * 1000:.1f}" for process, used in cpu[side].items())
        report.add(f"CPU per link, {side}", f"{sum(cpu[side].values()) / links * 1000:.1f} ms ({parts})")
    tada_cpu, bare_cpu = sum(cpu["tada"].values()), sum(cpu["bare"].values())
    report.add("CPU per link, tada / bare", cpu_ratio_line(tada_cpu, bare_cpu)[0])
    report.add(
        "checked",
        f"{tada.started} started, {tada.duplicates} duplicates, {rows_in_db} link rows in PostgreSQL "
        "(incl. 20 warm-up)",
    )
    report.add("Temporal database after", f"{db_bytes / 1e6:.0f} MB (SQLite + WAL, both sides' workflows)")
    report.add("load average", f"{load_before} before, {os.getloadavg()[0]:.1f} after (other processes on the machine)")
    report.note(
        f"{START_CONCURRENCY} starts at a time on both sides (tada.app.start_links.START_CONCURRENCY); "
        "tada per link: INSERT into links, then start_workflow with an encrypted LinkInput (the workflow "
        "sets its search attributes in its first task); bare: start_workflow with no input; imports one "
        "after the other, alternating sides"
    )
    report.note("worker running during the import" if with_worker else "no worker running: the workflows wait")
    return report
