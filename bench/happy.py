"""Benchmark 1, the happy path: links go REPORTED → notice → AWAITING_RESPONSE → gone at the
first follow-up check (the platform took the page down when the notice came) → confirmed by a
second check ``confirm_gone_after`` later → REMOVED, then one repost re-check, and the workflow
completes. Real SMTP, HTTP and PostgreSQL on 127.0.0.1.

Compared with a bare workflow doing the same number of no-op activities and the same waits,
in the same order: the plan is read from the history of one tada link (and its notice batch)
run first, so the count is what tada really does, not what we think. A wait is mirrored as
tada waits: tada sets a deadline (the follow-up check, the confirming check, the re-check) in
the task that records the step's event, and waits for what is left of it once that is done,
so on a loaded machine the timer is shorter, or not needed at all; the bare workflow sets the
same deadline at the same point and waits the same way (``_plan_of``). After the rounds, every
measured tada link and bare workflow is read again and must have done the calibration's work.

The timings are compressed: follow_up_after 3 s for 3 days, the re-check 1 s for a day.
confirm_gone_after is 1 s rather than 30 minutes at that scale (0.02 s): so short a wait would
pass while the first check's event is recorded, on both sides, and start no timer, while in
production the confirmation always waits on one.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from datetime import date, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

from bench.report import Report, cpu_ratio_line, ratio_line
from bench.stack import CpuMeter, Stack, WorkerProcess
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.app.intake import open_case, start_link
from tada.app.link_ids import batch_id_for
from tada.app.start_links import START_CONCURRENCY  # what intake uses
from tada.domain.models import NoticeBatchKey, PlatformPolicy, Timings
from tada.domain.registry import load_registry
from tada.domain.states import Category, Channel, Escalation, LinkState
from tada.domain.urls import normalise_url
from tada.settings import SHIPPED_PLATFORMS
from tada.workflows.link import LinkWorkflow

TARGET = 0.85  # links/s against bare's
CPU_TARGET = 1.2  # CPU per link against bare's
PLATFORM_EMAIL = "reports@platform.bench.test"


def policy(follow_up: float, recheck: float, confirm: float) -> PlatformPolicy:
    """The bench platform, bound by the TAKE IT DOWN Act as X and Discord are: every notice cites it
    and starts its legal clock, whose deadline (compressed like the timings: 48 h as ``follow_up``,
    no grace) brings the follow-up check."""
    law = load_registry(SHIPPED_PLATFORMS).laws["take_it_down_act"].terms()
    law = law.model_copy(update={"response_deadline": timedelta(seconds=follow_up), "deadline_grace": timedelta(0)})
    return PlatformPolicy(
        laws=[law],
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


#: ("a", activity type, task time, LOCAL_SLACK if local else 0) or ("t", timer seconds, task time, 0)
Step = tuple[str, str, float, float]
#: How short a deadline set before a local activity may read (its run time, PostgreSQL's write, is in no event).
LOCAL_SLACK = 0.25


async def _history_work(client: Client, workflow_id: str) -> tuple[list[Step], Counter]:
    """The activities and timers of a workflow in order, each with the time of the workflow task
    that scheduled or started it (what ``workflow.now()`` said there), and a count of its event types."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    steps: list[Step] = []
    kinds: Counter = Counter()
    task_time = 0.0
    for event in history.events:
        kinds[EventType.Name(event.event_type)] += 1
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            task_time = event.event_time.ToNanoseconds() / 1e9
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            steps.append(("a", event.activity_task_scheduled_event_attributes.activity_type.name, task_time, 0.0))
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            local = _local_activity(event)
            if local:
                steps.append(("a", local, task_time, LOCAL_SLACK))
        elif event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            seconds = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
            steps.append(("t", f"{seconds:.3f}", task_time, 0.0))
    return steps, kinds


def _local_activity(event) -> str | None:
    """A local activity's type ("record_event (local)") from its marker, or None for another marker.
    The bare workflow does each as an ordinary activity: a bare Temporal application writes its audit
    trail with one; tada's doing it inside the workflow task is a gain of tada's, not work it skips."""
    attributes = event.marker_recorded_event_attributes
    if attributes.marker_name != "core_local_activity":
        return None
    data = json.loads(attributes.details["data"].payloads[0].data)
    return f"{data['activity_type']} (local)"


