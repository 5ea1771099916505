"""``/console/links/{link}``: one link, everything ``tada link show`` shows, and every caseworker
action of ``tada link`` (and ``tada inbox classify`` for its replies) as a form.

The facts (its case, platform, category, host, state, next action and when), the URL as text
with a copy button (never a link), the live workflow's word when Temporal answers, the whole
timeline in order with each event's details in plain words, the text of every notice (rendered
again as it was sent, tada/app/notice_texts.py), the escalation contacts found and how (DNS and
RDAP), and the platform's replies with their classification and excerpt; the legal clock (its
law, its words now, its due time) and, while it is paused for the victim, "I answered the
platform" (a reply sent from the page answers too, as ``tada link reply`` does).

Each form POSTs to ``/console/links/{link}/ACTION`` with the session's CSRF token; the role is
checked (tada/domain/access.py) and the decision audited with the person's name before the use
case runs, the same one the CLI runs (tada/app/link_actions.py, tada/app/caseworker_reply.py,
tada/app/inbox_corrections.py); then 303 back to the page, which says what was done. A refusal
of the use case (a closed link, a bad address) shows the page again with why.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from temporalio.service import RPCError

from tada.api.context import context
from tada.app import link_actions
from tada.app.caseworker_reply import MAX_REPLY, record_sent, send_reply
from tada.app.console_sessions import ConsoleSession
from tada.app.inbox_corrections import correct_reply
from tada.app.notice_texts import notice_texts
from tada.app.readmodel import LinkDetail, LinkRow, link_timeline
from tada.clients.mailer import mailer_for
from tada.console.clock import STEP_NAMES, clock_text
from tada.console.i18n import N_, gettext_for
from tada.console.people import PATH, acting, allowed_to, check_csrf, may, signed_in
from tada.console.problems import problem_page
from tada.console.templating import page
from tada.domain.access import Action
from tada.domain.registry import Registry
from tada.domain.replies import ReplyKind
from tada.domain.states import EventKind, ResponseOutcome
from tada.domain.victim_data import MAX_NOTE
from tada.errors import InvalidInput, LinkNotFound, TadaError

router = APIRouter()

#: What the page says after each action (translated when shown).
DONE = {
    "respond": N_("The platform's reply is recorded. The timeline shows what the link did with it."),
    "escalate": N_("The contact is given to the link: it escalates to it."),
    "pause": N_("The link is paused: its timers wait until you resume it."),
    "resume": N_("The link is resumed: its timers continue where they stopped."),
    "recheck": N_("A check of whether the content is still up was asked for."),
    "reopen": N_("The link was asked to start again from reported."),
    "filed": N_("Your manual filing is recorded."),
    "withdraw": N_("The link is withdrawn: nothing more is sent for it."),
    "reply": N_("Your reply was sent to the platform. Its answer comes back to this link."),
    "classify": N_("The reply's classification is corrected, and the link is told again."),
    "answered": N_("The platform's request is answered: the link's legal clock runs again."),
}
#: The actions without anything but the link, by the path's last part.
BARE = {
    "pause": Action.LINK_PAUSE,
    "resume": Action.LINK_RESUME,
    "recheck": Action.LINK_RECHECK,
    "reopen": Action.LINK_REOPEN,
    "filed": Action.LINK_FILED,
    "answered": Action.LINK_ANSWERED,
}
#: A timeline event's kind as a heading (translated when shown).
EVENT_TITLES = {
    EventKind.TRANSITION: N_("State changed"),
    EventKind.LIVENESS: N_("Checked whether the content is up"),
    EventKind.NOTICE: N_("Notice sent"),
    EventKind.RESPONSE: N_("Platform's reply recorded by a caseworker"),
    EventKind.CASEWORKER: N_("Caseworker action"),
    EventKind.WAITING: N_("Waiting for a person"),
    EventKind.CONTACT_FOUND: N_("Escalation contact found"),
    EventKind.CONTACT_LOOKUP_FAILED: N_("Looking up the host's contacts failed"),
    EventKind.WATCH_ENDED: N_("Watch for reposts ended"),
    EventKind.DELIVERY_FAILED: N_("Notice could not be delivered"),
    EventKind.DELIVERY_DELAYED: N_("Notice delayed"),
    EventKind.REPLY: N_("Platform's email reply"),
    EventKind.DEADLINE: N_("Legal clock"),
}
#: A detail's name in plain words (translated when shown); names not listed are shown as they are.
DETAIL_LABELS = {
    "reason": N_("Why"),
    "verdict": N_("Finding"),
    "http_status": N_("HTTP status"),
    "check": N_("Check"),
    "kind": N_("Kind"),
    "channel": N_("Sent by"),
    "recipient": N_("Sent to"),
    "notice_key": N_("Notice"),
    "batch_size": N_("URLs in the same notice"),
    "outcome": N_("Outcome"),
    "note": N_("Note"),
    "action": N_("Action"),
    "ignored": N_("Not done"),
    "for": N_("Waiting for"),
    "source": N_("Found by"),
    "email": N_("Address"),
    "name": N_("Name"),
    "instructions": N_("Instructions"),
    "address": N_("IP address"),
    "network": N_("Network"),
    "rdap_server": N_("RDAP server"),
    "entity_handle": N_("RDAP entity"),
    "host": N_("Host"),
    "rechecks": N_("Re-checks done"),
    "confidence": N_("Confidence"),
    "rule": N_("Rule"),
    "matched_by": N_("Matched by"),
    "reply": N_("Reply"),
    "received_at": N_("Received"),
    "review": N_("Review"),
    "answering": N_("Answering"),
    "text": N_("Text"),
    "where": N_("Where"),
    "code": N_("Code"),
    "message": N_("Message"),
    "law": N_("Law"),
    "laws": N_("Laws cited"),
    "deadline": N_("Deadline"),
    "step": N_("Step"),
    "due_at": N_("Due"),
    "route": N_("Route"),
    "regulator": N_("Regulator"),
}
#: Details whose value is long text a person wrote: shown as a block, line breaks kept.
LONG_TEXT = frozenset({"note", "text", "instructions"})
#: How a contact was found, in plain words.
CONTACT_SOURCES = {
    "registry": N_("the platform registry"),
    "host": N_("DNS and RDAP: the network hosting the site"),
    "registrar": N_("RDAP: the domain's registrar"),
    "cdn": N_("the CDN in front of the site"),
    "caseworker": N_("a caseworker"),
}
#: What a contact_found event may record (workflows/link.py ``_look_up_host_contacts``).
CONTACT_FIELDS = (
    "kind",
    "source",
    "email",
    "name",
    "instructions",
    "address",
    "network",
    "rdap_server",
    "entity_handle",
)
OUTCOMES = [outcome.value for outcome in ResponseOutcome]
REPLY_KINDS = [kind.value for kind in ReplyKind]
#: The choices of the forms in plain words (translated when shown).
CHOICE_LABELS = {
    "removed": N_("Removed: the platform took it down"),
    "rejected": N_("Rejected: the platform refused"),
    "acknowledged": N_("Acknowledged: the platform is looking at it"),
    "needs-info": N_("Needs information: the platform asks for more"),
    "needs_info": N_("Needs information: the platform asks for more"),
    "auto_reply": N_("An automatic reply"),
    "bounce": N_("A bounce: the email did not arrive"),
    "other": N_("Something else"),
}


def _link_path(link_id: str) -> str:
    return f"{PATH}/links/{link_id}"


@router.get("/links/{link_id}")
async def link_page(request: Request, link_id: str, done: str = "") -> Response:
    person = await signed_in(request)
    await allowed_to(request, person, Action.READ, link_id, record_allowed=True)
    _ = gettext_for(person.language)
    notice = _(DONE[done]) if done in DONE else ""
    return await _render(request, person, link_id, notice=notice)


async def _render(
    request: Request, person: ConsoleSession, link_id: str, *, notice: str = "", problem: str = "", status: int = 200
) -> Response:
    tada = context(request)
    _ = gettext_for(person.language)
    try:
        detail = await link_timeline(tada.pool, link_id, tada.crypto)
    except LinkNotFound:
        message = _("There is no link %(link)s. Check the id, or find the link from its case.") % {"link": link_id}
        return problem_page(request, 404, N_("No such link"), message)
    live, live_problem = await link_actions.live_status(tada.client, link_id)
    texts = await notice_texts(
        tada.pool, tada.crypto, tada.registry, detail,
        notifier_name=tada.settings.notifier_name, notice_from=tada.settings.notice_from,
        notifier_title=tada.settings.notifier_title,
    )  # fmt: skip
    return page(
        person.language, "link.html.j2", zone=tada.settings.timezone, status_code=status, person=person,
        here="link", notice=notice, problem=problem, detail=detail, link=detail.link, live=live,
        live_problem=live_problem, events=[_event(event) for event in detail.events], texts=texts,
        contacts=_contacts(detail), may={action.value: may(person, action) for action in Action},
        outcomes=OUTCOMES, reply_kinds=REPLY_KINDS, max_note=MAX_NOTE, max_reply=MAX_REPLY,
        event_titles=EVENT_TITLES, labels=DETAIL_LABELS, contact_sources=CONTACT_SOURCES, choices=CHOICE_LABELS,
        legal_clock=_clock(tada.registry, detail.link, _),
    )  # fmt: skip


def _clock(registry: Registry, link: LinkRow, gettext: Callable[[str], str]) -> dict[str, str] | None:
    """The link's legal clock for the page: its law's name (the registry's; an id it does not
    define, as it is), its words now and its last step, in the reader's language."""
    found = clock_text(link.deadline_step, link.deadline_due_at, link.state, datetime.now(UTC), gettext)
    if found is None or link.deadline_step is None:
        return None
    law = registry.laws.get(link.deadline_law or "")
    step = link.deadline_step
    return {
        "law": law.name if law else (link.deadline_law or "-"), "words": found[1], "kind": found[0],
        "step": gettext(STEP_NAMES[step]) if step in STEP_NAMES else step,
    }  # fmt: skip


