""" "Needs me", over HTTP against the real stack: a manual filing waits with its text ready, and
"I filed it" clears it; the holding pen and the counts."""

from __future__ import annotations

import re

import pytest

from tests.console.conftest import MANUAL_WHERE, csrf_of, manual_url
from tests.support.cli_stack import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _needs(console, link_id: str) -> str | None:
    return await console.pool.fetchval("SELECT needs FROM links WHERE link_id = $1", link_id)


async def test_a_manual_filing_waits_with_its_text_and_i_filed_it_clears_it(console, manual_site):
    manual_site.live("/needs/manual")
    url = manual_url(manual_site, "/needs/manual")
    case_id = await console.open_case()
    [link_id] = await console.add_links(case_id, url)
    await eventually(lambda: _is(console, link_id, "filing"), "the link waits for a manual filing", timeout=60)

    http, name = await console.signed_in()
    queue = await http.get("/console/")
    assert queue.status_code == 200
    html = queue.text
    assert "File a report by hand" in html and MANUAL_WHERE in html and link_id in html
    assert url in html  # as text to copy...
    assert not re.search(r'(href|src|action)="[^"]*' + re.escape(url), html)  # ...never as a link
    assert "non-consensual" in html or "intimate" in html  # the notice text to paste
    count = re.search(r'class="count">(\d+)<', html)
    assert count and int(count.group(1)) >= 1

    filed = await http.post("/console/queue/filed", data={"csrf": csrf_of(html), "link": link_id})
    assert filed.status_code == 303 and filed.headers["location"] == "/console/?done=filed"
    await eventually(lambda: _is(console, link_id, None), "filing clears the need", timeout=60)
    event = await console.pool.fetchrow(
        "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'notice' ORDER BY event_id DESC LIMIT 1", link_id
    )
    assert event["detail"]["channel"] == "manual"  # the notice, filed by hand
    audit = await console.pool.fetchrow(
        "SELECT actor_name, actor_role, action, target FROM audit_events WHERE target = $1 ORDER BY id DESC LIMIT 1",
        link_id,
    )
    assert tuple(audit) == (name, "caseworker", "link.filed", link_id)
    after = await http.get("/console/?done=filed")
    assert "Recorded as filed" in after.text and f'/console/links/{link_id}"' not in after.text


async def test_an_action_without_its_csrf_token_sends_nothing(console):
    http, _ = await console.signed_in()
    refused = await http.post("/console/queue/filed", data={"link": "TD-NOSUCHCS-0000000000000000"})
    assert refused.status_code == 403


async def _is(console, link_id: str, needs: str | None) -> bool:
    return await _needs(console, link_id) == needs


async def test_ops_see_what_waits_but_not_the_caseworkers_forms_and_a_refusal_is_audited(console, manual_site):
    manual_site.live("/needs/ops")
    case_id = await console.open_case()
    [link_id] = await console.add_links(case_id, manual_url(manual_site, "/needs/ops"))
    await eventually(lambda: _is(console, link_id, "filing"), "the link waits for a manual filing", timeout=60)
    http, name = await console.signed_in("ops")
    page = await http.get("/console/")
    assert (
        link_id in page.text
        and 'action="/console/queue/filed"' not in page.text
        and "A caseworker files it" in page.text
    )
    refused = await http.post("/console/queue/filed", data={"csrf": csrf_of(page.text), "link": link_id})
    assert refused.status_code == 403
    audit = await console.pool.fetchrow(
        "SELECT allowed, target FROM audit_events WHERE actor_name = $1 AND action = 'link.filed'", name
    )
    assert tuple(audit) == (False, link_id)
