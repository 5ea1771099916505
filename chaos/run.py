"""`make chaos`: a real run of tada through faults, then checks that nothing was lost or doubled.

Starts PostgreSQL (embedded, temp dir), a Temporal dev server (temp SQLite file), the
chaos world (web servers and an SMTP sink, chaos/world.py) and the worker as a separate
process (chaos/worker_process.py). Starts links in waves across several cases, with
platforms that take content down after the first notice, after a follow-up, after the
escalation, or never. Mid-run, one after the other: SIGKILL the worker and start it
again; stop and restart the Temporal dev server (same SQLite file); stop the SMTP sink;
stop PostgreSQL. Then waits until every link has settled and checks:

- every link reached the state its platform's behaviour implies, along exactly the
  expected path of transitions (each one legal per tada/domain/states.py, none twice);
- every step of every link is recorded: the sequence numbers of its events and notices
  have no gap (a lost step leaves one) and no duplicate event key;
- exactly one email per (link, notice step): every notices row is 'sent' and its
  Message-ID arrived exactly once, listing exactly the links recorded under it, and each
  link got exactly the notices (initial, follow-up, escalation) its behaviour implies;
- no workflow is stuck: the only open workflows are the UNRESOLVED links, each waiting
  on its re-check timer with no activity pending; nothing failed or was terminated.

Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from temporalio.client import Client, WorkflowExecutionStatus

from chaos.world import ADDRESSES, BEHAVIOURS, ESCALATION_EMAIL, Behaviour, ChaosSink, WebServers, World
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.temporal import connect
from tada.app.intake import open_case, start_link_row
from tada.app.start_links import link_input, start_link
from tada.domain.models import LinkStatus
from tada.domain.registry import load_registry
from tada.domain.states import TRANSITIONS, LinkState
from tada.kit.ports import free_port
from tada.kit.stack import LocalStack, settings_from_env, temporary_directory
from tada.workflows.link import LinkWorkflow

REPOSITORY = Path(__file__).resolve().parents[1]  # chaos/ is not installed: its worker process imports it from here

S = LinkState
FOLLOW_UPS = 1
ESCALATIONS = 1
TASK_QUEUE = "tada-chaos"
#: A message that arrived at most this long before a SIGKILL, and again afterwards, was in flight when
#: the worker died: the SMTP server had taken it, the worker had not yet marked it sent. Exactly-once is
#: impossible there (SMTP has no idempotent submit); the copy has the same Message-ID.
CRASH_WINDOW = 5.0

#: The transitions each behaviour implies (follow_ups = escalations = 1).
_TO_AWAIT = [(S.REPORTED, S.AWAITING_RESPONSE)]
_FOLLOW_UP = [(S.AWAITING_RESPONSE, S.FOLLOW_UP), (S.FOLLOW_UP, S.AWAITING_RESPONSE)]
EXPECTED_PATH: dict[Behaviour, list[tuple[LinkState, LinkState]]] = {
    Behaviour.NOTICE: _TO_AWAIT + [(S.AWAITING_RESPONSE, S.REMOVED)],
    Behaviour.FOLLOW_UP: _TO_AWAIT + _FOLLOW_UP + [(S.AWAITING_RESPONSE, S.REMOVED)],
    Behaviour.ESCALATION: _TO_AWAIT + _FOLLOW_UP + [(S.AWAITING_RESPONSE, S.ESCALATED), (S.ESCALATED, S.REMOVED)],
    Behaviour.NEVER: _TO_AWAIT + _FOLLOW_UP + [(S.AWAITING_RESPONSE, S.ESCALATED), (S.ESCALATED, S.UNRESOLVED)],
}
EXPECTED_NOTICES: dict[Behaviour, Counter] = {
    Behaviour.NOTICE: Counter({"initial": 1}),
    Behaviour.FOLLOW_UP: Counter({"initial": 1, "follow_up": 1}),
    Behaviour.ESCALATION: Counter({"initial": 1, "follow_up": FOLLOW_UPS, "escalation_admin": 1}),
    Behaviour.NEVER: Counter({"initial": 1, "follow_up": FOLLOW_UPS, "escalation_admin": ESCALATIONS}),
}
FINAL_STATE = {b: (S.UNRESOLVED if b == Behaviour.NEVER else S.REMOVED) for b in BEHAVIOURS}


# --- options -------------------------------------------------------------------------------


@dataclass
class Options:
    links: int = 200
    cases: int = 8
    spread: float = 100.0  # links are started in waves over this many seconds
    worker_down: float = 3.0  # SIGKILLed worker restarted after this long
    temporal_down: float = 5.0
    smtp_down: float = 20.0  # the issue says a minute: --smtp-down 60
    postgres_down: float = 30.0
    timeout: float = 420.0  # for everything to settle after the last fault
    step: float = 4.0  # follow_up_after, escalate_after and the repost re-check, in seconds
    keep: bool = False  # keep the temp dir (logs, data) for a look afterwards
    quiet: bool = False
    strict: bool = False  # count a resend after a SIGKILL mid-send (inherent to SMTP) as a failure too

    def schedule(self) -> dict[str, float]:
        """When (seconds after the first link) each fault starts: one after another, mid-run."""
        kill = 0.12 * self.spread
        temporal = max(kill + self.worker_down + 5, 0.30 * self.spread)
        smtp = max(temporal + self.temporal_down + 8, 0.45 * self.spread)
        postgres = smtp + self.smtp_down + 8
        return {
            "worker SIGKILL": kill,
            "Temporal restart": temporal,
            "SMTP outage": smtp,
            "PostgreSQL outage": postgres,
        }


def parse_args(argv: list[str] | None = None) -> Options:
    defaults = Options()
    p = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n\n")[0])
    p.add_argument("--links", type=int, default=defaults.links)
    p.add_argument("--cases", type=int, default=defaults.cases)
    p.add_argument("--spread", type=float, default=defaults.spread, help="seconds over which links are started")
    p.add_argument("--smtp-down", type=float, default=defaults.smtp_down, help="SMTP outage, s (the issue's: 60)")
    p.add_argument("--postgres-down", type=float, default=defaults.postgres_down, help="PostgreSQL outage, s")
    p.add_argument("--temporal-down", type=float, default=defaults.temporal_down)
    p.add_argument("--worker-down", type=float, default=defaults.worker_down)
    p.add_argument("--timeout", type=float, default=defaults.timeout, help="s to settle after the last fault")
    p.add_argument("--step", type=float, default=defaults.step, help="follow-up/escalation wait, s")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail also on a resend after a SIGKILL between the SMTP server's 250 and marking it sent",
    )
    return Options(**vars(p.parse_args(argv)))


# --- the stack -----------------------------------------------------------------------------


def registry_toml(web: WebServers, step: float) -> str:
    s = f"{max(1, round(step))}s"
    lines = [
        "# Generated by the chaos run (chaos/run.py).",
        "[defaults]",
        f'follow_up_after = "{s}"',
        f"follow_ups = {FOLLOW_UPS}",
        f'escalate_after = "{s}"',
        f"escalations = {ESCALATIONS}",
        f'recheck_schedule = ["{s}"]',
        'unresolved_recheck = "1h"',
        'batch_window = "1s"',
        'confirm_gone_after = "1s"',  # every removal confirmed by a second check, compressed like the rest
    ]
    for behaviour in BEHAVIOURS:
        lines += [
            "",
            "[[platform]]",
            f'name = "Chaos {behaviour.value}"',
            'category = "pornographic_site"',
            f'domains = ["{ADDRESSES[behaviour]}"]',
            'channel = "email"',
            f'email = "abuse@{behaviour.value.replace("_", "-")}.chaos.test"',
            'escalation = "admin"',
            f'escalation_email = "{ESCALATION_EMAIL}"',
        ]
    return "\n".join(lines) + "\n"


class WorkerProcess:
    """``python -m chaos.worker_process`` with the chaos settings in its environment."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env = env
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.unexpected_exits: list[int] = []

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "chaos.worker_process"],
                cwd=REPOSITORY,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def check_alive(self) -> None:
        """A worker that died by itself is a finding: note it and start another."""
        if self.proc is not None and self.proc.poll() is not None:
            self.unexpected_exits.append(self.proc.returncode)
            self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Run:
    options: Options
    directory: Path
    world: World = field(default_factory=World)
    faults: list[tuple[str, float, float]] = field(default_factory=list)  # name, start (s), duration (s)
    behaviour_of: dict[str, Behaviour] = field(default_factory=dict)  # by link id
    started_links: int = 0
    t0: float = 0.0
    t_links: float = 0.0
    worker_killed: bool = False
    checks: dict[str, bool] = field(default_factory=dict)
    kills: list[float] = field(default_factory=list)  # monotonic times of the SIGKILLs
    pg_mid_send: bool = False
    crash_window: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def say(self, text: str) -> None:
        if not self.options.quiet:
            print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", flush=True)


