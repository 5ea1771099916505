"""Links' URLs read together: the ids asked for at once share one query."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tada.adapters.database import create_pool
from tada.adapters.link_urls import MOST_AT_ONCE, LinkUrls

pytestmark = pytest.mark.asyncio(loop_scope="session")


class CountingPool:
    """The real pool, counting the queries sent through it."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.queries = 0

    async def fetch(self, *args, **kwargs):
        self.queries += 1
        return await self._pool.fetch(*args, **kwargs)


async def _links(pool: asyncpg.Pool, count: int) -> dict[str, str]:
    case_id = f"case-{uuid.uuid4().hex[:8]}"
    await pool.execute("INSERT INTO cases (case_id) VALUES ($1)", case_id)
    urls = {f"{case_id}-{n}": f"https://example.test/video/{case_id}/{n}" for n in range(count)}
    await pool.executemany(
        "INSERT INTO links (link_id, case_id, url, host, platform, category) VALUES ($1, $2, $3, $4, $5, $6)",
        [(link_id, case_id, url, "example.test", "test", "other") for link_id, url in urls.items()],
    )
    return urls


async def test_reads_asked_at_once_share_one_query(db_pool):
    urls = await _links(db_pool, 30)
    pool = CountingPool(db_pool)
    reader = LinkUrls(pool)
    asked = [*urls, "no-such-link", next(iter(urls))]  # an unknown id, and one id asked twice
    found = await asyncio.gather(*(reader.url_of(link_id) for link_id in asked))
    assert found == [*urls.values(), None, next(iter(urls.values()))]
    assert pool.queries == 1


async def test_reads_apart_are_queries_apart(db_pool):
    urls = await _links(db_pool, 2)
    pool = CountingPool(db_pool)
    reader = LinkUrls(pool)
    for link_id, url in urls.items():
        assert await reader.url_of(link_id) == url
    assert pool.queries == 2


async def test_more_than_one_query_holds_are_split(db_pool):
    urls = await _links(db_pool, MOST_AT_ONCE + 20)
    pool = CountingPool(db_pool)
    reader = LinkUrls(pool)
    found = await asyncio.gather(*(reader.url_of(link_id) for link_id in urls))
    assert found == list(urls.values())
    assert pool.queries == 2


async def test_a_reader_cancelled_leaves_the_others_their_answer(db_pool):
    urls = await _links(db_pool, 3)
    reader = LinkUrls(db_pool)
    first = next(iter(urls))
    reads = [asyncio.ensure_future(reader.url_of(link_id)) for link_id in [first, *urls]]  # the first one twice
    await asyncio.sleep(0)  # all asked; the query starts on the next turn
    reads[0].cancel()
    done = await asyncio.gather(*reads, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError)
    assert done[1:] == list(urls.values())


async def test_a_failed_query_fails_every_read_that_shared_it(postgres_url, db_pool):
    urls = await _links(db_pool, 3)
    closed = await create_pool(postgres_url)
    await closed.close()
    reader = LinkUrls(closed)
    failed = await asyncio.gather(*(reader.url_of(link_id) for link_id in urls), return_exceptions=True)
    assert all(isinstance(error, asyncpg.InterfaceError) for error in failed), failed
    assert await LinkUrls(db_pool).url_of(next(iter(urls))) == next(iter(urls.values()))  # nothing else lost
