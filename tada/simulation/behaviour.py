"""How the simulated platforms behave, per category, and where the defaults come from.

From the source report (RainLily, Ta-DA Service Report 2021-23, section 2.5):

- where content was found (N=1342): pornographic sites 42.0 %, social media 25.0 %,
  search engines 22.7 %, content farms 5.3 %, image hosts 5.0 %;
- removal rates: overall 89.0 %, pornographic sites 78.9 %, image hosts 100 %.

Not given as numbers in the report, chosen here so that the overall rate comes out
at 89.0 % and the text holds:

- search engines 100 %: large companies "more responsive to the complaints" with
  clear policies (section 3.1, Google);
- social media 92.5 % and content farms 95.0 %: with pornographic sites the "three
  types of online platforms ... the removal rates of which are the lowest"
  (section 2.6), social media among "the least satisfactory" (executive summary).
  0.420*78.9 + 0.250*92.5 + 0.227*100 + 0.053*95.0 + 0.050*100 = 89.0.

When content comes down (the report gives no figures; chosen from its text):
Telegram content came down mostly through the group administrators (2.6.3), so
social media removes a large part after escalation to the admin; pornographic
sites and content farms often ignore the platform notice and answer their web host
(2.6.1, 3.1); search engines and image hosts act on the first notice. A few links
are dead by the time they are reported (already gone), a few removed ones come
back at the same address (reposts), and some platforms reply: a confirmation of
removal, or (mostly Meta, 2.6.3) a rejection, which sends the link to escalation.
Replies come by email (tada/simulation/replies.py), each category's mix chosen from the
report's text: large companies' ticket systems acknowledge nearly every report; small sites
mostly stay silent, some with a desk's out-of-office reply; one host's abuse desk is dead.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from tada.domain.states import Category


class Behaviour(BaseModel):
    """One category's behaviour; the fractions of ``removal`` say at which step content comes down."""

    share: float = Field(ge=0)  # weight of the category among the links
    removal: float = Field(ge=0, le=1)  # probability a link is removed in the end
    already_gone: float = Field(default=0.02, ge=0, le=1)  # of all links: dead when reported
    at_notice: float = Field(ge=0, le=1)  # of the removed: after the first notice
    at_follow_up: float = Field(ge=0, le=1)  # ... after a follow-up
    at_escalation: float = Field(ge=0, le=1)  # ... after an escalation (host or admin)
    confirms: float = Field(default=0.1, ge=0, le=1)  # a removal the platform confirms by reply
    rejects: float = Field(default=0.05, ge=0, le=1)  # a link it will not remove: rejected by reply
    reposted: float = Field(default=0.03, ge=0, le=1)  # a removed link that comes back
    # The reply mix, per notice email (tada/simulation/replies.py); a decision above is written
    # when the whole email's links share it.
    acknowledges: float = Field(default=0.3, ge=0, le=1)  # an acknowledgement (a ticket number)
    out_of_office: float = Field(default=0.02, ge=0, le=1)  # an out-of-office auto-reply
    new_thread: float = Field(default=0.05, ge=0, le=1)  # the decision as a new, unthreaded ticket mail

    @model_validator(mode="after")
    def _steps_add_up(self) -> Behaviour:
        total = self.at_notice + self.at_follow_up + self.at_escalation
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"at_notice + at_follow_up + at_escalation must be 1, not {total:g}")
        if self.already_gone > self.removal:
            raise ValueError("already_gone cannot exceed removal")
        return self


C = Category

DEFAULT_BEHAVIOUR: dict[Category, Behaviour] = {
    C.PORNOGRAPHIC_SITE: Behaviour(
        share=42.0, removal=0.789, at_notice=0.50, at_follow_up=0.20, at_escalation=0.30,
        confirms=0.05, rejects=0.02, reposted=0.05, acknowledges=0.1, out_of_office=0.08, new_thread=0.05,
    ),
    C.SOCIAL_MEDIA: Behaviour(
        share=25.0, removal=0.925, at_notice=0.45, at_follow_up=0.15, at_escalation=0.40,
        confirms=0.25, rejects=0.25, reposted=0.03, acknowledges=0.6, out_of_office=0.0, new_thread=0.1,
    ),
    C.SEARCH_ENGINE: Behaviour(
        share=22.7, removal=1.0, at_notice=0.85, at_follow_up=0.15, at_escalation=0.0,
        confirms=0.6, rejects=0.0, reposted=0.01, acknowledges=0.9, out_of_office=0.0, new_thread=0.02,
    ),
    C.CONTENT_FARM: Behaviour(
        share=5.3, removal=0.95, at_notice=0.45, at_follow_up=0.20, at_escalation=0.35,
        confirms=0.05, rejects=0.02, reposted=0.05, acknowledges=0.05, out_of_office=0.15, new_thread=0.05,
    ),
    C.IMAGE_HOST: Behaviour(
        share=5.0, removal=1.0, at_notice=0.80, at_follow_up=0.15, at_escalation=0.05,
        confirms=0.3, rejects=0.0, reposted=0.01, acknowledges=0.4, out_of_office=0.05, new_thread=0.05,
    ),
}  # fmt: skip


def expected_removal_rate(behaviour: dict[Category, Behaviour]) -> float:
    """The overall removal rate these settings aim at (share-weighted)."""
    total = sum(b.share for b in behaviour.values())
    return sum(b.share * b.removal for b in behaviour.values()) / total if total else 0.0
