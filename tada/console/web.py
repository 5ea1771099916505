"""The console's routes under ``/console``, its static files (``/console/static``: tada's own
CSS and script, nothing from elsewhere) and what a page answers when no one is signed in, the
role may not, or a form lacks its CSRF token. ``install_console(app)`` is called by
tada/api/app.py; the bearer gate lets ``/console`` through (it has sessions of its own) and
tada/console/headers.py adds the security headers."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tada.console import cases, link_page, login, queue, report_page
from tada.console.i18n import N_
from tada.console.people import PATH, BadForm, NotAllowed, SecondFactorNeeded, SignInNeeded, to_login
from tada.console.problems import problem_page, reader_words


def install_console(app: FastAPI) -> None:
    router = APIRouter(prefix=PATH, include_in_schema=False)
    router.include_router(login.router)
    router.include_router(queue.router)
    router.include_router(cases.router)
    router.include_router(link_page.router)
    router.include_router(report_page.router)
    app.include_router(router)
    app.mount(f"{PATH}/static", StaticFiles(packages=[("tada.console", "static")]), name="console-static")
    app.add_exception_handler(SignInNeeded, _sign_in)
    app.add_exception_handler(SecondFactorNeeded, _second_factor)
    app.add_exception_handler(NotAllowed, _not_allowed)
    app.add_exception_handler(BadForm, _bad_form)


async def _sign_in(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInNeeded)
    return to_login(error.back_to)


async def _second_factor(request: Request, error: Exception) -> Response:
    return RedirectResponse(f"{PATH}/2fa", status_code=303)


async def _not_allowed(request: Request, error: Exception) -> Response:
    _ = reader_words(request)
    return problem_page(request, 403, N_("Not for your role"), _("Your role may not do this. Ask an ops colleague."))


async def _bad_form(request: Request, error: Exception) -> Response:
    _ = reader_words(request)
    return problem_page(
        request, 403, N_("This form has expired"),
        _("The form was sent without the token that proves it came from this console. "
          "Go back, reload the page and try again."),
    )  # fmt: skip
