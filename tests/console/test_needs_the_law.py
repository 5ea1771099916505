""" "Needs me" and the law, over HTTP against the real stack with a registry whose platforms (the
email one on 127.0.0.1, the manual one on 127.0.0.2) are bound by a law needing the victim's
authorisation: a notice the worker refused as incomplete, and a manual filing citing that law,
each say why and lead to the case's authorisation form instead of a contact or "I filed it"; a
complaint for the regulator (from the record: a missed clock and the regulator's filing) reads as
one, with the regulator's page. Each item is made the oldest, so a busy queue shows it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio

from tada.app.intake import open_case
from tada.workflows.link import LinkWorkflow
from tests.console.conftest import MANUAL_HOST, MANUAL_WHERE, Console, console_running, manual_url
from tests.support.cli_stack import (
    HOURLY,
    eventually,
    registry_toml,
)
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")

LAW = """
[[law]]
id = "needy_law"
name = "Needy Law"
citation = "Needy Law s.4"
response_deadline = "48h"
elements = ["identification", "authorisation"]
regulator = "The Needy Regulator"
regulator_url = "https://regulator.test/complaints"
source = "https://law.test/needy"
"""
REGISTRY = (
    registry_toml(HOURLY, laws=["needy_law"])
    + f'\n[[platform]]\nname = "Manual Platform"\ncategory = "social_media"\ndomains = ["{MANUAL_HOST}"]\n'
    f'channel = "manual"\nmanual_instructions = "{MANUAL_WHERE}"\nescalation = "host"\nlaws = ["needy_law"]\n' + LAW
)
LONG_AGO = "2001-01-01T00:00:00Z"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory) -> AsyncIterator[Console]:
    async with console_running(
        dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory, REGISTRY, "console-law"
    ) as found:
        yield found


async def _waiting(console, link_id: str, needs: str) -> None:
    async def there() -> bool:
        return await console.pool.fetchval("SELECT needs FROM links WHERE link_id = $1", link_id) == needs

    await eventually(there, f"{link_id} waiting for {needs}", 60)
    await console.pool.execute(
        "UPDATE links SET needs_since = $2::text::timestamptz WHERE link_id = $1", link_id, LONG_AGO
    )


def _item(html: str, link_id: str) -> str:
    """The queue's item of ``link_id``."""
    found = [
        item for item in re.findall(r'<li class="need .*?</li>', html, re.S) if f"/console/links/{link_id}" in item
    ]
    assert found, f"{link_id} is not in the queue"
    return found[0]


async def test_a_notice_refused_as_incomplete_says_why_and_leads_to_the_authorisation(console, web, manual_site):
    web.live("/needs-law/email")
    manual_site.live("/needs-law/manual")
    case_id = await console.open_case()
    email, manual = await console.add_links(
        case_id, web.url("/needs-law/email"), manual_url(manual_site, "/needs-law/manual")
    )
    await _waiting(console, email, "delivery")
    http, _ = await console.signed_in("caseworker")
    item = _item((await http.get("/console/")).text, email)
    assert "A notice waits for what the case lacks" in item and "Needy Law" in item and "authorisation" in item
    assert f'href="/console/cases/{case_id}#authorisation"' in item
    assert 'action="/console/queue/escalate"' not in item  # another contact would not help

    # filed by hand: the workflow checks the elements before it asks for the filing, so it waits the same way
    await _waiting(console, manual, "delivery")
    item = _item((await http.get("/console/")).text, manual)
    assert "A notice waits for what the case lacks" in item
    assert "Needy Law" in item and f'href="/console/cases/{case_id}#authorisation"' in item
    assert 'action="/console/queue/filed"' not in item and "notice-text" not in item  # nothing to file yet
    for link_id in (email, manual):
        await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_a_complaint_for_the_regulator_reads_as_one_with_its_page(console, manual_site):
    manual_site.live("/needs-law/regulator")
    case_id = await open_case(
        console.pool, age=30, minimum_age=16, signpost="under {minimum_age}", crypto=suite_crypto(),
        authorised_on=date(2026, 11, 1),
    )  # fmt: skip
    [link_id] = await console.add_links(case_id, manual_url(manual_site, "/needs-law/regulator"))
    await _waiting(console, link_id, "filing")
    cycle = await console.pool.fetchval("SELECT cycle FROM links WHERE link_id = $1", link_id)
    now = datetime.now(UTC)
    due = (now - timedelta(hours=1)).isoformat()
    clock = {"law": "needy_law", "deadline": "48h", "due_at": due}
    for seq, (kind, detail, at) in enumerate([
        ("deadline", {**clock, "step": "started"}, now - timedelta(hours=49)),
        ("deadline", {**clock, "step": "missed"}, now - timedelta(minutes=50)),
        ("waiting", {"for": "manual filing", "kind": "regulator"}, now - timedelta(minutes=40)),
    ]):  # fmt: skip
        await console.pool.execute(
            "INSERT INTO link_events (event_key, link_id, case_id, cycle, kind, detail, occurred_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            f"test-regulator:{link_id}:{seq}", link_id, case_id, cycle, kind, detail, at,
        )  # fmt: skip
    http, _ = await console.signed_in("caseworker")
    item = _item((await http.get("/console/")).text, link_id)
    assert "File a complaint to the regulator" in item and "missed its legal deadline" in item
    assert "The regulator and its page: The Needy Regulator: https://regulator.test/complaints" in item
    assert "The complaint&#39;s text to paste" in item or "The complaint's text to paste" in item
    assert 'action="/console/queue/filed"' in item and "#authorisation" not in item
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")
