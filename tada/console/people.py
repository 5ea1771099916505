"""Who is using the console: the session cookie, the signed-in person's role, and the CSRF check
every POST must pass.

The session lives in PostgreSQL (tada/app/console_sessions.py); the cookie holds only its token:
``HttpOnly``, ``SameSite=Strict``, ``Path=/console``, and ``Secure`` with
``TADA_CONSOLE_SECURE_COOKIES`` (behind TLS). A page asked for without a live session redirects to
the login page. Each session has a CSRF token of its own, put in every form; the login form, before
any session exists, has one from a cookie of its own (double submit). Tokens are compared in
constant time and never logged.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, fields
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from tada.api.context import ApiContext, context
from tada.app.audit import record_audit
from tada.app.console_sessions import ConsoleSession, session_for
from tada.app.needs import needs_count
from tada.domain.access import PERMISSIONS, Action, Role

SESSION_COOKIE = "tada_session"
LOGIN_CSRF_COOKIE = "tada_login_csrf"
PATH = "/console"
_AN_ID = re.compile(r"[A-Za-z0-9._-]{1,80}")
#: What a person who must set up a second factor may still do before that.
_BEFORE_2FA = frozenset({f"{PATH}/2fa", f"{PATH}/logout", f"{PATH}/language"})


@dataclass(frozen=True)
class Person(ConsoleSession):
    """The signed-in person, and how many things wait for a person (the navigation's count)."""

    waiting: int = 0


class SignInNeeded(Exception):
    """No live session: the page answers with the login page's address (and where to come back)."""

    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


class SecondFactorNeeded(Exception):
    """TADA_CONSOLE_REQUIRE_2FA and this person has none yet: only setting one up is open."""


class NotAllowed(Exception):
    """The signed-in person's role may not do this."""

    def __init__(self, action: Action) -> None:
        self.action = action


class BadForm(Exception):
    """A POST without its CSRF token, or with another session's."""


async def signed_in(request: Request) -> Person:
    """The live session of this request; SignInNeeded otherwise (the page then redirects)."""
    tada: ApiContext = context(request)
    token = request.cookies.get(SESSION_COOKIE)
    session = await session_for(tada.pool, token, idle_minutes=tada.settings.console_idle_minutes) if token else None
    if session is None:
        raise SignInNeeded(request.url.path)
    if tada.settings.console_require_2fa and not session.totp_enrolled and request.url.path not in _BEFORE_2FA:
        raise SecondFactorNeeded()
    person = Person(**{f.name: getattr(session, f.name) for f in fields(session)}, waiting=await needs_count(tada.pool))
    request.state.person = person  # for an error page's language and header
    return person


def may(session: ConsoleSession, action: Action) -> bool:
    return action in PERMISSIONS.get(Role(session.role), frozenset())


def require(session: ConsoleSession, action: Action) -> None:
    if not may(session, action):
        raise NotAllowed(action)


async def audit(
    request: Request,
    person: ConsoleSession,
    action: Action | str,
    target: str | None,
    *,
    allowed: bool = True,
    reason: str = "",
) -> None:
    """One console action in the audit trail, with the person's name and role (never a URL or a note)."""
    await record_audit(
        context(request).pool, actor_role=person.role, action=action.value if isinstance(action, Action) else action,
        target=target, allowed=allowed, reason=reason, actor_name=person.name,
    )  # fmt: skip


def audit_target(value: str | None) -> str | None:
    """What an address or a form names, as an audit target: a case or link id, else nothing
    (a URL pasted into a field, or any text, is never recorded)."""
    return value if value and _AN_ID.fullmatch(value) else None


async def allowed_to(
    request: Request, person: ConsoleSession, action: Action, target: str | None, *, record_allowed: bool = False
) -> None:
    """NotAllowed (the 403 page) unless the person's role may do ``action``. A refusal is always
    audited, an allowed decision when ``record_allowed``; the target only when it is an id."""
    allowed = may(person, action)
    if not allowed or record_allowed:
        reason = "" if allowed else f"the console's {person.role} role may not"
        await audit(request, person, action, audit_target(target), allowed=allowed, reason=reason)
    if not allowed:
        raise NotAllowed(action)


async def acting(
    request: Request, csrf: str | None, action: Action, target: str | None, *, record_allowed: bool = False
) -> Person:
    """The opening of a form's POST: the person signed in (``signed_in``), the form theirs (its
    CSRF token: BadForm), their role allowed ``action`` on ``target`` (``allowed_to``)."""
    person = await signed_in(request)
    check_csrf(person, csrf)
    await allowed_to(request, person, action, target, record_allowed=record_allowed)
    return person


def check_csrf(session: ConsoleSession, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise BadForm()


def login_csrf(request: Request) -> tuple[str, bool]:
    """The login form's CSRF token (its cookie's, or a new one) and whether it is new."""
    existing = request.cookies.get(LOGIN_CSRF_COOKIE)
    if existing and len(existing) >= 32:
        return existing, False
    return secrets.token_urlsafe(32), True


def check_login_csrf(request: Request, sent: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not sent or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise BadForm()


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    secure = context(request).settings.console_secure_cookies
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True, samesite="strict", secure=secure)


def forget_cookie(response: Response, request: Request, name: str) -> None:
    secure = context(request).settings.console_secure_cookies
    response.delete_cookie(name, path=PATH, httponly=True, samesite="strict", secure=secure)


def to_login(back_to: str) -> RedirectResponse:
    target = f"{PATH}/login"
    if back_to and back_to.startswith(PATH + "/") and back_to not in (target, PATH + "/"):
        target += "?next=" + quote(back_to, safe="/")
    return RedirectResponse(target, status_code=303)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a console path only (never another site's address)."""
    if value and value.startswith(PATH + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return PATH + "/"