def _plan_of(steps: list[Step], batch_activities: int = 0) -> list[str]:
    """What a workflow did, as a plan for the bare workflow: "a" an activity, "d:SECONDS" a
    deadline set, "w" a wait for it. tada sets each deadline (follow-up check, confirming check,
    re-check) in the workflow task that schedules an activity (the event of the step before) and
    waits once that is done, with a timer for what is left of it, or none when it has passed. So
    a timer's deadline is read back as its duration plus the time since the task that scheduled
    the activity before it. A wait whose deadline had passed left no timer, and is not seen.
    A local activity moves the workflow's clock on by its run time, which no event shows: a deadline
    set before one is read as "d:SECONDS~SLACK", up to SLACK seconds short."""
    deadlines: dict[int, tuple[float, float]] = {}
    anchor: int | None = None  # the last activity since the last timer
    for index, (kind, what, at, _) in enumerate(steps):
        if kind == "a":
            anchor = index
            continue
        if anchor is None:  # nothing done since the last wait: the deadline was set at this one
            deadlines[index] = (float(what), 0.0)
        else:
            deadlines[anchor] = (float(what) + (at - steps[anchor][2]), steps[anchor][3])
        anchor = None
    plan: list[str] = []
    for index, (kind, what, _, _) in enumerate(steps):
        if index in deadlines:
            seconds, slack = deadlines[index]
            plan.append(f"d:{seconds:.3f}" + (f"~{slack:.3f}" if slack else ""))
        if kind == "t":
            plan.append("w")
            continue
        plan.append("a")
        if what == "hand_over_notice":  # the batch's send follows the hand-over
            plan += ["a"] * batch_activities
    return plan


def _marks(plan: list[str]) -> tuple[int, dict[tuple[int, str], tuple[float, float]]]:
    """A plan's activities, and its deadlines (with their slack) and waits by how many activities
    come before each."""
    activities, marks = 0, {}
    for step in plan:
        if step == "a":
            activities += 1
        elif step.startswith("d:"):
            seconds, _, slack = step[2:].partition("~")
            marks[(activities, "d")] = (float(seconds), float(slack or 0))
        else:
            marks[(activities, step[0])] = (0.0, 0.0)
    return activities, marks


def bare_plan(plan: list[str]) -> list[str]:
    """The plan as the bare workflow reads it: each deadline as read (after a local activity, up to its
    run time short: a few ms to some tens of ms in the runs measured, which favours bare)."""
    return [f"d:{_deadline(step):.3f}" if step.startswith("d:") else step for step in plan]


def _deadline(step: str) -> float:
    return float(step[2:].partition("~")[0])


def _fits(plan: list[str], full: list[str], tolerance: float = 0.01) -> bool:
    """Did ``plan`` do the work of ``full``: the same activities, and each deadline and wait it
    shows where ``full`` has it (the same deadline within ``tolerance`` seconds, or within the slack
    that a local activity before it leaves)? Waits whose deadline had passed are missing from a
    history; that is the same work, not less."""
    activities, marks = _marks(plan)
    full_activities, full_marks = _marks(full)

    def same(mine: tuple[float, float], theirs: tuple[float, float]) -> bool:  # the two spans meet
        return mine[0] <= theirs[0] + theirs[1] + tolerance and theirs[0] <= mine[0] + mine[1] + tolerance

    return activities == full_activities and all(
        where in full_marks and same(value, full_marks[where]) for where, value in marks.items()
    )


