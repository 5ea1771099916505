"""Benchmark 1, the happy path: links go REPORTED → notice → AWAITING_RESPONSE → gone at the
first follow-up check (the platform took the page down when the notice came) → confirmed by a
second check ``confirm_gone_after`` later → REMOVED, then one repost re-check, and the workflow
completes. Real SMTP, HTTP and PostgreSQL on 127.0.0.1.

Compared with a bare workflow doing the same number of no-op activities and timers of the
same durations, in the same order: the plan is read from the history of one tada link (and
its notice batch) run first, so the count is what tada really does, not what we think.
After the rounds, the history of a bare workflow and of a tada link from the last round are
read again and must have the calibration's shape (the same activities, the same timers).

The timings are compressed: follow_up_after 3 s for 3 days, the re-check 1 s for a day.
confirm_gone_after is 1 s rather than 30 minutes at that scale (0.02 s): the link schedules
the confirming check before it records the first check's event, so a wait shorter than that
activity could be used up before it begins and leave no timer (a shape that varied by load).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections import Counter
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

from bench.report import Report, ratio_line
from bench.stack import CpuMeter, Stack, WorkerProcess
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.app.intake import open_case, start_link
from tada.app.start_links import START_CONCURRENCY  # what intake uses
from tada.domain.batching import batch_workflow_id
from tada.domain.models import NoticeBatchKey, PlatformPolicy, Timings
from tada.domain.states import Category, Channel, Escalation, LinkState
from tada.domain.urls import normalise_url
from tada.workflows.link import LinkWorkflow

TARGET = 0.8
PLATFORM_EMAIL = "reports@platform.bench.test"


def policy(follow_up: float, recheck: float, confirm: float) -> PlatformPolicy:
    return PlatformPolicy(
        name="platform.bench",
        category=Category.PORNOGRAPHIC_SITE,
        channel=Channel.EMAIL,
        email=PLATFORM_EMAIL,
        escalation=Escalation.HOST,
        escalation_email="abuse@host.bench.test",
        timings=Timings(
            follow_up_after=timedelta(seconds=follow_up),
            follow_ups=2,
            recheck_schedule=[timedelta(seconds=recheck)],
            batch_window=timedelta(0),
            confirm_gone_after=timedelta(seconds=confirm),
        ),
    )


async def _history_work(client: Client, workflow_id: str) -> tuple[list[tuple[str, str]], Counter]:
    """The activities and timers of a workflow in order, and a count of its event types."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    steps: list[tuple[str, str]] = []
    kinds: Counter = Counter()
    for event in history.events:
        kinds[EventType.Name(event.event_type)] += 1
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            steps.append(("a", event.activity_task_scheduled_event_attributes.activity_type.name))
        elif event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            seconds = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
            steps.append(("t", f"{seconds:.3f}"))
    return steps, kinds


async def _measure_plan(client: Client, link_id: str, case_id: str) -> tuple[list[str], dict[str, object]]:
    link_steps, link_kinds = await _history_work(client, link_id)
    batch_id = batch_workflow_id(
        NoticeBatchKey(case_id=case_id, channel=Channel.EMAIL, recipient=PLATFORM_EMAIL, window=timedelta(0))
    )
    try:
        batch_steps, batch_kinds = await _history_work(client, batch_id)
    except RPCError:  # no batch workflow: the link sent its notice itself
        batch_steps, batch_kinds = [], Counter()
    plan: list[str] = []
    for kind, what in link_steps:
        if kind == "t":
            plan.append(f"t:{what}")
            continue
        plan.append("a")
        if what == "hand_over_notice":  # the batch's send follows the hand-over
            plan += ["a" for kind2, _ in batch_steps if kind2 == "a"]
    names = Counter(what for kind, what in link_steps + batch_steps if kind == "a")
    timers = [float(what) for kind, what in link_steps if kind == "t"]
    work = {
        "activities": sum(names.values()),
        "by_name": dict(names),
        "timers": timers,
        "workflow_tasks": link_kinds["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"]
        + batch_kinds["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"],
        "events": sum(link_kinds.values()) + sum(batch_kinds.values()),
        "workflows": 2 if batch_steps else 1,
    }
    return plan, work


async def _bare_work(client: Client, workflow_id: str) -> dict[str, object]:
    steps, kinds = await _history_work(client, workflow_id)
    return {
        "activities": sum(1 for kind, _ in steps if kind == "a"),
        "timers": [float(what) for kind, what in steps if kind == "t"],
        "workflow_tasks": kinds["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"],
        "events": sum(kinds.values()),
        "plan": [f"t:{what}" if kind == "t" else "a" for kind, what in steps],
    }


def _shape(plan: list[str]) -> list[str]:
    """A plan's activities and timers in order, without the timers' durations (a tada link's
    vary by a few milliseconds: each is what is left of its wait when it starts)."""
    return ["t" if step.startswith("t:") else step for step in plan]


