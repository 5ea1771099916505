"""The running world: what each simulated page shows now, and how sites react to notices.

Shared by the web servers (threads), the SMTP server (its own thread) and the
simulation's main loop, so every change happens under one lock. Replies that a
platform sends (removed, rejected) are queued for the main loop, which records
them in tada as a caseworker would.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

from tada.domain.states import ResponseOutcome
from tada.simulation.plan import Fate, Plan, PlannedLink
from tada.simulation.sites import GONE_404, GONE_410, GONE_HOME, GONE_SOFT, REMOVED_MARKER, Site

NOTICE_KINDS = ("initial", "follow_up", "repost")
ESCALATION_KINDS = ("escalation_host", "escalation_admin")


@dataclass
class LiveLink:
    plan: PlannedLink
    site: Site
    url: str
    link_id: str = ""
    live: bool = True
    cycle: int = 1  # the world's view: 2 once the content came back
    notices: int = 0  # platform notices received this cycle
    seen_gone: bool = False  # a liveness check was told it is gone
    repost_at: float | None = None  # monotonic time at which it comes back

    @property
    def removes_at_notice(self) -> int | None:
        """The platform notice (1 = first, 2 = follow-up 1, ...) that brings it down, if any."""
        if self.cycle > 1:
            return 1 if self.plan.repost_removed else None
        if self.plan.fate == Fate.NOTICE:
            return 1
        if self.plan.fate == Fate.FOLLOW_UP:
            return 1 + self.plan.follow_up
        return None


@dataclass
class Reply:
    link_id: str
    outcome: ResponseOutcome


@dataclass
class World:
    plan: Plan
    repost_delay: float  # seconds after a liveness check saw it gone
    links: dict[str, LiveLink] = field(default_factory=dict)  # by URL
    replies: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    notices_received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_links(self) -> None:
        """After the sites' ports are known: every planned link gets its URL."""
        for planned in self.plan.links:
            site = self.plan.sites[planned.site]
            url = f"{site.base_url}{planned.path}"
            self.links[url] = LiveLink(planned, site, url, live=planned.fate != Fate.ALREADY_GONE)

    # --- pages ---------------------------------------------------------------------------------

    def page(self, site: Site, path: str, *, confirming: bool = True) -> tuple[int, dict[str, str], str]:
        """Status, headers and HTML of ``path`` on ``site`` now. Content that comes back does so
        ``repost_delay`` after tada's confirming check (``confirming``) saw it gone, so it comes
        back after tada took it for removed, never between its two checks (which would make
        tada rightly take the first "gone" back, and the world wait for a repost tada never saw)."""
        if path == "/":
            return 200, {}, _html(site.name, f"<h1>{site.name}</h1><p>Front page.</p>")
        with self._lock:
            link = self.links.get(f"{site.base_url}{path}")
            if link is None:
                return 404, {}, _html("Not found", "<p>Not found.</p>")
            now = time.monotonic()
            if not link.live and link.repost_at is not None and now >= link.repost_at:
                link.live, link.cycle, link.notices, link.repost_at = True, link.cycle + 1, 0, None
            if link.live:
                return 200, {}, _html(site.name, "<p>A simulated page. It holds no image.</p>")
            if link.plan.reposted and link.cycle == 1 and link.repost_at is None and confirming:
                link.repost_at = now + self.repost_delay
            link.seen_gone = True
            style = link.plan.gone_style
        if style == GONE_HOME:
            return 302, {"Location": f"{site.base_url}/"}, ""
        if style == GONE_SOFT:
            return 200, {}, _html(site.name, f"<p>{REMOVED_MARKER}.</p>")
        if style == GONE_410:
            return 410, {}, _html("Gone", "<p>Gone.</p>")
        assert style == GONE_404
        return 404, {}, _html("Not found", "<p>Not found.</p>")

    # --- notices -------------------------------------------------------------------------------

    def notice(self, kind: str, urls: list[str], decisions: list | None = None) -> int:
        """A notice of ``kind`` listing ``urls`` arrived (email or form); returns how many it took down.

        ``decisions`` given (an email, answered by email): one entry per listed link of the
        world, its outcome the platform tells (or None); else (a form) the outcomes are queued
        for the main loop, which records them as a caseworker would."""
        removed = 0
        told: list[Reply] = []
        with self._lock:
            self.notices_received += 1
            for url in urls:
                link = self.links.get(url)
                if link is None:
                    continue
                if decisions is not None:
                    decisions.append(None)
                if not link.live:
                    continue
                if kind in ESCALATION_KINDS:
                    if link.plan.fate == Fate.ESCALATION and link.cycle == 1:
                        link.live = False
                        removed += 1
                    continue
                link.notices += 1
                if link.removes_at_notice is not None and link.notices >= link.removes_at_notice:
                    link.live = False
                    removed += 1
                    if link.plan.confirms and link.cycle == 1:
                        told.append(Reply(link.link_id, ResponseOutcome.REMOVED))
                elif link.plan.rejects and link.notices == 1 and link.cycle == 1:
                    told.append(Reply(link.link_id, ResponseOutcome.REJECTED))
                if decisions is not None and told and told[-1].link_id == link.link_id:
                    decisions[-1] = told[-1].outcome
            if decisions is None:
                for reply in told:
                    self.replies.put(reply)
        return removed

    # --- progress ------------------------------------------------------------------------------

    def repost_pending(self, url: str, db_cycle: int) -> bool:
        """True while content that will come back has not yet been found back by tada."""
        with self._lock:
            link = self.links[url]
            if not link.plan.reposted or (link.cycle == 1 and link.live):
                return False  # never coming back, or not taken down yet
            return db_cycle < 2


def _html(title: str, body: str) -> str:
    return f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>"
