"""The scorecard (issue 17, "the record") against tests/reporting/record_dataset.py's known
answers: every figure of every row worked out by hand in the comments, and each format."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import date, timedelta

import pytest

from tada.reporting.model import Report
from tada.reporting.queries import build_report
from tada.reporting.render_csv import render_csv
from tada.reporting.render_html import render_html
from tada.reporting.render_json import render_json
from tada.reporting.render_table import render_table
from tada.reporting.scorecard import ScoreRow
from tests.reporting.dataset import DAY
from tests.reporting.record_dataset import HOUR, NOW, T0

pytestmark = pytest.mark.asyncio(loop_scope="session")

JUNE = {"start": date(2026, 6, 1), "end": date(2026, 6, 30)}

#: (links, removed, median h, p90 h, answered, first answer median h, met, missed, overdue, reposts, bounces)
EXPECTED = {
    # Tube: L1-L6. Removed L1 (10 h), L2 (60), L3 (70), L5 (24): median (24+60)/2 = 42 h, p90 at
    # 0.9*3 = 2.7 -> 60 + 0.7*10 = 67 h. Answered L1 (2 h), L3 (needs info, 5 h), L5 (a caseworker's
    # response, 24 h); L4's auto-reply is none: median 5 h. Clocks met L1, L3 (paused and resumed);
    # missed L2 (removed late), L6. Overdue now: L4 (due h48, still waiting), L6 (missed, unresolved).
    # One repost (L5) over 4 removed links. No bounce.
    "Tube": (6, 4, 42, 67, 3, 5, 2, 2, 2, 1, 0),
    # Chatgram: C1-C3. Removed C1 (90 h), C2 (20): median 55, p90 20 + 0.9*70 = 83. Answered C1 (the
    # rejection at 80 h; its bounce at 1 h is no answer), C2 (acknowledged, 3 h): median 41.5 h. No
    # clock ended (C2 cites the DSA: no fixed deadline; C3 was withdrawn, so not overdue). C1 bounced.
    "Chatgram": (3, 2, 55, 83, 2, 41.5, 0, 0, 0, 0, 1),
    # Seeker in June: E1 only (O1 was added in 2025). Its needs-info reply is an answer (10 h); its
    # clock is paused, so not overdue although h48 has passed.
    "Seeker": (1, 0, None, None, 1, 10, 0, 0, 0, 0, 0),
}
EXPECTED_HOSTS = {
    # every link but C1: removed 10, 60, 70, 24, 20 -> median 24, p90 at 3.6 -> 60 + 0.6*10 = 66;
    # answered L1 2, L3 5, L5 24, C2 3, E1 10 -> median 5
    "unknown": (9, 5, 24, 66, 5, 5, 2, 2, 2, 1, 0),
    # C1, escalated to the host RDAP named
    "Cloud Hosting Ltd": (1, 1, 90, 90, 1, 80, 0, 0, 0, 0, 1),
}


async def june(pool, now=NOW) -> Report:
    return await build_report(pool, **JUNE, now=now)


def figures(row: ScoreRow) -> tuple:
    hours = lambda seconds: None if seconds is None else round(seconds / HOUR, 3)  # noqa: E731
    return (
        row.links, row.removed, hours(row.median_seconds), hours(row.p90_seconds), row.answered,
        hours(row.median_answer_seconds), row.clocks_met, row.clocks_missed, row.overdue_now, row.reposts, row.bounces,
    )  # fmt: skip


async def test_scorecard_per_platform(record_pool):
    card = (await june(record_pool)).scorecard
    assert [row.name for row in card.platforms] == ["Tube", "Chatgram", "Seeker"]  # most links first
    assert {row.name: figures(row) for row in card.platforms} == EXPECTED
    tube, chatgram, seeker = card.platforms
    assert (tube.removal_rate, tube.response_rate, tube.within_deadline, tube.reposts_per_removal) == (
        66.7, 50.0, 50.0, 0.25,
    )  # fmt: skip
    assert (chatgram.response_rate, chatgram.within_deadline, chatgram.reposts_per_removal) == (66.7, None, 0.0)
    assert (seeker.removal_rate, seeker.response_rate, seeker.reposts_per_removal) == (0.0, 100.0, None)
    assert card.as_of == NOW


async def test_scorecard_per_hosting_provider(record_pool):
    card = (await june(record_pool)).scorecard
    assert [row.name for row in card.hosts] == ["unknown", "Cloud Hosting Ltd"]
    assert {row.name: figures(row) for row in card.hosts} == EXPECTED_HOSTS
    unknown = card.hosts[0]
    assert (unknown.response_rate, unknown.within_deadline, unknown.reposts_per_removal) == (55.6, 50.0, 0.2)


async def test_overdue_is_as_of_the_time_the_report_is_made(record_pool):
    # at h40 L4's clock (due h48) has not fallen due; L6's "missed" is already in its timeline
    early = (await june(record_pool, now=T0 + timedelta(hours=40))).scorecard
    assert {row.name: row.overdue_now for row in early.platforms} == {"Tube": 1, "Chatgram": 0, "Seeker": 0}
    # long after, a paused clock (E1) and a withdrawn link's (C3) are still not overdue
    late = (await june(record_pool, now=NOW + timedelta(days=365))).scorecard
    assert {row.name: row.overdue_now for row in late.platforms} == {"Tube": 2, "Chatgram": 0, "Seeker": 0}


async def test_the_service_dataset_scorecard_agrees_with_its_platform_table(report_pool):
    report = await build_report(report_pool, start=date(2021, 4, 1), end=date(2023, 3, 31))
    assert {r.name: (r.links, r.removed) for r in report.scorecard.platforms} == {
        p.name: (p.links, p.removed) for p in report.platforms
    }
    assert {r.name: (r.links, r.removed) for r in report.scorecard.hosts} == {
        h.name: (h.links, h.removed) for h in report.hosts
    }
    tube = next(r for r in report.scorecard.platforms if r.name == "Tube")
    # removed on days 3, 9 and 16; no clock, no reply, no bounce in that history
    assert (tube.median_seconds, tube.within_deadline, tube.bounces, tube.answered) == (9 * DAY, None, 0, 0)


async def test_scorecard_in_every_format_with_its_note(record_pool):
    report = await june(record_pool)
    assert Report.model_validate_json(render_json(report)) == report
    data = json.loads(render_json(report))
    tube = data["scorecard"]["platforms"][0]
    assert (tube["name"], tube["within_deadline"], tube["overdue_now"], tube["reposts_per_removal"]) == (
        "Tube", 50.0, 2, 0.25,
    )  # fmt: skip

    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    figure = {(r["section"], r["item"], r["measure"]): r["value"] for r in rows}
    assert figure[("scorecard_platform", "Tube", "median_seconds_to_removal")] == str(42 * HOUR)
    assert figure[("scorecard_platform", "Tube", "within_deadline_percent")] == "50.0"
    assert figure[("scorecard_platform", "Chatgram", "within_deadline_percent")] == ""  # n/a
    assert figure[("scorecard_platform", "Chatgram", "bounced_contacts")] == "1"
    assert figure[("scorecard_hosting_provider", "Cloud Hosting Ltd", "median_seconds_to_first_answer")] == str(
        80 * HOUR
    )
    assert figure[("scorecard", "", "overdue_as_of")] == NOW.isoformat()
    notes = [r["value"] for r in rows if r["section"] == "scorecard_note"]
    assert any("only from what tada itself recorded" in note for note in notes)

    table = render_table(report, width=220)
    for text in ("Scorecard per platform", "Scorecard per hosting provider", "Cloud Hosting Ltd", "1d 18h",
                 "50.0 % (2 of 4)", "0.25", "2d 7h", "3d 11h", "overdue as of 2026-07-01 00:00 UTC",
                 "only from what tada itself recorded"):  # fmt: skip
        assert text in table, text

    html = render_html(report)
    for text in ("Scorecard: who acted", "Per hosting provider", "50.0 % (2 of 4)", "Cloud Hosting Ltd",
                 "only from what tada itself recorded", "2026-07-01 00:00 UTC"):  # fmt: skip
        assert text in html, text
    src = html.split('id="chart-scorecard">', 1)[1].split('src="', 1)[1].split('"', 1)[0]
    assert base64.b64decode(src.removeprefix("data:image/png;base64,"))[:8] == b"\x89PNG\r\n\x1a\n"


async def test_an_empty_period_has_an_empty_scorecard(record_pool):
    empty = await build_report(record_pool, start=date(2019, 1, 1), end=date(2019, 1, 31), now=NOW)
    assert empty.scorecard.platforms == [] and empty.scorecard.hosts == []
    assert "Scorecard per platform (overdue as of 2026-07-01 00:00 UTC): no links in this period." in render_table(
        empty, width=200
    )
    assert "chart-scorecard" in render_html(empty)
