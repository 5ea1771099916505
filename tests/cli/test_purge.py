"""`tada case purge`: the case key, reference, notes, URLs and workflow histories gone for good;
the anonymous counts stay. Real worker, Temporal dev server, PostgreSQL, SMTP and web server."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

import asyncpg
import pytest

from tada.activities.store import StoreActivities
from tada.adapters.data_crypto import PURGED
from tada.adapters.sealing import is_sealed
from tada.app.link_ids import case_id_key
from tada.app.readmodel import case_status, link_timeline
from tada.domain.models import LinkEvent
from tada.domain.urls import normalise_url
from tada.reporting.queries import build_report
from tests.cli.test_cli import in_state, mail_count, stack  # noqa: F401 - the CLI stack fixture
from tests.support.cli_stack import PLATFORM_EMAIL, eventually
from tests.support.crypto import suite_crypto
from tests.support.link_ids import link_of, links_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_purge_erases_a_withdrawn_case_for_good(stack, web, mailbox):  # noqa: F811
    opened = await stack.tada("case", "open", "--age", "30", "--reference", "RL-PURGE-1", "--json")
    case_id = opened.json["case_id"]
    web.live("/purge/a")
    url = web.url("/purge/a")
    assert (await stack.tada("links", "add", case_id, url, "--json")).json["started"] == 1
    link_id = await link_of(stack.pool, case_id, url)
    await in_state(stack, "AWAITING_RESPONSE", link_id)
    await mail_count(mailbox, "RL-PURGE-1", 1)  # the notice carries the (opened) reference
    note = "victim's sister called; the uploader is her ex"
    assert (await stack.tada("link", "respond", link_id, "--outcome", "acknowledged", "--note", note)).code == 0

    async def note_recorded() -> bool:
        return bool(await stack.pool.fetchval(
            "SELECT count(*) FROM link_events WHERE link_id = $1 AND kind = 'response'", link_id
        ))  # fmt: skip

    for _ in range(200):
        if await note_recorded():
            break
        await asyncio.sleep(0.1)
    raw = await stack.pool.fetchval(
        "SELECT detail->>'note' FROM link_events WHERE link_id = $1 AND kind = 'response'", link_id
    )
    assert is_sealed(raw) and "sister" not in raw

    refused = await stack.tada("case", "purge", case_id, "--yes")
    assert refused.code == 3 and "only a withdrawn or closed case can be purged" in refused.stderr
    unconfirmed = await stack.tada("case", "purge", case_id)
    assert unconfirmed.code == 2 and "--yes" in unconfirmed.stderr

    assert (await stack.tada("case", "withdraw", case_id, "--reason", "she asked us to stop")).code == 0
    await in_state(stack, "WITHDRAWN", link_id)
    purge = await stack.tada("case", "purge", case_id, "--yes", "--json")
    assert purge.code == 0, purge.stderr
    assert purge.json["links"] == 1 and purge.json["already_purged"] is False
    assert purge.json["histories_deleted"] >= 1

    pool = stack.pool
    case = await pool.fetchrow("SELECT reference, status, purged_at FROM cases WHERE case_id = $1", case_id)
    assert case["reference"] is None and case["status"] == "withdrawn" and case["purged_at"] is not None
    assert await pool.fetchval("SELECT count(*) FROM case_keys WHERE case_id = $1", case_id) == 0
    assert await pool.fetchval("SELECT url FROM links WHERE link_id = $1", link_id) == f"purged:{link_id}"
    assert await pool.fetchval("SELECT count(*) FROM links WHERE url LIKE '%/purge/a%'") == 0

    # The sealed note is still in the append-only timeline, but nothing can open it: not even
    # the master key, since the case key it was sealed with no longer exists anywhere.
    crypto = suite_crypto()  # the suite's data key, as the worker and the CLI have it
    timeline = await link_timeline(pool, link_id, crypto)
    response = next(e for e in timeline.events if e.kind == "response")
    assert response.detail == {"outcome": "acknowledged", "note": PURGED}
    withdrawn = next(e for e in timeline.events if e.to_state == "WITHDRAWN")
    assert withdrawn.detail["reason"] == PURGED
    everything = await pool.fetchval(
        "SELECT string_agg(detail::text, ' ') FROM link_events WHERE case_id = $1", case_id
    )
    assert "sister" not in everything and "she asked" not in everything and "/purge/a" not in everything

    # What the reports count is still there.
    status = await case_status(pool, case_id, crypto)
    assert status.case.reference is None and status.total == 1 and status.counts["WITHDRAWN"] == 1
    link = status.links[0]
    assert (link.platform, link.category, link.state) == ("Test Platform", "image_host", "WITHDRAWN")
    kinds = {row["kind"] for row in await pool.fetch("SELECT kind FROM link_events WHERE link_id = $1", link_id)}
    assert {"liveness", "notice", "response", "transition"} <= kinds
    assert await pool.fetchval("SELECT count(*) FROM notices WHERE link_id = $1", link_id) == 1

    # The workflow history (which held the note as a signal) was deleted from Temporal: the server
    # acknowledged it above (histories_deleted) and removes it asynchronously (~30 s on the dev server).

    again = await stack.tada("case", "purge", case_id, "--yes", "--json")
    assert again.code == 0 and again.json["already_purged"] is True
    audit = await pool.fetch(
        "SELECT actor_role, allowed, reason FROM audit_events WHERE action = 'case.purge' AND target = $1", case_id
    )
    assert any(row["reason"].startswith("done: 1 link(s) erased") for row in audit)


async def test_purge_leaves_nothing_that_identifies_the_content(stack, web, mailbox):  # noqa: F811
    """Ids keyed by the case's id key (gone with the purge), the notice batches' histories
    deleted with the links', and every address out of the database: a purged case's rows say
    what the reports count and nothing that leads back to the content or where it was."""
    case_id = await stack.open_case()
    paths = ("/purge/keyed/b", "/purge/keyed/c")
    for path in paths:
        web.live(path)
    urls = [normalise_url(web.url(path)) for path in paths]
    assert (await stack.tada("links", "add", case_id, *urls, "--json")).json["started"] == 2
    link_b, link_c = await links_of(stack.pool, case_id, *urls)
    await in_state(stack, "AWAITING_RESPONSE", link_b, link_c)
    for link_id, url in ((link_b, urls[0]), (link_c, urls[1])):  # a guess of the URL confirms nothing
        assert link_id.removeprefix(f"{case_id}-") != hashlib.sha256(url.encode()).hexdigest()[:16]
    assert (await stack.tada("links", "add", case_id, urls[0], "--json")).json["duplicates"] == 1  # one link

    hoster = "abuse@hoster-of-keyed.example"
    escalated = await stack.tada("link", "escalate", link_b, "--to", hoster, "--kind", "host")
    assert escalated.code == 0, escalated.stderr
    await eventually(lambda: _notice_to(stack.pool, link_b, hoster), "the escalation notice", timeout=60)
    store = StoreActivities(stack.pool, suite_crypto())  # an RDAP contact, as the host lookup records it
    await store.record_event(LinkEvent(
        event_key=f"{link_c}:1:900", link_id=link_c, case_id=case_id, cycle=1, kind="contact_found",
        detail={"kind": "host", "source": "host", "email": "noc@found-by-rdap.example",
                "instructions": "write to noc@found-by-rdap.example", "name": "Keyed Hosting Ltd"},
        occurred_at=datetime.now(UTC),
    ))  # fmt: skip
    batches = [run.id async for run in stack.client.list_workflows(f"WorkflowId STARTS_WITH 'notices-{case_id}-'")]
    assert batches, "the case's notices went through a notice batch"

    assert (await stack.tada("case", "withdraw", case_id)).code == 0
    await in_state(stack, "WITHDRAWN", link_b, link_c)
    purge = await stack.tada("case", "purge", case_id, "--yes", "--json")
    assert purge.code == 0, purge.stderr
    # The server acknowledged deleting the links' runs and the batches' (it deletes asynchronously).
    assert purge.json["histories_deleted"] >= 2 + len(batches)

    pool = stack.pool
    assert await pool.fetchval("SELECT id_key FROM cases WHERE case_id = $1", case_id) is None
    everything = " ".join(
        [
            await pool.fetchval("SELECT string_agg(detail::text, ' ') FROM link_events WHERE case_id = $1", case_id),
            await pool.fetchval("SELECT string_agg(row(n)::text, ' ') FROM notices n WHERE case_id = $1", case_id),
            await pool.fetchval("SELECT string_agg(row(l)::text, ' ') FROM links l WHERE case_id = $1", case_id),
        ]
    )
    for address in (hoster, PLATFORM_EMAIL, "noc@found-by-rdap.example"):
        assert address not in everything
    assert "/purge/keyed" not in everything
    assert (
        await pool.fetchval("SELECT count(*) FROM notices WHERE case_id = $1 AND recipient IS NOT NULL", case_id) == 0
    )
    found = await pool.fetchval(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'contact_found'", link_c
    )  # the provider's name and domain stay, for the report's hosts
    assert found == {
        "kind": "host",
        "source": "host",
        "name": "Keyed Hosting Ltd",
        "email_domain": "found-by-rdap.example",
    }
    escalation = await pool.fetchval(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'notice' AND detail->>'kind' = 'escalation_host'",
        link_b,
    )
    assert escalation["recipient_domain"] == "hoster-of-keyed.example" and "recipient" not in escalation
    report = await build_report(pool, now=datetime.now(UTC))
    assert {"hoster-of-keyed.example", "Keyed Hosting Ltd"} <= {host.name for host in report.hosts}

    # Nothing else may rewrite the timeline: the purge's exception is its own transaction's.
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pool.execute("UPDATE link_events SET detail = '{}' WHERE case_id = $1", case_id)


async def _notice_to(pool, link_id: str, recipient: str) -> bool:
    return bool(
        await pool.fetchval(
            "SELECT 1 FROM notices WHERE link_id = $1 AND recipient = $2 AND status = 'sent'", link_id, recipient
        )
    )


async def test_a_case_from_before_keyed_ids_gets_one_id_key_however_many_ask(stack):  # noqa: F811
    """A case opened before ids were keyed has no id key: the first call to need one makes it,
    and a call that raced it (its statement began before the other's key was committed) gets
    that same key, not a refusal."""
    case_id = await stack.open_case()
    await stack.pool.execute("UPDATE cases SET id_key = NULL WHERE case_id = $1", case_id)
    first = bytes(range(32))
    async with stack.pool.acquire() as conn:
        other = conn.transaction()
        await other.start()
        await conn.execute("UPDATE cases SET id_key = $2 WHERE case_id = $1", case_id, first)  # holds the row
        racing = asyncio.ensure_future(case_id_key(stack.pool, case_id))
        await asyncio.sleep(0.5)  # its statement has begun and waits for the row
        await other.commit()
        assert await racing == first
    assert await case_id_key(stack.pool, case_id) == first
