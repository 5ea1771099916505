"""``tada simulate``: the real engine against a rehearsal world on 127.0.0.1.

Starts the world (one web server per simulated site, SMTP, DNS and RDAP servers),
a Temporal dev server of its own (in memory), a fresh database on the configured
PostgreSQL server, a real worker, and a real IMAP mailbox (pymap) that the platforms'
emailed replies land in and the worker's inbox reader reads (tada/app/inbox.py, with the
reply router: matched, classified, told to the links); opens the cases, starts one
workflow per link, waits until every link has settled (REMOVED or UNRESOLVED, and every
repost found) and every reply was read, then builds the report. Platforms that take reports
by web form have no email to answer: their decisions are recorded as a caseworker would.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from pydantic import BaseModel, Field
from temporalio.client import Client

from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.adapters.temporal import connect
from tada.app.inbox_task import inbox_reading
from tada.app.reply_routing import ReplyRouter
from tada.domain.models import PlatformResponse
from tada.domain.registry import load_registry
from tada.domain.urls import normalise_url
from tada.kit.imap import LocalMailbox
from tada.kit.ports import free_port
from tada.kit.temporal_server import DevTemporalServer
from tada.reporting.model import Report
from tada.reporting.queries import build_report
from tada.settings import Settings
from tada.simulation.behaviour import DEFAULT_BEHAVIOUR, Behaviour
from tada.simulation.database import DEFAULT_DATABASE, fresh_database
from tada.simulation.dns import SimulatedDns
from tada.simulation.intake import open_cases, start_links
from tada.simulation.plan import plan_world
from tada.simulation.rdap import SimulatedRdap
from tada.simulation.registry import FOLLOW_UPS, write_registry
from tada.simulation.replies import REPLY_TO, ReplyMix
from tada.simulation.safety import SMTP_HOST, check_local_only
from tada.simulation.sites import PROVIDERS
from tada.simulation.smtp import ReceivedMail, SimulatedMailServer
from tada.simulation.web import SiteServers
from tada.simulation.worker import build_simulation_worker
from tada.simulation.world import World
from tada.worker import new_http_client
from tada.workflows.link import LinkWorkflow

SETTLED = ("REMOVED", "UNRESOLVED")
TASK_QUEUE = "tada-simulation"
SENDER = "Take-Down Assistance (rehearsal) <takedown@tada.test>"


class SimulationOptions(BaseModel):
    cases: int = Field(default=171, ge=1)
    links: int = Field(default=1342, ge=1)
    seed: int = 2023
    seconds_per_day: float = Field(default=1.0, gt=0)  # --speed
    timeout_seconds: float = Field(default=1800.0, gt=0)
    database: str = DEFAULT_DATABASE
    behaviour: dict = Field(default_factory=lambda: dict(DEFAULT_BEHAVIOUR))


@dataclass
class Progress:
    links: int
    settled: int = 0
    states: dict[str, int] = field(default_factory=dict)
    replies_sent: int = 0  # the platforms' emailed answers put in the mailbox
    replies_read: int = 0  # ... and finished by the inbox reader


@dataclass
class SimulationResult:
    report: Report
    seconds: float
    settled: bool
    database_url: str
    mail: list[ReceivedMail]
    smtp: tuple[str, int]
    link_ids: list[str]
    replies: dict[str, int] = field(default_factory=dict)  # what the platforms sent, by what
    inbox: InboxFigures | None = None


@dataclass
class InboxFigures:
    """What the rehearsal's inbox reader made of the replies (inbox_messages, link_replies)."""

    received: int = 0
    statuses: dict[str, int] = field(default_factory=dict)  # matched, unmatched (the pen), ...
    kinds: dict[str, int] = field(default_factory=dict)  # per reply: removed, rejected, bounce, ...
    matched_by: dict[str, int] = field(default_factory=dict)  # tag, in-reply-to, ...
    link_replies: int = 0

    def lines(self) -> list[str]:
        matched, pen = self.statuses.get("matched", 0), self.statuses.get("unmatched", 0)
        others = {k: v for k, v in self.statuses.items() if k not in ("matched", "unmatched")}
        lines = [
            f"Replies by email: {self.received} read from the mailbox; {matched} matched to their notice "
            f"automatically, {pen} held in the pen for a caseworker" + (f", {_counts(others)}" if others else "") + ".",
        ]
        if self.kinds:
            lines.append(
                f"Matched replies classified as: {_counts(self.kinds)}; "
                f"{self.link_replies} link replies recorded (matched by {_counts(self.matched_by)})."
            )
        return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


