"""The bearer-token gate: every request is authenticated from its headers alone, before any of
its body is read, and a request without a known token is answered 401 there and then.

It is the outermost layer of the API (tada/api/app.py): FastAPI parses a body before its
dependencies run, so a check in a dependency came after a 200 MB body had been read. Here
a request without a known token never reaches the app; one with a known token goes on with
its principal (role, monitor name) in ``scope["state"]``, where tada/api/auth.py finds it
and checks the role. Paths in ``public`` (the OpenAPI documents, when TADA_API_DOCS serves
them) and under a prefix in ``exempt`` (a part of the server with authentication of its own,
such as a console with session cookies) pass without a token. The token is never logged.
"""

from __future__ import annotations

from collections.abc import Iterable

from tada.api.asgi import ASGIApp, Receive, Scope, Send, answer, header
from tada.domain.access import Principal, TokenTable

PRINCIPAL = "tada_principal"  # the key in scope["state"]

MISSING = "missing bearer token: send Authorization: Bearer <token>"
INVALID = "invalid token"
_CHALLENGE = b'Bearer realm="tada"'
_INVALID_CHALLENGE = b'Bearer realm="tada", error="invalid_token"'


class BearerGate:
    def __init__(
        self, app: ASGIApp, *, tokens: TokenTable, public: Iterable[str] = (), exempt: Iterable[str] = ()
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.public = frozenset(public)
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        path = scope.get("path", "")
        if path in self.public or (self.exempt and path.startswith(self.exempt)):
            await self.app(scope, receive, send)
            return
        token = bearer_token(header(scope, b"authorization"))
        principal = self.tokens.principal_of(token) if token else None
        if principal is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            detail, challenge = (INVALID, _INVALID_CHALLENGE) if token else (MISSING, _CHALLENGE)
            await answer(send, 401, detail, [(b"www-authenticate", challenge)])
            return
        scope.setdefault("state", {})[PRINCIPAL] = principal
        await self.app(scope, receive, send)


def bearer_token(value: bytes | None) -> str | None:
    """The credentials of ``Authorization: Bearer <token>``, or None for any other header."""
    if not value:
        return None
    scheme, _, credentials = value.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return credentials.strip() or None


def principal_in(state: dict[str, object]) -> Principal | None:
    """The principal the gate found for this request, if it let it through with a token."""
    found = state.get(PRINCIPAL)
    return found if isinstance(found, Principal) else None
