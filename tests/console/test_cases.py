"""The Cases page (``/console/cases``) and opening a case (``/console/cases/new``), over HTTP
against the real stack: the list, its filters and its one search box (case id, reference, link
id, host), the progress bar, pages of 50, the age gate, and references rendered inert."""

from __future__ import annotations

import os
import re
import uuid

import pytest

from tada.adapters.data_crypto import DataCrypto, DataKey
from tada.app.caseworker import withdraw_case
from tada.app.intake import open_case, start_link_row
from tada.app.purge import purge_case_data
from tests.console.conftest import csrf_of
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


async def a_case(console, reference: str | None = None) -> str:
    return await open_case(
        console.pool, age=30, minimum_age=16, signpost="under {minimum_age}", reference=reference,
        crypto=suite_crypto(),
    )  # fmt: skip


async def a_link(console, case_id: str, url: str, state: str = "REPORTED") -> str:
    """A link's row (no workflow: the list reads rows only)."""
    link_id = await start_link_row(console.pool, case_id=case_id, url=url, platform="Test Platform", category="other")
    await console.pool.execute("UPDATE links SET state = $2 WHERE link_id = $1", link_id, state)
    return link_id


async def search(http, q: str, status: str = "all", page: int | str = 1):
    """The search box, as a browser sends it: in the form's body."""
    form = await http.get("/console/cases")
    answer = await http.post(
        "/console/cases", data={"csrf": csrf_of(form.text), "q": q, "status": status, "page": page}
    )
    assert answer.status_code == 200, answer.text
    return answer


def case_ids(html: str) -> list[str]:
    return re.findall(r'<a href="/console/cases/(TD-[A-Z0-9]+)">', html)


async def test_the_list_shows_each_case_with_its_progress_and_filters_by_status(console):
    http, _ = await console.signed_in("caseworker")
    tag = uuid.uuid4().hex[:10]
    opened = await a_case(console, f"open {tag}")
    for n, state in enumerate(("REMOVED", "REPORTED", "AWAITING_RESPONSE")):
        await a_link(console, opened, f"https://{tag}.example/{n}", state)
    withdrawn = await a_case(console, f"withdrawn {tag}")
    await withdraw_case(console.pool, console.client, withdrawn)
    closed = await a_case(console, f"closed {tag}")
    await console.pool.execute("UPDATE cases SET status = 'closed' WHERE case_id = $1", closed)
    purged = await a_case(console, f"purged {tag}")
    await withdraw_case(console.pool, console.client, purged)
    await purge_case_data(console.pool, purged)

    everything = await search(http, tag)
    assert everything.status_code == 200
    assert set(case_ids(everything.text)) == {opened, withdrawn, closed}  # the purged one's reference is gone
    assert '<progress max="3" value="1"' in everything.text and "1 of 3 removed" in everything.text
    assert f"open {tag}" in everything.text  # the reference, opened
    for status, expected in (("open", opened), ("withdrawn", withdrawn), ("closed", closed)):
        page = await search(http, tag, status=status)
        assert case_ids(page.text) == [expected], status
    gone = await search(http, purged, status="purged")
    assert case_ids(gone.text) == [purged] and "purged" in gone.text
    assert purged not in case_ids((await http.get("/console/cases", params={"status": "withdrawn"})).text)


async def test_one_search_box_finds_a_case_by_id_reference_link_id_or_host(console):
    http, _ = await console.signed_in("caseworker")
    tag = uuid.uuid4().hex[:10]
    wanted = await a_case(console, f"Ref-{tag}-Alpha")
    other = await a_case(console, f"Ref-{tag}-Beta")
    link_id = await a_link(console, wanted, f"https://host-{tag}.example/page")
    await a_link(console, other, f"https://elsewhere-{tag}.example/page")
    for query in (wanted, wanted.lower(), f"{tag}-alpha", link_id, f"host-{tag}.example", f"host-{tag}"):
        found = await search(http, query)
        assert found.status_code == 200
        assert case_ids(found.text) == [wanted], query
    both = await search(http, f"ref-{tag}")
    assert set(case_ids(both.text)) == {wanted, other}
    assert "newest 2000 cases" in both.text  # the page says how far a reference search looks
    none = await search(http, f"nothing-{tag}")
    assert case_ids(none.text) == [] and "No case matches" in none.text


