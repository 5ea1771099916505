"""A test's way to a link's id: link ids are keyed by the case's id key (tada/app/link_ids.py),
so a test asks the database, as tada does, for the id a URL of a case has (or will have)."""

from __future__ import annotations

import asyncpg

from tada.app.link_ids import link_ids_for
from tada.domain.urls import normalise_url


async def links_of(pool: asyncpg.Pool, case_id: str, *urls: str) -> list[str]:
    """The ids of ``urls`` (normalised first) in the case, in order."""
    normalised = [normalise_url(url) for url in urls]
    ids = await link_ids_for(pool, case_id, normalised)
    return [ids[url] for url in normalised]


async def link_of(pool: asyncpg.Pool, case_id: str, url: str) -> str:
    [found] = await links_of(pool, case_id, url)
    return found
