"""Signing in and out: ``/console/login`` (name, password, and a code once a second factor is
set up), ``/console/2fa`` (setting one up; everyone must when TADA_CONSOLE_REQUIRE_2FA is on),
``/console/logout`` and ``/console/logout-everywhere``, and the reader's language.

Every refused sign-in looks the same at the keyboard (status, words, page: ``NOT_ACCEPTED``) whether
the name has no account, the password or code was wrong or missing, or the account is locked or
disabled, so names cannot be probed; only an address over its limit has its own answer (counted
before any name is looked up). Every sign-in, refused or not, is audited with what it was (a known
account's name; never what was typed for an unknown one, which may be a password typed in the
wrong box).
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from tada.api.context import context
from tada.app.accounts import authenticate, begin_totp, confirm_totp, find_user, set_language
from tada.app.audit import record_audit
from tada.app.console_sessions import ConsoleSession, close_all_sessions, close_session, open_session
from tada.console.i18n import N_, gettext_for, language_of
from tada.console.people import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    check_login_csrf,
    forget_cookie,
    login_csrf,
    safe_next,
    set_cookie,
    signed_in,
)
from tada.console.problems import problem_page
from tada.console.templating import page

router = APIRouter()

#: What a refused sign-in tells the person at the keyboard, whatever was refused (a name no account
#: has, a wrong password or code, a lock-out, a disabled account, a code left out): the same words,
#: status and page, so nothing there tells whether a name has an account. The audit keeps which it was.
NOT_ACCEPTED = N_(
    "Not accepted: check the name, the password and, if you use one, the code from your authenticator app. "
    "After several failed tries signing in is held for a while; if it goes on, ask an ops colleague "
    "(tada user unlock)."
)
#: Too many failures from one address: counted before any name is looked up, so it tells nothing of one.
ADDRESS_LIMITED = N_("Too many failed sign-ins from this computer's address. Wait a few minutes and try again.")
#: A wrong code while setting up a second factor (the person is signed in).
CODE_WRONG = N_("That code is not right. Enter the code your authenticator app shows now.")


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login")
async def login_form(request: Request, next: str = "/console/") -> Response:  # noqa: A002 - the query's name
    csrf, new = login_csrf(request)
    response = _login_page(request, csrf, next=next)
    if new:
        set_cookie(response, request, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    return response


def _login_page(
    request: Request,
    csrf: str,
    *,
    next: str,  # noqa: A002 - the form's field
    language: str | None = None,
    problem: str = "",
    status: int = 200,
) -> Response:
    tada = context(request)
    language = language_of(language or request.query_params.get("lang"))
    return page(
        language, "login.html.j2", zone=tada.settings.timezone, status_code=status,
        csrf=csrf, next=safe_next(next), problem=problem, person=None, here="login",
    )  # fmt: skip


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    otp: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/console/"),  # noqa: A002 - the form's field
    lang: str = Form("en"),
) -> Response:
    check_login_csrf(request, csrf)
    tada = context(request)
    result = await authenticate(
        tada.pool, tada.crypto, username.strip(), password, otp.replace(" ", "") or None, _address(request),
        require_2fa=tada.settings.console_require_2fa, lockout_minutes=tada.settings.console_lockout_minutes,
    )  # fmt: skip
    user = result.user
    refusal = result.refusal
    known = user or await find_user(tada.pool, username.strip())  # an unknown name is not recorded
    await record_audit(
        tada.pool, actor_role=known.role if known else None, action="console.login", target=None,
        allowed=refusal in (None, "enrol_2fa"), reason=refusal or "", actor_name=known.name if known else None,
    )  # fmt: skip
    if user is None or (refusal is not None and refusal != "enrol_2fa"):
        # the page's language, never the account's; no name shown back (an account's would stand out)
        limited = refusal == "address_limited"
        language = language_of(lang)
        problem = gettext_for(language)(ADDRESS_LIMITED if limited else NOT_ACCEPTED)
        return _login_page(request, csrf, next=next, language=language, problem=problem, status=429 if limited else 401)
    if request.cookies.get(SESSION_COOKIE):  # signing in again: the session this browser had ends
        await close_session(tada.pool, request.cookies[SESSION_COOKIE])
    opened = await open_session(tada.pool, user.id, _address(request), idle_minutes=tada.settings.console_idle_minutes)
    target = "/console/2fa" if refusal == "enrol_2fa" else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    set_cookie(response, request, SESSION_COOKIE, opened.token)
    forget_cookie(response, request, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, csrf: str = Form("")) -> Response:
    person = await signed_in(request)
    check_csrf(person, csrf)
    await close_session(context(request).pool, request.cookies.get(SESSION_COOKIE, ""))
    await _audit(request, person, "console.logout")
    return _signed_out(request)


@router.post("/logout-everywhere")
async def logout_everywhere(request: Request, csrf: str = Form("")) -> Response:
    person = await signed_in(request)
    check_csrf(person, csrf)
    closed = await close_all_sessions(context(request).pool, person.user_id)
    await _audit(request, person, "console.logout-everywhere", reason=f"{closed} sessions closed")
    return _signed_out(request)


async def _audit(request: Request, person: ConsoleSession, action: str, reason: str = "") -> None:
    await record_audit(
        context(request).pool, actor_role=person.role, action=action, target=None, allowed=True,
        reason=reason, actor_name=person.name,
    )  # fmt: skip


def _signed_out(request: Request) -> Response:
    response = RedirectResponse("/console/login", status_code=303)
    forget_cookie(response, request, SESSION_COOKIE)
    return response


@router.get("/2fa")
async def two_factor_form(request: Request) -> Response:
    person = await signed_in(request)
    tada = context(request)
    if person.totp_enrolled:
        _ = gettext_for(person.language)
        message = _("Your second factor is already set up. To set up a new one, ask an ops colleague to remove it.")
        return problem_page(request, 200, N_("Second factor"), message)
    uri = await begin_totp(tada.pool, tada.crypto, person.name)
    return _two_factor_page(request, person, uri)


def _two_factor_page(request: Request, person: ConsoleSession, uri: str, problem: str = "", status: int = 200):
    tada = context(request)
    secret = uri.split("secret=", 1)[1].split("&", 1)[0] if "secret=" in uri else ""
    return page(
        person.language, "two_factor.html.j2", zone=tada.settings.timezone, status_code=status, person=person,
        here="2fa", secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), problem=problem,
        required=tada.settings.console_require_2fa,
    )  # fmt: skip


@router.post("/2fa")
async def two_factor(request: Request, code: str = Form(""), csrf: str = Form("")) -> Response:
    person = await signed_in(request)
    check_csrf(person, csrf)
    tada = context(request)
    if await confirm_totp(tada.pool, tada.crypto, person.name, code.replace(" ", "")):
        await _audit(request, person, "console.2fa-enrolled")
        return RedirectResponse("/console/", status_code=303)
    uri = await begin_totp(tada.pool, tada.crypto, person.name)
    problem = gettext_for(person.language)(CODE_WRONG)
    return _two_factor_page(request, person, uri, problem=problem, status=400)


@router.post("/language")
async def choose_language(request: Request, language: str = Form("en"), csrf: str = Form("")) -> Response:
    person = await signed_in(request)
    check_csrf(person, csrf)
    await set_language(context(request).pool, person.user_id, language_of(language))
    back = request.headers.get("referer")  # none: pages send no referrer; back to the queue
    return RedirectResponse(back if back and back.startswith("/console/") else "/console/", status_code=303)
