"""The report: one pydantic model that every format (table, JSON, CSV, HTML) renders.

Counts come from the database (``reporting.queries``); the percentages are
derived here, so every format shows the same numbers. A rate whose denominator
is zero is ``None`` and shows as "n/a".
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, computed_field

from tada.reporting.rates import percent as percent  # re-exported: the report's modules take it from here
from tada.reporting.scorecard import Scorecard

#: The order in which removal steps are listed; "follow-up n" rows sit between.
STEP_ALREADY_GONE = "already gone"
STEP_FIRST_NOTICE = "first notice"
STEP_ESCALATION_HOST = "escalation to host"
STEP_ESCALATION_ADMIN = "escalation to admin"
STEP_PLATFORM_CONFIRMED = "platform confirmed"


def follow_up_step(number: int) -> str:
    return f"follow-up {number}"


class Period(BaseModel):
    """Which links the report covers: those added (``links.added_at``) in [start, end]."""

    start: date | None = None  # inclusive, UTC
    end: date | None = None  # inclusive, UTC
    basis: str = "links added in the period (links.added_at, UTC)"

    @property
    def label(self) -> str:
        start = self.start.isoformat() if self.start else "the beginning"
        end = self.end.isoformat() if self.end else "now"
        return f"{start} to {end}"


class RemovalRate(BaseModel):
    """Links of one group and how many of them were ever removed."""

    name: str
    links: int = 0
    removed: int = 0

    @computed_field
    @property
    def removal_rate(self) -> float | None:
        return percent(self.removed, self.links)


class CategoryFigures(RemovalRate):
    """One platform category: its share of all links, removal rate and time to removal."""

    share: float | None = None  # percent of the period's links
    median_seconds: float | None = None  # time to removal: first event -> first REMOVED
    p90_seconds: float | None = None


class PlatformFigures(RemovalRate):
    category: str = "other"


class StepFigures(BaseModel):
    """How many removals (one per cycle) came at this step."""

    step: str
    removals: int = 0
    share: float | None = None  # percent of all removals


class SilentPlatform(BaseModel):
    """A platform that never answered: links that reached ESCALATED or UNRESOLVED with no response recorded."""

    platform: str
    category: str
    links: int  # all of the platform's links in the period
    silent_links: int  # of them: escalated or unresolved without any response
    removed: int  # of the silent links, removed in the end (by the host or admin)


class Reposts(BaseModel):
    """Content that came back after removal (a REMOVED -> REPORTED transition starts a new cycle)."""

    links: int = 0  # links reposted at least once
    cycles: int = 0  # repost cycles started
    removed: int = 0  # of those cycles, removed again

    @computed_field
    @property
    def removal_rate(self) -> float | None:
        return percent(self.removed, self.cycles)


class Report(BaseModel):
    title: str = "Take-down service report"
    generated_at: datetime
    period: Period
    cases: int = 0  # cases with at least one link in the period
    links: int = 0
    removed: int = 0  # links ever removed (any cycle)
    categories: list[CategoryFigures] = Field(default_factory=list)
    platforms: list[PlatformFigures] = Field(default_factory=list)
    hosts: list[RemovalRate] = Field(default_factory=list)
    steps: list[StepFigures] = Field(default_factory=list)
    silent_platforms: list[SilentPlatform] = Field(default_factory=list)
    reposts: Reposts = Field(default_factory=Reposts)
    scorecard: Scorecard = Field(default_factory=Scorecard)
    notes: list[str] = Field(default_factory=list)

    @computed_field
    @property
    def removal_rate(self) -> float | None:
        return percent(self.removed, self.links)

    @property
    def removals(self) -> int:
        """Removals counted by step: one per cycle that ended removed (a repost counts again)."""
        return sum(step.removals for step in self.steps)
