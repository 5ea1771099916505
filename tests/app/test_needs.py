"""What waits for a person: the links read model's ``needs``, kept by every recorded event
(schema.sql ``tada_needs``, activities/store.py), and the queue read from it and the pen."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tada.activities.store import StoreActivities
from tada.app.intake import open_case, start_link_row
from tada.app.needs import WAITING_LINKS, NeedKind, needs_count, needs_me
from tada.domain.models import LinkEvent
from tada.domain.urls import normalise_url
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Link:
    def __init__(self, db_pool, link_id: str, case_id: str) -> None:
        self.pool, self.link_id, self.case_id, self.seq = db_pool, link_id, case_id, 0
        self.store = StoreActivities(db_pool, suite_crypto())

    async def event(self, event_kind: str, to_state: str | None = None, **detail: str) -> tuple[str | None, str | None]:
        self.seq += 1
        await self.store.record_event(LinkEvent(
            event_key=f"{self.link_id}:1:{self.seq}", link_id=self.link_id, case_id=self.case_id, cycle=1,
            kind=event_kind, to_state=to_state, detail=detail, occurred_at=T0 + timedelta(minutes=self.seq),
        ))  # fmt: skip
        row = await self.pool.fetchrow("SELECT needs, needs_for FROM links WHERE link_id = $1", self.link_id)
        return row["needs"], row["needs_for"]


async def _link(db_pool) -> Link:
    case_id = await open_case(db_pool, age=30, minimum_age=16, signpost="", crypto=suite_crypto())
    url = normalise_url(f"https://needs.example/{uuid.uuid4().hex}")
    link_id = await start_link_row(db_pool, case_id=case_id, url=url, platform="p", category="other")
    return Link(db_pool, link_id, case_id)


async def test_a_manual_filing_waits_through_a_pause_and_is_cleared_by_filing(db_pool):
    link = await _link(db_pool)
    assert await link.event("waiting", **{"for": "manual filing", "kind": "initial"}) == ("filing", "manual filing")
    assert await link.event("caseworker", action="pause") == ("filing", "manual filing")
    assert await link.event("caseworker", action="resume") == ("filing", "manual filing")
    assert await link.event("liveness", verdict="live") == ("filing", "manual filing")
    assert await link.event("caseworker", action="filed") == (None, None)


async def test_each_kind_of_wait_and_what_clears_it(db_pool):
    link = await _link(db_pool)
    assert await link.event("waiting", **{"for": "host contact"}) == ("contact", "host contact")
    assert await link.event("caseworker", action="escalate", kind="host") == (None, None)
    assert (await link.event("delivery_failed", kind="escalation_host", code="550"))[0] == "delivery"
    assert await link.event("notice", kind="escalation_host") == (None, None)
    assert await link.event("reply", kind="needs_info", review="caseworker") == ("reply", "needs_info")
    assert await link.event("reply", kind="acknowledged") == (None, None)  # a correction: no review
    claim = await link.event("waiting", **{"for": "caseworker: platform says removed, page still live"})
    assert claim[0] == "removal_claim"
    assert await link.event("caseworker", action="recheck") == (None, None)
    assert (await link.event("transition", to_state="UNRESOLVED"))[0] == "decision"
    assert await link.event("caseworker", action="pause", ignored="not applicable in UNRESOLVED") == ("decision", None)
    assert await link.event("transition", to_state="REPORTED") == (None, None)


async def test_the_queue_is_oldest_first_with_its_counts(db_pool):
    before = await needs_me(db_pool)
    older, newer = await _link(db_pool), await _link(db_pool)
    await older.event("waiting", **{"for": "manual filing", "kind": "initial"})
    newer.seq = 5  # its event comes later
    await newer.event("transition", to_state="UNRESOLVED")
    queue = await needs_me(db_pool)
    mine = [item for item in queue.items if item.link_id in (older.link_id, newer.link_id)]
    assert [(item.kind, item.link_id) for item in mine] == [
        (NeedKind.FILING, older.link_id), (NeedKind.DECISION, newer.link_id),
    ]  # fmt: skip
    assert mine[0].url and mine[0].url.startswith("https://needs.example/") and mine[1].url is None
    assert queue.counts["filing"] == before.counts["filing"] + 1
    assert queue.counts["decision"] == before.counts["decision"] + 1
    assert queue.total == before.total + 2 == await needs_count(db_pool)


async def test_the_queue_reads_its_index(db_pool):
    async with db_pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")  # the suite's table is small: a scan would be cheaper
        plan = "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN {WAITING_LINKS}", 200))
    assert "links_needs_idx" in plan  # bench/console.py shows the plan on 51,000 links
