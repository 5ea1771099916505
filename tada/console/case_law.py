"""A case's legal facts and record, from its page (``/console/cases/{case}``):

- ``POST /cases/{case}/authorise``: the victim's authorisation of the organisation (its date
  only, never who) and whether the victim made the image, through the use case of
  ``tada case authorise`` (tada/app/case_authorisation.py): its links are told, so a notice
  waiting for the authorisation goes out. A date after today, or one that is no date, shows the
  case page again with the error named at the form and what was typed kept;
- ``GET /cases/{case}/dossier.pdf`` and ``.html``: the dossier ``tada case dossier`` writes
  (tada/app/dossier.py, tada/reporting/), as a file to save (``Content-Disposition:
  attachment``), never cached, audited; a purged case has none.

Each checks the person's role as the CLI's command does and is audited with their name.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from tada.api.context import context
from tada.app.case_authorisation import record_authorisation
from tada.app.dossier import CasePurged, case_dossier
from tada.console.case_page import case_page_response
from tada.console.i18n import N_, gettext_for
from tada.console.people import acting, allowed_to, audit, signed_in
from tada.console.problems import problem_page
from tada.domain.access import Action
from tada.errors import CaseNotFound, CaseRefused, InvalidInput
from tada.reporting.dossier_html import render_dossier_html

router = APIRouter()

#: The dossier's formats: the file's media type.
DOSSIER_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8"}


def form_date(value: str) -> date | None:
    """A date field's value (``YYYY-MM-DD``, as ``<input type="date">`` sends it); None when
    empty; ValueError for anything else."""
    value = value.strip()
    return date.fromisoformat(value) if value else None


@router.post("/cases/{case_id}/authorise")
async def authorise(
    request: Request,
    case_id: str,
    authorised_on: str = Form(""),
    victim_made_image: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    person = await acting(request, csrf, Action.CASE_AUTHORISE, case_id)
    tada = context(request)
    _ = gettext_for(person.language)
    made = bool(victim_made_image)
    typed = {"authorised_on": authorised_on[:10], "victim_made_image": made}

    async def again(problem: str, status: int) -> Response:
        return await case_page_response(request, person, case_id, problem=problem, typed=typed, status=status)

    try:
        day = form_date(authorised_on)
    except ValueError:
        return await again(_("Enter the day the victim authorised the organisation as a date, e.g. 2026-03-31."), 422)
    try:
        recorded = await record_authorisation(
            tada.pool, tada.client, case_id, authorised_on=day, victim_made_image=made
        )
    except CaseNotFound:
        return problem_page(request, 404, N_("No such case"), _("There is no case %(case)s.") % {"case": case_id})
    except CaseRefused:  # withdrawn or purged: nothing is sent for it any more
        return await again(_("Only an open case's authorisation can be recorded."), 409)
    except InvalidInput as invalid:  # a date after today, or before 2000: the use case names the field
        return await again(invalid.message, 422)
    reason = f"console: {recorded.links_told} link(s) told"
    await audit(request, person, Action.CASE_AUTHORISE, case_id, reason=reason)
    return RedirectResponse(f"/console/cases/{case_id}?done=authorised#authorisation", status_code=303)


@router.get("/cases/{case_id}/dossier.{fmt}")
async def dossier(request: Request, case_id: str, fmt: str) -> Response:
    person = await signed_in(request)
    _ = gettext_for(person.language)
    if fmt not in DOSSIER_TYPES:
        return problem_page(request, 404, N_("No such dossier"), _("A dossier is a PDF or an HTML file."))
    await allowed_to(request, person, Action.CASE_DOSSIER, case_id)
    tada = context(request)
    laws = {law_id: law.citation or law.name for law_id, law in tada.registry.laws.items()}
    try:
        found = await case_dossier(tada.pool, tada.crypto, case_id, author=tada.settings.notifier_name, law_names=laws)
    except CaseNotFound:
        return problem_page(request, 404, N_("No such case"), _("There is no case %(case)s.") % {"case": case_id})
    except CasePurged:
        await audit(request, person, Action.CASE_DOSSIER, case_id, allowed=False, reason="console: case purged")
        message = _("This case was purged: its link addresses are erased for good, so it has no dossier.")
        return problem_page(request, 410, N_("No dossier"), message)
    if fmt == "pdf":
        from tada.reporting.dossier_pdf import render_dossier_pdf  # WeasyPrint (pango): only here

        data = await run_in_threadpool(render_dossier_pdf, found)  # seconds of layout: off the event loop
    else:
        data = render_dossier_html(found).encode("utf-8")
    reason = f"console: {fmt}, {len(found.links)} link(s)"
    await audit(request, person, Action.CASE_DOSSIER, case_id, reason=reason)
    headers = {
        "Content-Disposition": f'attachment; filename="dossier-{case_id}.{fmt}"',
        "Cache-Control": "no-store",
    }
    return Response(data, media_type=DOSSIER_TYPES[fmt], headers=headers)
