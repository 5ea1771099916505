"""Benchmark 3, scale: many open links asleep on their timers on one dev server.

tada side: real ``LinkWorkflow``s in AWAITING_RESPONSE with the follow-up timer pending,
each with its row in PostgreSQL. They are started with the carried state of a link whose
notice went out (``LinkInput.carry``, what continue-as-new hands on) rather than by
running each through liveness check and notice first: the sleeping workflow, its history
tail, timer and search attributes are the same, and creating them costs one start and
one workflow task each instead of ~6 activities and an email (the happy-path benchmark
measures those). bare side: as many workflows sleeping on one timer, then one no-op
activity. Both are created interleaved (chunks, alternating order), on the same server.

As in production, where 100,000 open links have timers spread over days and weeks, most
of them sleep far past the run (30 days); a sample of each side (``wake``, created last,
after the instant is known) has its timer at one instant a minute or so ahead. At it, each
sampled link checks liveness (the page is gone now), confirms it with a second check
(``confirm_gone_after``, compressed to 1 s as the happy path's is), is REMOVED and completes.

Measured: creation time and rate, the Temporal database (SQLite + WAL) size, each
worker's RSS sampled every second while everything sleeps (target: flat, under 300 MB),
and how late the sample wakes, with every other workflow still asleep on the server: from
the instant to the first activity's scheduling (the timer fired and the worker ran the
workflow), and to the TimerFired event (the server alone).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.report import Report, cpu_ratio_line, percentile
from bench.stack import CpuMeter, Stack, WorkerProcess, rss_sampler
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.app.intake import open_case
from tada.app.link_ids import case_id_key
from tada.app.start_links import START_CONCURRENCY, link_input, start_links
from tada.domain.models import LinkCarry, PlatformPolicy, Timings
from tada.domain.states import Category, Channel, Escalation, LinkState
from tada.domain.urls import host_of, link_id_for, normalise_url

RSS_TARGET_MB = 300
#: confirm_gone_after (30 minutes in production), compressed as in the happy-path benchmark: the
#: sample's removals are confirmed as real ones are, one more timer and check after the wake.
CONFIRM_GONE_AFTER = timedelta(seconds=1)
CHUNK = 1000
TQ_TADA, TQ_BARE = "tada-scale", "bare-scale"


def policy() -> PlatformPolicy:
    return PlatformPolicy(
        name="platform.bench",
        category=Category.PORNOGRAPHIC_SITE,
        channel=Channel.EMAIL,
        email="reports@platform.bench.test",
        escalation=Escalation.HOST,
        escalation_email="abuse@host.bench.test",
        timings=Timings(
            follow_up_after=timedelta(days=3),
            recheck_schedule=[],
            batch_window=timedelta(0),
            confirm_gone_after=CONFIRM_GONE_AFTER,
        ),
    )


class Sides:
    def __init__(self, stack: Stack, pool, tada: Client, bare: Client, links: int) -> None:
        self.stack, self.pool, self.tada, self.bare = stack, pool, tada, bare
        self.policy = policy()
        self.links = links
        self.rows: list[tuple[str, str, str]] = []  # (link_id, case_id, url)
        self.tada_ids: list[str] = []
        self.bare_ids: list[str] = []
        self.bare_started = 0
        self.run = uuid.uuid4().hex[:6]

    async def prepare_rows(self, count: int) -> None:
        """Cases and link rows (PostgreSQL) for ``count`` links, written in bulk: set-up, not timed."""
        settings = self.stack.settings(TQ_TADA)
        crypto = DataCrypto.from_settings(settings)
        records = []
        for first in range(0, count, CHUNK):
            case_id = await open_case(self.pool, age=30, minimum_age=16, signpost="", reference="BENCH", crypto=crypto)
            id_key = await case_id_key(self.pool, case_id)
            for _ in range(first, min(count, first + CHUNK)):
                url = normalise_url(self.stack.web.url(f"/s/{self.run}/{len(self.rows)}"))
                link_id = link_id_for(case_id, url, id_key)
                self.rows.append((link_id, case_id, url))
                records.append(
                    (
                        link_id,
                        case_id,
                        url,
                        host_of(url),
                        self.policy.name,
                        self.policy.category.value,
                        "import",
                        LinkState.AWAITING_RESPONSE.value,
                        "follow-up check",
                    )
                )
        async with self.pool.acquire() as conn:
            await conn.copy_records_to_table(
                "links",
                records=records,
                columns=["link_id", "case_id", "url", "host", "platform", "category", "source", "state", "next_action"],
            )

    async def start_tada(self, rows: list[tuple[str, str, str]], wake_at: datetime) -> None:
        carry = LinkCarry(
            state=LinkState.AWAITING_RESPONSE,
            seq=4,
            notices_sent=1,
            next_action="follow-up check",
            next_action_at=wake_at,
        )
        links = [
            link_input(case_id=case_id, link_id=link_id, url=url, policy=self.policy, carry=carry)
            for link_id, case_id, url in rows
        ]
        started = await start_links(self.tada, links, TQ_TADA)
        if started != len(rows):
            raise RuntimeError(f"{len(rows) - started} of {len(rows)} tada links were started already")
        self.tada_ids += [row[0] for row in rows]

    async def start_bare(self, count: int, wake_at: datetime) -> None:
        gate = asyncio.Semaphore(START_CONCURRENCY)
        first, self.bare_started = self.bare_started, self.bare_started + count
        ids = [f"bare-scale-{self.run}-{i}" for i in range(first, first + count)]

        async def one(workflow_id: str) -> None:
            async with gate:
                await self.bare.start_workflow("BareSleeper", wake_at.timestamp(), id=workflow_id, task_queue=TQ_BARE)

        async with asyncio.TaskGroup() as group:
            for workflow_id in ids:
                group.create_task(one(workflow_id))
        self.bare_ids += ids


async def _timer_started(client: Client, workflow_id: str) -> bool:
    """Asleep on its timer (or already past it, when creation overran the instant)."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return any(
        e.event_type in (EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        for e in history.events
    )