def _event(event: Any) -> dict[str, Any]:
    """An event for the template: its details in order, each marked long text or not."""
    details = [(name, "" if value is None else str(value), name in LONG_TEXT) for name, value in event.detail.items()]
    return {"event": event, "details": details}


def _contacts(detail: LinkDetail) -> list[dict[str, Any]]:
    """The escalation contacts the timeline recorded: found (DNS and RDAP, the registry) or
    given by a caseworker (whose address the escalation notice's row holds)."""
    contacts = []
    for event in detail.events:
        found = event.kind == EventKind.CONTACT_FOUND.value
        given = event.kind == EventKind.CASEWORKER.value and event.detail.get("action") == "escalate"
        if found or (given and "ignored" not in event.detail):
            values = {name: str(event.detail.get(name) or "") for name in CONTACT_FIELDS}
            contacts.append({"event": event, **values, "source": values["source"] or "caseworker"})
    return contacts


async def _act(request: Request, person: ConsoleSession, link_id: str, done: str, run: Any) -> Response:
    """Run a use case; 303 to the page saying what was done, or the page again saying why not."""
    _ = gettext_for(person.language)
    try:
        await run()
    except TadaError as error:
        status = error.http_status if 400 <= error.http_status < 500 else 503
        return await _render(request, person, link_id, problem=error.message, status=status)
    except RPCError:
        problem = _("Temporal cannot be reached just now, so nothing was done. Try again in a minute.")
        return await _render(request, person, link_id, problem=problem, status=503)
    return RedirectResponse(f"{_link_path(link_id)}?done={done}", status_code=303)