async def _same_shape(
    client: Client, pool, case_ids: list[str], plan: list[str], work: dict[str, object]
) -> tuple[int, int]:
    """Of the measured tada links, how many did what the calibration link did (read after the timing)."""
    rows = await pool.fetch("SELECT link_id, case_id FROM links WHERE case_id = ANY($1::text[])", case_ids)
    gate = asyncio.Semaphore(16)

    async def one(link_id: str, case_id: str) -> bool:
        async with gate:
            their_plan, their_work = await _measure_plan(client, link_id, case_id)
        return _shape(their_plan) == _shape(plan) and their_work["by_name"] == work["by_name"]

    same = await asyncio.gather(*(one(row["link_id"], row["case_id"]) for row in rows))
    return sum(same), len(rows)


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 0.95 else f"{value:.1f}s"


async def _run_tada(stack: Stack, client: Client, pool, links: int, per_case: int, pol: PlatformPolicy, tag: str):
    """Open the cases (not timed), then start every link and wait for every workflow to complete."""
    settings = stack.settings("tada-happy")
    crypto = DataCrypto.from_settings(settings)
    case_ids = [
        await open_case(pool, age=30, minimum_age=16, signpost="", reference=f"BENCH-{tag}-{i}", crypto=crypto)
        for i in range((links + per_case - 1) // per_case)
    ]
    urls = [normalise_url(stack.web.url(f"/v/{tag}-{i}-{uuid.uuid4().hex[:8]}")) for i in range(links)]
    gate = asyncio.Semaphore(START_CONCURRENCY)
    results: list[object] = []

    async def one(i: int) -> None:
        async with gate:
            link_id, started = await start_link(
                pool,
                client,
                case_id=case_ids[i // per_case],
                language="en",
                url=urls[i],
                policy=pol,
                task_queue=settings.task_queue,
            )
        assert started
        results.append(await client.get_workflow_handle_for(LinkWorkflow.run, link_id).result())

    began = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(links)))
    return time.monotonic() - began, results, case_ids


async def _run_bare(client: Client, links: int, plan: list[str]):
    gate = asyncio.Semaphore(START_CONCURRENCY)
    run_id = uuid.uuid4().hex[:6]

    async def one(i: int) -> int:
        async with gate:
            handle = await client.start_workflow(
                "BarePlan", plan, id=f"bare-happy-{run_id}-{i}", task_queue="bare-happy"
            )
        return await handle.result()

    began = time.monotonic()
    done = await asyncio.gather(*(one(i) for i in range(links)))
    return time.monotonic() - began, done, f"bare-happy-{run_id}-0"


def _add(into: dict[str, float], meter: CpuMeter) -> None:
    for process, used in meter.used.items():
        into[process] = into.get(process, 0.0) + used


def _cpu_row(used: dict[str, float], links: int) -> str:
    parts = ", ".join(f"{process} {seconds / links * 1000:.0f}" for process, seconds in used.items())
    return f"{sum(used.values()) / links * 1000:.0f} ms ({parts})"