async def _wait_asleep(client: Client, ids: list[str], timeout: float) -> None:
    """Until the last-started workflows have their timer (tasks are served about in order)."""
    deadline = time.monotonic() + timeout
    tail = ids[-20:]
    while not all(await asyncio.gather(*(_timer_started(client, i) for i in tail))):
        if time.monotonic() > deadline:
            raise TimeoutError("workflows not asleep in time")
        await asyncio.sleep(0.5)


async def _timer_fired_lateness(client: Client, ids: list[str], wake_at: datetime, sample: int) -> list[float]:
    gate = asyncio.Semaphore(16)
    late: list[float] = []

    async def one(workflow_id: str) -> None:
        async with gate:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
                late.append((event.event_time.ToDatetime(tzinfo=UTC) - wake_at).total_seconds())
                return

    await asyncio.gather(*(one(i) for i in random.sample(ids, min(sample, len(ids)))))
    return late


def _read_wakes(path: Path) -> dict[str, tuple[float, float]]:
    wakes: dict[str, tuple[float, float]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3:
                wakes.setdefault(parts[0], (float(parts[1]), float(parts[2])))
    return wakes


def _rss_summary(samples: list[tuple[float, int]], since: float, until: float) -> tuple[float, float, float, float]:
    """(first, last, min, max) RSS in MB within [since, until]."""
    window = [rss / 1e6 for t, rss in samples if since <= t <= until] or [0.0]
    return window[0], window[-1], min(window), max(window)


def _lateness_row(late: list[float]) -> str:
    if not late:
        return "no data"
    return f"p50 {percentile(late, 50):.2f}s, p99 {percentile(late, 99):.2f}s, max {max(late):.2f}s (n={len(late)})"


async def _create(
    sides: Sides,
    rows: list[tuple[str, str, str]],
    bare: int,
    wake_at: datetime,
    times: dict[str, float],
    first_chunk: int = 0,
) -> None:
    """Start ``rows`` on the tada side and ``bare`` bare workflows, in chunks, alternating which side
    goes first (ABBA) so that drift hits both alike; add each side's time to ``times``."""
    chunks = range(0, len(rows), CHUNK)
    for number, first in enumerate(chunks, start=first_chunk):
        chunk = rows[first : first + CHUNK]
        bare_chunk = bare * (first + len(chunk)) // len(rows) - bare * first // len(rows)
        for side in ("tada", "bare") if number % 2 == 0 else ("bare", "tada"):
            began = time.monotonic()
            if side == "tada":
                await sides.start_tada(chunk, wake_at)
            elif bare_chunk:
                await sides.start_bare(bare_chunk, wake_at)
            times[side] += time.monotonic() - began


async def _measure(
    stack: Stack,
    sides: Sides,
    links: int,
    bare_links: int,
    wake: int,
    sleep: float,
    wake_files: dict[str, Path],
    samples: dict[str, list],
    workers: dict[str, WorkerProcess],
) -> SimpleNamespace:
    m = SimpleNamespace()
    await asyncio.sleep(2)
    m.idle = {side: (s[-1][1] / 1e6 if s else 0.0) for side, s in samples.items()}
    await sides.prepare_rows(links)
    m.db_empty = stack.temporal_db_bytes()

    # Create the sleepers (far past the run) and let the workers put them to sleep; then the
    # sample, whose instant is placed now: the sample's own creation, then ``sleep`` seconds.
    m.times = {"tada": 0.0, "bare": 0.0}
    pids = stack.pids()
    creating = CpuMeter(
        tada=workers["tada"].pid, bare=workers["bare"].pid, temporal=pids["temporal"], postgres=pids["postgres"]
    )
    creating.start()
    created_at = time.monotonic()
    far = datetime.now(UTC) + timedelta(days=30)
    await _create(sides, sides.rows[: links - wake], bare_links - wake, far, m.times)
    await _wait_asleep(sides.tada, sides.tada_ids, 3600)
    await _wait_asleep(sides.bare, sides.bare_ids, 3600)
    per_second = (links + bare_links - 2 * wake) / (time.monotonic() - created_at) if links > wake else 50.0
    m.wake_at = wake_at = datetime.now(UTC) + timedelta(seconds=2 * 2 * wake / per_second + 10 + sleep)
    tada_before, bare_before = len(sides.tada_ids), len(sides.bare_ids)
    await _create(sides, sides.rows[links - wake :], wake, wake_at, m.times, first_chunk=(links - wake) // CHUNK + 1)
    m.sample_ids = {"tada": set(sides.tada_ids[tada_before:]), "bare": set(sides.bare_ids[bare_before:])}
    await _wait_asleep(sides.tada, sides.tada_ids, 600)
    await _wait_asleep(sides.bare, sides.bare_ids, 600)
    m.asleep_at = time.monotonic()
    creating.stop()
    m.cpu_creating = creating.used
    m.create_seconds = m.asleep_at - created_at
    m.overran = datetime.now(UTC) > wake_at - timedelta(seconds=5)

    # Sleep: nothing to do until the instant; measure the database and the server.
    m.db_asleep = stack.temporal_db_bytes()
    m.server_rss = stack.temporal_rss()
    sleep_left = (wake_at - datetime.now(UTC)).total_seconds() - 2
    asleep = CpuMeter(tada=workers["tada"].pid, bare=workers["bare"].pid)
    asleep.start()
    if sleep_left > 0:
        await asyncio.sleep(sleep_left)
    m.slept_until = time.monotonic()
    asleep.stop()
    m.cpu_asleep = asleep.used

    # Wake: each sampled workflow's first step after its timer is noted by its worker.
    deadline = time.monotonic() + max(600.0, 2 * wake / 5)
    while True:
        m.woke = {side: _read_wakes(path) for side, path in wake_files.items()}
        if all(len(w) >= wake for w in m.woke.values()) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    m.all_woke_at = time.monotonic()
    deadline = time.monotonic() + 300  # and the sampled links go through: gone, REMOVED, completed
    while time.monotonic() < deadline:
        m.removed = await sides.pool.fetchval("SELECT count(*) FROM links WHERE state = 'REMOVED'")
        if m.removed >= wake:
            break
        await asyncio.sleep(1)
    m.removed_at = time.monotonic()
    m.peak = {side: max((rss for t, rss in s if t >= m.slept_until), default=0) / 1e6 for side, s in samples.items()}
    m.fired = {
        side: await _timer_fired_lateness(client, sorted(m.sample_ids[side]), wake_at, 300)
        for side, client in (("tada", sides.tada), ("bare", sides.bare))
    }
    return m


async def run(
    links: int = 5_000,
    bare_links: int = 0,
    wake: int = 1_000,
    sleep: float = 60.0,
    worker_cache: int = 0,
    keep: bool = False,
) -> Report:
    bare_links = bare_links or links
    wake = max(1, min(wake, links, bare_links))
    report = Report(f"3. Scale: {links} tada links + {bare_links} bare workflows asleep on timers, one dev server")
    load_before = f"{os.getloadavg()[0]:.1f}"
    async with Stack(live_by_default=False, keep=keep) as stack:
        settings = stack.settings(TQ_TADA)
        pool = await create_pool(settings.database_url)
        sides = Sides(stack, pool, await stack.tada_client(TQ_TADA), await stack.bare_client(), links)
        wake_files = {"tada": stack.dir / "wakes-tada.txt", "bare": stack.dir / "wakes-bare.txt"}
        samples: dict[str, list] = {"tada": [], "bare": []}
        cache = {"max_cached": str(worker_cache)} if worker_cache else {}
        async with (
            WorkerProcess(stack, "tada-scale", TQ_TADA, wake_file=str(wake_files["tada"]), **cache) as tada_worker,
            WorkerProcess(stack, "bare", TQ_BARE, wake_file=str(wake_files["bare"]), **cache) as bare_worker,
        ):
            samplers = [
                asyncio.create_task(rss_sampler(tada_worker, samples["tada"])),
                asyncio.create_task(rss_sampler(bare_worker, samples["bare"])),
            ]
            try:
                workers = {"tada": tada_worker, "bare": bare_worker}
                m = await _measure(stack, sides, links, bare_links, wake, sleep, wake_files, samples, workers)
            finally:
                for task in samplers:
                    task.cancel()
        await pool.close()

    t0 = m.wake_at.timestamp()
    late = {
        side: [scheduled - t0 for wid, (scheduled, _) in m.woke[side].items() if wid in ids]
        for side, ids in m.sample_ids.items()
    }
    t_first, t_last, t_min, t_max = _rss_summary(samples["tada"], m.asleep_at, m.slept_until)
    b_first, b_last, b_min, b_max = _rss_summary(samples["bare"], m.asleep_at, m.slept_until)
    sleep_seconds = m.slept_until - m.asleep_at
    flat = t_max <= RSS_TARGET_MB and (t_max - t_min) <= max(10.0, 0.05 * t_min)
    on_time = len(late["tada"]) == wake and m.removed == wake and not m.overran
    report.verdict(flat and on_time)
    per_workflow = (m.db_asleep - m.db_empty) / (links + bare_links) / 1024
    tada_time, bare_time = m.times["tada"], m.times["bare"]
    tada_rate, bare_rate = links / tada_time, bare_links / bare_time
    report.add(
        "created (tada + bare)",
        f"{links + bare_links} in {m.create_seconds:.0f}s until all asleep; to start: "
        f"tada {tada_rate:.0f}/s, bare {bare_rate:.0f}/s (ratio {tada_rate / bare_rate:.2f})",
    )
    per_link = {side: m.cpu_creating[side] / count * 1000 for side, count in (("tada", links), ("bare", bare_links))}
    cpu_ratio, _ = cpu_ratio_line(per_link["tada"], per_link["bare"])
    shared = (m.cpu_creating["temporal"] + m.cpu_creating["postgres"]) / (links + bare_links) * 1000
    report.add(
        "worker CPU per workflow put to sleep",
        f"tada {per_link['tada']:.1f} ms, bare {per_link['bare']:.1f} ms: {cpu_ratio}; Temporal + PostgreSQL "
        f"{shared:.1f} ms a workflow, both sides together (they ran interleaved)",
    )
    asleep_ms = {side: used / max(m.slept_until - m.asleep_at, 1e-9) * 1000 for side, used in m.cpu_asleep.items()}
    report.add(
        "worker CPU while all sleep",
        f"tada {asleep_ms['tada']:.1f} ms/s, bare {asleep_ms['bare']:.1f} ms/s (of one core's 1000)",
    )
    report.add(
        "Temporal database",
        f"{m.db_asleep / 1e6:.0f} MB asleep (SQLite + WAL; {per_workflow:.1f} KiB per sleeping "
        f"workflow, both kinds); server RSS {m.server_rss / 1e6:.0f} MB",
    )
    report.add(
        "tada worker RSS asleep",
        f"{t_first:.0f} → {t_last:.0f} MB over {sleep_seconds:.0f}s (min {t_min:.0f}, max "
        f"{t_max:.0f}; target flat and < {RSS_TARGET_MB} MB: {'met' if flat else 'MISSED'}); idle before "
        f"{m.idle['tada']:.0f} MB, peak at wake {m.peak['tada']:.0f} MB",
    )
    report.add(
        "bare worker RSS asleep",
        f"{b_first:.0f} → {b_last:.0f} MB (min {b_min:.0f}, max {b_max:.0f}); idle before "
        f"{m.idle['bare']:.0f} MB, peak at wake {m.peak['bare']:.0f} MB",
    )
    report.add(
        "workflow cache",
        f"max_cached_workflows {worker_cache or settings.max_cached_workflows} on both workers"
        + ("" if worker_cache else " (TADA_MAX_CACHED_WORKFLOWS default)"),
    )
    report.add(
        "sample woke (tada / bare)",
        f"{len(late['tada'])}/{wake} and {len(late['bare'])}/{wake} within "
        f"{m.all_woke_at - m.slept_until:.0f}s of the instant, {links + bare_links - 2 * wake} others still asleep; "
        f"{m.removed} sampled links REMOVED {m.removed_at - m.slept_until:.0f}s after it",
    )
    report.add("late: timer → workflow ran, tada", _lateness_row(late["tada"]))
    report.add("late: timer → workflow ran, bare", _lateness_row(late["bare"]))
    report.add("late: TimerFired (server), tada", _lateness_row(m.fired["tada"]))
    report.add("late: TimerFired (server), bare", _lateness_row(m.fired["bare"]))
    report.add("load average", f"{load_before} before, {os.getloadavg()[0]:.1f} after (other processes on the machine)")
    if m.overran:
        report.note("creating the sample overran the wake-up instant: lateness includes creation")
    report.note(
        f"{links - wake} tada links and {bare_links - wake} bare workflows sleep 30 days; "
        f"the {wake} a side of the sample all fire at the same instant "
        "(a burst: real links spread out); lateness = the first activity's scheduled time (the workflow ran "
        "after its timer) minus the instant"
    )
    report.note(
        "tada links start in AWAITING_RESPONSE from a carried state (see bench/scale.py for why); at the instant "
        "each checks liveness (page gone), checks again "
        f"{CONFIRM_GONE_AFTER.total_seconds():g}s later (confirm_gone_after), records 4 events and completes"
    )
    return report
