"""The law in the console (issue 17), over HTTP against the real stack: every link's legal clock
in the reader's words on its case's page (filterable to the overdue) and on its own page; the
victim's authorisation recorded at opening or later; what "Needs me" says of a filing or notice
a law refuses; the case's dossier to download.

The clocks are the record's (the contract's ``links.deadline_*``, as record_event keeps them
from the link's deadline events), written here on links that have left REPORTED."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.console.conftest import csrf_of
from tests.console.test_case_page import a_case, started
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
