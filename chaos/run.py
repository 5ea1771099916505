"""`make chaos`: a real run of tada through faults, then checks that nothing was lost or doubled.

Starts PostgreSQL (embedded, temp dir), a Temporal dev server (temp SQLite file), the
chaos world (web servers, a report form that refuses reports, an SMTP relay that records
every message, chaos/world.py) and two workers, each a process of its own
(chaos/worker_process.py). Starts links in waves across several cases, on platforms that
take content down after the first notice, after a follow-up, after the escalation, or
never; one whose mailbox answers 550 (with no other route), one whose mailbox answers 550
and whose registry entry has a manual route, one whose report form answers 403, and one
whose escalation contact answers 550. The run's caseworker (chaos/desk.py) acts on half of
the links those failures leave waiting (a new contact, a filing by hand) and leaves the
others waiting. Mid-run, one after the other: SIGKILL one of the two workers and start it
again; stop and restart the Temporal dev server (same SQLite file); make the SMTP relay
slow (it holds every DATA command) and withdraw links while their notices are held; stop
the SMTP relay; stop PostgreSQL. Then waits until every link has settled and checks:

- every link reached the state its platform (and the caseworker's action) implies, along
  exactly the expected path of transitions (each one legal per tada/domain/states.py, none
  twice); a withdrawn link ends WITHDRAWN after a prefix of it;
- every step of every link is recorded: the sequence numbers of its events and notices
  have no gap (a lost step leaves one) and no duplicate event key;
- exactly one email per (link, notice step): every notices row is 'sent' (or explained: a
  permanent failure recorded right after it, a send a withdrawal stopped) and its
  Message-ID arrived exactly once, listing exactly the links recorded under it, and each
  link got exactly the notices (initial, follow-up, escalation) its path implies;
- nothing delivered after a withdrawal: no message accepted after a link's transition to
  WITHDRAWN lists its URL, and none at all lists a link withdrawn while its send was held;
- every permanent failure is recorded (code, channel, domain or host; never the address)
  and moved the link on: a wait for a filing or a contact, a notice elsewhere, a transition;
- no link stalls without a recorded reason: every open link waits on a timer ahead, a
  filing by hand, or a contact ("contact bounced"), as its read model and timeline say too;
- no workflow is stuck: the only open workflows are the links that must still be open,
  with no activity pending; nothing failed or was terminated.

Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from chaos.checks import check, wait_settled
from chaos.desk import Desk, SlowRelay
from chaos.plan import ESCALATIONS, FOLLOW_UPS, LinkPlan
from chaos.world import FORM_PATH, PLATFORMS, ChaosSink, Platform, WebServers, World
from tada.adapters.data_crypto import DataCrypto
from tada.adapters.temporal import connect
from tada.app.intake import open_case, start_link_row
from tada.app.start_links import link_input, start_link
from tada.domain.registry import load_registry
from tada.kit.ports import free_port
from tada.kit.stack import LocalStack, settings_from_env, temporary_directory

REPOSITORY = Path(__file__).resolve().parents[1]  # chaos/ is not installed: its worker process imports it from here

TASK_QUEUE = "tada-chaos"
#: A message that arrived at most this long before a SIGKILL, and again afterwards, was in flight when
#: the worker died: the SMTP server had taken it, the worker had not yet marked it sent. Exactly-once is
#: impossible there (SMTP has no idempotent submit); the copy has the same Message-ID.
CRASH_WINDOW = 5.0


# --- options -------------------------------------------------------------------------------


@dataclass
class Options:
    links: int = 200
    cases: int = 8
    spread: float = 100.0  # links are started in waves over this many seconds
    worker_down: float = 3.0  # SIGKILLed worker restarted after this long
    temporal_down: float = 5.0
    slow_for: float = 15.0  # the slow relay lasts at least this long
    slow_hold: float = 3.0  # once the withdrawals are done, each DATA is held this long while slow
    burst: int = 6  # links started in one case during the slow relay; every other one is withdrawn mid-send
    withdraw_others: int = 2  # other links withdrawn during the slow relay while their notice is being sent
    smtp_down: float = 20.0  # the issue says a minute: --smtp-down 60
    postgres_down: float = 30.0
    timeout: float = 420.0  # for everything to settle after the last fault
    step: float = 4.0  # follow_up_after, escalate_after and the repost re-check, in seconds
    workers: int = 2  # worker processes; the first one is SIGKILLed
    platforms: tuple[str, ...] = tuple(PLATFORMS)
    keep: bool = False  # keep the temp dir (logs, data) for a look afterwards
    quiet: bool = False
    strict: bool = False  # count a resend after a SIGKILL mid-send (inherent to SMTP) as a failure too

    def schedule(self) -> dict[str, float]:
        """When (seconds after the first link) each fault starts: one after another, mid-run."""
        kill = 0.12 * self.spread
        temporal = max(kill + self.worker_down + 5, 0.30 * self.spread)
        smtp = max(temporal + self.temporal_down + 8, 0.45 * self.spread)
        postgres = smtp + self.smtp_down + 8
        slow = postgres + self.postgres_down + 8  # last: it starts the links it needs, the others need traffic
        return {
            "worker SIGKILL": kill,
            "Temporal restart": temporal,
            "SMTP outage": smtp,
            "PostgreSQL outage": postgres,
            "slow SMTP relay": slow,
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
    p.add_argument("--slow-for", type=float, default=defaults.slow_for, help="the slow SMTP relay lasts this long, s")
    p.add_argument("--slow-hold", type=float, default=defaults.slow_hold, help="DATA held this long while slow, s")
    p.add_argument("--burst", type=int, default=defaults.burst, help="links in one case sent through the slow relay")
    p.add_argument("--withdraw-others", type=int, default=defaults.withdraw_others)
    p.add_argument("--workers", type=int, default=defaults.workers, help="worker processes (the first is killed)")
    p.add_argument(
        "--platforms",
        type=lambda text: tuple(name.strip() for name in text.split(",") if name.strip()),
        default=defaults.platforms,
        help=f"comma-separated, of: {', '.join(PLATFORMS)}",
    )
    p.add_argument("--timeout", type=float, default=defaults.timeout, help="s to settle after the last fault")
    p.add_argument("--step", type=float, default=defaults.step, help="follow-up/escalation wait, s")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail also on a resend after a SIGKILL between the SMTP server's 250 and marking it sent",
    )
    options = Options(**vars(p.parse_args(argv)))
    unknown = [name for name in options.platforms if name not in PLATFORMS]
    if unknown or not options.platforms:
        p.error(f"--platforms: unknown {', '.join(unknown) or '(none given)'}; known: {', '.join(PLATFORMS)}")
    return options


# --- the stack -----------------------------------------------------------------------------


def registry_toml(web: WebServers, step: float, platforms: list[Platform]) -> str:
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
    for platform in platforms:
        lines += [
            "",
            "[[platform]]",
            f'name = "Chaos {platform.key}"',
            'category = "pornographic_site"',
            f'domains = ["{platform.address}"]',
            f'channel = "{platform.channel}"',
        ]
        if platform.channel == "form":
            lines.append(f'form_url = "{web.base_url(platform)}{FORM_PATH}"')
        else:
            lines.append(f'email = "{platform.email}"')
        if platform.manual_route:
            lines.append(f'manual_instructions = "the Chaos {platform.key} report portal"')
        lines += ['escalation = "admin"', f'escalation_email = "{platform.escalation_email}"']
    return "\n".join(lines) + "\n"


class WorkerProcess:
    """``python -m chaos.worker_process`` with the chaos settings in its environment."""

    def __init__(self, name: str, env: dict[str, str], log_file: Path) -> None:
        self.name = name
        self.env = env
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.killed = False  # SIGKILLed on purpose, not yet started again
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
        self.killed = False

    def kill(self) -> None:
        if self.proc is not None:
            self.killed = True
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def check_alive(self) -> None:
        """A worker that died by itself is a finding: note it and start another."""
        if not self.killed and self.proc is not None and self.proc.poll() is not None:
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
    base_urls: dict[str, str] = field(default_factory=dict)  # by platform key
    faults: list[tuple[str, float, float]] = field(default_factory=list)  # name, start (s), duration (s)
    plans: dict[str, LinkPlan] = field(default_factory=dict)  # by link id
    started_links: int = 0
    t0: float = 0.0
    t_links: float = 0.0
    checks: dict[str, bool] = field(default_factory=dict)
    kills: list[float] = field(default_factory=list)  # monotonic times of the SIGKILLs
    pg_mid_send: bool = False
    crash_window: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    slow: SlowRelay | None = None
    items: int = 0  # pages made so far (/item/NNNN)

    def say(self, text: str) -> None:
        if not self.options.quiet:
            print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", flush=True)

    def next_item(self) -> int:
        return self.items

    def add_page(self, platform: Platform, item: int) -> str:
        """A page on the platform, live until its behaviour says otherwise: its URL."""
        path = f"/item/{item:04d}"
        self.world.add(path, platform.behaviour)
        self.items = max(self.items, item + 1)
        return f"{self.base_urls[platform.key]}{path}"


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
    platforms = [PLATFORMS[name] for name in o.platforms]
    if "notice" not in o.platforms:  # the slow relay's links are on it
        platforms.append(PLATFORMS["notice"])
    web = WebServers(run.world, platforms)
    web.start()
    run.base_urls = {p.key: web.base_url(p) for p in platforms}
    sink = ChaosSink(run.world, free_port())
    stack = LocalStack(d, sink)  # PostgreSQL (schema applied), the Temporal dev server, the sink
    try:
        await stack.start()
    except BaseException:
        web.stop()
        raise
    postgres, temporal = stack.postgres, stack.temporal
    registry_file = d / "platforms.toml"
    registry_file.write_text(registry_toml(web, o.step, platforms), encoding="utf-8")
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
        f"web {', '.join(p.address for p in platforms)} port {web.port}; temp dir {d}"
    )
    workers = [WorkerProcess(f"worker {n + 1}", env, d / f"worker-{n + 1}.log") for n in range(max(1, o.workers))]
    for worker in workers:
        worker.start()
    client = await connect(settings)
    pool = await asyncpg.create_pool(postgres.url, min_size=0, max_size=8)
    registry = load_registry(registry_file)
    crypto = DataCrypto.from_settings(settings)
    desk = Desk(run, pool, client)
    desk_task: asyncio.Task | None = None
    dog: asyncio.Task | None = None
    try:

        async def new_case(reference: str) -> str:
            return await _retry(
                lambda: open_case(pool, age=30, minimum_age=16, signpost="", reference=reference, crypto=crypto)
            )

        case_ids = [await new_case(f"CHAOS-{n:02d}") for n in range(o.cases)]
        plan: list[LinkPlan] = []
        chosen = [PLATFORMS[name] for name in o.platforms]
        for i in range(o.links):
            platform = chosen[i % len(chosen)]
            group = i // len(chosen)
            # of the links a permanent failure leaves waiting, the caseworker acts on every other one
            act = group % 2 == 0 if platform.needs_caseworker else True
            plan.append(LinkPlan(platform, run.add_page(platform, i), case_ids[group % o.cases], act=act))
        run.say(
            f"{o.links} links in {o.cases} cases on {len(chosen)} platforms, started over {o.spread:g}s; "
            f"{len(workers)} workers; faults at " + ", ".join(f"{name} +{at:.0f}s" for name, at in o.schedule().items())
        )

        async def start_one(item: LinkPlan) -> str:
            async def go() -> str:
                policy = registry.policy_for(item.url)
                link_id = await start_link_row(
                    pool, case_id=item.case_id, url=item.url, platform=policy.name, category=policy.category.value
                )
                run.plans[link_id] = item
                link = link_input(case_id=item.case_id, link_id=link_id, url=item.url, policy=policy)
                await start_link(client, link, TASK_QUEUE)  # False: a retry after a timeout had started it
                return link_id

            link_id = await _retry(go)
            run.started_links += 1
            return link_id

        async def starter() -> None:
            waves = max(1, int(o.spread // 2))
            per_wave = -(-o.links // waves)
            for w in range(waves):
                batch = plan[w * per_wave : (w + 1) * per_wave]
                if not batch:
                    break
                due = run.t_links + w * o.spread / waves
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await asyncio.gather(*(start_one(item) for item in batch))

        async def faults() -> None:
            for name, at in o.schedule().items():
                await asyncio.sleep(max(0.0, run.t_links + at - time.monotonic()))
                began = time.monotonic()
                if name == "worker SIGKILL":
                    victim = workers[0]
                    run.kills.append(time.monotonic())
                    victim.kill()
                    others = f", {len(workers) - 1} still running" if len(workers) > 1 else ""
                    run.say(f"FAULT {victim.name} SIGKILLed ({run.started_links} links started{others})")
                    await asyncio.sleep(o.worker_down)
                    victim.start()
                    run.say(f"{victim.name} started again")
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
                elif name == "slow SMTP relay":
                    run.say("FAULT SMTP relay slow: every DATA command held")
                    run.slow = await desk.slow_relay(
                        sink,
                        start_one,
                        new_case,
                        burst=o.burst,
                        others=o.withdraw_others,
                        slow_for=o.slow_for,
                        slow_hold=o.slow_hold,
                    )
                    run.say(
                        f"SMTP relay fast again: {run.slow.held} DATA held, {run.slow.cut} of them cut by the sender"
                    )
                run.faults.append((name, began - run.t_links, time.monotonic() - began))

        async def watchdog() -> None:
            while True:
                await asyncio.sleep(1)
                for worker in workers:
                    worker.check_alive()

        run.t_links = time.monotonic()
        dog = asyncio.create_task(watchdog())
        desk_task = asyncio.create_task(desk.serve())
        await asyncio.gather(starter(), faults())
        run.say(f"all faults done, {run.started_links} links started; waiting for every link to settle")
        settled = await wait_settled(run, pool, client, TASK_QUEUE, o.timeout)
        desk_task.cancel()
        dog.cancel()
        failures = await check(
            run,
            pool,
            client,
            TASK_QUEUE,
            settled,
            strict=o.strict,
            crash_window=CRASH_WINDOW,
            logs=[w.log_file for w in workers],
        )
        run.counts["rcpt refused"] = sink.refused
        print_summary(run, workers, desk, failures)
        return 1 if failures else 0
    finally:
        for task in (desk_task, dog):
            if task is not None:
                task.cancel()
        for worker in workers:
            worker.stop()
        await pool.close()
        await stack.stop()
        web.stop()


def print_summary(run: Run, workers: list[WorkerProcess], desk: Desk, failures: list[str]) -> None:
    o, c = run.options, run.counts
    print()
    print("== tada chaos run ==")
    by_platform = Counter(plan.platform.key for plan in run.plans.values())
    print(
        f"links {c['links']} in {o.cases + (2 if run.slow else 0)} cases: "
        + ", ".join(f"{key} {n}" for key, n in by_platform.items())
    )
    print(
        f"emails received {c['emails']}; link notices in them {c['link notices received']} "
        f"({c['expected notices']} expected of the links not withdrawn, {c.get('withdrawn before', 0)} of "
        f"withdrawn links before their withdrawal); notices rows {c['notices']}; SMTP RCPTs refused (550) "
        f"{run.counts.get('rcpt refused', 0)}; form reports refused (403) {run.world.form_posts}"
    )
    resent = c.get("copies sent again after the relay stopped before its 250", 0)
    if resent:
        print(f"{resent} message(s) taken by the relay as it stopped, before its 250: sent again, rightly")
    print(f"events {c['events']}, of them transitions {c['transitions']}")
    print(
        f"permanent failures {c.get('delivery failures', 0)} (each moved its link on); caseworker: "
        + (", ".join(f"{k} {v}" for k, v in sorted(desk.counts.items())) or "nothing to do")
        + f"; links left waiting for a person {c.get('waiting for a person', 0)}"
    )
    if run.slow is not None:
        s = run.slow
        print(
            f"slow relay: {s.started} links started into it, {len(s.withdrawn)} withdrawn ({s.mid_send} while "
            f"their notice was being sent), all WITHDRAWN {s.withdrawn_in:.1f}s after the first withdrawal; "
            f"{s.held} DATA commands held, {s.cut} cut by the sender; the rest of the batch went out in "
            f"{c.get('resent without', 0)} message(s) without them"
        )
    print(
        f"workflows: {c['completed workflows (links and notice batches)']} completed, "
        f"{c['open workflows']} open ({c['open on a timer']} on a timer, {c['open waiting']} waiting for a person)"
    )
    print(
        "workers: "
        + "; ".join(
            f"{w.name} started {w.starts} time(s)"
            + (f", UNEXPECTED exits {w.unexpected_exits}" if w.unexpected_exits else "")
            for w in workers
        )
        + f" ({len(run.kills)} SIGKILL)"
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
    for w in workers:
        if w.unexpected_exits:
            failures.append(f"{w.name} exited by itself {len(w.unexpected_exits)} time(s): {w.unexpected_exits}")
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
