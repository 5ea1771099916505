"""``/console/cases``: every case, a page at a time, with how far each has got (removed of all its
links), filtered by status and found by one search box; and ``/console/cases/new``, opening a
case (ops), through the same use case and rules as ``tada case open``: the age gate and its
signpost, the language of the notices, the reference, the jurisdiction, the monitors that may
report reposts on it, and the victim's authorisation (its date) and whether the victim made the
image (tada/app/case_opening.py).

One case's own page and its actions are tada/console/case_page.py, its authorisation and dossier
tada/console/case_law.py (their routers are included here, after ``/cases/new``, so that path is
never read as a case id).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tada.api.context import context
from tada.app.audit import record_audit
from tada.app.case_list import REFERENCE_SEARCH_LIMIT, CaseFilter, case_filter, list_cases
from tada.app.case_opening import open_new_case
from tada.console import case_law, case_page
from tada.console.case_law import form_date
from tada.console.i18n import N_, gettext_for
from tada.console.people import acting, check_csrf, may, require, signed_in
from tada.console.templating import page
from tada.domain import registry_values
from tada.domain.access import Action
from tada.errors import CaseRefused, InvalidInput

router = APIRouter()

#: The filters as the page names them.
FILTER_NAMES = {
    CaseFilter.ALL: N_("All cases"),
    CaseFilter.OPEN: N_("Open"),
    CaseFilter.WITHDRAWN: N_("Withdrawn"),
    CaseFilter.CLOSED: N_("Closed"),
    CaseFilter.PURGED: N_("Purged"),
}
#: The notices' languages as the form names them.
LANGUAGE_CHOICES = {"en": N_("English"), "zh-Hant": N_("Traditional Chinese")}
assert set(LANGUAGE_CHOICES) == set(registry_values.LANGUAGES)


@router.get("/cases")
async def cases(request: Request, status: str = "all") -> Response:
    """The cases of one status, newest first (``?page=``); a search is a POST (below)."""
    person = await signed_in(request)
    require(person, Action.READ)
    return await _list_page(request, person, case_filter(status), "", _page_of(request.query_params.get("page")))


@router.post("/cases")
async def search_cases(
    request: Request, q: str = Form(""), status: str = Form("all"), page: str = Form("1"), csrf: str = Form("")
) -> Response:
    """A search: sent in the form's body, so what was typed (a reference, a host) is in no address,
    no browser history and no access log."""
    person = await signed_in(request)
    check_csrf(person, csrf)
    require(person, Action.READ)
    chosen = case_filter(status)
    if not q.strip():
        return RedirectResponse(f"/console/cases?status={chosen.value}", status_code=303)
    return await _list_page(request, person, chosen, q, _page_of(page))


async def _list_page(request: Request, person, chosen: CaseFilter, query: str, page_number: int) -> Response:
    tada = context(request)
    found = await list_cases(tada.pool, tada.crypto, status=chosen, query=query, page=page_number)
    return page(
        person.language, "cases.html.j2", zone=tada.settings.timezone, person=person, here="cases",
        found=found, status=chosen.value, filters=FILTER_NAMES, reference_limit=REFERENCE_SEARCH_LIMIT,
        may_open=may(person, Action.CASE_OPEN),
    )  # fmt: skip


def _page_of(value: str | None) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


@router.get("/cases/new")
async def new_case_form(request: Request) -> Response:
    person = await signed_in(request)
    require(person, Action.CASE_OPEN)
    return _new_case_page(request, person)


def _new_case_page(request: Request, person, *, problem: str = "", signpost: str = "", status: int = 200, **typed):
    tada = context(request)
    values = {
        "age": "", "language": "en", "reference": "", "jurisdiction": "", "monitors": "", "authorised_on": "",
        "victim_made_image": False,
    } | typed  # fmt: skip
    return page(
        person.language, "case_new.html.j2", zone=tada.settings.timezone, status_code=status, person=person,
        here="cases", problem=problem, signpost=signpost, values=values, languages_offered=LANGUAGE_CHOICES,
        minimum_age=tada.settings.minimum_age,
    )  # fmt: skip


@router.post("/cases/new")
async def new_case(
    request: Request,
    age: str = Form(""),
    language: str = Form("en"),
    reference: str = Form(""),
    jurisdiction: str = Form(""),
    monitors: str = Form(""),
    authorised_on: str = Form(""),
    victim_made_image: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    person = await acting(request, csrf, Action.CASE_OPEN, None)
    tada = context(request)
    settings = tada.settings
    _ = gettext_for(person.language)
    typed: dict[str, Any] = {
        "age": age[:3], "language": language, "reference": reference[:200], "jurisdiction": jurisdiction[:10],
        "monitors": monitors[:500], "authorised_on": authorised_on[:10], "victim_made_image": bool(victim_made_image),
    }  # fmt: skip
    try:
        years = int(age.strip())
        if years < 0 or years > 150:
            raise ValueError
    except ValueError:
        return _new_case_page(request, person, problem=_("Enter the person's age in years."), status=422, **typed)
    if language not in LANGUAGE_CHOICES:
        return _new_case_page(request, person, problem=_("Choose the language of the notices."), status=422, **typed)
    try:
        authorised = form_date(authorised_on)
    except ValueError:
        problem = _("Enter the day the victim authorised the organisation as a date, e.g. 2026-03-31.")
        return _new_case_page(request, person, problem=problem, status=422, **typed)
    try:
        opened = await open_new_case(
            tada.pool, tada.crypto, age=years, minimum_age=settings.minimum_age, signpost=settings.underage_signpost,
            language=language, reference=reference or None, jurisdiction=jurisdiction or None,
            monitors=monitors.replace(",", " ").split(), authorised_on=authorised,
            victim_made_image=bool(victim_made_image),
        )  # fmt: skip
    except CaseRefused as refused:  # under the minimum age: nothing was stored
        await _audit(request, person, None, "refused: under the minimum age, no case opened")
        return _new_case_page(request, person, signpost=refused.message, status=422, language=language)
    except InvalidInput as invalid:  # a reference, jurisdiction, monitor or date that cannot be; says which
        return _new_case_page(request, person, problem=invalid.message, status=422, **typed)
    case_id = opened.case_id
    await _audit(request, person, case_id, "done")
    return RedirectResponse(f"/console/cases/{case_id}?done=opened", status_code=303)


async def _audit(request: Request, person, target: str | None, reason: str) -> None:
    await record_audit(
        context(request).pool, actor_role=person.role, action=Action.CASE_OPEN.value, target=target, allowed=True,
        reason=reason, actor_name=person.name,
    )  # fmt: skip


router.include_router(case_page.router)
router.include_router(case_law.router)
