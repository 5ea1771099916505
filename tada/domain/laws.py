"""The law a notice stands on: which laws bind a platform for a case, what a valid request under
each must contain, the clock each one starts, and the regulator a missed clock goes to.

Each law is defined once, in the registry (``[[law]]`` in platforms.toml, read by
tada/domain/registry.py); a platform lists the laws that bind it (``laws = [...]``), and a law
that concerns every platform for the cases of a place (``every_platform``, e.g. a criminal law of
the victim's country) applies without being listed. A law limited to some ``jurisdictions``
applies only to cases of those (``tada case open --jurisdiction``).

The workflow carries only a law's ``LawTerms`` (its id, name, clock and regulator); the words a
notice cites and the elements a valid request needs are read from the registry by id when the
notice is written (activities/notices.py, tada/app/notice_texts.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

#: What tada waits after a legal deadline before it follows up: the platform's clock and ours differ.
DEFAULT_DEADLINE_GRACE = timedelta(hours=2)


class Element(StrEnum):
    """What a valid request under a law must contain, and what in tada supplies it."""

    IDENTIFICATION = "identification"  # where the content is: the URLs (every notice lists them)
    SIGNATURE = "signature"  # signed by the person or one authorised to act (TADA_NOTIFIER_NAME, TADA_NOTIFIER_TITLE)
    AUTHORISATION = "authorisation"  # the victim authorised the organisation (tada case open --authorised-on)
    STATEMENT = "statement"  # a good-faith statement that it is non-consensual (every notice has it)
    EXPLANATION = "explanation"  # why the content is illegal (every notice has it)
    CONTACT = "contact"  # the requester's contact details (TADA_NOTICE_FROM)
    NOTIFIER_NAME = "notifier_name"  # the notifier's name and email (TADA_NOTIFIER_NAME, TADA_NOTICE_FROM)


#: How a caseworker or ops supplies an element a case lacks (the refusal names it).
HOW_TO_SUPPLY: dict[Element, str] = {
    Element.AUTHORISATION: "record the victim's authorisation: tada case authorise CASE --authorised-on DATE",
    Element.SIGNATURE: "set TADA_NOTIFIER_NAME and TADA_NOTIFIER_TITLE (the organisation's signatory)",
    Element.CONTACT: "set TADA_NOTICE_FROM to the organisation's address",
    Element.NOTIFIER_NAME: "set TADA_NOTIFIER_NAME and TADA_NOTICE_FROM",
}

#: What a 17 U.S.C. § 512(c)(3) copyright notice must carry that tada can supply or lack.
COPYRIGHT_ELEMENTS = (
    Element.IDENTIFICATION,
    Element.SIGNATURE,
    Element.AUTHORISATION,
    Element.STATEMENT,
    Element.CONTACT,
)


class LawTerms(BaseModel):
    """What the link workflow needs of a law: its clock and where a missed one goes."""

    id: str
    name: str
    response_deadline: timedelta | None = None  # None: the law sets the platform no deadline
    deadline_grace: timedelta = DEFAULT_DEADLINE_GRACE
    regulator: str | None = None
    regulator_url: str | None = None
    regulator_instructions: str | None = None
    #: Binds every platform (and so every host) for its cases: escalations cite it too.
    every_platform: bool = False


class Law(LawTerms):
    """One law as the registry defines it."""

    citation: str  # as a notice cites it, e.g. "47 U.S.C. § 223a (TAKE IT DOWN Act)"
    citation_zh: str | None = None
    notice_text: str | None = None  # the paragraph a notice gives it (default: built from the citation)
    notice_text_zh: str | None = None
    elements: list[Element] = Field(default_factory=list)
    jurisdictions: list[str] = Field(default_factory=list)  # case jurisdictions; empty: every case
    source: str

    def terms(self) -> LawTerms:
        return LawTerms.model_validate(self.model_dump(include=set(LawTerms.model_fields)))

    def concerns(self, jurisdiction: str | None) -> bool:
        """Whether the law applies to a case of ``jurisdiction``: "US" covers "US-CA" too."""
        place = (jurisdiction or "").upper()
        return not self.jurisdictions or any(place == j or place.startswith(j + "-") for j in self.jurisdictions)


def laws_for(listed: Iterable[str], laws: dict[str, Law], jurisdiction: str | None) -> list[Law]:
    """The laws that bind a platform (``listed`` by its entry) for a case of ``jurisdiction``, and
    the laws of that place that bind every platform: in the registry's order, each once."""
    wanted = set(listed)
    return [law for law in laws.values() if (law.id in wanted or law.every_platform) and law.concerns(jurisdiction)]


