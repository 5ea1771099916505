"""A case's dossier (``tada case dossier``): what tada itself recorded about every link of one
case, for a victim's police report, a privacy-commissioner complaint or a court's disposal order.

Per link: its address (as text: the dossier is about this case, for the authorities), the notices
sent (when, to whom, by which channel, the laws they cited, the route), the platform's answers
(recorded by a caseworker or read by the inbox: the outcome only, never their words), the removal
evidence (every liveness check with its time, verdict, HTTP status and reason, the confirming
check marked; each removal), the legal clocks and the state now.

What it leaves out: content (tada never holds any), anything about the victim, the case's and
the timeline's notes, reply excerpts, and any other value sealed with the case's key. The one
sealed value opened is the case's reference: the organisation's own reference, never the
victim's name, which the notices already carry and which is what the authorities will be given.
A purged case is refused: its addresses are gone.

Every read names the case: no row of another case can reach a dossier.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from tada.adapters.data_crypto import DataCrypto
from tada.adapters.sealing import is_sealed
from tada.domain.states import EventKind, LinkState
from tada.errors import CaseNotFound, CaseRefused


class CasePurged(CaseRefused):
    """The case was purged: its link addresses are erased, so there is nothing to put in a dossier."""


class NoticeSent(BaseModel):
    at: datetime  # delivered: the relay or form accepted it, or a caseworker confirmed "filed"
    cycle: int
    kind: str  # initial, follow_up, escalation_host, escalation_admin, repost, regulator
    channel: str  # email, form, manual
    recipient: str | None = None  # the address it went to (the platform's, a host's); None: form or manual
    laws: list[str] = Field(default_factory=list)  # law ids it cited, as recorded
    route: str | None = None  # "copyright": a 17 U.S.C. § 512(c)(3) notice; None: the platform's policy
    regulator: str | None = None  # a regulator step: the regulator's name


class Answer(BaseModel):
    at: datetime
    cycle: int
    source: str  # "caseworker" (recorded by hand) or "inbox" (an emailed reply, classified)
    outcome: str  # removed, rejected, acknowledged, needs-info; a reply's kind (needs_info, bounce, ...)
    received_at: datetime | None = None  # an emailed reply: when the mailbox received it


class DeliveryFailure(BaseModel):
    at: datetime
    cycle: int
    code: str | None = None
    where: str | None = None  # a domain, never an address


class Check(BaseModel):
    """One liveness check: tada's own visit to the address."""

    at: datetime
    cycle: int
    verdict: str  # live, gone, unknown
    http_status: str | None = None
    reason: str | None = None
    confirming: bool = False  # the second check that confirms a "gone", asked as a visitor would ask


class Removal(BaseModel):
    at: datetime
    cycle: int
    reason: str | None = None


class ContactFound(BaseModel):
    at: datetime
    cycle: int
    kind: str | None = None  # host, registrar, cdn
    name: str | None = None


class ClockStep(BaseModel):
    at: datetime
    step: str  # started, paused, resumed, met, missed
    due_at: datetime | None = None


class Clock(BaseModel):
    """One legal deadline of one link cycle under one law."""

    cycle: int
    law: str
    deadline: str | None = None  # e.g. "48h"
    steps: list[ClockStep] = Field(default_factory=list)

    @property
    def due_at(self) -> datetime | None:
        return next((step.due_at for step in reversed(self.steps) if step.due_at), None)

    @property
    def outcome(self) -> str:
        """met, missed, or running (started or resumed, nothing decided), paused, or ended (a
        withdrawn link's clock)."""
        last = self.steps[-1].step if self.steps else ""
        if last in ("met", "missed"):
            return last
        return {"started": "running", "resumed": "running", "paused": "paused"}.get(last, last or "ended")

    def overdue(self, now: datetime, state: str) -> bool:
        """Running past its due time while the page is neither removed nor withdrawn now."""
        due = self.due_at
        ended = state in (LinkState.REMOVED, LinkState.WITHDRAWN)
        return self.outcome == "running" and due is not None and due < now and not ended


class DossierLink(BaseModel):
    link_id: str
    url: str
    host: str
    platform: str
    category: str
    state: str
    cycle: int
    added_at: datetime
    notices: list[NoticeSent] = Field(default_factory=list)
    answers: list[Answer] = Field(default_factory=list)
    failures: list[DeliveryFailure] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    removals: list[Removal] = Field(default_factory=list)
    contacts: list[ContactFound] = Field(default_factory=list)
    clocks: list[Clock] = Field(default_factory=list)

    @property
    def removed(self) -> bool:
        return self.state == LinkState.REMOVED


class Dossier(BaseModel):
    case_id: str
    reference: str | None  # the organisation's own reference, opened
    status: str
    jurisdiction: str | None
    opened_at: datetime
    withdrawn_at: datetime | None
    authorised_on: date | None  # the victim's authorisation of the organisation: its date only
    author: str  # the organisation (TADA_NOTIFIER_NAME)
    generated_at: datetime
    links: list[DossierLink] = Field(default_factory=list)
    #: The laws the dossier's notices and clocks name, by id: how the registry cites each.
    law_names: dict[str, str] = Field(default_factory=dict)

    @property
    def removed(self) -> int:
        return sum(1 for link in self.links if link.removed)

    @property
    def notices(self) -> int:
        return sum(len(link.notices) for link in self.links)


