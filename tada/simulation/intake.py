"""Opening the rehearsal's cases and starting one real link workflow per simulated link.

Through the one start seam (``tada.app.start_links``), with one difference: the workflow is told
the site's host name (``www.<site>.test``) rather than the loopback address its
pages are served from, so that escalation looks the host up in the simulation's
DNS and RDAP, as it would on the internet.
"""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio.client import Client

from tada.adapters.data_crypto import DataCrypto
from tada.app.intake import open_case, start_link_row
from tada.app.start_links import START_CONCURRENCY, link_input, start_link
from tada.domain.registry import Registry
from tada.settings import Settings
from tada.simulation.world import World


async def open_cases(pool: asyncpg.Pool, settings: Settings, count: int) -> list[str]:
    """Cases without a reference (notices quote the case id): nothing to seal, so the
    rehearsal needs no data key."""
    return [
        await open_case(
            pool, age=30, minimum_age=settings.minimum_age, signpost=settings.underage_signpost, crypto=DataCrypto([])
        )
        for _ in range(count)
    ]


async def start_links(
    pool: asyncpg.Pool, client: Client, registry: Registry, settings: Settings, world: World, case_ids: list[str]
) -> None:
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def start(url: str) -> None:
        link = world.links[url]
        case_id = case_ids[link.plan.case]
        policy = registry.policy_for(url)
        async with gate:
            link.link_id = await start_link_row(
                pool,
                case_id=case_id,
                url=url,
                platform=policy.name,
                category=policy.category.value,
                source="simulation",
            )
            workflow_input = link_input(
                case_id=case_id, link_id=link.link_id, url=url, host=link.site.hostname, policy=policy
            )
            await start_link(client, workflow_input, settings.task_queue)

    await asyncio.gather(*(start(url) for url in world.links))