async def test_the_list_is_paginated_by_fifty_newest_first(console):
    http, _ = await console.signed_in("caseworker")
    tag = uuid.uuid4().hex[:10]
    made = [await a_case(console, f"page-{tag}-{n}") for n in range(53)]
    first = await search(http, f"page-{tag}")
    shown = case_ids(first.text)
    assert len(shown) == 50 and shown[0] == made[-1]
    assert "page 1 of 2" in first.text and "53 case(s)" in first.text
    assert 'name="page" value="2"' in first.text and f"page-{tag}" not in "".join(
        re.findall(r'href="[^"]*"', first.text)
    )
    second = await search(http, f"page-{tag}", page=2)
    assert set(case_ids(second.text)) == set(made[:3])
    beyond = await search(http, f"page-{tag}", page="lots")
    assert beyond.status_code == 200 and len(case_ids(beyond.text)) == 50


async def test_a_reference_holding_markup_is_shown_as_text(console):
    http, _ = await console.signed_in("caseworker")
    shown = {SCRIPT: "&lt;script&gt;alert(1)&lt;/script&gt;", IMG: "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"}
    for reference, escaped in shown.items():
        case_id = await a_case(console, reference)
        listed = await search(http, case_id)
        by_reference = await search(http, reference)  # what was typed comes back in the box, escaped
        case_page = await http.get(f"/console/cases/{case_id}")
        for page in (listed, by_reference, case_page):
            assert page.status_code == 200 and escaped in page.text
            assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert case_id in case_ids(by_reference.text)


async def test_opening_a_case_follows_the_age_gate(console):
    http, name = await console.signed_in("ops")
    form = await http.get("/console/cases/new")
    assert form.status_code == 200 and 'name="age"' in form.text
    csrf = csrf_of(form.text)
    before = await console.pool.fetchval("SELECT count(*) FROM cases")
    young = await http.post(
        "/console/cases/new", data={"age": "15", "language": "en", "reference": "should not be kept", "csrf": csrf}
    )
    assert young.status_code == 422
    assert "cannot open a case for a person under 16" in young.text and "Take It Down" in young.text
    assert "should not be kept" not in young.text
    assert await console.pool.fetchval("SELECT count(*) FROM cases") == before
    bad = await http.post("/console/cases/new", data={"age": "30", "jurisdiction": "Hong Kong", "csrf": csrf})
    assert bad.status_code == 422 and "country code" in bad.text
    bad = await http.post("/console/cases/new", data={"age": "30", "monitors": "good -bad!", "csrf": csrf})
    assert bad.status_code == 422 and "monitor name" in bad.text
    assert await console.pool.fetchval("SELECT count(*) FROM cases") == before
    opened = await http.post(
        "/console/cases/new",
        data={
            "age": "30", "language": "zh-Hant", "reference": "intake 7", "jurisdiction": "hk",
            "monitors": "watcher, other", "csrf": csrf,
        },
    )  # fmt: skip
    assert opened.status_code == 303
    case_id = opened.headers["location"].split("/console/cases/", 1)[1].split("?", 1)[0]
    row = await console.pool.fetchrow("SELECT language, jurisdiction, reference FROM cases WHERE case_id = $1", case_id)
    assert row["language"] == "zh-Hant" and row["jurisdiction"] == "HK" and row["reference"] != "intake 7"  # sealed
    monitors = await console.pool.fetch("SELECT monitor FROM case_monitors WHERE case_id = $1", case_id)
    assert sorted(row["monitor"] for row in monitors) == ["other", "watcher"]
    page = await http.get(opened.headers["location"])
    assert "intake 7" in page.text and "Case opened" in page.text
    audit = await console.pool.fetch(
        "SELECT target, reason FROM audit_events WHERE action = 'case.open' AND actor_name = $1 ORDER BY id", name
    )
    assert [row["target"] for row in audit] == [None, case_id]


async def test_a_caseworker_may_not_open_a_case(console):
    http, _ = await console.signed_in("caseworker")
    assert (await http.get("/console/cases/new")).status_code == 403
    listed = await http.get("/console/cases")
    assert listed.status_code == 200 and 'href="/console/cases/new"' not in listed.text
    csrf = csrf_of(listed.text)
    refused = await http.post("/console/cases/new", data={"age": "30", "csrf": csrf})
    assert refused.status_code == 403
    assert (await http.post("/console/cases/new", data={"age": "30"})).status_code == 403  # no token either


async def test_a_case_sealed_under_a_key_no_longer_configured_reads_unreadable_and_the_list_still_shows(console):
    other = DataCrypto([DataKey("gone-key", os.urandom(32))])
    lost = await open_case(console.pool, age=30, minimum_age=16, signpost="", reference="lost reference", crypto=other)
    http, _ = await console.signed_in("caseworker")
    page = await http.get("/console/cases")
    assert page.status_code == 200
    assert lost in page.text and "[unreadable]" in page.text and "lost reference" not in page.text
