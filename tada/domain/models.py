"""pydantic models that cross the workflow/activity boundary.

Workflow inputs, signal and query payloads and activity arguments all live here
so that workflows, activities, the CLI and tests share one vocabulary. No URL
travels through Temporal: activities look the URL up by ``link_id``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from tada.domain.abuse_contacts import AbuseContact
from tada.domain.delivery import DeliveryFailure
from tada.domain.laws import DEFAULT_DEADLINE_GRACE, LawTerms
from tada.domain.replies import PlatformReply
from tada.domain.states import (
    CaseworkerActionKind,
    Category,
    Channel,
    Escalation,
    EventKind,
    LinkState,
    NoticeKind,
    ResponseOutcome,
    Verdict,
)


class Timings(BaseModel):
    """Every delay of a link's life; from the platform registry."""

    follow_up_after: timedelta = timedelta(days=3)
    follow_ups: int = Field(default=2, ge=0)
    escalate_after: timedelta = timedelta(days=7)
    escalations: int = Field(default=2, ge=0)
    recheck_schedule: list[timedelta] = Field(default_factory=lambda: [timedelta(days=d) for d in (1, 7, 30, 90)])
    unresolved_recheck: timedelta = timedelta(days=30)
    #: How long to gather a case's notices to one recipient into one notice listing them all ("0s": no batching).
    batch_window: timedelta = timedelta(seconds=60)
    #: A "gone" verdict moves the link to REMOVED only when a second check this much later agrees ("0s": at once).
    confirm_gone_after: timedelta = timedelta(minutes=30)
    #: How long after a legal deadline tada checks and follows up (each law may set its own).
    deadline_grace: timedelta = DEFAULT_DEADLINE_GRACE


class PlatformPolicy(BaseModel):
    """How to deal with one platform: resolved from the registry when a link is added."""

    name: str
    category: Category = Category.OTHER
    channel: Channel = Channel.EMAIL
    email: str | None = None
    form_url: str | None = None
    form_fields: dict[str, str] = Field(default_factory=dict)
    manual_instructions: str | None = None
    escalation: Escalation = Escalation.HOST
    escalation_email: str | None = None
    removed_markers: list[str] = Field(default_factory=list)
    language: str | None = None  # overrides the case's language for notices
    timings: Timings = Field(default_factory=Timings)
    #: False for a site the registry does not list (its name is then its domain, which Temporal
    #: must not index: tada/domain/search.py). Inputs from before default to listed.
    listed: bool = True
    #: The laws that bind the platform for the link's case (tada/domain/laws.py): the notices cite
    #: them, the first deadline among them is the link's clock. None: an input from before laws were
    #: in the registry (no clock; its notices cite the laws of the case's place, as they did).
    laws: list[LawTerms] | None = None
    #: The registry allows a 17 U.S.C. § 512(c)(3) notice when the victim made the image (and where to send it).
    copyright_route: bool = False
    copyright_email: str | None = None


class EscalationContact(BaseModel):
    email: str | None = None  # None: a web form only (a CDN's abuse process), filed by hand
    kind: Escalation  # host or admin
    source: str = "caseworker"  # caseworker | registry | host | registrar | cdn
    name: str | None = None
    instructions: str | None = None


class PlatformResponse(BaseModel):
    """A platform's reply, recorded by a caseworker (``tada link respond``)."""

    outcome: ResponseOutcome
    note: str | None = None


class CaseUpdate(BaseModel):
    """A case's facts changed (``tada case authorise``): a notice waiting for them is tried again."""

    victim_made_image: bool = False


class CaseworkerAction(BaseModel):
    """One signal from a caseworker, queued for the workflow's main loop."""

    action: CaseworkerActionKind
    response: PlatformResponse | None = None
    contact: EscalationContact | None = None
    reason: str | None = None
    reply: PlatformReply | None = None
    update: CaseUpdate | None = None


class LegalClock(BaseModel):
    """A link's legal deadline (tada/domain/laws.py): from the delivery of the request that
    started it, paused while the platform waits on the victim."""

    law: str  # the law's id
    deadline: timedelta
    grace: timedelta
    started_at: datetime  # the request's delivery: the relay's acceptance, the form's 2xx, "filed"
    due_at: datetime  # moved on by each pause's length
    paused_at: datetime | None = None
    ended: str | None = None  # "met" | "missed"


