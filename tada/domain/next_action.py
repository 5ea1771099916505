"""A link's next action: what it waits for, in words a caseworker reads (``tada status``).

Most next actions are a step with a time ("follow-up check", "send escalation"). A link
with nothing more to do says why, as ``none: <why>`` ("none: withdrawn", "none: watch
ended"); this module writes and reads that form, so no other code parses the text. The
text is what histories, ``links.next_action`` and the API hold: its form never changes.
"""

from __future__ import annotations

_NOTHING_MORE = "none: "


def nothing_more(why: str) -> str:
    """The next action of a link that has nothing more to do, and why."""
    return f"{_NOTHING_MORE}{why}"


def why_nothing_more(next_action: str | None) -> str | None:
    """Why a link has nothing more to do, or None when it still has a next step."""
    if next_action and next_action.startswith(_NOTHING_MORE):
        return next_action.removeprefix(_NOTHING_MORE)
    return None
