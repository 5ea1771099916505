"""Bearer tokens for the HTTP API: the roles and the permission table of tada/domain/access.py.

``TADA_API_TOKENS`` is ``token1:role,token2:role`` (roles ops, caseworker, monitor).
A monitor token can report reposts and nothing else; caseworker and ops tokens can
read; ops can report too. No or an unknown token is 401 with ``WWW-Authenticate:
Bearer``, the wrong role 403 naming the roles that may. Tokens are compared in
constant time (tada/domain/access.py) and never logged nor echoed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tada.domain.access import Action, Role, TokenTable, allowed, parse_tokens, roles_allowed

__all__ = ["Action", "Role", "TokenTable", "bearer", "parse_tokens", "require"]

bearer = HTTPBearer(auto_error=False, description="A token from TADA_API_TOKENS: `Authorization: Bearer <token>`.")


def require(action: Action) -> Callable[..., Coroutine[Any, Any, Role]]:
    """A dependency letting through only the roles that may do ``action``."""

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Role:
        tokens: TokenTable = request.app.state.tokens
        if credentials is None or not credentials.credentials:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing bearer token: send Authorization: Bearer <token>",
                headers={"WWW-Authenticate": 'Bearer realm="tada"'},
            )
        role = tokens.role_of(credentials.credentials)
        if role is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "invalid token",
                headers={"WWW-Authenticate": 'Bearer realm="tada", error="invalid_token"'},
            )
        if not allowed(role, action):
            who = " or ".join(r.value for r in roles_allowed(action))
            only = " (a monitor token can only report reposts)" if role == Role.MONITOR else ""
            detail = f"this endpoint needs a token of role {who}; this is a {role.value} token{only}"
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail)
        return role

    return check