async def case_dossier(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    case_id: str,
    *,
    author: str,
    law_names: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Dossier:
    """The dossier of ``case_id``: CaseNotFound for no such case, CasePurged for a purged one.
    ``law_names``: how to cite a law, by id (the registry's); a law it does not know shows by id."""
    async with pool.acquire() as conn:
        case = await conn.fetchrow("SELECT * FROM cases WHERE case_id = $1", case_id)
        if case is None:
            raise CaseNotFound(case_id)
        if case["purged_at"] is not None:
            when = case["purged_at"].astimezone(UTC).strftime("%Y-%m-%d")
            raise CasePurged(
                f"case {case_id} was purged on {when}: its link addresses are erased for good, "
                "so it has no dossier (the reports still count its links)"
            )
        reference = await crypto.open(conn, case_id, "reference", case["reference"])
        links = await conn.fetch(
            """
            SELECT link_id, url, host, platform, category, state, cycle, added_at
              FROM links WHERE case_id = $1 ORDER BY added_at, link_id
            """,
            case_id,
        )
        events = await conn.fetch(
            """
            SELECT link_id, cycle, kind, to_state, detail, occurred_at
              FROM link_events WHERE case_id = $1 ORDER BY link_id, event_id
            """,
            case_id,
        )
    timelines: dict[str, list[asyncpg.Record]] = {}
    for event in events:
        timelines.setdefault(event["link_id"], []).append(event)
    read = [_link(dict(row), timelines.get(row["link_id"], [])) for row in links]
    named = {
        law for link in read for law in [*(n for x in link.notices for n in x.laws), *(c.law for c in link.clocks)]
    }
    return Dossier(
        case_id=case_id,
        reference=reference,
        status=case["status"],
        jurisdiction=case["jurisdiction"],
        opened_at=case["opened_at"],
        withdrawn_at=case["withdrawn_at"],
        authorised_on=case.get("authorised_on"),  # a database before issue 17: none
        author=author,
        generated_at=now or datetime.now(UTC),
        links=read,
        law_names={law: (law_names or {})[law] for law in sorted(named) if law in (law_names or {})},
    )


def _link(row: dict[str, Any], events: Iterable[asyncpg.Record]) -> DossierLink:
    link = DossierLink(**row)
    clocks: dict[tuple[int, str], Clock] = {}
    for event in events:
        detail = _detail(event["detail"])
        kind, at, cycle = event["kind"], event["occurred_at"], event["cycle"]
        text = {name: _text(value) for name, value in detail.items()}
        if kind == EventKind.NOTICE:
            link.notices.append(
                NoticeSent(
                    at=at, cycle=cycle, kind=text.get("kind") or "notice", channel=text.get("channel") or "",
                    recipient=text.get("recipient"), laws=_laws(detail.get("laws")), route=text.get("route"),
                    regulator=text.get("regulator"),
                )
            )  # fmt: skip
        elif kind == EventKind.RESPONSE and (outcome := text.get("outcome")):
            link.answers.append(Answer(at=at, cycle=cycle, source="caseworker", outcome=outcome))
        elif kind == EventKind.REPLY and (reply := text.get("kind")):
            received = _when(text.get("received_at"))
            link.answers.append(Answer(at=at, cycle=cycle, source="inbox", outcome=reply, received_at=received))
        elif kind == EventKind.DELIVERY_FAILED:
            link.failures.append(DeliveryFailure(at=at, cycle=cycle, code=text.get("code"), where=text.get("where")))
        elif kind == EventKind.LIVENESS and (verdict := text.get("verdict")):
            link.checks.append(
                Check(
                    at=at, cycle=cycle, verdict=verdict, http_status=text.get("http_status"),
                    reason=text.get("reason"), confirming=text.get("check") == "confirming",
                )
            )  # fmt: skip
        elif kind == EventKind.TRANSITION and event["to_state"] == LinkState.REMOVED:
            link.removals.append(Removal(at=at, cycle=cycle, reason=text.get("reason")))
        elif kind == EventKind.CONTACT_FOUND:
            link.contacts.append(ContactFound(at=at, cycle=cycle, kind=text.get("kind"), name=text.get("name")))
        elif kind == EventKind.DEADLINE and (law := text.get("law")) and (step := text.get("step")):
            clock = clocks.setdefault((cycle, law), Clock(cycle=cycle, law=law))
            clock.deadline = clock.deadline or text.get("deadline")
            clock.steps.append(ClockStep(at=at, step=step, due_at=_when(text.get("due_at"))))
    link.clocks = list(clocks.values())
    return link


def _detail(value: Any) -> dict[str, Any]:
    """An event's detail without the values sealed with the case's key (notes, a caseworker's
    words, a withdrawal's reason): a dossier never opens them."""
    if isinstance(value, str):  # a pool without the jsonb codec
        value = json.loads(value)
    if not isinstance(value, dict):
        return {}
    return {name: item for name, item in value.items() if not (isinstance(item, str) and is_sealed(item))}


def _text(value: Any) -> str | None:
    """A recorded value as text: a string or a number; anything else (a list, an object) is not shown."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _laws(value: Any) -> list[str]:
    """``"take_it_down_act,dsa"`` (or a list of ids) -> the ids, as recorded."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(law).strip() for law in items if str(law).strip()]


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
