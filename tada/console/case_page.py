"""``/console/cases/{case}``: one case, its facts and every link, sortable (``?sort=``) and
filterable (``?state=``, ``?platform=``) without any script; and what can be done from it:

- bulk actions on the links ticked (withdraw, pause, resume, recheck, escalate to a contact,
  mark filed): the signal ``tada link ACTION`` sends, to each link, the role checked for the
  action as for the CLI's command, each link audited with the person's name and its outcome
  shown after (done, closed, not found);
- adding links (ops) by paste or CSV upload, read by the parser ``tada links import`` uses:
  every bad line named with its number and reason, the good ones started, with a progress bar
  (the page reloads itself until the import is done);
- withdrawing the case (ops) and purging it (ops), each after typing the case id to confirm,
  through the same use cases as ``tada case withdraw`` and ``tada case purge``.

A URL is text with a copy button, never a link. Logs and the audit name ids only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from tada.api.context import context
from tada.app.bulk_links import BULK_ACTIONS, MAX_BULK, bulk_request, signal_links
from tada.app.case_purge import purge_case
from tada.app.case_view import SORTS, case_view, chosen_links, shown_link_ids
from tada.app.caseworker import withdraw_case
from tada.app.console_sessions import ConsoleSession
from tada.app.intake import add_links
from tada.console.case_jobs import BulkResult, ImportJob, keep, kept, run_import, settle
from tada.console.clock import is_overdue
from tada.console.i18n import N_, STATE_NAMES, gettext_for
from tada.console.link_table import link_rows
from tada.console.people import acting, allowed_to, audit, audit_target, check_csrf, may, require, signed_in
from tada.console.problems import problem_page
from tada.console.templating import page
from tada.domain.access import Action
from tada.domain.intake import ImportTooLarge, parse_link_file
from tada.domain.states import LinkState
from tada.domain.victim_data import check_note
from tada.errors import CaseNotFound, InvalidInput, Refused

router = APIRouter()

#: How long an import's POST waits for it to finish before showing its progress page.
SETTLE_SECONDS = 2.0
#: How often an unfinished import's page reloads itself.
RELOAD_SECONDS = 2
#: A form field's most for a person who may not import (Starlette's default; their body is capped lower).
FIELD_BYTES = 1024 * 1024
#: What a link id can look like (a case id and a keyed hash): anything else is audited as the case.
#: The notices a redirect asks for (``?done=``), as the page words them.
DONE = {
    "opened": N_("Case opened. Add its links below."),
    "withdrawn": N_("Case withdrawn: every link was told to stop. Nothing more will be sent."),
    "purged": N_("Case purged: its reference, notes and link addresses are erased for good."),
    "authorised": N_("The case's authorisation is recorded; its links are told, so a notice waiting for it goes out."),
}
#: The bulk actions as the form names them, in the form's order.
BULK_NAMES = {
    "withdraw": N_("Withdraw (stop chasing; nothing more is sent)"),
    "pause": N_("Pause"),
    "resume": N_("Resume"),
    "recheck": N_("Check again now"),
    "escalate": N_("Escalate to a contact"),
    "filed": N_("Mark filed (I filed the report by hand)"),
}
assert set(BULK_NAMES) == set(BULK_ACTIONS)
SORT_NAMES = {
    "added": N_("Added"), "state": N_("State"), "platform": N_("Platform"), "category": N_("Category"),
    "host": N_("Host"), "next": N_("Next action"), "notices": N_("Notices sent"),
}  # fmt: skip
assert set(SORT_NAMES) == set(SORTS)


def _no_case(request: Request, person: ConsoleSession, case_id: str) -> Response:
    _ = gettext_for(person.language)
    return problem_page(request, 404, N_("No such case"), _("There is no case %(case)s.") % {"case": case_id})


@router.get("/cases/{case_id}")
async def case(
    request: Request,
    case_id: str,
    state: str = "",
    platform: str = "",
    sort: str = "added",
    done: str = "",
    deadline: str = "",
) -> Response:
    person = await signed_in(request)
    require(person, Action.READ)
    return await case_page_response(
        request, person, case_id, state=state, platform=platform, sort=sort, done=done, deadline=deadline
    )


async def case_page_response(
    request: Request,
    person: ConsoleSession,
    case_id: str,
    *,
    state: str = "",
    platform: str = "",
    sort: str = "added",
    done: str = "",
    deadline: str = "",
    problem: str = "",
    typed: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The case's page; with ``problem`` (in the reader's words) shown at its authorisation form,
    which keeps what was ``typed``."""
    tada = context(request)
    try:
        view = await case_view(tada.pool, tada.crypto, case_id)
    except CaseNotFound:
        return _no_case(request, person, case_id)
    recorded = await tada.pool.fetchrow(
        "SELECT authorised_on, victim_made_image FROM cases WHERE case_id = $1", case_id
    )  # the case's legal facts (tada/app/case_authorisation.py records them)
    shown = chosen_links(view.links, state=state, platform=platform, sort=sort)
    deadline = "overdue" if deadline == "overdue" else ""
    if deadline:  # only the links whose legal clock ran out with the page still up
        now = datetime.now(UTC)
        shown = [link for link in shown if is_overdue(link.deadline_step, link.deadline_due_at, link.state, now)]
    _ = gettext_for(person.language)
    authorised_on = recorded["authorised_on"] if recorded else None
    made = bool(recorded["victim_made_image"]) if recorded else False
    as_recorded = {"authorised_on": authorised_on.isoformat() if authorised_on else "", "victim_made_image": made}
    authorisation = {
        "authorised_on": authorised_on, "victim_made_image": made, "problem": problem, "typed": typed or as_recorded,
    }  # fmt: skip
    return page(
        person.language, "case.html.j2", zone=tada.settings.timezone, status_code=status, person=person,
        here="cases", view=view, links=shown, state=state, platform=platform,
        sort=sort if sort.removeprefix("-") in SORTS else "added",
        sort_names=SORT_NAMES, states=[s.value for s in LinkState], bulk_names=_offered(person),
        notice=_(DONE[done]) if done in DONE else "", sort_href=_sort_href(case_id, state, platform, sort, deadline),
        may_import=may(person, Action.LINKS_IMPORT) and view.case.status == "open",
        may_withdraw=may(person, Action.CASE_WITHDRAW) and view.case.status == "open",
        may_purge=may(person, Action.CASE_PURGE) and view.case.status != "open" and not view.case.purged,
        may_authorise=may(person, Action.CASE_AUTHORISE) and view.case.status == "open" and not view.case.purged,
        may_dossier=may(person, Action.CASE_DOSSIER) and not view.case.purged, authorisation=authorisation,
        max_body_kib=tada.settings.console_max_import_bytes // 1024, link_rows=link_rows,
        state_labels={value: _(label) for value, label in STATE_NAMES.items()}, deadline=deadline, words_of=_,
    )  # fmt: skip


