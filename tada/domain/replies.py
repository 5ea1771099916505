"""A platform's emailed reply, as the link's workflow hears of it, and what the link does next.

The inbox (tada/app/inbox.py) reads a reply, finds the notice it answers and classifies it;
the link is told only the classification (``PlatformReply``), never the reply's words,
subject or sender. What each kind does (``reply_step``):

- ``removed``: the page is checked at once (a "gone" confirmed as always): gone, REMOVED;
  still live, the link waits for a caseworker ("platform says removed, page still live").
- ``rejected``: with high confidence, the link escalates as ``tada link respond --outcome
  rejected`` does; with low confidence, it waits for a caseworker.
- ``bounce``: that recipient failed for good: the next escalation contact, or the platform's
  other route (the follow-up path, which skips a bounced address).
- ``acknowledged``, ``auto_reply``: recorded (an acknowledgement is the platform's receipt:
  its time is kept).
- ``needs_info``, ``other``: recorded for a caseworker to review.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from tada.domain.states import LinkState


class ReplyKind(StrEnum):
    """What a reply says, as the classifier reads it. The values are what histories and the
    database hold: they never change."""

    ACKNOWLEDGED = "acknowledged"
    REMOVED = "removed"
    REJECTED = "rejected"
    NEEDS_INFO = "needs_info"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    OTHER = "other"


class PlatformReply(BaseModel):
    """One reply's classification, for one link it answers: no words of the reply itself."""

    model_config = ConfigDict(frozen=True)

    reply_id: int  # the inbox's row (inbox_messages.id)
    kind: ReplyKind
    confident: bool  # the classifier's confidence reached its threshold for "high"
    rule: str  # the rule that decided, e.g. "dsn:5.1.1", "phrase:en:removed"
    matched_by: str  # how the reply found its notice: tag, in-reply-to, references, subject, auto, caseworker
    received_at: datetime
    bounced: str | None = None  # a bounce: the recipient it names (one of the link's own recipients)


class ReplyStep(StrEnum):
    CHECK = "check"  # a liveness check now
    ESCALATE = "escalate"  # as a rejection recorded by a caseworker
    BOUNCED = "bounced"  # that recipient failed for good
    RECORD = "record"  # in the timeline, nothing else
    REVIEW = "review"  # in the timeline, for a caseworker to read and decide


_ANSWERED = (LinkState.AWAITING_RESPONSE, LinkState.FOLLOW_UP)


def reply_step(reply: PlatformReply, state: LinkState) -> ReplyStep:
    """What a link in ``state`` does with ``reply``. A claim of removal is always checked: the
    check, not the claim, decides (and a low-confidence "removed" costs one check)."""
    if reply.kind == ReplyKind.REMOVED:
        return ReplyStep.RECORD if state == LinkState.REMOVED else ReplyStep.CHECK
    if reply.kind == ReplyKind.REJECTED:
        return ReplyStep.ESCALATE if reply.confident and state in _ANSWERED else ReplyStep.REVIEW
    if reply.kind == ReplyKind.BOUNCE:
        return ReplyStep.BOUNCED if reply.confident and reply.bounced else ReplyStep.REVIEW
    if reply.kind in (ReplyKind.ACKNOWLEDGED, ReplyKind.AUTO_REPLY):
        return ReplyStep.RECORD
    return ReplyStep.REVIEW
