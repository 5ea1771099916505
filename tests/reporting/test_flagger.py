"""``tada report --kind trusted-flagger``: the DSA Art. 22(3) report against
tests/reporting/record_dataset.py's known answers, and no personal data in any format."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tada.reporting.flagger import COPYRIGHT, INTIMATE_IMAGERY, FlaggerReport, ProviderAndType
from tada.reporting.flagger_actions import TimelineEvent, notice_actions
from tada.reporting.flagger_queries import build_flagger_report
from tada.reporting.flagger_render import (
    render_flagger_csv,
    render_flagger_html,
    render_flagger_json,
    render_flagger_table,
)
from tests.reporting.record_dataset import CASES, NOW, SECRETS

pytestmark = pytest.mark.asyncio(loop_scope="session")

NCII = INTIMATE_IMAGERY
TADA = Path(sys.executable).parent / "tada"

#: (provider, type) -> (removed, rejected, no action recorded, still pending), worked out by hand:
EXPECTED_2026 = {
    # L1, L3 one notice each, removed; L2 its first notice and its follow-up, both before the
    # removal; L5 its first notice and its repost notice, each removed; L4 still waiting; L6's
    # first notice and follow-up went unanswered before the escalation to the admin.
    ("Tube", NCII): (6, 0, 2, 1),
    # L6's escalation: the domain of the admin's address (lower case); unresolved. Its complaint
    # to the regulator is no notice to a provider.
    ("tube-admins.example", NCII): (0, 0, 1, 0),
    # C1's first notice and form follow-up, rejected before the host was asked; C3 withdrawn
    ("Chatgram", NCII): (0, 2, 1, 0),
    ("Chatgram", COPYRIGHT): (1, 0, 0, 0),  # C2, by the copyright route
    ("Cloud Hosting Ltd", NCII): (1, 0, 0, 0),  # C1's host escalation, by its RDAP name
    # E1 (paused, waiting on the victim), O1's follow-up of 1 January (its first notice was in 2025)
    ("Seeker", NCII): (0, 0, 0, 2),
}


def counts(row) -> tuple[int, int, int, int]:
    return (row.removed, row.rejected, row.no_action_recorded, row.still_pending)


async def year(pool, number: int) -> FlaggerReport:
    return await build_flagger_report(pool, year=number, now=NOW)


async def test_notices_by_provider_type_and_action(record_pool):
    report = await year(record_pool, 2026)
    assert {(r.provider, r.content_type): counts(r) for r in report.rows} == EXPECTED_2026
    assert [(r.provider, r.content_type) for r in report.rows][:2] == [("Tube", NCII), ("Chatgram", NCII)]
    assert report.totals.notices == 17
    assert counts(report.totals) == (8, 2, 4, 3)
    assert {p.provider: p.notices for p in report.by_provider} == {
        "Tube": 9, "Chatgram": 4, "Seeker": 2, "Cloud Hosting Ltd": 1, "tube-admins.example": 1,
    }  # fmt: skip
    assert [(c.content_type, c.notices, counts(c)) for c in report.by_content_type] == [
        (NCII, 16, (7, 2, 4, 3)),
        (COPYRIGHT, 1, (1, 0, 0, 0)),
    ]
    assert report.title == "Trusted flagger report 2026 (DSA Art. 22(3))"


async def test_the_year_is_the_utc_calendar_year(record_pool):
    earlier = await year(record_pool, 2025)  # O1's first notice, 2025-12-31 23:00 UTC
    assert [(r.provider, r.content_type, counts(r)) for r in earlier.rows] == [("Seeker", NCII, (0, 0, 0, 1))]
    empty = await year(record_pool, 2024)
    assert empty.rows == [] and empty.totals.notices == 0
    assert "No notices in 2024." in render_flagger_table(empty) and "No notices in 2024." in render_flagger_html(empty)
    with pytest.raises(ValueError, match="year 99999"):
        await year(record_pool, 99999)


async def test_no_personal_data_in_any_format(record_pool):
    report = await year(record_pool, 2026)
    outputs = {
        "table": render_flagger_table(report, width=200),
        "json": render_flagger_json(report),
        "csv": render_flagger_csv(report),
        "html": render_flagger_html(report),
    }
    for fmt, text in outputs.items():
        text = text.split("</style>")[-1]  # the page's print CSS has its own @media and @page
        for secret in (*SECRETS, *CASES, *CASES.values(), "lnk-", "desk@", "abuse@", "mods@", "/secret-", "@"):
            assert secret not in text, (fmt, secret)
        for shown in ("Tube", "Cloud Hosting Ltd", "tube-admins.example", "copyright", "still pending"):
            assert shown in text or shown.replace(" ", "_") in text, (fmt, shown)
    assert FlaggerReport.model_validate_json(outputs["json"]) == report
    assert json.loads(outputs["json"])["totals"]["notices"] == 17
    rows = list(csv.DictReader(io.StringIO(outputs["csv"])))
    cell = {(r["section"], r["provider"], r["content_type"], r["measure"]): r["value"] for r in rows}
    assert cell[("provider_and_type", "Chatgram", NCII, "rejected")] == "2"
    assert cell[("provider", "Tube", "", "notices")] == "9"
    assert cell[("content_type", "", COPYRIGHT, "removed")] == "1"
    assert cell[("totals", "", "", "still_pending")] == "3"
    assert any("independent" in r["value"] for r in rows if r["section"] == "note")
    assert "Art. 22(3)" in outputs["html"] and "@media print" in outputs["html"]


async def test_the_action_rule_on_its_own():
    notice = lambda provider, **more: TimelineEvent(cycle=1, kind="notice", provider=provider, in_year=True, **more)  # noqa: E731
    move = lambda state, cycle=1: TimelineEvent(cycle=cycle, kind="transition", to_state=state)  # noqa: E731
    rejection = TimelineEvent(cycle=1, kind="rejection")
    # rejected, then removed by the same provider: removed wins
    assert list(notice_actions([notice("A"), rejection, move("REMOVED")])) == [("A", NCII, "removed")]
    # a rejection, then the host removes it: the platform rejected, the host removed
    timeline = [notice("A"), rejection, move("ESCALATED"), notice("H"), move("REMOVED")]
    assert [a for _, _, a in notice_actions(timeline)] == ["rejected", "removed"]
    # unresolved, then reopened by a caseworker: pending again
    assert [a for *_, a in notice_actions([notice("A"), move("UNRESOLVED"), move("REPORTED")])] == ["still_pending"]
    # a removal in the next cycle is not this notice's
    assert [a for *_, a in notice_actions([notice("A"), move("REMOVED", cycle=2)])] == ["still_pending"]
    # notices outside the year are not counted, but they still close a window
    old = TimelineEvent(cycle=1, kind="notice", provider="A", in_year=False)
    assert list(notice_actions([old, notice("H", copyright=True)])) == [("H", COPYRIGHT, "still_pending")]


async def test_names_are_text_in_html_csv_and_the_terminal():
    hostile = '=HYPERLINK("x")<script>alert(1)</script>\x1b[31m'
    report = FlaggerReport(year=2026, generated_at=datetime(2027, 1, 2, tzinfo=UTC))
    row = ProviderAndType(provider=hostile, content_type=NCII, removed=1)
    report.rows = [row]
    html = render_flagger_html(report)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\x1b" not in render_flagger_table(report)
    assert "'=HYPERLINK" in render_flagger_csv(report)


async def test_cli_trusted_flagger_report(record_db, tmp_path):
    url, pool = record_db
    env = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    env.update(TADA_DATABASE_URL=url, TADA_LOG_FORMAT="json", TADA_STATE_DIR=str(tmp_path), COLUMNS="200")

    async def tada(*args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            str(TADA), "report", *args, env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode, out.decode(), err.decode()

    code, out, err = await tada("--kind", "trusted-flagger", "--year", "2026", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    expected = (await year(pool, 2026)).model_dump(mode="json")
    for key in ("year", "totals", "rows", "by_provider", "by_content_type", "notes"):
        assert data[key] == expected[key]

    code, out, err = await tada("--kind", "trusted-flagger", "--year", "2026")
    assert code == 0, err
    assert "Trusted flagger report 2026" in out and "Cloud Hosting Ltd" in out
    assert not any(secret in out for secret in (*SECRETS, *CASES, "lnk-"))

    code, out, err = await tada("--kind", "trusted-flagger", "--year", "2026", "--format", "csv", "--out", "f.csv")
    assert code == 0 and out == "", err
    assert "provider_and_type,Chatgram,copyright,removed,1" in (tmp_path / "f.csv").read_text(encoding="utf-8")

    code, out, err = await tada("--kind", "trusted-flagger")
    assert code == 2 and "needs --year" in err
    code, out, err = await tada("--kind", "trusted-flagger", "--year", "2026", "--from", "2026-01-01")
    assert code == 2 and "--from and --to are for the service report" in err
    code, out, err = await tada("--year", "2026")
    assert code == 2 and "--year goes with --kind trusted-flagger" in err
    code, out, err = await tada("--kind", "annual")
    assert code == 2

    code, out, err = await tada("--from", "2026-06-01", "--to", "2026-06-30", "--format", "json")
    assert code == 0, err
    assert [row["name"] for row in json.loads(out)["scorecard"]["platforms"]] == ["Tube", "Chatgram", "Seeker"]