class LinkCarry(BaseModel):
    """Everything a link workflow carries across continue-as-new."""

    state: LinkState = LinkState.REPORTED
    cycle: int = 1
    seq: int = 0
    notices_sent: int = 0
    follow_ups_sent: int = 0
    escalations_sent: int = 0
    recheck_index: int = 0
    checking_escalation: bool = False  # an escalation went out; its re-check is due next
    next_action: str = "start"
    next_action_at: datetime | None = None
    paused_remaining: timedelta | None = None
    paused: bool = False
    escalation_contact: EscalationContact | None = None
    contacts_looked_up: bool = False
    found_contacts: list[AbuseContact] = Field(default_factory=list)
    previous_removal_at: datetime | None = None
    inbox: list[CaseworkerAction] = Field(default_factory=list)
    #: Addresses (and form hosts) that failed for good: never written to again in this link's life.
    bounced: list[str] = Field(default_factory=list)
    #: A caseworker's address for the platform, after the registry's bounced.
    platform_email: str | None = None
    #: The inbox's replies already heard (by id, the last 500): one told twice counts once.
    replies_heard: list[int] = Field(default_factory=list)
    #: The legal deadline of this cycle's request, if a law that binds the platform sets one.
    clock: LegalClock | None = None
    #: This cycle's complaint to the regulator went out (filed by hand): once a cycle.
    regulator_filed: bool = False
    #: The victim made the image (tada case open --victim-made-image): the copyright route is open.
    victim_made_image: bool | None = None


class LinkInput(BaseModel):
    case_id: str
    link_id: str
    host: str = ""  # the web host (never the URL): for DNS and RDAP at escalation
    language: str = "en"
    policy: PlatformPolicy
    carry: LinkCarry | None = None
    #: The case says the victim made the image (the copyright route, where the registry allows it).
    victim_made_image: bool = False


class LinkStatus(BaseModel):
    """What the workflow's ``status`` query returns."""

    link_id: str
    case_id: str
    state: LinkState
    cycle: int
    paused: bool
    next_action: str
    next_action_at: datetime | None
    notices_sent: int
    follow_ups_sent: int
    escalations_sent: int
    escalation_contact_known: bool
    platform: str
    category: Category
    clock: LegalClock | None = None


# --- activity arguments and results -------------------------------------------------


class LivenessRequest(BaseModel):
    link_id: str
    removed_markers: list[str] = Field(default_factory=list)
    #: The second check that confirms a "gone": asked as a visitor's browser would ask, so a
    #: site that answers tada alone with a 404 or a redirect home is not believed.
    confirming: bool = False


class LivenessResult(BaseModel):
    verdict: Verdict
    reason: str
    http_status: int | None = None


class NoticeRequest(BaseModel):
    notice_key: str  # unique: link_id:cycle:step
    link_id: str
    case_id: str
    cycle: int
    kind: NoticeKind
    channel: Channel
    recipient: str | None = None  # email address, or None for form/manual
    form_url: str | None = None
    form_fields: dict[str, str] = Field(default_factory=dict)
    platform: str
    language: str = "en"
    follow_up_number: int = 0
    previous_removal_at: datetime | None = None
    batch_window: timedelta = timedelta(seconds=60)
    #: The ids of the laws the notice cites (the registry words them); their elements must be supplied.
    #: None: a link started before laws were in the registry: the laws of the case's place that bind every platform.
    laws: list[str] | None = None
    #: "copyright": a 17 U.S.C. § 512(c)(3) notice (the victim made the image, the registry allows it).
    route: str | None = None
    #: A follow-up after a missed deadline: the law, and when its request was delivered.
    missed_law: str | None = None
    missed_request_at: datetime | None = None


class NoticeReceipt(BaseModel):
    notice_key: str
    sent_now: bool  # False when an earlier attempt had already sent it
    channel: Channel
    recipient: str | None = None
    message_id: str | None = None


class NoticeBatchKey(BaseModel):
    """Notices of one case for one recipient (an address, or a form) go out together."""

    case_id: str
    channel: Channel
    recipient: str  # email address, or the form's address
    window: timedelta = timedelta(seconds=60)


class NoticeBatch(BaseModel):
    """One email (or form submission) listing every link in ``items``; all of one kind."""

    items: list[NoticeRequest]


class NoticeSent(BaseModel):
    """Sent back to each link workflow once its notice went out."""

    notice_key: str
    message_id: str | None = None
    recipient: str | None = None
    batch_size: int = 1


class NoticeFailed(BaseModel):
    """Sent back to each link workflow whose notice can never go out as it is."""

    notice_key: str
    failure: DeliveryFailure


class LinkEvent(BaseModel):
    """One append-only row of a link's timeline."""

    event_key: str  # unique: link_id:cycle:seq
    link_id: str
    case_id: str
    cycle: int
    kind: EventKind
    from_state: LinkState | None = None
    to_state: LinkState | None = None
    detail: dict[str, str] = Field(default_factory=dict)
    occurred_at: datetime
    next_action: str | None = None
    next_action_at: datetime | None = None