def clock_law(laws: Iterable[LawTerms]) -> LawTerms | None:
    """The law whose deadline runs out first (the clock a link keeps), or None."""
    timed = [law for law in laws if law.response_deadline is not None]
    return min(timed, key=lambda law: law.response_deadline or timedelta(0)) if timed else None


class CaseElements(BaseModel):
    """What a case and the organisation's settings supply to a notice."""

    authorised_on: date | None = None
    notifier_name: str = ""
    notifier_title: str = ""
    notifier_email: str = ""

    def supplied(self) -> set[Element]:
        have = {Element.IDENTIFICATION, Element.STATEMENT, Element.EXPLANATION}
        if self.authorised_on is not None:
            have.add(Element.AUTHORISATION)
        if self.notifier_name.strip() and self.notifier_title.strip():
            have.add(Element.SIGNATURE)
        if self.notifier_email.strip():
            have.add(Element.CONTACT)
            if self.notifier_name.strip():
                have.add(Element.NOTIFIER_NAME)
        return have


def missing_elements(needed: Iterable[Element], case: CaseElements) -> list[Element]:
    """The elements of ``needed`` that ``case`` cannot supply, in order."""
    have = case.supplied()
    return [element for element in dict.fromkeys(needed) if element not in have]


def refusal(what: str, missing: list[Element]) -> str:
    """Why a notice cannot be sent: the law (or route) and each missing element with how to supply it."""
    parts = [f"{element.value} ({HOW_TO_SUPPLY.get(element, 'not supplied')})" for element in missing]
    return f"a notice under {what} needs what this case cannot supply: " + "; ".join(parts)


class CitedLaw(BaseModel):
    """A law as one notice cites it, in the notice's language."""

    id: str
    name: str
    citation: str
    text: str | None = None  # the registry's own paragraph for it, if any
    deadline_hours: int | None = None
    regulator: str | None = None
    regulator_url: str | None = None


def cite(laws: Iterable[Law], language: str) -> list[CitedLaw]:
    """``laws`` as a notice in ``language`` ("en" or "zh-Hant") cites them."""
    chinese = language == "zh-Hant"
    return [
        CitedLaw(
            id=law.id,
            name=law.name,
            citation=(law.citation_zh if chinese and law.citation_zh else law.citation),
            text=(law.notice_text_zh if chinese else law.notice_text) or None,
            deadline_hours=_hours(law.response_deadline),
            regulator=law.regulator,
            regulator_url=law.regulator_url,
        )
        for law in laws
    ]


def _hours(deadline: timedelta | None) -> int | None:
    return None if deadline is None else max(1, round(deadline.total_seconds() / 3600))


def clock_words(step: str | None, due_at: datetime | None, now: datetime, *, removed: bool = False) -> str | None:
    """A link's legal clock for a person: "due in 20h", "overdue by 3h", "paused", "met", "missed"
    (a missed clock of a link still up is "overdue by …", one stopped by a withdrawal "stopped");
    None when it has none. ``removed``: the link is REMOVED or WITHDRAWN."""
    if step is None or due_at is None:
        return None
    if step in ("met", "missed") and removed:
        return step
    if removed:  # withdrawn (or removed) while it ran: nothing more is owed
        return "stopped"
    if step in ("met", "paused"):
        return step
    left = due_at - now
    if left > timedelta(0):
        return f"due in {span(left)}"
    return f"overdue by {span(-left)}"


def span(length: timedelta) -> str:
    """Hours and minutes up to three days (deadlines are set in hours), days and hours beyond."""
    minutes = int(length.total_seconds() // 60)
    hours, mins = divmod(minutes, 60)
    if hours >= 72:
        days, hours = divmod(hours, 24)
        return f"{days}d{hours}h" if hours else f"{days}d"
    return f"{hours}h{mins:02d}m" if hours else f"{mins}m"
