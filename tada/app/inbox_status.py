"""What ``tada inbox status`` shows: each mailbox's last poll and its messages counted by
outcome (tada/app/inbox.py records them). Counts and times only."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel, Field

from tada.app.inbox_store import DUPLICATE, ERROR, FAILED, MATCHED, PROCESSING, QUEUED, TOO_LARGE, UNMATCHED


class MailboxStatus(BaseModel):
    mailbox: str
    configured: bool = False  # the mailbox of this command's TADA_IMAP_* settings
    last_poll_at: datetime | None = None
    last_ok_at: datetime | None = None
    last_error: str | None = None
    last_new: int = 0  # messages the last poll found
    polls: int = 0
    failed_polls: int = 0
    messages: int = 0
    matched: int = 0  # by their headers, or from the pen (below)
    assigned_auto: int = 0  # matched from the pen by its one strong guess (tada/app/inbox_pen.py)
    assigned_by_caseworker: int = 0  # matched from the pen by `tada inbox assign`
    pen: int = 0  # unmatched: waiting for a person
    duplicates: int = 0
    too_large: int = 0
    errors: int = 0  # in error (to be retried) or failed (given up)
    in_progress: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)


class InboxStatus(BaseModel):
    reader_configured: bool  # TADA_IMAP_HOST is set
    mailboxes: list[MailboxStatus]


async def inbox_status(pool: asyncpg.Pool, configured: str | None) -> InboxStatus:
    """Every mailbox tada has read or polled; ``configured``: the key of the settings' mailbox
    (shown even before its first poll)."""
    polls = {row["mailbox"]: row for row in await pool.fetch("SELECT * FROM inbox_polls")}
    counts: dict[str, dict[str, int]] = {}
    for row in await pool.fetch("SELECT mailbox, status, count(*) AS n FROM inbox_messages GROUP BY 1, 2"):
        counts.setdefault(row["mailbox"], {})[row["status"]] = row["n"]
    assigned: dict[str, dict[str, int]] = {}
    for row in await pool.fetch(
        """SELECT m.mailbox, p.assigned_by, count(*) AS n FROM inbox_pen p JOIN inbox_messages m ON m.id = p.reply_id
            WHERE p.assigned_by IS NOT NULL GROUP BY 1, 2"""
    ):
        assigned.setdefault(row["mailbox"], {})[row["assigned_by"]] = row["n"]
    names = sorted(set(polls) | set(counts) | ({configured} if configured else set()))
    boxes = [_mailbox(name, polls.get(name), counts.get(name, {}), name == configured) for name in names]
    for box in boxes:
        box.assigned_auto = assigned.get(box.mailbox, {}).get("auto", 0)
        box.assigned_by_caseworker = assigned.get(box.mailbox, {}).get("caseworker", 0)
    return InboxStatus(reader_configured=configured is not None, mailboxes=boxes)


def _mailbox(name: str, poll: asyncpg.Record | None, by_status: dict[str, int], configured: bool) -> MailboxStatus:
    status = MailboxStatus(
        mailbox=name,
        configured=configured,
        messages=sum(by_status.values()),
        matched=by_status.get(MATCHED, 0),
        pen=by_status.get(UNMATCHED, 0),
        duplicates=by_status.get(DUPLICATE, 0),
        too_large=by_status.get(TOO_LARGE, 0),
        errors=by_status.get(ERROR, 0) + by_status.get(FAILED, 0),
        in_progress=by_status.get(PROCESSING, 0) + by_status.get(QUEUED, 0),  # queued: its turn not yet come
        by_status=dict(sorted(by_status.items())),
    )
    if poll is not None:
        status.last_poll_at = poll["last_poll_at"]
        status.last_ok_at = poll["last_ok_at"]
        status.last_error = poll["last_error"]
        status.last_new = poll["last_new"]
        status.polls = poll["polls"]
        status.failed_polls = poll["failures"]
    return status