def _offered(person: ConsoleSession) -> dict[str, str]:
    """The bulk actions this person's role may do."""
    return {name: label for name, label in BULK_NAMES.items() if may(person, BULK_ACTIONS[name])}


def _sort_href(case_id: str, state: str, platform: str, current: str, deadline: str = ""):
    """The address of the case page sorted by ``name`` (again: reversed), keeping the filters."""

    def href(name: str) -> str:
        chosen = f"-{name}" if current == name else name
        filters = (("state", state), ("platform", platform), ("deadline", deadline))
        query = {key: value for key, value in filters if value}
        return f"/console/cases/{case_id}?" + urlencode({**query, "sort": chosen})

    return href


# --- bulk actions ---------------------------------------------------------------------------


@router.post("/cases/{case_id}/links")
async def bulk(
    request: Request,
    case_id: str,
    action: str = Form(""),
    link: Annotated[list[str] | None, Form()] = None,
    to: str = Form(""),
    kind: str = Form(""),
    reason: str = Form(""),
    every: str = Form(""),
    state: str = Form(""),
    platform: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    person = await signed_in(request)
    check_csrf(person, csrf)
    tada = context(request)
    _ = gettext_for(person.language)
    chosen = BULK_ACTIONS.get(action)
    if chosen is None:
        return problem_page(request, 422, N_("Choose an action"), _("Choose what to do to the links ticked."))
    await allowed_to(request, person, chosen, case_id)
    if every == "shown":  # every link the (filtered) page showed, not only those ticked
        link = await shown_link_ids(tada.pool, case_id, state=state, platform=platform)
    link = link or []
    if not link:
        return problem_page(request, 422, N_("No links ticked"), _("Tick the links to act on, then try again."))
    if len(link) > MAX_BULK:
        message = _("At most %(n)s links at once.") % {"n": MAX_BULK}
        return problem_page(request, 422, N_("Too many links"), message)
    try:
        checked = bulk_request(action, to=to, kind=kind, reason=reason)
    except InvalidInput as invalid:  # says what is wrong, never echoing the address or the reason
        return problem_page(request, 422, N_("This cannot be sent"), invalid.message)
    outcomes = await signal_links(tada.pool, tada.client, case_id, link, checked)
    for outcome in outcomes:  # a value that is no id at all (a URL pasted in) is audited as the case's
        target = audit_target(outcome.link_id) or case_id
        await audit(request, person, chosen, target, reason=f"console bulk: {outcome.outcome.value}")
    key = keep(person.user_id, BulkResult(case_id=case_id, action=action, outcomes=outcomes))
    return RedirectResponse(f"/console/cases/{case_id}/done/{key}", status_code=303)


@router.get("/cases/{case_id}/done/{key}")
async def bulk_done(request: Request, case_id: str, key: str) -> Response:
    person = await signed_in(request)
    require(person, Action.READ)
    result = kept(person.user_id, key, BulkResult)
    if result is None or result.case_id != case_id:
        _ = gettext_for(person.language)
        message = _("That result is no longer kept. The case page shows where every link is now.")
        return problem_page(request, 404, N_("Result not found"), message)
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.outcome.value] = counts.get(outcome.outcome.value, 0) + 1
    return page(
        person.language, "case_bulk_done.html.j2", zone=context(request).settings.timezone, person=person,
        here="cases", case_id=case_id, action=BULK_NAMES[result.action], outcomes=result.outcomes, counts=counts,
    )  # fmt: skip


