"""``tada report`` figures against a hand-built history with known answers (tests/reporting/dataset.py),
and every format rendered from the same model."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import sys
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tada.reporting.model import CategoryFigures, PlatformFigures, Report, StepFigures
from tada.reporting.queries import build_report
from tada.reporting.render import ReportFormat, render
from tada.reporting.render_csv import render_csv
from tada.reporting.render_html import render_html
from tada.reporting.render_json import render_json
from tada.reporting.render_table import render_table
from tada.reporting.scorecard import Scorecard, ScoreRow
from tests.reporting.dataset import DAY

pytestmark = pytest.mark.asyncio(loop_scope="session")

TADA = Path(sys.executable).parent / "tada"
PERIOD = {"start": date(2021, 4, 1), "end": date(2023, 3, 31)}


async def period_report(pool) -> Report:
    return await build_report(pool, **PERIOD, now=datetime(2023, 4, 1, tzinfo=UTC))


def by_name(items) -> dict:
    return {item.name: item for item in items}


async def test_totals_and_where_content_was_found(report_pool):
    report = await period_report(report_pool)
    assert (report.cases, report.links, report.removed) == (3, 11, 9)
    assert report.removal_rate == 81.8
    categories = by_name(report.categories)
    assert [c.name for c in report.categories] == [
        "pornographic_site", "social_media", "search_engine", "content_farm", "image_host", "other",
    ]  # fmt: skip
    shares = {name: (c.links, c.share) for name, c in categories.items()}
    assert shares == {
        "pornographic_site": (5, 45.5),
        "social_media": (3, 27.3),
        "search_engine": (2, 18.2),
        "content_farm": (1, 9.1),
        "image_host": (0, 0.0),
        "other": (0, 0.0),
    }


async def test_removal_rates_per_category_platform_and_host(report_pool):
    report = await period_report(report_pool)
    categories = by_name(report.categories)
    assert {n: (c.removed, c.removal_rate) for n, c in categories.items()} == {
        "pornographic_site": (4, 80.0),
        "social_media": (2, 66.7),
        "search_engine": (2, 100.0),
        "content_farm": (1, 100.0),
        "image_host": (0, None),  # a category with no links: n/a, never a division by zero
        "other": (0, None),
    }
    platforms = {p.name: (p.category, p.links, p.removed, p.removal_rate) for p in report.platforms}
    assert platforms == {
        "Tube": ("pornographic_site", 3, 3, 100.0),
        "Dark Tube": ("pornographic_site", 2, 1, 50.0),
        "Chatgram": ("social_media", 2, 2, 100.0),
        "Facespace": ("social_media", 1, 0, 0.0),
        "Seeker": ("search_engine", 2, 2, 100.0),
        "Daily Buzz": ("content_farm", 1, 1, 100.0),
    }
    hosts = {h.name: (h.links, h.removed, h.removal_rate) for h in report.hosts}
    assert hosts == {
        "shadowhost.example": (1, 1, 100.0),  # the host RDAP found (email domain, lower case)
        "Venom Hosting": (1, 0, 0.0),  # the host's name where the answer gave one
        "farmhost.example": (1, 1, 100.0),  # no lookup: the address the escalation went to
        "unknown": (8, 7, 87.5),
    }


async def test_step_at_which_content_came_down(report_pool):
    report = await period_report(report_pool)
    steps = {s.step: (s.removals, s.share) for s in report.steps}
    assert steps == {
        "already gone": (1, 10.0),
        "first notice": (4, 40.0),  # P1, E1 twice (the repost removed again), E2
        "follow-up 1": (0, 0.0),
        "follow-up 2": (1, 10.0),
        "escalation to host": (2, 20.0),
        "escalation to admin": (1, 10.0),
        "platform confirmed": (1, 10.0),
    }
    assert report.removals == 10


async def test_time_to_removal_per_category(report_pool):
    report = await period_report(report_pool)
    categories = by_name(report.categories)
    # porn: removed on days 3, 9, 16 and 0 -> median 6 d, p90 = 9 + 0.7 * (16 - 9) = 13.9 d
    assert categories["pornographic_site"].median_seconds == pytest.approx(6 * DAY)
    assert categories["pornographic_site"].p90_seconds == pytest.approx(13.9 * DAY)
    # social: days 12 and 1 -> median 6.5 d, p90 10.9 d; search: both on day 3 (the first removal counts)
    assert categories["social_media"].median_seconds == pytest.approx(6.5 * DAY)
    assert categories["social_media"].p90_seconds == pytest.approx(10.9 * DAY)
    assert categories["search_engine"].median_seconds == pytest.approx(3 * DAY)
    assert categories["content_farm"].p90_seconds == pytest.approx(14 * DAY)
    assert categories["image_host"].median_seconds is None


async def test_platforms_that_did_not_respond(report_pool):
    report = await period_report(report_pool)
    silent = [(p.platform, p.links, p.silent_links, p.removed) for p in report.silent_platforms]
    # Facespace answered (a rejection), so it is not silent; E2's repost went unresolved unanswered.
    assert silent == [
        ("Chatgram", 2, 1, 1),
        ("Daily Buzz", 1, 1, 1),
        ("Dark Tube", 2, 1, 0),
        ("Seeker", 2, 1, 1),
        ("Tube", 3, 1, 1),
    ]


async def test_reposts_and_their_removal(report_pool):
    report = await period_report(report_pool)
    assert report.reposts.model_dump() == {"links": 2, "cycles": 2, "removed": 1, "removal_rate": 50.0}


async def test_the_period_filters_on_when_links_were_added(report_pool):
    everything = await build_report(report_pool)
    assert (everything.cases, everything.links, everything.removed) == (4, 12, 10)
    assert by_name(everything.categories)["image_host"].removal_rate == 100.0
    later = await build_report(report_pool, start=date(2024, 6, 1), end=date(2024, 6, 1))  # --to is inclusive
    assert (later.cases, later.links, later.removed) == (1, 1, 1)
    assert later.period.label == "2024-06-01 to 2024-06-01"
    with pytest.raises(ValueError):
        await build_report(report_pool, start=date(2023, 1, 2), end=date(2023, 1, 1))


async def test_an_empty_period_renders_in_every_format(report_pool):
    empty = await build_report(report_pool, start=date(2019, 1, 1), end=date(2019, 12, 31))
    assert (empty.cases, empty.links, empty.removed, empty.removal_rate) == (0, 0, 0, None)
    assert all(c.links == 0 and c.share is None and c.removal_rate is None for c in empty.categories)
    assert all(s.removals == 0 and s.share is None for s in empty.steps)
    assert empty.platforms == [] and empty.hosts == [] and empty.silent_platforms == []
    assert empty.reposts.removal_rate is None
    for fmt in ReportFormat:
        assert render(empty, fmt)
    assert "n/a" in render_table(empty)
    assert json.loads(render_json(empty))["removal_rate"] is None
    assert _charts(render_html(empty)) and len(_charts(render_html(empty))) == 4


async def test_every_format_shows_the_same_model(report_pool):
    report = await period_report(report_pool)
    assert Report.model_validate_json(render_json(report)) == report

    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    figure = {(r["section"], r["item"], r["measure"]): r["value"] for r in rows}
    assert figure[("totals", "", "links")] == "11"
    assert figure[("totals", "", "removal_rate_percent")] == "81.8"
    assert figure[("category", "pornographic_site", "removal_rate_percent")] == "80.0"
    assert figure[("category", "image_host", "removal_rate_percent")] == ""  # n/a
    assert figure[("removal_step", "escalation to host", "removals")] == "2"
    assert figure[("hosting_provider", "shadowhost.example", "removal_rate_percent")] == "100.0"
    assert figure[("reposts", "", "removed")] == "1"
    assert figure[("period", "", "basis")].startswith("links added")

    table = render_table(report, width=160)
    for text in ("81.8 %", "45.5 %", "Pornographic sites", "escalation to admin", "shadowhost.example",
                 "Dark Tube", "6d", "13d 22h", "links.added_at", "2021-04-01 to 2023-03-31"):  # fmt: skip
        assert text in table

    html = render_html(report)
    for text in ("81.8 %", "45.5 %", "Venom Hosting", "escalation to admin", "links.added_at", "13d 22h"):
        assert text in html


async def test_html_has_four_charts_print_css_and_escapes_names():
    report = Report(
        generated_at=datetime(2023, 4, 1, tzinfo=UTC),
        period={"start": date(2021, 4, 1), "end": date(2023, 3, 31)},
        links=2, removed=1, cases=1,
        categories=[CategoryFigures(name="pornographic_site", links=2, removed=1, share=100.0)],
        platforms=[PlatformFigures(name="<script>alert(1)</script> & Co", links=2, removed=1)],
        steps=[StepFigures(step="first notice", removals=1, share=100.0)],
        scorecard=Scorecard(hosts=[ScoreRow(name="<script>alert(1)</script> & Co", links=2, removed=1)]),
    )  # fmt: skip
    html = render_html(report)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    charts = _charts(html)
    assert set(charts) == {"chart-location", "chart-removal-rate", "chart-steps", "chart-scorecard"}
    for src in charts.values():
        assert base64.b64decode(src.removeprefix("data:image/png;base64,"))[:8] == b"\x89PNG\r\n\x1a\n"
    assert "@media print" in html and "@page" in html
    assert "<script" not in html.lower().replace("&lt;script", "")  # no JavaScript at all


async def test_cli_report_formats_and_period_errors(report_db, tmp_path):
    import asyncio

    url, pool = report_db
    env = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    env.update(TADA_DATABASE_URL=url, TADA_LOG_FORMAT="json", TADA_STATE_DIR=str(tmp_path), COLUMNS="200")

    async def tada(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            str(TADA), "report", *args, env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, out.decode(), err.decode()

    code, out, err = await tada("--from", "2021-04-01", "--to", "2023-03-31", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    expected = (await period_report(pool)).model_dump(mode="json")
    for key in ("cases", "links", "removed", "removal_rate", "categories", "steps", "hosts", "reposts"):
        assert data[key] == expected[key]

    code, out, err = await tada("--from", "2021-04-01", "--to", "2023-03-31", "--format", "html", "--out", "r.html")
    assert code == 0, err
    assert out == ""
    assert len(_charts((tmp_path / "r.html").read_text(encoding="utf-8"))) == 4

    code, out, err = await tada("--from", "2023-04-01", "--to", "2023-03-31")
    assert code == 2 and "after" in err
    code, out, err = await tada("--from", "April")
    assert code == 2 and "not a date" in err


class _Charts(HTMLParser):
    """Each <figure id=...>'s <img src>."""

    def __init__(self) -> None:
        super().__init__()
        self.figure: str | None = None
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag, attrs) -> None:
        values = dict(attrs)
        if tag == "figure":
            self.figure = values.get("id")
        elif tag in ("img", "svg") and self.figure:
            self.found[self.figure] = values.get("src", "svg")

    def handle_endtag(self, tag) -> None:
        if tag == "figure":
            self.figure = None


def _charts(html: str) -> dict[str, str]:
    parser = _Charts()
    parser.feed(html)
    return parser.found
