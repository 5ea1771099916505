"""Heartbeats for the whole time an activity works, so Temporal can cancel it at once.

Temporal hands a cancellation (a withdrawn or paused link) to an activity only in the
answer to a heartbeat. ``beating()`` heartbeats every ``every`` seconds from a task of its
own while the activity's body runs, whatever the body is waiting for (the database, the
rate limit, the SMTP relay, a form), and stops when the body ends. ``details`` is what each
heartbeat carries: Temporal gives the last one to the next attempt (``previous_details``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from temporalio import activity

#: Well inside the 2 s the sending activity promises, and cheap: the SDK sends at most one
#: heartbeat per throttle interval and keeps only the newest details.
HEARTBEAT_EVERY = 1.0


class Beat:
    def __init__(self) -> None:
        self.details: Any = None

    def now(self, details: Any = None) -> None:
        """Heartbeat at once (with new ``details``, if given): a fact the next attempt must see."""
        if details is not None:
            self.details = details
        _heartbeat(self.details)


@asynccontextmanager
async def beating(every: float = HEARTBEAT_EVERY) -> AsyncIterator[Beat]:
    beat = Beat()
    if not activity.in_activity():  # called directly (a test of one step): nobody to tell
        yield beat
        return

    async def keep_beating() -> None:
        while True:
            _heartbeat(beat.details)
            await asyncio.sleep(every)

    task = asyncio.create_task(keep_beating())
    try:
        yield beat
    finally:
        task.cancel()


def previous_details() -> Any:
    """What the last heartbeat of an earlier attempt carried, or None."""
    if not activity.in_activity():
        return None
    details = activity.info().heartbeat_details
    return details[0] if details else None


def _heartbeat(details: Any) -> None:
    if not activity.in_activity():
        return
    if details is None:
        activity.heartbeat()
    else:
        activity.heartbeat(details)
