"""The per-link state machine: states, vocabularies and the transition table.

This module is the state diagram of docs/architecture.md in code; the workflow asks
it before every move, so an illegal transition is a bug caught in tests.
"""

from __future__ import annotations

from enum import StrEnum


class LinkState(StrEnum):
    REPORTED = "REPORTED"
    AWAITING_RESPONSE = "AWAITING_RESPONSE"
    FOLLOW_UP = "FOLLOW_UP"
    ESCALATED = "ESCALATED"
    REMOVED = "REMOVED"
    UNRESOLVED = "UNRESOLVED"
    WITHDRAWN = "WITHDRAWN"


class Category(StrEnum):
    """The source report's five platform categories, plus other."""

    PORNOGRAPHIC_SITE = "pornographic_site"
    SOCIAL_MEDIA = "social_media"
    SEARCH_ENGINE = "search_engine"
    CONTENT_FARM = "content_farm"
    IMAGE_HOST = "image_host"
    OTHER = "other"


class Channel(StrEnum):
    EMAIL = "email"
    FORM = "form"
    MANUAL = "manual"


class Escalation(StrEnum):
    HOST = "host"
    ADMIN = "admin"
    NONE = "none"


class ResponseOutcome(StrEnum):
    """What a platform replied, as a caseworker records it."""

    REMOVED = "removed"
    REJECTED = "rejected"
    ACKNOWLEDGED = "acknowledged"
    NEEDS_INFO = "needs-info"


class NoticeKind(StrEnum):
    INITIAL = "initial"
    FOLLOW_UP = "follow_up"
    ESCALATION_HOST = "escalation_host"
    ESCALATION_ADMIN = "escalation_admin"
    REPOST = "repost"
    REGULATOR = "regulator"  # a complaint to the regulator a law names, after the platform missed its deadline


class Verdict(StrEnum):
    """What a liveness check concluded. Only GONE counts as evidence of removal."""

    LIVE = "live"
    GONE = "gone"
    UNKNOWN = "unknown"


class EventKind(StrEnum):
    """What one row of a link's timeline records (``link_events.kind``). The values are
    what Temporal histories and the database hold: they never change."""

    TRANSITION = "transition"  # a move between states, with its reason
    LIVENESS = "liveness"  # a liveness check's verdict
    NOTICE = "notice"  # a notice sent (email, form) or filed by hand
    RESPONSE = "response"  # a platform's reply, as a caseworker recorded it
    CASEWORKER = "caseworker"  # a caseworker's action (pause, resume, escalate, ...)
    WAITING = "waiting"  # the link waits for a person (a manual filing, a contact)
    CONTACT_FOUND = "contact_found"  # an abuse contact found by DNS and RDAP
    CONTACT_LOOKUP_FAILED = "contact_lookup_failed"
    WATCH_ENDED = "watch_ended"  # the last repost re-check after a removal
    DELIVERY_FAILED = "delivery_failed"  # a notice that can never go out this way (SMTP 5xx, form 4xx, bad address)
    DELIVERY_DELAYED = "delivery_delayed"  # a notice still retrying after TADA_DELIVERY_WARN_AFTER
    REPLY = "reply"  # a platform's emailed reply, as the inbox classified it (tada/domain/replies.py)
    DEADLINE = "deadline"  # a legal clock: started, paused, resumed, met or missed (tada/domain/laws.py)


class CaseworkerActionKind(StrEnum):
    """What a caseworker can ask of a link (each one a workflow signal)."""

    RESPOND = "respond"
    PAUSE = "pause"
    RESUME = "resume"
    WITHDRAW = "withdraw"
    ESCALATE = "escalate"
    RECHECK = "recheck"
    REOPEN = "reopen"
    FILED = "filed"
    REPLY = "reply"  # the inbox telling a link of a reply; also a caseworker's emailed answer (tada link reply)
    ANSWERED = "answered"  # a caseworker answered the platform's request for information (the legal clock resumes)
    CASE_UPDATED = "case_updated"  # the case's facts changed (tada case authorise): a waiting notice is tried again


S = LinkState

#: Every legal move. WITHDRAWN is reachable from every non-terminal state.
TRANSITIONS: dict[LinkState, frozenset[LinkState]] = {
    S.REPORTED: frozenset({S.AWAITING_RESPONSE, S.REMOVED, S.WITHDRAWN}),
    S.AWAITING_RESPONSE: frozenset({S.FOLLOW_UP, S.ESCALATED, S.UNRESOLVED, S.REMOVED, S.WITHDRAWN}),
    S.FOLLOW_UP: frozenset({S.AWAITING_RESPONSE, S.ESCALATED, S.UNRESOLVED, S.REMOVED, S.WITHDRAWN}),
    S.ESCALATED: frozenset({S.UNRESOLVED, S.REMOVED, S.WITHDRAWN}),
    S.UNRESOLVED: frozenset({S.REMOVED, S.REPORTED, S.ESCALATED, S.WITHDRAWN}),
    S.REMOVED: frozenset({S.REPORTED, S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}

TERMINAL: frozenset[LinkState] = frozenset({S.WITHDRAWN})


class IllegalTransition(ValueError):
    def __init__(self, current: LinkState, target: LinkState) -> None:
        super().__init__(f"illegal transition {current} -> {target}")
        self.current = current
        self.target = target


def can_move(current: LinkState, target: LinkState) -> bool:
    return target in TRANSITIONS[current]


def check_move(current: LinkState, target: LinkState) -> None:
    if not can_move(current, target):
        raise IllegalTransition(current, target)
