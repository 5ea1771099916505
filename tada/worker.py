"""The tada worker: runs link workflows and their activities.

Run it with ``tada-worker`` (or ``make run``, which also starts the local stack).
It needs only the TADA_* settings to reach Temporal, PostgreSQL and SMTP.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import structlog
from temporalio.client import Client
from temporalio.worker import Interceptor, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tada.activities.delivery_delays import DelayedDeliveries
from tada.activities.host_lookup import HostLookupActivities, HostLookupConfig
from tada.activities.liveness import LivenessActivities
from tada.activities.notice_handover import NoticeHandOverActivities
from tada.activities.notices import NoticeActivities, NotifierIdentity
from tada.activities.store import StoreActivities
from tada.adapters.converter import warn_if_unencrypted
from tada.adapters.data_crypto import DataCrypto, DataKeyMissing
from tada.adapters.database import apply_schema, create_pool
from tada.adapters.log_setup import configure_logging
from tada.adapters.temporal import connect, ensure_search_attributes
from tada.app.inbox_task import inbox_reading
from tada.app.reply_routing import ReplyRouter
from tada.clients.dns_authority import AuthorityCheck
from tada.clients.dns_evidence import NxdomainEvidence
from tada.clients.dns_lookup import egress_resolver
from tada.clients.egress import EgressPolicy
from tada.clients.host_limiter import HostLimiter
from tada.clients.host_slots import PostgresHostSlots
from tada.clients.mailer import mailer_for
from tada.clients.rate_limit import RecipientRateLimit
from tada.clients.safe_transport import safe_client
from tada.domain.registry import load_registry
from tada.settings import Settings, get_settings
from tada.workflows.link import LinkWorkflow
from tada.workflows.notice_batch import NoticeBatchWorkflow

log = structlog.get_logger(__name__)


def build_activities(client: Client, pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings) -> list:
    mailer = mailer_for(settings)
    identity = NotifierIdentity(
        notice_from=settings.notice_from,
        notifier_name=settings.notifier_name,
        notifier_title=settings.notifier_title,
        allow_private_targets=settings.allow_private_targets,
    )
    liveness = liveness_activities(pool, http, settings)
    crypto = DataCrypto.from_settings(settings)  # victim data at rest (tada/adapters/data_crypto.py)
    notices = NoticeActivities(
        pool,
        mailer,
        http,
        identity,
        RecipientRateLimit(pool, per_hour=settings.recipient_hourly_limit),
        crypto,
        delays=DelayedDeliveries(pool, settings.delivery_warn_after),
        reply_to=settings.reply_to,  # each notice email's Reply-To, tagged (activities/notices.py)
        registry=load_registry(settings.platforms),  # the words and elements of the laws notices cite
    )
    hand_over = NoticeHandOverActivities(client, pool, settings.task_queue)
    host_lookup = HostLookupActivities(host_lookup_config(settings), http)
    store = StoreActivities(pool, crypto)
    return [
        liveness.check,
        hand_over.hand_over,
        notices.send_batch,
        notices.check_notice,
        host_lookup.find_abuse_contacts,
        store.record_event,
    ]


def liveness_activities(pool: asyncpg.Pool, http: httpx.AsyncClient, settings: Settings) -> LivenessActivities:
    """The liveness check as every worker runs it (and the liveness benchmark measures it)."""
    egress = egress_policy(settings)
    return LivenessActivities(
        pool,
        http,
        egress=egress,
        limiter=HostLimiter(settings.liveness_per_host, shared=PostgresHostSlots(pool)),  # across all workers
        max_bytes=settings.liveness_max_bytes,
        nxdomain=NxdomainEvidence(
            egress.resolver,
            dns_canaries(settings),
            authority=AuthorityCheck(resolver=settings.dns_server, allow_private=settings.allow_private_targets),
        ),
    )


def egress_policy(settings: Settings) -> EgressPolicy:
    """Where liveness checks, forms and RDAP may go, and the resolver that finds them:
    TADA_DNS_SERVER when set, else the operating system's."""
    if settings.dns_server:
        return EgressPolicy(allow_private=settings.allow_private_targets, resolver=egress_resolver(settings.dns_server))
    return EgressPolicy(allow_private=settings.allow_private_targets)


def dns_canaries(settings: Settings) -> list[str]:
    """Names that must resolve before "no such name" counts as gone: TADA_DNS_CANARIES, else
    the platform registry's own domains (tada/clients/dns_evidence.py)."""
    chosen = [name.strip() for name in settings.dns_canaries.split(",") if name.strip()]
    if chosen:
        return chosen
    return load_registry(settings.platforms).domain_names()