async def _retry(what, *, pause: float = 0.5, timeout: float = 300.0):
    """Call ``what()`` until it succeeds (PostgreSQL or Temporal may be down)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await what()
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(pause)


def _quiet_temporal_client() -> None:
    """The client's retries while the dev server is down are expected here: log errors only."""
    from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

    filter_ = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    Runtime.set_default(
        Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=filter_))), error_if_already_set=False
    )


async def main_async(options: Options) -> int:
    directory = temporary_directory("tada-chaos-")
    run = Run(options, directory)
    run.t0 = time.monotonic()
    try:
        return await _run(run)
    finally:
        if options.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)


async def _run(run: Run) -> int:
    o, d = run.options, run.directory
    web = WebServers(run.world)
    web.start()
    sink = ChaosSink(run.world, free_port())
    stack = LocalStack(d, sink)  # PostgreSQL (schema applied), the Temporal dev server, the sink
    try:
        await stack.start()
    except BaseException:
        web.stop()
        raise
    postgres, temporal = stack.postgres, stack.temporal
    registry_file = d / "platforms.toml"
    registry_file.write_text(registry_toml(web, o.step), encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TADA_")},
        **stack.env(),
        "TADA_TASK_QUEUE": TASK_QUEUE,
        "TADA_PLATFORMS": str(registry_file),
        "TADA_PAYLOAD_KEYS": "",
        "TADA_LIVENESS_TIMEOUT_SECONDS": "5",
    }
    settings = settings_from_env(env)
    run.say(
        f"stack up: PostgreSQL {postgres.port}, Temporal {temporal.address}, SMTP {sink.port}, "
        f"web {', '.join(ADDRESSES.values())} port {web.port}; temp dir {d}"
    )
    worker = WorkerProcess(env, d / "worker.log")
    worker.start()
    client = await connect(settings)
    pool = await asyncpg.create_pool(postgres.url, min_size=0, max_size=8)
    registry = load_registry(registry_file)
    try:
        case_ids = [
            await open_case(
                pool,
                age=30,
                minimum_age=16,
                signpost="",
                reference=f"CHAOS-{n:02d}",
                crypto=DataCrypto.from_settings(settings),
            )
            for n in range(o.cases)
        ]
        plan = []
        for i in range(o.links):
            behaviour = BEHAVIOURS[i % len(BEHAVIOURS)]
            path = f"/item/{i:04d}"
            run.world.add(path, behaviour)
            plan.append((f"{web.base_url(behaviour)}{path}", case_ids[(i // len(BEHAVIOURS)) % o.cases], behaviour))
        run.say(
            f"{o.links} links in {o.cases} cases, started over {o.spread:g}s; faults at "
            + ", ".join(f"{name} +{at:.0f}s" for name, at in o.schedule().items())
        )

        async def start_one(url: str, case_id: str, behaviour: Behaviour) -> None:
            conn_pool = pool

            async def go() -> None:
                policy = registry.policy_for(url)
                link_id = await start_link_row(
                    conn_pool, case_id=case_id, url=url, platform=policy.name, category=policy.category.value
                )
                run.behaviour_of[link_id] = behaviour
                link = link_input(case_id=case_id, link_id=link_id, url=url, policy=policy)
                await start_link(client, link, TASK_QUEUE)  # False: a retry after a timeout had started it

            await _retry(go)
            run.started_links += 1

        async def starter() -> None:
            waves = max(1, int(o.spread // 2))
            per_wave = -(-o.links // waves)
            for w in range(waves):
                batch = plan[w * per_wave : (w + 1) * per_wave]
                if not batch:
                    break
                due = run.t_links + w * o.spread / waves
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await asyncio.gather(*(start_one(*item) for item in batch))

        async def faults() -> None:
            for name, at in o.schedule().items():
                await asyncio.sleep(max(0.0, run.t_links + at - time.monotonic()))
                began = time.monotonic()
                if name == "worker SIGKILL":
                    run.worker_killed = True
                    run.kills.append(time.monotonic())
                    worker.kill()
                    run.say(f"FAULT worker SIGKILLed ({run.started_links} links started)")
                    await asyncio.sleep(o.worker_down)
                    worker.start()
                    run.worker_killed = False
                    run.say("worker started again")
                elif name == "Temporal restart":
                    await temporal.stop()
                    run.say("FAULT Temporal dev server stopped")
                    await asyncio.sleep(o.temporal_down)
                    await temporal.start()
                    run.say("Temporal dev server started again (same SQLite file)")
                elif name == "SMTP outage":
                    await asyncio.to_thread(sink.stop)
                    run.say(f"FAULT SMTP sink stopped for {o.smtp_down:g}s")
                    await asyncio.sleep(o.smtp_down)
                    await asyncio.to_thread(sink.start)
                    run.say("SMTP sink started again")
                elif name == "PostgreSQL outage":
                    # Mid-send: a message is taken by the SMTP server, its 250 held back, PostgreSQL
                    # stopped, then the 250 let through: the worker cannot mark that notice sent.
                    sink.hold_next()
                    caught = await asyncio.to_thread(sink.wait_caught, 20.0)
                    await asyncio.to_thread(postgres.stop)
                    sink.release()
                    run.say(
                        f"FAULT PostgreSQL stopped for {o.postgres_down:g}s"
                        + (" while a notice was between SMTP and being marked sent" if caught else "")
                    )
                    run.pg_mid_send = caught
                    await asyncio.sleep(o.postgres_down)
                    await asyncio.to_thread(postgres.start)
                    run.say("PostgreSQL started again")
                run.faults.append((name, began - run.t_links, time.monotonic() - began))

        async def watchdog() -> None:
            while True:
                await asyncio.sleep(1)
                if not run.worker_killed:
                    worker.check_alive()

        run.t_links = time.monotonic()
        dog = asyncio.create_task(watchdog())
        await asyncio.gather(starter(), faults())
        run.say(f"all faults done, {run.started_links} links started; waiting for every link to settle")
        settled = await wait_settled(run, pool, client, o.timeout)
        dog.cancel()
        failures = await check(run, pool, client, settled)
        print_summary(run, worker, failures)
        return 1 if failures else 0
    finally:
        worker.stop()
        await pool.close()
        await stack.stop()
        web.stop()


# --- waiting and checking ------------------------------------------------------------------


async def wait_settled(run: Run, pool: asyncpg.Pool, client: Client, timeout: float) -> bool:
    """Every link in its final state and the only open workflows the UNRESOLVED links."""
    deadline = time.monotonic() + timeout
    never = sum(1 for b in run.behaviour_of.values() if b == Behaviour.NEVER)
    last = ""
    while time.monotonic() < deadline:
        try:
            rows = await pool.fetch("SELECT link_id, state FROM links")
            done = sum(1 for r in rows if r["state"] == FINAL_STATE[run.behaviour_of[r["link_id"]]])
            running = (
                await client.count_workflows(f"TaskQueue = '{TASK_QUEUE}' AND ExecutionStatus = 'Running'")
            ).count
            states = Counter(r["state"] for r in rows)
            line = f"settled {done}/{len(rows)}; open workflows {running}; " + ", ".join(
                f"{k} {v}" for k, v in sorted(states.items())
            )
            if line != last:
                run.say(line)
                last = line
            if done == len(rows) == len(run.behaviour_of) and running == never:
                return True
        except Exception as err:  # noqa: BLE001 - a server still coming back
            run.say(f"(waiting: {type(err).__name__})")
        await asyncio.sleep(2)
    return False


_SEQ = re.compile(r":(\d+):(\d+)(?::[a-z_]+)?$")


async def check(run: Run, pool: asyncpg.Pool, client: Client, settled: bool) -> list[str]:
    failures: list[str] = []

    def result(name: str, problems: list[str]) -> None:
        run.checks[name] = not problems
        for p in problems[:10]:
            failures.append(f"{name}: {p}")
        if len(problems) > 10:
            failures.append(f"{name}: ... and {len(problems) - 10} more")

    result("every link settled in time", [] if settled else ["not every link settled before the timeout"])

    links = {r["link_id"]: r for r in await pool.fetch("SELECT link_id, url, state, cycle FROM links")}
    events = await pool.fetch(
        "SELECT event_key, link_id, cycle, kind, from_state, to_state FROM link_events ORDER BY event_id"
    )
    notices = await pool.fetch("SELECT notice_key, link_id, kind, channel, message_id, status FROM notices")
    run.counts = {"links": len(links), "events": len(events), "notices": len(notices), "emails": len(run.world.mail)}

    # 1. states
    problems = [
        f"{lid}: {row['state']}, expected {FINAL_STATE[run.behaviour_of[lid]]} ({run.behaviour_of[lid]})"
        for lid, row in links.items()
        if row["state"] != FINAL_STATE[run.behaviour_of[lid]]
    ]
    problems += [f"{lid}: started but has no row" for lid in run.behaviour_of if lid not in links]
    result("every link reached the state its platform's behaviour implies", problems)

    # 2. transitions: legal, the expected path, nothing twice, no step missing
    by_link: dict[str, list] = defaultdict(list)
    seqs: dict[tuple[str, int], list[int]] = defaultdict(list)
    for e in events:
        by_link[e["link_id"]].append(e)
        m = _SEQ.search(e["event_key"])
        seqs[(e["link_id"], int(m.group(1)))].append(int(m.group(2)))
    for n in notices:
        m = _SEQ.search(n["notice_key"])
        seqs[(n["link_id"], int(m.group(1)))].append(int(m.group(2)))
    path_problems, dup_problems, gap_problems = [], [], []
    run.counts["transitions"] = 0
    for lid, behaviour in run.behaviour_of.items():
        moves = [
            (S(e["from_state"]), S(e["to_state"]))
            for e in sorted(by_link[lid], key=lambda e: (e["cycle"], int(_SEQ.search(e["event_key"]).group(2))))
            if e["kind"] == "transition"
        ]
        run.counts["transitions"] += len(moves)
        state = S.REPORTED
        for a, b in moves:
            if a != state or b not in TRANSITIONS[a]:
                path_problems.append(f"{lid}: illegal or out-of-order move {a} -> {b} (was in {state})")
                break
            state = b
        if moves != EXPECTED_PATH[behaviour]:
            path_problems.append(
                f"{lid} ({behaviour}): {' '.join(f'{a}->{b}' for a, b in moves)}; expected "
                f"{' '.join(f'{a}->{b}' for a, b in EXPECTED_PATH[behaviour])}"
            )
        for x, y in zip(moves, moves[1:]):
            if x == y:
                dup_problems.append(f"{lid}: {x[0]} -> {x[1]} recorded twice in a row")
    for (lid, cycle), numbers in seqs.items():
        counted = Counter(numbers)
        twice = sorted(n for n, c in counted.items() if c > 1)
        if twice:
            dup_problems.append(f"{lid} cycle {cycle}: sequence numbers {twice} recorded twice")
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        if missing:
            gap_problems.append(f"{lid} cycle {cycle}: steps {missing} missing from events and notices")
    result("transitions legal and exactly the expected path per link", path_problems)
    result("no transition or event recorded twice", dup_problems)
    result("no step missing (event/notice sequence numbers without gaps)", gap_problems)

    # 3. emails: exactly one per (link, notice step)
    url_to_link = {row["url"]: lid for lid, row in links.items()}
    mail_problems: list[str] = []
    ids = Counter(m.message_id for m in run.world.mail)
    crash_window: list[str] = []
    for mid, count in ids.items():
        if count > 1:
            first = min(m.at for m in run.world.mail if m.message_id == mid)
            if not run.options.strict and any(k - CRASH_WINDOW <= first <= k for k in run.kills):
                crash_window.append(
                    f"Message-ID {mid} arrived {count} times: resent after the worker was SIGKILLed mid-send"
                )
            else:
                mail_problems.append(f"Message-ID {mid} arrived {count} times")
    run.crash_window = crash_window
    notices_by_mid: dict[str, set[str]] = defaultdict(set)
    for n in notices:
        if n["status"] != "sent":
            mail_problems.append(f"notice {n['notice_key']} is {n['status']}")
        if n["channel"] != "email":
            continue
        notices_by_mid[n["message_id"]].add(n["link_id"])
        if n["message_id"] not in ids:
            mail_problems.append(f"notice {n['notice_key']} ({n['kind']}) recorded as sent but never arrived")
    received_per_link: dict[str, Counter] = defaultdict(Counter)
    seen: set[str] = set()
    for m in run.world.mail:
        listed = {url_to_link.get(u, u) for u in m.urls}
        if m.message_id in seen:
            continue  # a second copy of the same message: reported above
        seen.add(m.message_id)
        for lid in listed:
            received_per_link[lid][m.kind] += 1
        recorded = notices_by_mid.get(m.message_id)
        if recorded is None:
            mail_problems.append(f"email {m.message_id} ({m.kind}) arrived but no notice is recorded under it")
        elif recorded != listed:
            mail_problems.append(f"email {m.message_id} lists {len(listed)} links, {len(recorded)} recorded under it")
    recorded_per_link: dict[str, Counter] = defaultdict(Counter)
    for n in notices:
        recorded_per_link[n["link_id"]][n["kind"]] += 1
    for lid, behaviour in run.behaviour_of.items():
        want = EXPECTED_NOTICES[behaviour]
        if received_per_link[lid] != want:
            mail_problems.append(f"{lid} ({behaviour}): emails {dict(received_per_link[lid])}, expected {dict(want)}")
        if recorded_per_link[lid] != want:
            mail_problems.append(
                f"{lid} ({behaviour}): notices rows {dict(recorded_per_link[lid])}, expected {dict(want)}"
            )
    run.counts["expected notices"] = sum(sum(EXPECTED_NOTICES[b].values()) for b in run.behaviour_of.values())
    run.counts["link notices received"] = sum(sum(c.values()) for c in received_per_link.values())
    result("exactly one email per (link, notice step), none missing", mail_problems)

    # 4. no workflow stuck
    stuck: list[str] = []
    open_links = 0
    async for wf in client.list_workflows(f"TaskQueue = '{TASK_QUEUE}' AND ExecutionStatus = 'Running'"):
        if wf.workflow_type != "LinkWorkflow":
            stuck.append(f"{wf.id} ({wf.workflow_type}) still running")
            continue
        open_links += 1
        handle = client.get_workflow_handle(wf.id)
        status: LinkStatus = await handle.query(LinkWorkflow.status)
        described = await handle.describe()
        pending = list(described.raw_description.pending_activities)
        behaviour = run.behaviour_of.get(wf.id)
        if behaviour != Behaviour.NEVER or status.state != S.UNRESOLVED:
            stuck.append(f"{wf.id} ({behaviour}) open in {status.state}, next: {status.next_action}")
        elif status.next_action_at is None or status.next_action_at < datetime.now(UTC):
            stuck.append(f"{wf.id} UNRESOLVED but no timer ahead (next: {status.next_action} {status.next_action_at})")
        if pending:
            stuck.append(f"{wf.id}: {len(pending)} activity(ies) pending, e.g. {pending[0].activity_type.name}")
    async for wf in client.list_workflows(
        f"TaskQueue = '{TASK_QUEUE}' AND ExecutionStatus != 'Running' AND ExecutionStatus != 'Completed' "
        "AND ExecutionStatus != 'ContinuedAsNew'"
    ):
        stuck.append(f"{wf.id} ({wf.workflow_type}) ended {WorkflowExecutionStatus(wf.status).name}")
    completed = (await client.count_workflows(f"TaskQueue = '{TASK_QUEUE}' AND ExecutionStatus = 'Completed'")).count
    run.counts["open workflows (UNRESOLVED, on their timer)"] = open_links
    run.counts["completed workflows (links and notice batches)"] = completed
    result("no workflow stuck, failed or terminated", stuck)
    return failures


def print_summary(run: Run, worker: WorkerProcess, failures: list[str]) -> None:
    o = run.options
    print()
    print("== tada chaos run ==")
    print(
        f"links {run.counts['links']} in {o.cases} cases: "
        + ", ".join(f"{b.value} {sum(1 for x in run.behaviour_of.values() if x == b)}" for b in BEHAVIOURS)
    )
    print(
        f"emails received {run.counts['emails']}; link notices in them {run.counts['link notices received']} "
        f"(expected {run.counts['expected notices']}); notices rows {run.counts['notices']}"
    )
    print(f"events {run.counts['events']}, of them transitions {run.counts['transitions']}")
    print(
        f"workflows: {run.counts['completed workflows (links and notice batches)']} completed, "
        f"{run.counts['open workflows (UNRESOLVED, on their timer)']} open (UNRESOLVED, on their timer)"
    )
    print(
        f"worker starts {worker.starts} (1 SIGKILL restart"
        + (f"; UNEXPECTED exits {worker.unexpected_exits}" if worker.unexpected_exits else "")
        + ")"
    )
    if run.crash_window:
        print(
            f"known limit: {len(run.crash_window)} message(s) resent with the same Message-ID after the SIGKILL "
            "landed between the SMTP server's 250 and the notice being marked sent (--strict fails on these):"
        )
        for line in run.crash_window:
            print(f"  {line}")
    print("faults (seconds after the first link):")
    for name, at, duration in run.faults:
        mid = " (began mid-send)" if name == "PostgreSQL outage" and run.pg_mid_send else ""
        print(f"  {name:<18} at +{at:5.1f}s, lasted {duration:5.1f}s{mid}")
    print("checks:")
    for name, ok in run.checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    if worker.unexpected_exits:
        failures.append(
            f"the worker exited by itself {len(worker.unexpected_exits)} time(s): {worker.unexpected_exits}"
        )
    print(f"total {time.monotonic() - run.t0:.0f}s")
    if failures:
        print("\nFAILED:")
        for f in failures:
            print(f"  - {f}")
    else:
        print("\nall checks passed")


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    _quiet_temporal_client()
    sys.exit(asyncio.run(main_async(options)))
