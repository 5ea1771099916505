"""A link's URL, read from PostgreSQL by the requests that need it, several in one query.

The URL never travels in a Temporal payload (it would stay in histories after a purge):
each liveness check reads it from ``links`` by the link's id. A worker busy with checks
starts one every few milliseconds, one at a time (each as its activity task arrives), so
the ids asked for within ``GATHER`` (50 ms) of the first are read with one query
(``link_id = ANY``) rather than one each. A check waits that long at most for its URL,
nothing beside the seconds a page may take. Measured (issue 18, the liveness benchmark,
A/B in one run): reads gathered within one turn of the event loop were always alone (one
id a query) and gained nothing; gathered for 20 ms, a check under the per-host limit cost
7.8 ms of CPU (worker, Temporal, PostgreSQL) against 8.0 for one with no limit and a query
each (the limit itself costs 0.2-0.4 ms); gathered for 50 ms, 7.8 and 7.9 ms against 8.5
and 8.2 for 20 ms (two runs: the checks gathered also run and end together, and their ends
wake the worker fewer times). A failed query fails every read that shared it, as it would
have failed each alone.
"""

from __future__ import annotations

import asyncio

import asyncpg

QUERY = "SELECT link_id, url FROM links WHERE link_id = ANY($1::text[])"
#: How long the first read waits for others to share its query (seconds).
GATHER = 0.05
#: Ids in one query at most: that many asked, the query goes at once.
MOST_AT_ONCE = 500


class LinkUrls:
    """``await urls.url_of(link_id)``: the link's URL, or None if there is no such link."""

    def __init__(self, pool: asyncpg.Pool, *, gather: float = GATHER) -> None:
        self._pool = pool
        self._gather = gather
        self._asked: dict[str, asyncio.Future[str | None]] = {}  # by link id, for the next query
        self._due: asyncio.TimerHandle | None = None  # when the next query goes
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the reads wait on

    async def url_of(self, link_id: str) -> str | None:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # what a loop that has ended left behind can never be answered
            self._loop, self._asked, self._due = loop, {}, None
        asked = self._asked.get(link_id)
        if asked is None:
            asked = self._asked[link_id] = loop.create_future()
            asked.add_done_callback(_seen)  # a failure nobody waits for any more is not reported as lost
        if len(self._asked) >= MOST_AT_ONCE:
            self._start_reading()
        elif self._due is None:
            self._due = loop.call_later(self._gather, self._start_reading)
        return await asyncio.shield(asked)  # one reader cancelled leaves the others' answer alone

    def _start_reading(self) -> None:
        if self._due is not None:
            self._due.cancel()
            self._due = None
        futures, self._asked = self._asked, {}
        task = asyncio.ensure_future(self._read(futures))
        _running.add(task)
        task.add_done_callback(_running.discard)

    async def _read(self, futures: dict[str, asyncio.Future[str | None]]) -> None:
        try:
            rows = await self._pool.fetch(QUERY, list(futures))
        except Exception as error:  # noqa: BLE001 (not swallowed: handed to every read that shared it)
            for future in futures.values():
                if not future.done():
                    future.set_exception(error)
            return
        except asyncio.CancelledError:  # the worker is stopping
            for future in futures.values():
                future.cancel()
            raise
        found = {row["link_id"]: row["url"] for row in rows}
        for link_id, future in futures.items():
            if not future.done():
                future.set_result(found.get(link_id))


def _seen(future: asyncio.Future[str | None]) -> None:
    if not future.cancelled():
        future.exception()


#: The queries under way (the event loop holds only weak references to tasks).
_running: set[asyncio.Task[None]] = set()