async def _measure_plan(client: Client, pool, link_id: str, case_id: str) -> tuple[list[str], dict[str, object]]:
    link_steps, link_kinds = await _history_work(client, link_id)
    batch_id = await batch_id_for(
        pool, NoticeBatchKey(case_id=case_id, channel=Channel.EMAIL, recipient=PLATFORM_EMAIL, window=timedelta(0))
    )
    try:
        batch_steps, batch_kinds = await _history_work(client, batch_id)
    except RPCError:  # no batch workflow: the link sent its notice itself
        batch_steps, batch_kinds = [], Counter()
    plan = _plan_of(link_steps, sum(1 for step in batch_steps if step[0] == "a"))
    names = Counter(what for kind, what, _, _ in link_steps + batch_steps if kind == "a")
    work = {
        "activities": sum(names.values()),
        "by_name": dict(names),
        "deadlines": [_deadline(step) for step in plan if step.startswith("d:")],
        "timers": sum(1 for step in link_steps if step[0] == "t"),
        "workflow_tasks": link_kinds["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"]
        + batch_kinds["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"],
        "events": sum(link_kinds.values()) + sum(batch_kinds.values()),
        "workflows": 2 if batch_steps else 1,
    }
    return plan, work


async def _same_work(
    tada: Client, bare: Client, pool, case_ids: list[str], bare_ids: list[str], plan: list[str], work: dict
) -> dict[str, object]:
    """Read after the timing: did every measured tada link and every bare workflow do the
    calibration link's work, and how many timers did each side start?"""
    rows = await pool.fetch("SELECT link_id, case_id FROM links WHERE case_id = ANY($1::text[])", case_ids)
    gate = asyncio.Semaphore(16)

    async def tada_one(link_id: str, case_id: str) -> tuple[bool, int]:
        async with gate:
            their_plan, their_work = await _measure_plan(tada, pool, link_id, case_id)
        return _fits(their_plan, plan) and their_work["by_name"] == work["by_name"], int(their_work["timers"])

    async def bare_one(workflow_id: str) -> tuple[bool, int, Counter]:
        async with gate:
            steps, kinds = await _history_work(bare, workflow_id)
        return _fits(_plan_of(steps), plan), sum(1 for step in steps if step[0] == "t"), kinds

    tada_done = await asyncio.gather(*(tada_one(row["link_id"], row["case_id"]) for row in rows))
    bare_done = await asyncio.gather(*(bare_one(workflow_id) for workflow_id in bare_ids))
    kinds = bare_done[0][2]
    return {
        "tada": (sum(same for same, _ in tada_done), len(tada_done), sum(timers for _, timers in tada_done)),
        "bare": (sum(same for same, _, _ in bare_done), len(bare_done), sum(timers for _, timers, _ in bare_done)),
        "bare_workflow_tasks": kinds["EVENT_TYPE_WORKFLOW_TASK_COMPLETED"],
        "bare_events": sum(kinds.values()),
    }


def _seconds(value: float) -> str:
    return f"{value:.2f}s" if value < 0.95 else f"{value:.1f}s"


