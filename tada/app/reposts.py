"""Monitor intake: a URL where a case's content appeared again.

Shared by ``tada repost`` and ``POST /v1/cases/{case}/reposts``. Idempotent by
construction: the link id comes from the case and the normalised URL, so the
same URL reported twice is one link and never a second workflow at once.

- a new URL: recorded with the monitor's name as its source, and its workflow starts;
- a known link whose workflow runs: it is told to ``recheck`` (a removed link seen
  live again starts a new cycle);
- a known link whose workflow has completed (watch ended, closed, or its history
  expired): the workflow starts again under the same id, in the next cycle, so its
  notices say it is a repost and cite the earlier removal.

With a PDQ hash the report is taken only when it is near enough one of the case's
hashes. Every report taken is appended to ``reposts``; the workflow records the rest.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog
from pydantic import BaseModel
from temporalio.client import Client

from tada.app.case_hashes import case_hashes
from tada.app.caseworker import LinkClosed, signal_link
from tada.app.client_source import ClientSource, client_of
from tada.app.intake import CaseRefused, CaseTerms, case_terms, start_link
from tada.app.link_ids import link_id_of
from tada.app.readmodel import LinkNotFound
from tada.app.start_links import link_input
from tada.app.start_links import start_link as start_link_workflow
from tada.domain.models import LinkCarry
from tada.domain.pdq import InvalidPdq, best_match, parse_pdq
from tada.domain.registry import Registry
from tada.domain.reposts import InvalidRepost, RepostRefused, check_source
from tada.domain.states import EventKind, LinkState
from tada.domain.urls import InvalidUrl, host_of, normalise_url
from tada.settings import Settings
from tada.workflows.link import LinkWorkflow

__all__ = ["InvalidRepost", "RepostOutcome", "RepostRefused", "report_repost"]

log = structlog.get_logger(__name__)


class RepostOutcome(BaseModel):
    link_id: str
    new: bool  # a link tada did not know for this case
    distance: int | None = None  # Hamming distance of the report's PDQ hash to the nearest case hash


async def report_repost(
    pool: asyncpg.Pool,
    client: ClientSource,
    registry: Registry,
    *,
    case_id: str,
    url: str,
    source: str,
    of_link: str | None = None,
    pdq: str | None = None,
    settings: Settings,
) -> RepostOutcome:
    """Take one monitor's find for a case. InvalidRepost names a bad field; RepostRefused says
    why a good one is not taken; CaseNotFound / CaseRefused as at intake, before Temporal is
    contacted (``client`` may be the callable that opens it)."""
    source = check_source(source)
    try:
        normalised = normalise_url(url)
    except InvalidUrl as error:
        raise InvalidRepost("url", error.reason) from None
    candidate = _pdq(pdq)
    terms = await case_terms(pool, case_id)
    client = await client_of(client)
    if of_link is not None and not await pool.fetchval(
        "SELECT 1 FROM links WHERE link_id = $1 AND case_id = $2", of_link, case_id
    ):
        raise InvalidRepost("of_link", f"no link {of_link} in case {case_id}")
    distance = await _distance(pool, case_id, candidate, settings.pdq_max_distance) if candidate else None

    link_id = await link_id_of(pool, case_id, normalised)
    known = await pool.fetchrow("SELECT state, cycle FROM links WHERE link_id = $1", link_id)
    if known is None:
        _, new = await start_link(
            pool, client, case_id=case_id, language=terms.language, url=normalised,
            policy=registry.policy_for(normalised, terms.jurisdiction), task_queue=settings.task_queue, source=source,
            victim_made_image=terms.victim_made_image,
        )  # fmt: skip
    else:
        new = False
        if known["state"] == LinkState.WITHDRAWN.value:
            raise CaseRefused(f"link {link_id} was withdrawn: nothing more is sent for it")
        await _recheck_or_restart(
            pool, client, registry, case_id=case_id, link_id=link_id, url=normalised,
            terms=terms, cycle=known["cycle"], task_queue=settings.task_queue,
        )  # fmt: skip
    await pool.execute(
        "INSERT INTO reposts (case_id, link_id, source, of_link, pdq_distance, new) VALUES ($1, $2, $3, $4, $5, $6)",
        case_id,
        link_id,
        source,
        of_link,
        distance,
        new,
    )
    log.info(
        "repost_reported",
        case_id=case_id,
        link_id=link_id,
        host=host_of(normalised),
        new=new,
        distance=distance,
    )
    return RepostOutcome(link_id=link_id, new=new, distance=distance)


def _pdq(pdq: str | None) -> str | None:
    if pdq is None:
        return None
    try:
        return parse_pdq(pdq)
    except InvalidPdq as error:
        raise InvalidRepost("pdq", error.reason) from None


async def _distance(pool: asyncpg.Pool, case_id: str, candidate: str, max_distance: int) -> int:
    """The distance to the case's nearest hash, or RepostRefused when none is near enough."""
    known = await case_hashes(pool, case_id)
    match = best_match(candidate, known)
    if match is None:
        raise RepostRefused("pdq", f"case {case_id} has no hashes to match against (tada case add-hash)")
    distance, _ = match
    if distance > max_distance:
        raise RepostRefused(
            "pdq",
            f"no match: {distance} bits from the nearest of the case's {len(known)} hash(es); "
            f"at most {max_distance} accepted",
        )
    return distance


async def _recheck_or_restart(
    pool: asyncpg.Pool,
    client: Client,
    registry: Registry,
    *,
    case_id: str,
    link_id: str,
    url: str,
    terms: CaseTerms,
    cycle: int,
    task_queue: str,
) -> None:
    try:
        await signal_link(pool, client, link_id, LinkWorkflow.recheck)
        return
    except (LinkClosed, LinkNotFound):
        pass  # completed, or its history is gone: start it again, in the next cycle
    policy = registry.policy_for(url, terms.jurisdiction)
    carry = None  # recorded but never run (its start failed): it starts as it should have
    if await pool.fetchval("SELECT 1 FROM link_events WHERE link_id = $1 LIMIT 1", link_id):
        carry = LinkCarry(
            cycle=cycle + 1,
            state=LinkState.REPORTED,
            previous_removal_at=await _last_removal(pool, link_id),
            next_action="repost reported",
        )
    link = link_input(
        case_id=case_id, link_id=link_id, url=url, language=terms.language, policy=policy, carry=carry,
        victim_made_image=terms.victim_made_image,
    )  # fmt: skip
    # False: another report started it a moment ago: one workflow, as it should be
    await start_link_workflow(client, link, task_queue, again=True)
    log.info("link_restarted", case_id=case_id, link_id=link_id, cycle=carry.cycle if carry else 1)


async def _last_removal(pool: asyncpg.Pool, link_id: str) -> datetime | None:
    return await pool.fetchval(
        "SELECT max(occurred_at) FROM link_events WHERE link_id = $1 AND kind = $2 AND to_state = $3",
        link_id,
        EventKind.TRANSITION.value,
        LinkState.REMOVED.value,
    )
