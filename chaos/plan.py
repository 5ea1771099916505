"""What each chaos link is, and what must become of it.

A link is on one platform (chaos/world.py). Where a permanent failure leaves it waiting for
a person, the run's caseworker either acts (``act``: gives a new contact, or files the
notice by hand) or leaves it waiting to the end, when it must still say what it waits for.
A link withdrawn mid-run must end WITHDRAWN, having received nothing after that.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from chaos.world import Behaviour, Platform
from tada.domain.states import LinkState

S = LinkState
FOLLOW_UPS = 1
ESCALATIONS = 1

#: The transitions each behaviour implies (follow_ups = escalations = 1).
_TO_AWAIT = [(S.REPORTED, S.AWAITING_RESPONSE)]
_FOLLOW_UP = [(S.AWAITING_RESPONSE, S.FOLLOW_UP), (S.FOLLOW_UP, S.AWAITING_RESPONSE)]
_TO_ESCALATED = _TO_AWAIT + _FOLLOW_UP + [(S.AWAITING_RESPONSE, S.ESCALATED)]
EXPECTED_PATH: dict[Behaviour, list[tuple[LinkState, LinkState]]] = {
    Behaviour.NOTICE: _TO_AWAIT + [(S.AWAITING_RESPONSE, S.REMOVED)],
    Behaviour.FOLLOW_UP: _TO_AWAIT + _FOLLOW_UP + [(S.AWAITING_RESPONSE, S.REMOVED)],
    Behaviour.ESCALATION: _TO_ESCALATED + [(S.ESCALATED, S.REMOVED)],
    Behaviour.NEVER: _TO_ESCALATED + [(S.ESCALATED, S.UNRESOLVED)],
}
EXPECTED_NOTICES: dict[Behaviour, Counter] = {
    Behaviour.NOTICE: Counter({"initial": 1}),
    Behaviour.FOLLOW_UP: Counter({"initial": 1, "follow_up": 1}),
    Behaviour.ESCALATION: Counter({"initial": 1, "follow_up": FOLLOW_UPS, "escalation_admin": 1}),
    Behaviour.NEVER: Counter({"initial": 1, "follow_up": FOLLOW_UPS, "escalation_admin": ESCALATIONS}),
}
FINAL_STATE = {b: (S.UNRESOLVED if b == Behaviour.NEVER else S.REMOVED) for b in Behaviour}

#: What a waiting link's next action says, by what it waits for.
WAITS_FOR_CONTACT = "contact bounced"
WAITS_FOR_FILING = "by hand"


@dataclass
class LinkPlan:
    platform: Platform
    url: str
    case_id: str
    act: bool = True  # the run's caseworker acts on the link's wait (platforms that need one)
    burst: bool = False  # started during the slow relay, to be withdrawn mid-send (or not)
    withdrawn_at: float | None = None  # wall clock: when the run sent the withdrawal
    mid_send: bool = False  # withdrawn while its notice was being sent (claimed, relay held)


@dataclass
class Expect:
    state: LinkState
    path: list[tuple[LinkState, LinkState]]
    emails: Counter  # notices received (and recorded sent), by kind
    failed: Counter = field(default_factory=Counter)  # notices that failed for good, by kind
    filed: Counter = field(default_factory=Counter)  # notices a caseworker filed by hand, by kind
    waiting: str | None = None  # what the next action of a link left waiting must say

    @property
    def open(self) -> bool:
        """The workflow is still running at the end: on its re-check timer, or waiting."""
        return self.state in (S.UNRESOLVED, S.REPORTED, S.ESCALATED)


def expect(plan: LinkPlan) -> Expect:
    """The outcome of a link that is not withdrawn (a withdrawn one ends WITHDRAWN on a prefix of this)."""
    p, behaviour = plan.platform, plan.platform.behaviour
    if p.bounces:  # the platform's own address or form fails for good
        failed = Counter({"initial": 1})
        if not plan.act:
            waiting = WAITS_FOR_FILING if p.manual_route else WAITS_FOR_CONTACT
            return Expect(S.REPORTED, [], Counter(), failed, waiting=waiting)
        if p.manual_route:  # filed by hand: the platform takes it down as for a notice
            return Expect(FINAL_STATE[behaviour], EXPECTED_PATH[behaviour], Counter(), failed, Counter({"initial": 1}))
        # a new contact from the caseworker: the notice goes there
        return Expect(FINAL_STATE[behaviour], EXPECTED_PATH[behaviour], EXPECTED_NOTICES[behaviour], failed)
    if p.escalation_bounces:
        failed = Counter({"escalation_admin": 1})
        if not plan.act:
            emails = EXPECTED_NOTICES[behaviour] - Counter({"escalation_admin": ESCALATIONS})
            return Expect(S.ESCALATED, _TO_ESCALATED, emails, failed, waiting=WAITS_FOR_CONTACT)
        return Expect(FINAL_STATE[behaviour], EXPECTED_PATH[behaviour], EXPECTED_NOTICES[behaviour], failed)
    return Expect(FINAL_STATE[behaviour], EXPECTED_PATH[behaviour], EXPECTED_NOTICES[behaviour])


def settled(plan: LinkPlan, state: str, next_action: str | None) -> bool:
    """Whether a link is where it must end (a waiting one: and saying what it waits for)."""
    if plan.withdrawn_at is not None:
        return state == S.WITHDRAWN
    want = expect(plan)
    return state == want.state and (want.waiting is None or want.waiting in (next_action or ""))
