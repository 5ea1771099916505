"""A bigger body for the console's link imports, for signed-in people only.

Every request's body is capped by TADA_API_MAX_BODY_BYTES (64 KiB: tada/api/body_limit.py), which
fits every API call and console form, but not a CSV of a thousand links. A POST to a case's import
(``/console/cases/{case}/import``) may carry up to TADA_CONSOLE_MAX_IMPORT_BYTES instead, and only
when its session cookie names a live session of a role that may import: checked here, from the
headers, before any of the body is read. Without a session it is refused (401) there and then, as
the bearer gate refuses the API's requests without a token; another role keeps the usual cap (the
page refuses it); the page itself still checks the role and the CSRF token.
"""

from __future__ import annotations

import re

from tada.api.asgi import ASGIApp, Receive, Scope, Send, answer, header
from tada.api.body_limit import RAISED_BY
from tada.app.console_sessions import session_for
from tada.domain.access import Action, Role, allowed

_IMPORT = re.compile(r"/console/cases/[^/]{1,64}/import")
_SESSION = re.compile(rb"(?:^|;)\s*tada_session=([A-Za-z0-9_-]{16,128})\s*(?:;|$)")


class SignedInUploads:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or not _IMPORT.fullmatch(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        found = _SESSION.search(header(scope, b"cookie") or b"")
        tada = getattr(scope["app"].state, "tada", None) if "app" in scope else None
        session = None
        if found and tada is not None:
            token = found.group(1).decode("ascii")
            session = await session_for(tada.pool, token, idle_minutes=tada.settings.console_idle_minutes)
        if session is None:
            await answer(send, 401, "sign in to the console first")
            return
        if not allowed(Role(session.role), Action.LINKS_IMPORT):  # the page refuses them: no big body first
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})[RAISED_BY] = self.max_bytes
        await self.app(scope, receive, send)