async def inbox_figures(pool: asyncpg.Pool) -> InboxFigures:
    figures = InboxFigures()
    for row in await pool.fetch("SELECT status, count(*) AS n FROM inbox_messages GROUP BY status"):
        figures.statuses[row["status"]] = row["n"]
    figures.received = sum(figures.statuses.values())
    per_reply = await pool.fetch(
        "SELECT DISTINCT ON (reply_id) reply_id, kind, matched_by FROM link_replies ORDER BY reply_id"
    )
    for row in per_reply:
        figures.kinds[row["kind"]] = figures.kinds.get(row["kind"], 0) + 1
        figures.matched_by[row["matched_by"]] = figures.matched_by.get(row["matched_by"], 0) + 1
    figures.link_replies = await pool.fetchval("SELECT count(*) FROM link_replies")
    return figures


def simulation_settings(base: Settings, **servers) -> Settings:
    """The base settings, pointed at the rehearsal world; private targets allowed here only."""
    return base.model_copy(
        update={
            "task_queue": TASK_QUEUE,
            "smtp_host": SMTP_HOST,
            "smtp_username": None,
            "smtp_password": None,
            "smtp_starttls": False,
            "allow_private_targets": True,
            "rdap_allow_http": True,
            "recipient_hourly_limit": 0,
            "notice_from": SENDER,
            "liveness_timeout_seconds": 10.0,
            "reply_to": REPLY_TO,
            "imap_poll_seconds": 0.5,
            **servers,
        }
    )


async def _answer_for_platforms(world: World, client: Client, stop: asyncio.Event) -> None:
    """Record each platform reply in tada, as a caseworker would with `tada link respond`."""
    while not stop.is_set():
        while not world.replies.empty():
            reply = world.replies.get_nowait()
            response = PlatformResponse(outcome=reply.outcome)  # no note: notes are victim data, sealed
            with contextlib.suppress(Exception):  # a closed workflow: nothing to record
                await client.get_workflow_handle(reply.link_id).signal(LinkWorkflow.respond, response)
        await asyncio.sleep(0.2)


async def _post_replies(mail: SimulatedMailServer, mailbox: LocalMailbox, stop: asyncio.Event) -> None:
    """Put the platforms' emailed answers into the mailbox (APPEND), as their mail arrives."""
    while True:
        while not mail.outbox.empty():
            await mailbox.append(mail.outbox.get_nowait())
        if stop.is_set():
            return
        await asyncio.sleep(0.1)


async def _replies_read(
    pool: asyncpg.Pool, mail: SimulatedMailServer, mailbox: LocalMailbox, progress: Progress
) -> bool:
    """Every answer sent is in the mailbox and finished by the reader (none in processing or error)."""
    progress.replies_sent = mailbox.appended
    progress.replies_read = await pool.fetchval(
        "SELECT count(*) FROM inbox_messages WHERE status NOT IN ('queued', 'processing', 'error')"
    )
    return mail.outbox.empty() and progress.replies_read >= mailbox.appended


async def _progress(pool: asyncpg.Pool, world: World) -> Progress:
    rows = await pool.fetch("SELECT url, state, cycle FROM links")
    progress = Progress(links=len(world.links))
    for row in rows:
        progress.states[row["state"]] = progress.states.get(row["state"], 0) + 1
        if row["state"] in SETTLED and not world.repost_pending(row["url"], row["cycle"]):
            progress.settled += 1
    return progress


