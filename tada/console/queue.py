"""``/console/``, "Needs me": everything waiting for a person, oldest first, each with the one
action that clears it (tada/app/needs.py says what waits):

- a manual filing: where to file, the URL and the notice text to copy, and "I filed it"; a
  complaint to the regulator the same way, with the regulator's page; a filing citing a law whose
  elements the case lacks: why, and the way to the case's authorisation form instead;
- a contact to supply (the host's or admin's, or the platform's after a bounce), and a
  notice that can never reach its recipient: a form for another contact; a notice refused as
  incomplete (a law it cites needs what the case lacks): why, and the way to the authorisation;
- a removal the platform claims while the page is still there: check again;
- an UNRESOLVED link: start again, or stop;
- a reply to read, and the holding pen: to the link's page, or give the reply to its link.

Every action goes through the use case the CLI uses (tada/app/link_actions.py,
tada/app/inbox_corrections.py), checks the role, is audited with the person's name, and comes
back here with what was done.
"""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tada.api.context import context
from tada.app import link_actions
from tada.app.caseworker import LinkClosed
from tada.app.inbox_corrections import assign_reply
from tada.app.manual_filing import ManualFiling, manual_filing
from tada.app.needs import Need, NeedKind, needs_me
from tada.console.i18n import N_, gettext_for
from tada.console.people import allowed_to, audit, audit_target, check_csrf, may, signed_in
from tada.console.templating import page
from tada.domain.access import Action
from tada.domain.delivery import INCOMPLETE_NOTICE
from tada.domain.states import EventKind
from tada.domain.victim_data import InvalidField
from tada.errors import NotFound

router = APIRouter()

#: Items the page shows at once (the oldest): each manual filing renders its notice for the page.
SHOWN = 50

#: What the page says after an action (translated when shown).
DONE = {
    "filed": N_("Recorded as filed: tada follows the link on from here."),
    "escalate": N_("Contact given: tada writes to it now."),
    "recheck": N_("Checking the page again now."),
    "reopen": N_("Started again from the first notice."),
    "withdraw": N_("Withdrawn: nothing more is sent for this link."),
    "assign": N_("The reply was given to its link."),
    "closed": N_("That link is closed: nothing was sent."),
    "not_found": N_("No such link or message."),
    "bad_contact": N_("That is not an address tada can write to."),
}
_ACTIONS = {
    "filed": Action.LINK_FILED,
    "recheck": Action.LINK_RECHECK,
    "reopen": Action.LINK_REOPEN,
}
_OTHERS = {"escalate": Action.LINK_ESCALATE, "withdraw": Action.LINK_WITHDRAW, "assign": Action.INBOX_ASSIGN}


@router.get("/")
async def needs_me_page(request: Request, done: str = "") -> Response:
    person = await signed_in(request)
    tada = context(request)
    queue = await needs_me(tada.pool, limit=SHOWN)  # oldest first; each filing's text is rendered for it
    filings: dict[str, ManualFiling] = {}
    for item in queue.items:
        if item.kind == NeedKind.FILING and item.link_id:
            try:
                filings[item.link_id] = await manual_filing(
                    tada.pool, tada.crypto, tada.registry, tada.settings, item.link_id
                )
            except NotFound:
                continue
    _ = gettext_for(person.language)
    lacking = await _lacking(tada.pool, queue.items)
    return page(
        person.language, "queue.html.j2", zone=tada.settings.timezone, person=person, here="queue",
        items=queue.items, counts=queue.counts, total=queue.total, filings=filings, shown=SHOWN, lacking=lacking,
        can={name: may(person, action) for name, action in {**_ACTIONS, **_OTHERS}.items()},
        notice=_(DONE[done]) if done in DONE else "",
    )  # fmt: skip


async def _lacking(pool: asyncpg.Pool, items: list[Need]) -> dict[str, str]:
    """Why each notice refused as incomplete waits (a law it cites needs what the case lacks:
    the element and how to supply it, as its delivery_failed event says), by link."""
    link_ids = [
        item.link_id for item in items
        if item.kind == NeedKind.DELIVERY and item.link_id and (item.what or "").split()[-1:] == [INCOMPLETE_NOTICE]
    ]  # fmt: skip
    if not link_ids:
        return {}
    rows = await pool.fetch(
        """SELECT DISTINCT ON (link_id) link_id, detail->>'reason' AS reason FROM link_events
            WHERE link_id = ANY($1::text[]) AND kind = $2 ORDER BY link_id, event_id DESC""",
        link_ids, EventKind.DELIVERY_FAILED.value,
    )  # fmt: skip
    return {row["link_id"]: row["reason"] or "" for row in rows}


@router.post("/queue/{action}")
async def act(
    request: Request,
    action: str,
    csrf: str = Form(""),
    link: str = Form(""),
    email: str = Form(""),
    kind: str = Form("host"),
    reason: str = Form(""),
    message: int = Form(0),
) -> Response:
    person = await signed_in(request)
    check_csrf(person, csrf)
    tada = context(request)
    done = action
    try:
        if action in _ACTIONS:
            await allowed_to(request, person, _ACTIONS[action], link)
            await link_actions.bare(tada.pool, tada.client, link, _ACTIONS[action])
            await audit(request, person, _ACTIONS[action], audit_target(link))
        elif action == "escalate":
            await allowed_to(request, person, Action.LINK_ESCALATE, link)
            await link_actions.escalate(tada.pool, tada.client, link, email, kind)
            await audit(request, person, Action.LINK_ESCALATE, audit_target(link))
        elif action == "withdraw":
            await allowed_to(request, person, Action.LINK_WITHDRAW, link)
            await link_actions.withdraw(tada.pool, tada.client, link, reason or None)
            await audit(request, person, Action.LINK_WITHDRAW, audit_target(link))
        elif action == "assign":
            await allowed_to(request, person, Action.INBOX_ASSIGN, link)
            await assign_reply(
                tada.pool, tada.crypto, tada.client, tada.settings, message, link.strip(),
                actor_role=person.role, registry=tada.registry,
            )  # fmt: skip
            await audit(request, person, Action.INBOX_ASSIGN, audit_target(link.strip()), reason=f"message {message}")
        else:
            done = "not_found"
    except LinkClosed:
        done = "closed"
    except NotFound:
        done = "not_found"
    except (InvalidField, ValueError):
        done = "bad_contact"
    return RedirectResponse(f"/console/?done={done}", status_code=303)
