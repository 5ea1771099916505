"""The scorecard: who acted, per platform and per hosting provider (issue 17, "the record").

One row per platform (the registry's name a link was filed under) and one per hosting
provider (``reporting.attribution``), built by ``reporting.scorecard_queries`` from the
timeline tada itself wrote (``link_events``): a platform's own figures it never sent us
are not in it. The rates are derived here, so every format shows the same numbers; a rate
with nothing to divide by is ``None`` ("n/a").
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, computed_field

from tada.reporting.rates import percent

#: What the scorecard's columns mean, printed under its tables in every format.
SCORECARD_NOTES = (
    "Scorecard: counted only from what tada itself recorded in each link's timeline (notices it sent "
    "or a caseworker filed, the replies its inbox read, the responses caseworkers recorded, its own "
    "liveness checks and legal clocks); a platform's answer that reached no one at tada is not in it.",
    "Links and removed: the period's links, and those that ever reached REMOVED. Time to removal: from "
    "a link's first event to its first removal (median and 90th percentile).",
    "First answer: from a link's first notice to the platform's first answer of any kind (a reply the "
    "inbox read as acknowledged, removed, rejected, needs info or other, or a response a caseworker "
    "recorded), median of the links answered. Response rate: links with such an answer, of all links; "
    "auto-replies and bounces are no answer.",
    "Within deadline: legal clocks that ended met, of those that ended met or missed (one clock per law "
    "per cycle of a link; n/a where no clock ended). Overdue now: links whose clock's due time has "
    "passed (started or resumed, not paused) or was missed, and that are neither removed nor withdrawn "
    "at the time shown.",
    "Reposts per removal: repost cycles started (content live again after its removal), per link "
    "removed. Bounced contacts: notices that could never be delivered (delivery failures recorded, "
    "a bounce included).",
    "A link's hosting provider is the web host it was escalated to (the host abuse contact found, else "
    'the address the host escalation went to), "unknown" otherwise; a provider\'s row counts what '
    "happened to those links, whoever answered.",
)


class ScoreRow(BaseModel):
    """One platform's or hosting provider's record over the period's links."""

    name: str
    links: int = 0
    removed: int = 0  # links ever removed
    median_seconds: float | None = None  # time to removal: first event -> first REMOVED
    p90_seconds: float | None = None
    answered: int = 0  # links with any answer from the platform (not an auto-reply, not a bounce)
    median_answer_seconds: float | None = None  # first notice -> first answer, of the links answered
    clocks_met: int = 0  # legal clocks ended met
    clocks_missed: int = 0  # legal clocks ended missed
    overdue_now: int = 0  # links overdue at Scorecard.as_of
    reposts: int = 0  # repost cycles started
    bounces: int = 0  # delivery_failed events

    @computed_field
    @property
    def removal_rate(self) -> float | None:
        return percent(self.removed, self.links)

    @computed_field
    @property
    def response_rate(self) -> float | None:
        return percent(self.answered, self.links)

    @computed_field
    @property
    def within_deadline(self) -> float | None:
        """Percent of the ended clocks that ended met; None when none ended."""
        return percent(self.clocks_met, self.clocks_met + self.clocks_missed)

    @computed_field
    @property
    def reposts_per_removal(self) -> float | None:
        return round(self.reposts / self.removed, 2) if self.removed else None


class Scorecard(BaseModel):
    """The scorecard's two tables; "overdue now" is as of ``as_of``."""

    as_of: datetime | None = None
    platforms: list[ScoreRow] = Field(default_factory=list)
    hosts: list[ScoreRow] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=lambda: list(SCORECARD_NOTES))