# --- adding links ---------------------------------------------------------------------------


@router.post("/cases/{case_id}/import")
async def import_links(request: Request, case_id: str) -> Response:
    """The form is read here, not by FastAPI: its paste field (``urls``) may be as big as its file,
    up to TADA_CONSOLE_MAX_IMPORT_BYTES (Starlette's default takes 1 MiB a field, a bare 400 past
    it); the body as a whole was capped before (tada/console/uploads.py)."""
    person = await signed_in(request)
    tada = context(request)
    _ = gettext_for(person.language)
    limit = tada.settings.console_max_import_bytes
    try:
        form = await request.form(max_part_size=limit if may(person, Action.LINKS_IMPORT) else FIELD_BYTES)
    except HTTPException as unread:  # a form Starlette cannot read (a field past the limit, too many fields)
        if unread.status_code != 400:
            raise
        message = _(
            'The form could not be read. Paste the links in "Paste links, one a line" or choose one file; each '
            "may hold at most %(kib)s KiB."
        ) % {"kib": limit // 1024}
        return problem_page(request, 422, N_("Links not added"), message)
    try:
        csrf, urls, file = form.get("csrf"), form.get("urls"), form.get("file")
        check_csrf(person, csrf if isinstance(csrf, str) else "")
        await allowed_to(request, person, Action.LINKS_IMPORT, case_id)
        uploaded = await file.read() if isinstance(file, UploadFile) else b""
    finally:
        await form.close()
    urls = urls if isinstance(urls, str) else ""
    if uploaded and urls.strip():
        message = _("Paste links or choose a file, not both.")
        return problem_page(request, 422, N_("Links not added"), message)
    data = uploaded or urls.encode("utf-8", "surrogateescape")
    if not data.strip():
        message = _("Paste one link a line, or choose a CSV file with a url column.")
        return problem_page(request, 422, N_("No links given"), message)
    try:
        parsed = parse_link_file(data)
    except ImportTooLarge as error:
        return problem_page(request, 422, N_("Links not added"), error.message)
    source = "import" if uploaded else "console"
    job = ImportJob(case_id=case_id, total=len(parsed.rows), rejected=parsed.rejected)

    async def start(progress):
        return await add_links(
            tada.pool, tada.client, tada.registry, case_id=case_id, rows=parsed.rows, rejected=parsed.rejected,
            task_queue=tada.settings.task_queue, source=source, progress=progress,
        )  # fmt: skip

    reason = f"console: {len(parsed.rows)} line(s) to start, {len(parsed.rejected)} rejected"
    await audit(request, person, Action.LINKS_IMPORT, case_id, reason=reason)
    run_import(job, start)
    await settle(job, SETTLE_SECONDS)
    key = keep(person.user_id, job)
    return RedirectResponse(f"/console/cases/{case_id}/imports/{key}", status_code=303)


@router.get("/cases/{case_id}/imports/{key}")
async def import_progress(request: Request, case_id: str, key: str) -> Response:
    person = await signed_in(request)
    require(person, Action.LINKS_IMPORT)
    job = kept(person.user_id, key, ImportJob)
    if job is None or job.case_id != case_id:
        _ = gettext_for(person.language)
        message = _("That import is no longer kept. The case page shows every link it started.")
        return problem_page(request, 404, N_("Import not found"), message)
    response = page(
        person.language, "case_import.html.j2", zone=context(request).settings.timezone, person=person,
        here="cases", case_id=case_id, job=job, key=key,
    )  # fmt: skip
    if not job.finished:
        response.headers["Refresh"] = str(RELOAD_SECONDS)  # the page reloads itself, no script needed
    return response


# --- withdrawing and purging the case -----------------------------------------------------------

#: What each case-wide step is: its action, the page's words, and where it may start from.
_STEPS = {
    "withdraw": (Action.CASE_WITHDRAW, N_("Withdraw case %(case)s")),
    "purge": (Action.CASE_PURGE, N_("Purge case %(case)s")),
}


@router.get("/cases/{case_id}/withdraw")
async def withdraw_form(request: Request, case_id: str) -> Response:
    return await _confirm_page(request, case_id, "withdraw")


@router.get("/cases/{case_id}/purge")
async def purge_form(request: Request, case_id: str) -> Response:
    return await _confirm_page(request, case_id, "purge")


async def _confirm_page(request: Request, case_id: str, step: str, *, problem: str = "", status: int = 200):
    person = await signed_in(request)
    action, title = _STEPS[step]
    await allowed_to(request, person, action, case_id)
    tada = context(request)
    status_now = await tada.pool.fetchrow("SELECT status, purged_at FROM cases WHERE case_id = $1", case_id)
    if status_now is None:
        return _no_case(request, person, case_id)
    _ = gettext_for(person.language)
    return page(
        person.language, "case_confirm.html.j2", zone=tada.settings.timezone, status_code=status, person=person,
        here="cases", case_id=case_id, step=step, title=_(title) % {"case": case_id}, problem=problem,
        case_status=status_now["status"], purged=status_now["purged_at"] is not None,
    )  # fmt: skip


@router.post("/cases/{case_id}/withdraw")
async def withdraw(
    request: Request, case_id: str, confirm: str = Form(""), reason: str = Form(""), csrf: str = Form("")
) -> Response:
    person = await acting(request, csrf, Action.CASE_WITHDRAW, case_id)
    _ = gettext_for(person.language)
    if confirm.strip() != case_id:
        problem = _("Type the case id exactly as shown to confirm.")
        return await _confirm_page(request, case_id, "withdraw", problem=problem, status=422)
    try:
        why = check_note(reason or None, "the reason") or "case withdrawn"
    except InvalidInput as invalid:
        return await _confirm_page(request, case_id, "withdraw", problem=invalid.message, status=422)
    tada = context(request)
    try:
        result = await withdraw_case(tada.pool, tada.client, case_id, why)
    except CaseNotFound:
        return _no_case(request, person, case_id)
    done = f"console: {result.withdrawn} link(s) told to stop, {result.already_closed} already closed"
    await audit(request, person, Action.CASE_WITHDRAW, case_id, reason=done)
    return RedirectResponse(f"/console/cases/{case_id}?done=withdrawn", status_code=303)


@router.post("/cases/{case_id}/purge")
async def purge(request: Request, case_id: str, confirm: str = Form(""), csrf: str = Form("")) -> Response:
    person = await acting(request, csrf, Action.CASE_PURGE, case_id)
    _ = gettext_for(person.language)
    if confirm.strip() != case_id:
        problem = _("Type the case id exactly as shown to confirm.")
        return await _confirm_page(request, case_id, "purge", problem=problem, status=422)
    tada = context(request)
    try:
        await purge_case(tada.pool, tada.client, case_id, actor_role=person.role, actor_name=person.name)
    except CaseNotFound:
        return _no_case(request, person, case_id)
    except Refused:  # still open
        problem = _("Only a withdrawn or closed case can be purged. Withdraw it first.")
        return await _confirm_page(request, case_id, "purge", problem=problem, status=409)
    return RedirectResponse(f"/console/cases/{case_id}?done=purged", status_code=303)
