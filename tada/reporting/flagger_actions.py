"""Which action a provider took on each notice, read from one link's timeline (pure).

For a notice in a link's cycle, its window runs from the notice to the next notice in that
cycle to a different provider (or to the end of the timeline):
- removed: a transition to REMOVED in the window;
- rejected: else, a rejection in the window (a reply classified ``rejected`` or a caseworker's
  response ``rejected``);
- no action recorded: else, when the window was closed by a notice to another provider or its
  last transition is to UNRESOLVED or WITHDRAWN;
- still pending: otherwise (the link is still followed up).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tada.reporting.flagger import COPYRIGHT, INTIMATE_IMAGERY

ENDED = frozenset({"UNRESOLVED", "WITHDRAWN"})


@dataclass(frozen=True)
class TimelineEvent:
    """What the rule needs of one event (no URL, address or text of it)."""

    cycle: int
    kind: str  # "notice", "transition" or "rejection"
    to_state: str | None = None  # a transition's
    provider: str | None = None  # a notice's
    in_year: bool = False  # a notice delivered in the report's year
    copyright: bool = False  # a notice sent by the copyright route


def action_after(window: Sequence[TimelineEvent], closed: bool) -> str:
    if any(e.kind == "transition" and e.to_state == "REMOVED" for e in window):
        return "removed"
    if any(e.kind == "rejection" for e in window):
        return "rejected"
    moves = [e.to_state for e in window if e.kind == "transition"]
    if closed or (moves and moves[-1] in ENDED):
        return "no_action_recorded"
    return "still_pending"


def notice_actions(timeline: Sequence[TimelineEvent]) -> Iterator[tuple[str, str, str]]:
    """(provider, type of content, action) for each of the link's notices in the year, in order.
    ``timeline`` is the link's events in the order recorded."""
    for index, notice in enumerate(timeline):
        if notice.kind != "notice" or not notice.in_year:
            continue
        window: list[TimelineEvent] = []
        closed = False
        for later in timeline[index + 1 :]:
            if later.cycle != notice.cycle:
                continue
            if later.kind == "notice" and later.provider != notice.provider:
                closed = True
                break
            window.append(later)
        content = COPYRIGHT if notice.copyright else INTIMATE_IMAGERY
        yield notice.provider or "unknown", content, action_after(window, closed)
