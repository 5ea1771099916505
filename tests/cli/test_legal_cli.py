"""The law from the command line, end to end (a real `tada` subprocess, the dev server, a real
worker, PostgreSQL, SMTP and the web server): a case opened without the victim's authorisation
has its notice under a law that needs one refused, naming the element; `tada case authorise`
records it and the notice goes out, citing the law; the deadline shows in `tada status` and
`tada link show`; bad dates and empty commands are usage errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest_asyncio

from tests.support import cli_stack
from tests.support.cli_stack import (
    HOURLY,
    NOTICE_FROM,
    Stack,
    cli_env,
    registry_toml,
    stack_settings,
    worker_running,
    write_registry,
)
from tests.support.link_ids import link_of

LAW = """
[[law]]
id = "quick_law"
name = "Quick Law"
citation = "Quick Law s.9"
response_deadline = "48h"
elements = ["identification", "authorisation", "signature"]
regulator = "The Quick Regulator"
regulator_url = "https://regulator.test/complaints"
source = "https://law.test/quick"
"""
REGISTRY = registry_toml(HOURLY, laws=["quick_law"]) + LAW


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(dev_env, db_pool, postgres_url, smtp_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("legal")
    registry = write_registry(home, REGISTRY)
    settings = stack_settings(dev_env, postgres_url, smtp_server[1], registry, "legal", notice_from=NOTICE_FROM)
    env = cli_env(settings, TADA_NOTICE_FROM=settings.notice_from, TADA_STATE_DIR=str(home / ".tada"), COLUMNS="240")
    async with worker_running(dev_env.client, db_pool, settings):
        yield Stack(env=env, cwd=home, client=dev_env.client, pool=db_pool)


async def test_a_notice_waits_for_the_authorisation_then_cites_the_law_and_shows_its_deadline(stack, web, mailbox):
    case_id = await stack.open_case("--reference", "LAW-1")
    web.live("/law/one")
    url = web.url("/law/one")
    added = await stack.tada("links", "add", case_id, url)
    assert added.code == 0, added.stderr
    link_id = await link_of(stack.pool, case_id, url)

    async def refused() -> dict | None:
        return await stack.pool.fetchval(
            "SELECT detail FROM link_events WHERE link_id = $1 AND kind = 'delivery_failed'", link_id
        )

    failure = await cli_stack.eventually(refused, "the notice refused", 30)
    assert failure["code"] == "incomplete" and "authorisation" in failure["reason"]
    assert "Quick Law" in failure["reason"] and url not in failure["reason"]
    status = (await stack.tada("status", case_id, "--json")).json
    [link] = status["links"]
    assert link["next_action"].startswith("notice not sent: a notice under Quick Law needs")
    assert (
        link["deadline"] is None and [m for m in mailbox.messages if url in m.get_body(("plain",)).get_content()] == []
    )

    told = await stack.tada("case", "authorise", case_id, "--authorised-on", "2026-06-01")
    assert told.code == 0, told.stderr
    assert f"case {case_id}: authorised on 2026-06-01" in told.stdout and "1 link(s) told" in told.stdout

    async def sent() -> list | None:
        found = [m for m in mailbox.messages if url in m.get_body(("plain",)).get_content()]
        return found or None

    [notice] = await cli_stack.eventually(sent, "the notice sent", 30)
    text = " ".join(notice.get_body(("plain",)).get_content().split())
    assert "This notice is a request under Quick Law s.9." in text
    assert "authorisation given to us on 1 June 2026" in text
    assert "Please act within 48 hours of this request, as Quick Law s.9 requires." in text

    async def clock() -> dict | None:
        rows = (await stack.tada("status", case_id, "--json")).json["links"]
        return rows[0] if rows[0]["deadline_step"] == "started" else None

    shown = await cli_stack.eventually(clock, "the clock started", 30)
    assert shown["deadline"].startswith("due in 47h") and shown["deadline_law"] == "quick_law"
    due = datetime.fromisoformat(shown["deadline_due_at"])
    assert abs(due - (datetime.now(UTC) + timedelta(hours=48))) < timedelta(minutes=2)
    table = await stack.tada("status", case_id)
    assert "Deadline" in table.stdout and "due in 47h" in table.stdout
    show = await stack.tada("link", "show", link_id)
    assert "Legal deadline" in show.stdout and "due in 47h" in show.stdout and "quick_law" in show.stdout
    await stack.withdraw(link_id)


async def test_case_open_records_the_authorisation_and_bad_input_is_named(stack):
    opened = await stack.tada(
        "case", "open", "--age", "30", "--authorised-on", "2026-05-30", "--victim-made-image", "--json"
    )
    assert opened.code == 0, opened.stderr
    assert (opened.json["authorised_on"], opened.json["victim_made_image"]) == ("2026-05-30", True)
    row = await stack.pool.fetchrow(
        "SELECT authorised_on, victim_made_image FROM cases WHERE case_id = $1", opened.json["case_id"]
    )
    assert (row["authorised_on"].isoformat(), row["victim_made_image"]) == ("2026-05-30", True)

    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    later = await stack.tada("case", "open", "--age", "30", "--authorised-on", future)
    assert later.code == 2 and f"the authorisation date {future} is after today" in later.stderr
    typo = await stack.tada("case", "open", "--age", "30", "--authorised-on", "1st June")
    assert typo.code == 2 and "'1st June' is not a date like 2026-03-31" in typo.stderr
    nothing = await stack.tada("case", "authorise", opened.json["case_id"])
    assert nothing.code == 2 and "give --authorised-on DATE" in nothing.stderr
    unknown = await stack.tada("case", "authorise", "TD-NOSUCH00", "--authorised-on", "2026-05-30")
    assert unknown.code == 4