@router.post("/links/{link_id}/respond")
async def respond(
    request: Request, link_id: str, outcome: str = Form(""), note: str = Form(""), csrf: str = Form("")
) -> Response:
    person = await acting(request, csrf, Action.LINK_RESPOND, link_id, record_allowed=True)
    tada = context(request)

    async def run() -> None:
        if outcome not in OUTCOMES:
            raise InvalidInput(f"the outcome is one of {', '.join(OUTCOMES)}")
        await link_actions.respond(tada.pool, tada.client, link_id, ResponseOutcome(outcome), note.strip() or None)

    return await _act(request, person, link_id, "respond", run)


@router.post("/links/{link_id}/escalate")
async def escalate(
    request: Request, link_id: str, email: str = Form(""), kind: str = Form(""), csrf: str = Form("")
) -> Response:
    person = await acting(request, csrf, Action.LINK_ESCALATE, link_id, record_allowed=True)
    tada = context(request)

    async def run() -> None:
        if kind not in {k.value for k in link_actions.CONTACT_KINDS}:
            raise InvalidInput("an escalation contact is the site's host or the channel's admin")
        await link_actions.escalate(tada.pool, tada.client, link_id, email, kind)

    return await _act(request, person, link_id, "escalate", run)


@router.post("/links/{link_id}/withdraw")
async def withdraw(request: Request, link_id: str, reason: str = Form(""), csrf: str = Form("")) -> Response:
    person = await acting(request, csrf, Action.LINK_WITHDRAW, link_id, record_allowed=True)
    tada = context(request)

    async def run() -> None:
        await link_actions.withdraw(tada.pool, tada.client, link_id, reason.strip() or None)

    return await _act(request, person, link_id, "withdraw", run)


