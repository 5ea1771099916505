"""The annual report a trusted flagger under the EU Digital Services Act must publish
(DSA Art. 22(3)): the notices it submitted in the year, by the identity of the provider of
hosting services, by the type of allegedly illegal content, and by the action the provider
took. Built by ``reporting.flagger_queries``; rendered by ``reporting.flagger_render``.

It holds no personal data: providers (a registry name, an RDAP name or a domain), types of
content, actions and counts; never a URL, a case, a reference, an address or a person.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, computed_field

#: The types of allegedly illegal content a notice names.
INTIMATE_IMAGERY = "non-consensual intimate imagery"
COPYRIGHT = "copyright"

#: The provider's action, as a field name and as the reader's words.
ACTION_LABELS = {
    "removed": "removed",
    "rejected": "rejected",
    "no_action_recorded": "no action recorded",
    "still_pending": "still pending",
}

FLAGGER_NOTES = (
    "Notices submitted: every notice tada sent (by email or web form) or a caseworker filed by hand to a "
    "provider of hosting services in the year (UTC, by the time of its delivery): first notices, follow-ups, "
    "notices about a repost, and escalations to a web host or to a channel's or group's admin. A complaint "
    "to a regulator is not a notice to a provider and is not counted.",
    "Provider of hosting services: the platform the notice went to; for an escalation to a web host, the host "
    "(the name its RDAP record gives, else the domain of the address the notice went to); for an escalation "
    "to a channel's or group's admin, the domain of the address it went to.",
    "Type of allegedly illegal content: non-consensual intimate imagery; copyright where the notice was sent "
    "as a copyright notice (17 U.S.C. § 512(c)(3)) because the person depicted made the image.",
    "Action taken by the provider: removed: the content came down after the notice, before any notice about it "
    "to another provider; rejected: the provider refused the notice (its reply, or its answer as a caseworker "
    "recorded it) and did not remove the content; no action recorded: neither, and the matter went on to "
    "another provider or the link ended unresolved or withdrawn; still pending: neither, and the link is "
    "still followed up. Counted only from what tada itself recorded, up to the time this report was made.",
    "No personal data: no URL, case, reference, address or person appears in this report; a provider is "
    "named by the registry's name, its RDAP name or a domain.",
    "DSA Art. 22(3) also asks for an explanation of the procedures that keep the trusted flagger independent: "
    "the organisation adds that text; tada does not write it.",
)


class ActionCounts(BaseModel):
    """Notices by the action the provider took."""

    removed: int = 0
    rejected: int = 0
    no_action_recorded: int = 0
    still_pending: int = 0

    @computed_field
    @property
    def notices(self) -> int:
        return self.removed + self.rejected + self.no_action_recorded + self.still_pending

    def add(self, action: str) -> None:
        if action not in ACTION_LABELS:
            raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTION_LABELS)}")
        setattr(self, action, getattr(self, action) + 1)


class ProviderAndType(ActionCounts):
    provider: str
    content_type: str


class ProviderTotal(ActionCounts):
    provider: str


class ContentTypeTotal(ActionCounts):
    content_type: str


class FlaggerReport(BaseModel):
    title: str = "Trusted flagger report"
    year: int
    generated_at: datetime
    basis: str = "notices submitted in the calendar year (UTC), by the time of their delivery"
    totals: ActionCounts = Field(default_factory=ActionCounts)
    rows: list[ProviderAndType] = Field(default_factory=list)
    by_provider: list[ProviderTotal] = Field(default_factory=list)
    by_content_type: list[ContentTypeTotal] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=lambda: list(FLAGGER_NOTES))
