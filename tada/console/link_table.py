"""The rows of a case's link table, built in Python: a case can hold thousands of links, and the
same row written as a Jinja2 template costs three times as much (a call per field, a ``<time>``
formatted per row; bench/console.py measures the page). Every value is escaped here
(``html.escape``, quotes included) as autoescape would; the URL is text in a ``<code>`` with a
copy button, never a link. The table's head and everything else stay in templates/case.html.j2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

from markupsafe import Markup

from tada.app.readmodel import LinkRow
from tada.console.clock import clock_text
from tada.console.templating import time_tag


def link_rows(
    links: list[LinkRow],
    *,
    select_label: str,
    copy_label: str,
    zone: str,
    state_names: dict[str, str] | None = None,
    gettext: Callable[[str], str] = str,
    now: datetime | None = None,
) -> Markup:
    """One ``<tr>`` per link: a checkbox (``name="link"``), its id linking to its page, the URL to
    copy, state (named in the reader's language by ``state_names``), platform, category, host,
    next step and when, notices sent, and the legal clock in the words of ``gettext`` with its due
    time (tada/console/clock.py)."""
    names = state_names or {}
    local = ZoneInfo(zone)
    at = now or datetime.now(UTC)

    def clock(link: LinkRow) -> str:
        found = clock_text(link.deadline_step, link.deadline_due_at, link.state, at, gettext)
        if found is None:
            return "<td>—</td>"
        kind, words = found
        return f'<td class="clock clock-{kind}">{escape(words)}{when(link.deadline_due_at)}</td>'

    def when(value: datetime | None) -> str:
        return "<br>" + time_tag(value, local) if value else ""

    select, copy = escape(select_label), escape(copy_label)
    rows = []
    for link in links:
        link_id = escape(link.link_id)
        rows.append(
            f'<tr><td><input type="checkbox" name="link" value="{link_id}" aria-label="{select} {link_id}"></td>'
            f'<td><a href="/console/links/{link_id}" class="link-id">{link_id}</a></td>'
            f'<td class="address"><code class="url" id="url-{link_id}">{escape(link.url)}</code> '
            f'<button type="button" class="copy" data-copy="url-{link_id}">{copy}</button></td>'
            f"<td>{escape(names.get(link.state, link.state))}</td><td>{escape(link.platform)}</td>"
            f"<td>{escape(link.category)}</td>"
            f"<td>{escape(link.host)}</td><td>{escape(link.next_action or '—')}{when(link.next_action_at)}</td>"
            f"<td>{link.notices_sent:d}</td>{clock(link)}</tr>\n"
        )
    return Markup("".join(rows))
