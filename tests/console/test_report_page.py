"""The console's report page over HTTP against the real stack: the service report of a period
(tada/reporting's query and model), its CSV and JSON downloads and its charts drawn inline from
the one report built per view, in the reader's language, the period's default and a bad one, and
every page under the console's CSP (no ``data:`` image, no inline style)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tada.app.intake import open_case, start_link_row
from tada.console import report_page
from tada.console.report_charts import CATEGORY_NAMES
from tada.reporting.queries import build_report
from tada.reporting.text import CATEGORY_LABELS
from tests.console.conftest import csrf_of
from tests.support.crypto import suite_crypto

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _links(console, count: int) -> str:
    """A case with ``count`` links recorded today (the report reads the database only)."""
    case_id = await open_case(console.pool, age=30, minimum_age=16, signpost="x", crypto=suite_crypto())
    tag = uuid.uuid4().hex[:8]
    for n in range(count):
        await start_link_row(
            console.pool, case_id=case_id, url=f"https://report-{tag}.test/{n}", platform=f"Platform {tag}",
            category="image_host",
        )  # fmt: skip
    return case_id


async def test_the_report_of_the_last_30_days_by_default(console):
    await _links(console, 2)
    http, name = await console.signed_in("caseworker")
    answer = await http.get("/console/report")
    assert answer.status_code == 200, answer.text
    text = answer.text
    today = datetime.now(UTC).date()
    first = today - timedelta(days=29)
    assert f'name="from" type="date" value="{first.isoformat()}"' in text
    assert f'name="to" type="date" value="{today.isoformat()}"' in text
    expected = await build_report(console.pool, start=first, end=today)
    assert f"<strong>{expected.links}</strong>" in text and f"<strong>{expected.cases}</strong>" in text
    assert "Image hosts" in text and "Removal rate per platform" in text
    query = f"from={first.isoformat()}&amp;to={today.isoformat()}"
    for chart in ("location", "removal-rate", "steps"):
        assert f'<svg class="chart" id="chart-{chart}" role="img"' in text
    assert "Share of reported links (%)" in text and "Links removed (%)" in text
    assert "<img" not in text
    assert f'href="/console/report.csv?{query}"' in text and f'href="/console/report.json?{query}"' in text
    assert "data:" not in text and "style=" not in text and "<style" not in text
    assert "img-src 'self'" in answer.headers["content-security-policy"]
    audit = await console.pool.fetchval(
        "SELECT count(*) FROM audit_events WHERE action = 'read' AND actor_name = $1 AND reason LIKE 'console report%'",
        name,
    )
    assert audit == 1


async def test_a_chosen_period_and_its_downloads(console):
    await _links(console, 3)
    http, _ = await console.signed_in("ops")
    today = datetime.now(UTC).date()
    period = {"from": today.isoformat(), "to": today.isoformat()}
    expected = await build_report(console.pool, start=today, end=today)
    assert expected.links >= 3

    shown = await http.get("/console/report", params=period)
    assert shown.status_code == 200
    assert f"<strong>{expected.links}</strong>" in shown.text

    as_csv = await http.get("/console/report.csv", params=period)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"] and ".csv" in as_csv.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0] == ["section", "item", "measure", "value"]
    assert ["period", "", "from", today.isoformat()] in rows
    assert ["totals", "", "links", str(expected.links)] in rows

    as_json = await http.get("/console/report.json", params=period)
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    data = json.loads(as_json.text)
    assert data["period"]["start"] == today.isoformat() and data["period"]["end"] == today.isoformat()
    assert data["links"] == expected.links and data["cases"] == expected.cases

    for headers in (as_csv.headers, as_json.headers):
        assert headers["cache-control"] == "no-store" and headers["x-frame-options"] == "DENY"


async def test_a_bad_period_is_told_and_the_default_shown(console):
    http, _ = await console.signed_in("caseworker")
    backwards = await http.get("/console/report", params={"from": "2024-03-31", "to": "2024-03-01"})
    assert backwards.status_code == 400 and "starts after it ends" in backwards.text
    not_a_day = await http.get("/console/report", params={"from": "31/03/2024"})
    assert not_a_day.status_code == 400 and "2024-03-31" in not_a_day.text
    assert re.search(r'name="to" type="date" value="\d{4}-\d\d-\d\d"', not_a_day.text)
    assert (await http.get("/console/report.csv", params={"to": "soon"})).status_code == 400
    assert (await http.get("/console/report.json", params={"from": "2024-02-30"})).status_code == 400


async def test_the_report_needs_a_session(console):
    http = console.browser()
    for path in ("/console/report", "/console/report.csv", "/console/report.json"):
        answer = await http.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login"), path


async def test_the_pages_render_in_traditional_chinese(console):
    http, _ = await console.signed_in("caseworker")
    page = await http.get("/console/report")
    chosen = await http.post("/console/language", data={"language": "zh-Hant", "csrf": csrf_of(page.text)})
    assert chosen.status_code == 303
    answer = await http.get("/console/report")
    assert answer.status_code == 200 and '<html lang="zh-Hant">' in answer.text
    charts = answer.text[answer.text.index('<svg class="chart"') : answer.text.rindex("</svg>")]
    assert "圖片寄存網站" in charts and "社交媒體" in charts  # the categories, in the bars' labels
    assert "佔已舉報連結的比例（%）" in charts and "移除次數" in charts  # the axes
    assert "Image hosts" not in answer.text and "Share of reported links" not in answer.text
    assert "下載：" in answer.text


async def test_one_view_of_the_report_builds_it_once(console, monkeypatch):
    """The page and everything it loads from tada (its charts were images, each building the
    report again: four builds a view)."""
    await _links(console, 2)
    http, _ = await console.signed_in("caseworker")
    builds = []

    async def counting(*args, **kwargs):
        builds.append(kwargs)
        return await build_report(*args, **kwargs)

    monkeypatch.setattr(report_page, "build_report", counting)
    answer = await http.get("/console/report")
    assert answer.status_code == 200
    loaded = re.findall(r'src="(/console/[^"]+)"', answer.text)  # what the browser loads with the page
    for path in loaded:
        assert (await http.get(path.replace("&amp;", "&"))).status_code == 200, path
    assert len(builds) == 1


async def test_the_charts_name_the_categories_as_the_report_does():
    assert CATEGORY_NAMES == CATEGORY_LABELS
