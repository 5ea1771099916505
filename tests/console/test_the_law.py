"""The law in the console (issue 17), over HTTP against the real stack: every link's legal clock
in the reader's words on its case's page (filterable to the overdue) and on its own page; the
victim's authorisation recorded at opening or later; what "Needs me" says of a filing or notice
a law refuses; the case's dossier to download.

The clocks are the record's (the contract's ``links.deadline_*``, as record_event keeps them
from the link's deadline events), written here on links that have left REPORTED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tada.workflows.link import LinkWorkflow
from tests.console.conftest import csrf_of
from tests.console.test_case_page import a_case, started
from tests.console.test_link_page import _event, _post, _started_link
from tests.support.cli_stack import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _settled(console, link_ids: list[str]) -> None:
    async def sent() -> bool:
        states = await console.pool.fetch("SELECT state FROM links WHERE link_id = ANY($1)", link_ids)
        return len(states) == len(link_ids) and all(row["state"] != "REPORTED" for row in states)

    await eventually(sent, "every link past its first notice", 60)


async def _clock(console, link_id: str, step: str, due_at: datetime, law: str = "take_it_down_act") -> None:
    await console.pool.execute(
        "UPDATE links SET deadline_law = $2, deadline_step = $3, deadline_due_at = $4 WHERE link_id = $1",
        link_id, law, step, due_at,
    )  # fmt: skip


async def _chinese(http) -> None:
    page = await http.get("/console/")
    await http.post("/console/language", data={"language": "zh-Hant", "csrf": csrf_of(page.text)})


async def test_the_case_page_shows_each_links_clock_and_filters_the_overdue(console, web):
    http, _ = await console.signed_in("caseworker")
    case_id = await a_case(console)
    late, running, none = await started(console, web, case_id, "/law/late", "/law/running", "/law/none")
    await _settled(console, [late, running, none])
    now = datetime.now(UTC)
    await _clock(console, late, "started", now - timedelta(hours=3, minutes=1))
    await _clock(console, running, "resumed", now + timedelta(hours=20, minutes=10))

    page = await http.get(f"/console/cases/{case_id}")
    assert page.status_code == 200 and "Legal deadline" in page.text
    assert '<td class="clock clock-overdue">overdue by 3h0' in page.text
    assert '<td class="clock clock-due">due in 20h0' in page.text
    due = (now + timedelta(hours=20, minutes=10)).replace(second=0).strftime("%Y-%m-%d %H:%M")
    assert f'title="{due} UTC">' in page.text  # the due time, UTC on hover

    overdue = await http.get(f"/console/cases/{case_id}", params={"deadline": "overdue"})
    assert f'value="{late}"' in overdue.text and f'value="{running}"' not in overdue.text
    assert f'value="{none}"' not in overdue.text and 'name="every"' not in overdue.text
    assert "deadline=overdue" in overdue.text  # the sort links keep the filter

    await _chinese(http)
    chinese = await http.get(f"/console/cases/{case_id}")
    assert "overdue by" not in chinese.text and "due in" not in chinese.text
    assert '<td class="clock clock-overdue">逾期 3h0' in chinese.text


async def test_the_link_page_shows_its_clock_and_answering_a_paused_one_runs_it_again(console, web, mailbox):
    _, link_id, _ = await _started_link(console, web, "/law/link-page")
    http, name = await console.signed_in("caseworker")
    page_path = f"/console/links/{link_id}"
    due = datetime.now(UTC) + timedelta(hours=30)
    await _clock(console, link_id, "started", due)
    page = await http.get(page_path)
    assert "TAKE IT DOWN Act: due in 2" in page.text or "take_it_down_act: due in 2" in page.text
    assert f'action="{page_path}/answered"' not in page.text  # nothing to answer while it runs
    assert "last step: started" in page.text

    await _clock(console, link_id, "paused", due, law="a_law_the_registry_lacks")
    page = await http.get(page_path)
    assert "a_law_the_registry_lacks: paused" in page.text  # an id the registry does not define, as it is
    assert f'action="{page_path}/answered"' in page.text
    answered = await _post(http, f"{page_path}/answered", page_path)
    assert answered.status_code == 303 and answered.headers["location"] == f"{page_path}?done=answered"
    await _event(console, link_id, "caseworker", action="answered")
    audit = await console.pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'link.answered' AND target = $1 AND actor_name = $2",
        link_id, name,
    )  # fmt: skip
    assert audit == 1
    assert "legal clock runs again" in (await http.get(answered.headers["location"])).text

    # a reply sent from the page answers a paused clock too, as tada link reply does
    await _clock(console, link_id, "paused", due)
    sent = await _post(http, f"{page_path}/reply", page_path, text="The victim's answer is attached.")
    assert sent.status_code == 303, sent.text

    async def answered_twice() -> bool:
        rows = await console.pool.fetch(
            "SELECT 1 FROM link_events WHERE link_id = $1 AND kind = 'caseworker' AND detail->>'action' = 'answered'",
            link_id,
        )
        return len(rows) == 2

    await eventually(answered_twice, "the reply answering the paused clock", 30)
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")