async def _run_tada(stack: Stack, client: Client, pool, links: int, per_case: int, pol: PlatformPolicy, tag: str):
    """Open the cases (not timed), then start every link and wait for every workflow to complete."""
    settings = stack.settings("tada-happy")
    crypto = DataCrypto.from_settings(settings)
    case_ids = [
        await open_case(
            pool,
            age=30,
            minimum_age=16,
            signpost="",
            reference=f"BENCH-{tag}-{i}",
            crypto=crypto,
            authorised_on=date.today(),  # the law's elements: the victim's authorisation on record
        )
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

    ids = [f"bare-happy-{run_id}-{i}" for i in range(links)]

    async def one(workflow_id: str) -> list[int]:
        async with gate:
            handle = await client.start_workflow("BarePlan", plan, id=workflow_id, task_queue="bare-happy")
        return await handle.result()

    began = time.monotonic()
    done = await asyncio.gather(*(one(workflow_id) for workflow_id in ids))
    return time.monotonic() - began, done, ids


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
    bare_ids: list[str] = []
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
            plan, work = await _measure_plan(tada_client, pool, link_id, case_id)
            mails_before = stack.smtp.received

            # Rounds in alternating order (bare, tada, tada, bare, ...) so that a busier spell of
            # the machine falls on both sides alike.
            for number, size in enumerate(sizes):
                for side in ("bare", "tada") if number % 2 == 0 else ("tada", "bare"):
                    if side == "bare":
                        meter = CpuMeter(worker=bare_worker.pid, temporal=pids["temporal"])
                        meter.start()
                        took, done, ids = await asyncio.wait_for(_run_bare(bare_client, size, bare_plan(plan)), 1800)
                        assert all(activities == work["activities"] for activities, _ in done)
                        bare_ids += ids
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
            same = await _same_work(tada_client, bare_client, pool, case_ids, bare_ids, plan, work)
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
        clocks_met = await pool.fetchval(  # each notice started the law's clock; the removal met it
            "SELECT count(*) FROM link_events WHERE kind = 'deadline' AND detail->>'step' = 'met' "
            "AND case_id = ANY($1::text[])",
            case_ids,
        )
        await pool.close()

    tada_rate, bare_rate = links / seconds["tada"], links / seconds["bare"]
    ratio, met = ratio_line(tada_rate, bare_rate, TARGET)
    tada_cpu, bare_cpu = sum(cpu["tada"].values()), sum(cpu["bare"].values())
    cpu_ratio, cpu_met = cpu_ratio_line(tada_cpu, bare_cpu, CPU_TARGET)
    (tada_same, tada_n, tada_timers), (bare_same, bare_n, bare_timers) = same["tada"], same["bare"]
    same_work = tada_same == tada_n == links and bare_same == bare_n == links
    confirmed_all = confirmed == (links if confirm > 0 else 0)
    report.verdict(
        met
        and cpu_met
        and removed == links
        and notices == links
        and confirmed_all
        and same_work
        and clocks_met == links
    )
    by_name = ", ".join(f"{name} ×{count}" for name, count in sorted(work["by_name"].items()))
    deadlines = " + ".join(_seconds(t) for t in work["deadlines"])
    waits = len(work["deadlines"])
    report.add("tada: links/s", f"{tada_rate:.1f}  ({links} links in {seconds['tada']:.1f}s)")
    report.add("bare Temporal: links/s", f"{bare_rate:.1f}  ({links} workflows in {seconds['bare']:.1f}s)")
    report.add("ratio tada / bare", ratio)
    report.add(
        "per link, tada",
        f"{work['activities']} activities ({by_name}); waits {deadlines}; "
        f"{work['workflow_tasks']} workflow tasks in "
        f"{'2 workflows (link + notice batch)' if work['workflows'] == 2 else '1 workflow (the link sends itself)'}; "
        f"{work['events']} history events",
    )
    report.add(
        "per link, bare",
        f"{work['activities']} no-op activities; the same waits; "
        f"{same['bare_workflow_tasks']} workflow tasks in 1 workflow; {same['bare_events']} history events",
    )
    report.add(
        "same work as the calibration link",
        f"tada links {tada_same}/{tada_n}, bare workflows {bare_same}/{bare_n} "
        "(the same activities, deadlines and waits)",
    )
    report.add(
        "timers started",
        f"tada {tada_timers}/{tada_n * waits}, bare {bare_timers}/{bare_n * waits} "
        "(a wait whose deadline passed during the step before it needs none)",
    )
    report.add("timer floor (both)", f"{sum(work['deadlines']):.1f}s of every link's time is its waits")
    report.add("CPU per link, tada", _cpu_row(cpu["tada"], links))
    report.add("CPU per link, bare", _cpu_row(cpu["bare"], links))
    report.add("CPU per link, tada / bare", cpu_ratio)
    report.add(
        "CPU-bound capacity",
        f"tada {os.cpu_count() * links / tada_cpu:.1f} links/s, bare {os.cpu_count() * links / bare_cpu:.1f} "
        "(this machine's CPUs, if nothing else ran)",
    )
    report.add("load average", f"{load_before} before, {os.getloadavg()[0]:.1f} after (other processes on the machine)")
    report.add(
        "checked",
        f"{removed}/{links} REMOVED and completed, {confirmed} confirmed by a second check; {mails} emails over SMTP; "
        f"{notices} notices sent; {clocks_met} legal clocks met; "
        f"{events} events in PostgreSQL ({events / links:.1f} per link)",
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
        "tada as in production: payloads encrypted (AES-GCM codec), notes sealed, JSON logs, the platform bound by "
        "a law (its clock started by each notice; the deadline compressed as the timings are); each worker "
        "in its own process with the SDK's default limits"
    )
    return report
