"""The CLI's access check: the role of TADA_TOKEN in TADA_API_TOKENS, against tada/domain/access.py.

With no tokens configured at all (neither TADA_API_TOKENS nor TADA_TOKEN), the CLI
runs in local single-user mode, as under `make run`: everything is allowed and
only purges are audited. Otherwise every decision is audited, and a command the
token's role may not run is refused (exit 3) naming the roles that may. Each command
states its action (tada/cli/runtime.py ``run``); the audit names it and the case or link.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from tada.app.audit import record_audit
from tada.domain.access import Action, allowed, parse_tokens, roles_allowed
from tada.errors import Refused
from tada.settings import Settings

LOCAL = "local"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    actor_role: str | None  # a role, "local", or None for an unknown token
    reason: str  # for the audit trail, and the refusal shown to the user
    audited: bool


def decide(settings: Settings, action: Action) -> Decision:
    tokens_text = settings.api_tokens.get_secret_value()
    token = settings.cli_token.get_secret_value().strip()
    if not tokens_text.strip() and not token:
        return Decision(True, LOCAL, "local mode (no tokens configured)", audited=action == Action.CASE_PURGE)
    try:
        table = parse_tokens(tokens_text)
    except ValueError as error:
        return Decision(False, None, f"bad TADA_API_TOKENS: {error}", audited=False)
    if not token:
        return Decision(False, None, "tokens are configured: set TADA_TOKEN to your token", audited=True)
    role = table.role_of(token)
    if role is None:
        return Decision(False, None, "TADA_TOKEN is not a known token (TADA_API_TOKENS)", audited=True)
    if not allowed(role, action):
        who = " or ".join(r.value for r in roles_allowed(action))
        return Decision(False, role.value, f"{action.value} needs a {who} token; this is a {role.value} token", True)
    return Decision(True, role.value, "", audited=True)


class AccessRefused(Refused):
    """This token's role may not run this command (exit 3); the refusal is audited."""

    http_status = 403


async def authorise(
    settings: Settings, pool: Callable[[], Awaitable[asyncpg.Pool]], action: Action, target: str | None
) -> Decision:
    """Decide for a command's action on its target (a case or link id), audit the decision,
    and raise AccessRefused if refused."""
    decision = decide(settings, action)
    if decision.audited:
        try:
            await record_audit(
                await pool(), actor_role=decision.actor_role, action=action.value, target=target,
                allowed=decision.allowed, reason=decision.reason,
            )  # fmt: skip
        except Exception:
            if decision.allowed:
                raise
            raise AccessRefused(f"refused: {decision.reason} (and the refusal could not be audited)") from None
    if not decision.allowed:
        raise AccessRefused(f"refused: {decision.reason}")
    return decision
