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


async def test_a_case_opened_with_its_authorisation_and_a_future_date_refused_keeping_the_form(console):
    http, _ = await console.signed_in("ops")
    form = await http.get("/console/cases/new")
    assert 'name="authorised_on" type="date"' in form.text and 'name="victim_made_image"' in form.text
    assert "Only on the victim's word" in form.text
    csrf = csrf_of(form.text)
    before = await console.pool.fetchval("SELECT count(*) FROM cases")
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    data = {"age": "30", "reference": "intake 9", "authorised_on": tomorrow, "victim_made_image": "yes", "csrf": csrf}
    future = await http.post("/console/cases/new", data=data)
    assert future.status_code == 422 and "is after today" in future.text
    assert f'value="{tomorrow}"' in future.text and 'value="intake 9"' in future.text and "checked" in future.text
    assert await console.pool.fetchval("SELECT count(*) FROM cases") == before
    nonsense = await http.post("/console/cases/new", data={**data, "authorised_on": "last week"})
    assert nonsense.status_code == 422 and "as a date, e.g. 2026-03-31" in nonsense.text

    opened = await http.post("/console/cases/new", data={**data, "authorised_on": "2026-11-30"})
    assert opened.status_code == 303, opened.text
    case_id = opened.headers["location"].split("/console/cases/", 1)[1].split("?", 1)[0]
    row = await console.pool.fetchrow("SELECT authorised_on, victim_made_image FROM cases WHERE case_id = $1", case_id)
    assert row["authorised_on"].isoformat() == "2026-11-30" and row["victim_made_image"] is True
    page = await http.get(opened.headers["location"])
    assert "2026-11-30" in page.text and "yes (on the victim's word)" in page.text


async def test_the_authorisation_recorded_from_the_case_page(console, web):
    http, name = await console.signed_in("caseworker")
    case_id = await a_case(console)
    [link_id] = await started(console, web, case_id, "/law/authorised")
    page = await http.get(f"/console/cases/{case_id}")
    assert "none recorded" in page.text and f'action="/console/cases/{case_id}/authorise"' in page.text
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    data = {"csrf": csrf_of(page.text), "authorised_on": tomorrow, "victim_made_image": "yes"}
    future = await http.post(f"/console/cases/{case_id}/authorise", data=data)
    assert future.status_code == 422 and "is after today" in future.text and 'id="authorisation-problem"' in future.text
    assert (
        f'value="{tomorrow}"' in future.text
        and 'id="authorise-made" name="victim_made_image" value="yes" checked' in (future.text)
    )  # nothing typed is lost
    assert await console.pool.fetchval("SELECT authorised_on FROM cases WHERE case_id = $1", case_id) is None

    done = await http.post(f"/console/cases/{case_id}/authorise", data={**data, "authorised_on": "2026-12-01"})
    assert done.status_code == 303 and "done=authorised" in done.headers["location"]
    row = await console.pool.fetchrow("SELECT authorised_on, victim_made_image FROM cases WHERE case_id = $1", case_id)
    assert row["authorised_on"].isoformat() == "2026-12-01" and row["victim_made_image"] is True
    after = await http.get(f"/console/cases/{case_id}")
    assert "2026-12-01" in after.text and "none recorded" not in after.text
    audit = await console.pool.fetchrow(
        "SELECT actor_name, reason FROM audit_events WHERE action = 'case.authorise' AND target = $1", case_id
    )
    assert audit["actor_name"] == name and audit["reason"] == "console: 1 link(s) told"
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")


async def test_the_dossier_downloads_as_a_file_audited_and_none_for_a_purged_case(console, web):
    http, name = await console.signed_in("caseworker")
    case_id = await a_case(console, "for the dossier")
    [link_id] = await started(console, web, case_id, "/law/dossier")
    await _settled(console, [link_id])
    page = await http.get(f"/console/cases/{case_id}")
    assert f'href="/console/cases/{case_id}/dossier.pdf"' in page.text
    html = await http.get(f"/console/cases/{case_id}/dossier.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"] == f'attachment; filename="dossier-{case_id}.html"'
    assert html.headers["cache-control"] == "no-store"
    assert web.url("/law/dossier") in html.text and link_id in html.text
    pdf = await http.get(f"/console/cases/{case_id}/dossier.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-disposition"] == f'attachment; filename="dossier-{case_id}.pdf"'
    audit = await console.pool.fetch(
        "SELECT reason FROM audit_events WHERE action = 'case.dossier' AND target = $1 AND actor_name = $2 ORDER BY id",
        case_id, name,
    )  # fmt: skip
    assert [row["reason"] for row in audit] == ["console: html, 1 link(s)", "console: pdf, 1 link(s)"]
    assert (await http.get(f"/console/cases/{case_id}/dossier.docx")).status_code == 404
    await console.client.get_workflow_handle(link_id).signal(LinkWorkflow.withdraw, "test over")

    purged = await a_case(console)
    await console.pool.execute("UPDATE cases SET status = 'withdrawn', purged_at = now() WHERE case_id = $1", purged)
    gone = await http.get(f"/console/cases/{purged}/dossier.pdf")
    assert gone.status_code == 410 and "has no dossier" in gone.text
    assert 'dossier.pdf"' not in (await http.get(f"/console/cases/{purged}")).text