async def run_simulation(
    options: SimulationOptions,
    base: Settings,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_started: Callable[[str], None] | None = None,
) -> SimulationResult:
    behaviour: dict = {
        k: v if isinstance(v, Behaviour) else Behaviour.model_validate(v) for k, v in options.behaviour.items()
    }
    plan = plan_world(options.cases, options.links, options.seed, behaviour=behaviour, follow_ups=FOLLOW_UPS)
    world = World(plan=plan, repost_delay=0.0)  # set once the registry says when the first re-check is
    began = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        sites = SiteServers(world)
        sites.start()
        stack.callback(sites.stop)
        world.add_links()
        assert all(normalise_url(url) == url for url in world.links)
        mix = ReplyMix(plan.seed)
        mail = SimulatedMailServer(world, mix, behaviour)
        mail.start()
        stack.callback(mail.stop)
        mailbox = LocalMailbox()  # pymap on 127.0.0.1: where the platforms' answers land
        mailbox.start()
        stack.callback(mailbox.stop)
        dns = SimulatedDns({s.hostname: s.public_address for s in plan.sites if s.public_address})
        dns.start()
        stack.callback(dns.stop)
        rdap = SimulatedRdap(PROVIDERS)
        rdap.start()
        stack.callback(rdap.stop)
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tada-simulation-")))
        registry_path = write_registry(directory, plan.sites, options.seconds_per_day)
        registry = load_registry(registry_path)
        # Content comes back half-way from tada's confirming check (the removal) to the first
        # re-check after it: that re-check finds it (tada/simulation/world.py, page).
        world.repost_delay = 0.5 * registry.defaults.recheck_schedule[0].total_seconds()

        settings = simulation_settings(
            base,
            smtp_port=mail.port,
            platforms=registry_path,
            dns_server=dns.address,
            rdap_bootstrap=rdap.bootstrap_url,
            temporal_address=f"{SMTP_HOST}:0",  # replaced once the dev server is up
            **mailbox.settings(),
        )
        check_local_only(settings, registry, list(world.links))  # before anything is sent

        database_url = await fresh_database(base.database_url, options.database)
        settings = settings.model_copy(update={"database_url": database_url})
        temporal = DevTemporalServer(  # in memory, headless: the rehearsal's record is the database
            None,
            free_port(),
            None,
            directory / "temporal.log",
            namespace=settings.temporal_namespace,
            log_level="error",
        )
        await temporal.start()
        stack.push_async_callback(temporal.stop)
        settings = settings.model_copy(update={"temporal_address": temporal.address})
        check_local_only(settings, registry, list(world.links))
        client = await connect(settings)
        if on_started:
            on_started(database_url)

        pool = await create_pool(database_url, max_size=20)
        stack.push_async_callback(pool.close)
        http = await stack.enter_async_context(new_http_client(settings))
        worker = build_simulation_worker(client, pool, http, settings, links=len(world.links))
        await stack.enter_async_context(worker)
        router = ReplyRouter(pool, DataCrypto.from_settings(settings), client, reply_to=settings.reply_to)
        await stack.enter_async_context(inbox_reading(settings, pool, router))

        stop = asyncio.Event()
        replies = asyncio.create_task(_answer_for_platforms(world, client, stop))
        stack.push_async_callback(lambda: _stop_task(replies, stop))
        posting = asyncio.create_task(_post_replies(mail, mailbox, stop))
        stack.push_async_callback(lambda: _stop_task(posting, stop))

        case_ids = await open_cases(pool, settings, plan.cases)
        await start_links(pool, client, registry, settings, world, case_ids)

        deadline = began + options.timeout_seconds
        settled = False
        while time.monotonic() < deadline:
            progress = await _progress(pool, world)
            replies_read = await _replies_read(pool, mail, mailbox, progress)
            if posting.done() and posting.exception() is not None:
                raise RuntimeError("the platforms' replies could not be put in the mailbox") from posting.exception()
            if on_progress:
                on_progress(progress)
            if progress.settled == progress.links and replies_read:
                settled = True
                break
            await asyncio.sleep(1.0)
        seconds = time.monotonic() - began
        report = await build_report(pool, title=f"Rehearsal report: simulated world, seed {plan.seed}")
        report.notes += [
            f"Simulated: {plan.cases} cases, {len(world.links)} links on {len(plan.sites)} simulated platforms; "
            f"one simulated day = {options.seconds_per_day:g} s, so times to removal are in compressed time.",
            f"Run took {seconds:.0f} s; "
            f"{'every link settled' if settled else 'NOT every link settled before the timeout'}.",
        ]
        figures = await inbox_figures(pool)
        report.notes += figures.lines()
        link_ids = [link.link_id for link in world.links.values()]
    return SimulationResult(
        report=report,
        seconds=seconds,
        settled=settled,
        database_url=database_url,
        mail=list(mail.mail),
        smtp=(mail.host, mail.port),
        link_ids=link_ids,
        replies=dict(mix.sent),
        inbox=figures,
    )


async def _stop_task(task: asyncio.Task, stop: asyncio.Event) -> None:
    stop.set()
    with contextlib.suppress(asyncio.CancelledError):
        await task
