"""Roles for the HTTP API: who the gate let through (tada/api/gate.py), checked against the
permission table of tada/domain/access.py, and every decision audited.

``TADA_API_TOKENS`` is ``token1:role,token2:role`` (roles ops, caseworker, monitor; a monitor
``token:monitor:NAME``). The gate answers a request with no or an unknown token 401 before
its body is read; here a token of the wrong role gets 403 naming the roles that may. A
monitor's report is checked against the cases that opted into it and audited with its
outcome by tada/api/monitor_reports.py; every other decision is audited here. Tokens are
compared in constant time (tada/domain/access.py) and never logged nor echoed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tada.api.context import context
from tada.api.gate import MISSING, principal_in
from tada.app.audit import record_audit
from tada.domain.access import Action, Principal, Role, TokenTable, allowed, parse_tokens, roles_allowed

__all__ = ["Action", "Principal", "Role", "TokenTable", "bearer", "parse_tokens", "require"]

#: For the OpenAPI document (its security scheme); the gate has read the header already.
bearer = HTTPBearer(auto_error=False, description="A token from TADA_API_TOKENS: `Authorization: Bearer <token>`.")


def require(action: Action) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency letting through only the roles that may do ``action``; it gives the principal."""

    async def check(
        request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> Principal:
        principal = principal_in(request.scope.get("state", {}))
        if principal is None:  # only the gate lets a request through: without it, nothing passes
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, MISSING, headers={"WWW-Authenticate": "Bearer"})
        target = request.path_params.get("case_id") or request.path_params.get("link_id")
        if not allowed(principal.role, action):
            who = " or ".join(r.value for r in roles_allowed(action))
            only = " (a monitor token can only report reposts)" if principal.role == Role.MONITOR else ""
            detail = f"this endpoint needs a token of role {who}; this is a {principal.role.value} token{only}"
            with contextlib.suppress(Exception):  # refused all the same if the audit cannot be written
                await _audit(request, principal, action, target, allowed=False, reason=detail)
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail)
        if not (principal.role == Role.MONITOR and action == Action.REPOST):  # audited with its outcome
            await _audit(request, principal, action, target, allowed=True)
        return principal

    return check


async def _audit(
    request: Request, principal: Principal, action: Action, target: str | None, *, allowed: bool, reason: str = ""
) -> None:
    await record_audit(
        context(request).pool, actor_role=principal.role.value, actor_name=principal.monitor,
        action=action.value, target=target, allowed=allowed, reason=reason,
    )  # fmt: skip
