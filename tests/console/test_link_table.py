"""The case page's link rows, built in Python for speed: every value escaped as autoescape would,
the URL text to copy and never a link, times in the organisation's zone with UTC on hover."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tada.app.readmodel import LinkRow
from tada.console.link_table import link_rows

HOSTILE = '"><img src=x onerror=alert(1)><script>alert(1)</script>'


def _link(**changes) -> LinkRow:
    now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    values = dict(
        link_id="TD-AAAAAAAA-0123456789abcdef", case_id="TD-AAAAAAAA", url="https://site.example/v/1?a=1&b=2",
        host="site.example", platform="Site", category="other", source="import", state="FOLLOW_UP", cycle=1,
        next_action="follow-up check", next_action_at=now, notices_sent=2, added_at=now, updated_at=now,
    )  # fmt: skip
    return LinkRow(**{**values, **changes})


def test_every_value_is_escaped_and_the_url_is_never_a_link():
    row = str(link_rows([_link(url=f"https://site.example/{HOSTILE}", platform=HOSTILE, next_action=HOSTILE)],
                        select_label=HOSTILE, copy_label="Copy", zone="UTC"))  # fmt: skip
    assert "<script" not in row and "<img" not in row and "onerror=alert(1)>" not in row
    assert "&lt;script&gt;" in row and "&quot;&gt;&lt;img" in row
    assert not [href for href in re.findall(r'href="([^"]*)"', row) if "site.example" in href]
    assert '<a href="/console/links/TD-AAAAAAAA-0123456789abcdef" class="link-id">' in row
    assert 'name="link" value="TD-AAAAAAAA-0123456789abcdef"' in row


def test_times_are_local_with_utc_on_hover():
    row = str(link_rows([_link()], select_label="Select link", copy_label="複製", zone="Asia/Hong_Kong"))
    assert '<time datetime="2026-12-01T09:30:00+00:00" title="2026-12-01 09:30 UTC">2026-12-01 17:30 HKT</time>' in row
    assert 'data-copy="url-TD-AAAAAAAA-0123456789abcdef">複製</button>' in row
    assert "https://site.example/v/1?a=1&amp;b=2" in row
    assert str(link_rows([_link(next_action_at=None, next_action=None)], select_label="", copy_label="", zone="UTC"))


def test_a_state_is_named_in_the_readers_language_and_kept_as_it_is_when_unnamed():
    named = str(link_rows([_link()], select_label="", copy_label="", zone="UTC", state_names={"FOLLOW_UP": "已跟進"}))
    assert "<td>已跟進</td>" in named and "FOLLOW_UP" not in named
    assert "<td>FOLLOW_UP</td>" in str(link_rows([_link()], select_label="", copy_label="", zone="UTC"))


def test_the_legal_clock_is_in_the_readers_words_with_its_due_time():
    now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    due = datetime(2026, 12, 2, 5, 35, tzinfo=UTC)
    words = {"due in %(span)s": "尚餘 %(span)s", "overdue by %(span)s": "逾期 %(span)s"}.get

    def row(**changes) -> str:
        return str(link_rows([_link(**changes)], select_label="", copy_label="", zone="UTC",
                             gettext=lambda m: words(m) or m, now=now))  # fmt: skip

    running = row(deadline_law="take_it_down_act", deadline_step="started", deadline_due_at=due)
    assert '<td class="clock clock-due">尚餘 20h05m<br><time datetime="2026-12-02T05:35:00+00:00"' in running
    assert "due in" not in running
    late = row(deadline_step="resumed", deadline_due_at=datetime(2026, 12, 1, 6, 30, tzinfo=UTC))
    assert '<td class="clock clock-overdue">逾期 3h00m' in late
    past = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert "逾期 24h00m" in row(deadline_step="missed", deadline_due_at=past)  # missed, the page still up
    assert "clock-missed" in row(deadline_step="missed", deadline_due_at=due, state="REMOVED")
    assert "clock-met" in row(deadline_step="met", deadline_due_at=due, state="REMOVED")
    assert "clock-paused" in row(deadline_step="paused", deadline_due_at=due)
    assert "clock-stopped" in row(deadline_step="started", deadline_due_at=now, state="WITHDRAWN")
    assert row().endswith("<td>—</td></tr>\n")  # no clock