async def run(
    links: int = 200,
    per_case: int = 1,
    follow_up: float = 3.0,
    recheck: float = 1.0,
    rounds: int = 2,
    confirm: float = 1.0,
    keep: bool = False,
) -> Report:
    gone = "gone, confirmed" if confirm > 0 else "gone"
    report = Report(
        f"1. Happy path: {links} links, REPORTED → notice → AWAITING_RESPONSE → {gone} → REMOVED → completed"
    )
    pol = policy(follow_up, recheck, confirm)
    load_before = f"{os.getloadavg()[0]:.1f}"
    sizes = [links // rounds + (1 if i < links % rounds else 0) for i in range(rounds)]
    seconds = {"tada": 0.0, "bare": 0.0}
    cpu: dict[str, dict[str, float]] = {"tada": {}, "bare": {}}
    statuses: list = []
    case_ids: list[str] = []
    async with Stack(keep=keep) as stack:
        settings = stack.settings("tada-happy")
        pool = await create_pool(settings.database_url)
        tada_client = await stack.tada_client("tada-happy")
        bare_client = await stack.bare_client()
        pids = stack.pids()
        async with (
            WorkerProcess(stack, "tada", "tada-happy") as tada_worker,
            WorkerProcess(stack, "bare", "bare-happy") as bare_worker,
        ):
            # Calibration: one link through tada, whose history says what the bare workflow must do.
            _, [status], [case_id] = await asyncio.wait_for(_run_tada(stack, tada_client, pool, 1, 1, pol, "cal"), 120)
            assert status.state == LinkState.REMOVED, status
            link_id = await pool.fetchval("SELECT link_id FROM links WHERE case_id = $1", case_id)
            plan, work = await _measure_plan(tada_client, link_id, case_id)
            mails_before = stack.smtp.received

            # Rounds in alternating order (bare, tada, tada, bare, ...) so that a busier spell of
            # the machine falls on both sides alike.
            for number, size in enumerate(sizes):
                for side in ("bare", "tada") if number % 2 == 0 else ("tada", "bare"):
                    if side == "bare":
                        meter = CpuMeter(worker=bare_worker.pid, temporal=pids["temporal"])
                        meter.start()
                        took, done, sample_id = await asyncio.wait_for(_run_bare(bare_client, size, plan), 1800)
                        assert all(d == work["activities"] for d in done)
                    else:
                        meter = CpuMeter(worker=tada_worker.pid, **pids)
                        meter.start()
                        took, got, cases = await asyncio.wait_for(
                            _run_tada(stack, tada_client, pool, size, per_case, pol, f"r{number}"), 1800
                        )
                        statuses += got
                        case_ids += cases
                    meter.stop()
                    seconds[side] += took
                    _add(cpu[side], meter)
            bare_work = await _bare_work(bare_client, sample_id)
            same_shape = await _same_shape(tada_client, pool, case_ids, plan, work)
        mails = stack.smtp.received - mails_before
        removed = sum(1 for s in statuses if s.state == LinkState.REMOVED)
        events = await pool.fetchval("SELECT count(*) FROM link_events WHERE case_id = ANY($1::text[])", case_ids)
        notices = await pool.fetchval(
            "SELECT count(*) FROM notices WHERE status = 'sent' AND case_id = ANY($1::text[])", case_ids
        )
        confirmed = await pool.fetchval(  # the second check's "gone", recorded before each removal
            "SELECT count(*) FROM link_events WHERE kind = 'liveness' AND detail->>'check' = 'confirming' "
            "AND detail->>'verdict' = 'gone' AND case_id = ANY($1::text[])",
            case_ids,
        )
        await pool.close()

    tada_rate, bare_rate = links / seconds["tada"], links / seconds["bare"]
    ratio, met = ratio_line(tada_rate, bare_rate, TARGET)
    bare_same = bare_work["plan"] == plan  # the bare workflow did what the calibration link did
    tada_same = same_shape[0] == same_shape[1] == links
    confirmed_all = confirmed == (links if confirm > 0 else 0)
    report.verdict(met and removed == links and notices == links and confirmed_all and bare_same and tada_same)
    by_name = ", ".join(f"{name} ×{count}" for name, count in sorted(work["by_name"].items()))
    timers = " + ".join(_seconds(t) for t in work["timers"])
    report.add("tada: links/s", f"{tada_rate:.1f}  ({links} links in {seconds['tada']:.1f}s)")
    report.add("bare Temporal: links/s", f"{bare_rate:.1f}  ({links} workflows in {seconds['bare']:.1f}s)")
    report.add("ratio tada / bare", ratio)
    report.add(
        "per link, tada",
        f"{work['activities']} activities ({by_name}); timers {timers}; "
        f"{work['workflow_tasks']} workflow tasks in "
        f"{'2 workflows (link + notice batch)' if work['workflows'] == 2 else '1 workflow (the link sends itself)'}; "
        f"{work['events']} history events",
    )
    report.add(
        "per link, bare",
        f"{bare_work['activities']} no-op activities; timers "
        + " + ".join(_seconds(t) for t in bare_work["timers"])
        + f"; {bare_work['workflow_tasks']} workflow tasks in 1 workflow; {bare_work['events']} history events",
    )
    report.add(
        "same work (activities, timers)",
        f"bare workflow as the calibration link: {'yes' if bare_same else 'NO'}; "
        f"tada links as the calibration link: {same_shape[0]}/{same_shape[1]}",
    )
    report.add("timer floor (both)", f"{sum(work['timers']):.1f}s of every link's time is its timers")
    report.add("CPU per link, tada", _cpu_row(cpu["tada"], links))
    report.add("CPU per link, bare", _cpu_row(cpu["bare"], links))
    tada_cpu, bare_cpu = sum(cpu["tada"].values()), sum(cpu["bare"].values())
    report.add(
        "CPU ratio bare / tada",
        f"{bare_cpu / tada_cpu:.2f} (the throughput ratio when CPU is the limit; "
        f"CPU-bound capacity of this machine: tada {os.cpu_count() * links / tada_cpu:.1f} links/s, "
        f"bare {os.cpu_count() * links / bare_cpu:.1f})",
    )
    report.add("load average", f"{load_before} before, {os.getloadavg()[0]:.1f} after (other processes on the machine)")
    report.add(
        "checked",
        f"{removed}/{links} REMOVED and completed, {confirmed} confirmed by a second check; {mails} emails over SMTP; "
        f"{notices} notices sent; {events} events in PostgreSQL ({events / links:.1f} per link)",
    )
    report.note(
        f"follow_up_after {follow_up}s, recheck_schedule [{recheck}s], confirm_gone_after {confirm}s "
        + (
            "(a removal is confirmed by a second check, as in production), "
            if confirm > 0
            else "(confirmation off: removed at the first 'gone', unlike production), "
        )
        + "batch_window 0, "
        f"{per_case} link(s) per case; starts {START_CONCURRENCY} at a time; {rounds} rounds of "
        f"{'/'.join(map(str, sizes))} links a side, alternating order; a round's time runs from its first start "
        "to its last workflow's result"
    )
    report.note(
        "tada as in production: payloads encrypted (AES-GCM codec), notes sealed, JSON logs; each worker "
        "in its own process with the SDK's default limits"
    )
    return report