def host_lookup_config(settings: Settings) -> HostLookupConfig:
    """Host escalation's settings, named one by one: a renamed setting fails here, loudly."""
    return HostLookupConfig(
        rdap_bootstrap=settings.rdap_bootstrap,
        rdap_allow_http=settings.rdap_allow_http,
        rdap_timeout_seconds=settings.rdap_timeout_seconds,
        dns_server=settings.dns_server,
    )


def new_http_client(settings: Settings) -> httpx.AsyncClient:
    """Liveness, forms and RDAP all go out through the safe-egress transport (tada/clients/safe_transport.py)."""
    return safe_client(
        egress_policy(settings),
        timeout=settings.liveness_timeout_seconds,
        total_timeout=settings.egress_total_timeout_seconds,
        max_response_bytes=settings.egress_max_response_bytes,
    )


def workflow_runner() -> SandboxedWorkflowRunner:
    """The workflows run in Temporal's sandbox, with tada's own modules passed through: imported
    once by the worker rather than again for every workflow it loads (by default the sandbox
    re-imports every module that is not the standard library's or temporalio's). Measured
    (issue 18): 0.2 MB less a cached workflow (the scale benchmark's worker 293 → 186 MB with
    500 cached) and 3.5 ms less CPU each time a workflow is loaded (a new link, or one woken
    after it left the cache). They may: the workflow modules keep no state of their own
    between runs (their module-level values are read-only: tests/test_workflow_runner.py),
    and everything they import from tada is passed through already. What the sandbox then no
    longer checks at run time (a call such as ``datetime.now()`` in workflow code) the tests
    do: their workers (tests/support/cli_stack.py) and the replay of every recorded history
    (tests/lifecycle/test_replay.py) run the workflows in the full sandbox. The rehearsal
    (``tada simulate``) and the benchmarks run this one."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("tada.workflows", "tada.domain")
    )


def build_worker(
    client: Client,
    pool: asyncpg.Pool,
    http: httpx.AsyncClient,
    settings: Settings,
    *,
    interceptors: Sequence[Interceptor] = (),
    **options: Any,
) -> Worker:
    """The worker. A harness (the benchmarks, the rehearsal) may add Temporal ``interceptors``
    around the activities and workflows, and override ``Worker`` keyword ``options`` (its
    capacity); production passes neither."""
    arguments: dict[str, Any] = {
        "task_queue": settings.task_queue,
        "workflows": [LinkWorkflow, NoticeBatchWorkflow],
        "activities": build_activities(client, pool, http, settings),
        "max_cached_workflows": settings.max_cached_workflows,
        "graceful_shutdown_timeout": timedelta(seconds=10),
        # A send heartbeats; its cancellation (a withdrawal, a pause) arrives with a heartbeat's
        # answer, so they go to the server at least every second, not every 24 s.
        "max_heartbeat_throttle_interval": timedelta(seconds=1),
        "interceptors": list(interceptors),
        "workflow_runner": workflow_runner(),
    }
    return Worker(client, **{**arguments, **options})


async def run_worker(settings: Settings, *, stop: asyncio.Event, interceptors: Sequence[Interceptor] = ()) -> None:
    """Run until ``stop`` is set, then shut down cleanly (``interceptors``: see build_worker)."""
    registry = load_registry(settings.platforms)  # a broken registry stops us here, named
    if not DataCrypto.from_settings(settings).configured:  # notes could not be stored: stop here
        raise DataKeyMissing()
    log.info("registry_loaded", platforms=len(registry.platforms))
    await apply_schema(settings.database_url)
    client = await connect(settings)
    warn_if_unencrypted(settings)
    added = await ensure_search_attributes(client, settings.temporal_namespace)
    if added:
        log.info("search_attributes_registered", names=added)
    async with AsyncExitStack() as stack:
        pool = await create_pool(settings.database_url)
        stack.push_async_callback(pool.close)
        http = await stack.enter_async_context(new_http_client(settings))
        worker = build_worker(client, pool, http, settings, interceptors=interceptors)
        # Issue 15: the mailbox replies arrive in, read beside the worker when TADA_IMAP_HOST is
        # set (tada/app/inbox_task.py); each reply matched, classified and told to its links
        # (tada/app/reply_routing.py); stopped after the worker, before the pool closes.
        crypto = DataCrypto.from_settings(settings)
        replies = ReplyRouter(pool, crypto, client, reply_to=settings.reply_to, registry=registry)
        await stack.enter_async_context(inbox_reading(settings, pool, replies))
        log.info("worker_started", task_queue=settings.task_queue, namespace=settings.temporal_namespace)
        async with worker:
            await stop.wait()
        log.info("worker_stopped")


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop=stop)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