@router.post("/links/{link_id}/reply")
async def reply(request: Request, link_id: str, text: str = Form(""), csrf: str = Form("")) -> Response:
    person = await acting(request, csrf, Action.LINK_REPLY, link_id, record_allowed=True)
    tada = context(request)

    async def run() -> None:
        settings = tada.settings
        sent = await send_reply(
            tada.pool, tada.crypto, mailer_for(settings), tada.registry, link_id=link_id, text=text,
            notice_from=settings.notice_from, reply_to=settings.reply_to,
        )  # fmt: skip
        await record_sent(tada.pool, person.role, sent, actor_name=person.name)
        await link_actions.answered_if_paused(tada.pool, tada.client, link_id)  # its legal clock runs again

    return await _act(request, person, link_id, "reply", run)


@router.post("/links/{link_id}/replies/{reply_id}/classify")
async def classify(
    request: Request, link_id: str, reply_id: int, kind: str = Form(""), csrf: str = Form("")
) -> Response:
    person = await acting(request, csrf, Action.INBOX_CLASSIFY, link_id, record_allowed=True)
    tada = context(request)

    async def run() -> None:
        await correct_reply(tada.pool, tada.client, reply_id, kind, actor_role=person.role, actor_name=person.name)

    return await _act(request, person, link_id, "classify", run)


@router.post("/links/{link_id}/{name}")
async def bare(request: Request, link_id: str, name: str, csrf: str = Form("")) -> Response:
    """Pause, resume, recheck, reopen, filed, answered."""
    person = await signed_in(request)
    check_csrf(person, csrf)
    if name not in BARE:
        problem = gettext_for(person.language)("There is no such action.")
        return await _render(request, person, link_id, problem=problem, status=404)
    action = BARE[name]
    tada = context(request)
    await allowed_to(request, person, action, link_id, record_allowed=True)

    async def run() -> None:
        await link_actions.bare(tada.pool, tada.client, link_id, action)

    return await _act(request, person, link_id, name, run)
