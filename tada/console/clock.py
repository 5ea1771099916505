"""A link's legal clock in the reader's words: "due in 20h05m", "overdue by 3h", "paused", "met"
or "missed", from the step and due time the read model keeps (``LinkRow.deadline_step``,
``deadline_due_at``), as tada/domain/laws.py ``clock_words`` decides them in English for the CLI
and the API. The span keeps the CLI's form (hours and minutes, days beyond three)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tada.console.i18n import N_
from tada.domain.laws import span as span_of  # the CLI's span, so both say the same length
from tada.domain.states import LinkState

#: The words of each kind of clock, translated when shown.
CLOCK_WORDS = {
    "due": N_("due in %(span)s"),
    "overdue": N_("overdue by %(span)s"),
    "paused": N_("paused (the platform waits on the victim)"),
    "met": N_("met"),
    "missed": N_("missed"),
    "stopped": N_("stopped: the link is closed"),
}
#: The legal clock's step, as the link page names it (tada/domain/states.py EventKind.DEADLINE).
STEP_NAMES = {
    "started": N_("started"),
    "paused": N_("paused"),
    "resumed": N_("resumed"),
    "met": N_("met"),
    "missed": N_("missed"),
}
_CLOSED = (LinkState.REMOVED.value, LinkState.WITHDRAWN.value)


def clock_kind(step: str | None, due_at: datetime | None, state: str, now: datetime) -> tuple[str, timedelta] | None:
    """Which of CLOCK_WORDS a clock is now, and its span (due or overdue); None without a clock.
    A missed clock of a link still up is overdue, as is a running one past its due time; a
    removed or withdrawn link's clock is overdue no more."""
    if step is None or due_at is None:
        return None
    if step in ("met", "paused"):
        return step, timedelta(0)
    if state in _CLOSED:  # removed or withdrawn: a clock not met or missed no longer runs
        return ("missed" if step == "missed" else "stopped"), timedelta(0)
    left = due_at - now
    return ("due", left) if left > timedelta(0) else ("overdue", -left)


def clock_text(
    step: str | None, due_at: datetime | None, state: str, now: datetime, gettext: Callable[[str], str]
) -> tuple[str, str] | None:
    """The clock's kind and its words in the reader's language; None without a clock."""
    found = clock_kind(step, due_at, state, now)
    if found is None:
        return None
    kind, span = found
    words = gettext(CLOCK_WORDS[kind])
    return kind, (words % {"span": span_of(span)} if kind in ("due", "overdue") else words)


def is_overdue(step: str | None, due_at: datetime | None, state: str, now: datetime) -> bool:
    found = clock_kind(step, due_at, state, now)
    return found is not None and found[0] == "overdue"
