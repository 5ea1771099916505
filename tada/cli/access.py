"""The CLI's access check: the role of TADA_TOKEN in TADA_API_TOKENS, against tada/domain/access.py.

Every decision is audited (``audit_events``), and a command the token's role may not run
is refused (exit 3) naming the roles that may. Each command states its action
(tada/cli/runtime.py ``run``); the audit names it and the case or link. A monitor token
(``token:monitor:NAME``) may report only on the open cases that opted into NAME, and is
refused in one and the same words for every other (tada/app/monitors.py).

With no tokens configured at all (neither TADA_API_TOKENS nor TADA_TOKEN) the CLI runs in
local single-user mode, as under ``make run``: everything is allowed, and audited with the
role ``local``. ``TADA_REQUIRE_TOKEN=true`` refuses local mode.

What this can and cannot do: the CLI holds the database's and Temporal's credentials, so
whoever runs it can unset these variables, write a token table of their own, or go to the
database directly. The roles here keep honest people to their own work and put every
command in the audit trail; they are not a wall against the CLI's own user. The API (and
the console) enforce roles: their users never hold the credentials.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

import asyncpg

from tada.app.audit import record_audit
from tada.app.monitors import MONITOR_REFUSAL, refusal_for_monitor
from tada.domain.access import Action, Role, allowed, parse_tokens, roles_allowed
from tada.errors import Refused, Unavailable
from tada.settings import Settings

LOCAL = "local"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    actor_role: str | None  # a role, "local", or None for no or an unknown token
    reason: str  # for the audit trail, and (unless ``told``) the refusal shown to the user
    audited: bool
    actor_name: str | None = None  # a monitor's name
    told: str | None = None  # what the user is told instead of ``reason``
    unaudited: bool = False  # local mode, and the database could not be reached to audit it


def decide(settings: Settings, action: Action) -> Decision:
    tokens_text = settings.api_tokens.get_secret_value()
    token = settings.cli_token.get_secret_value().strip()
    if not tokens_text.strip() and not token:
        if settings.require_token:
            why = "this deployment requires a token (TADA_REQUIRE_TOKEN): set TADA_TOKEN (and TADA_API_TOKENS)"
            return Decision(False, None, why, audited=True)
        return Decision(True, LOCAL, "local mode (no tokens configured)", audited=True)
    try:
        table = parse_tokens(tokens_text)
    except ValueError as error:
        return Decision(False, None, f"bad TADA_API_TOKENS: {error}", audited=False)
    if not token:
        return Decision(False, None, "tokens are configured: set TADA_TOKEN to your token", audited=True)
    principal = table.principal_of(token)
    if principal is None:
        return Decision(False, None, "TADA_TOKEN is not a known token (TADA_API_TOKENS)", audited=True)
    role, name = principal.role, principal.monitor
    if not allowed(role, action):
        who = " or ".join(r.value for r in roles_allowed(action))
        why = f"{action.value} needs a {who} token; this is a {role.value} token"
        return Decision(False, role.value, why, audited=True, actor_name=name)
    return Decision(True, role.value, "", audited=True, actor_name=name)


class AccessRefused(Refused):
    """This token's role may not run this command (exit 3); the refusal is audited."""

    http_status = 403


async def authorise(
    settings: Settings, pool: Callable[[], Awaitable[asyncpg.Pool]], action: Action, target: str | None
) -> Decision:
    """Decide for a command's action on its target (a case or link id), audit the decision,
    and raise AccessRefused if refused."""
    decision = decide(settings, action)
    if decision.allowed and decision.actor_role == Role.MONITOR.value and action == Action.REPOST:
        why = await refusal_for_monitor(await pool(), target or "", decision.actor_name or "")
        if why is not None:
            decision = replace(decision, allowed=False, reason=why, told=MONITOR_REFUSAL)
    told = decision.told or decision.reason
    if decision.audited:
        try:
            await record_audit(
                await pool(), actor_role=decision.actor_role, actor_name=decision.actor_name, action=action.value,
                target=target, allowed=decision.allowed, reason=decision.reason,
            )  # fmt: skip
        except Unavailable:
            if not (decision.allowed and decision.actor_role == LOCAL):
                if decision.allowed:
                    raise
                raise AccessRefused(f"refused: {told} (and the refusal could not be audited)") from None
            # Local mode has no roles to enforce: a command that needs no database of tada's
            # (a rehearsal in its own, the codec server) still runs, and says it went unaudited.
            decision = replace(decision, unaudited=True)
        except Exception:
            if decision.allowed:
                raise
            raise AccessRefused(f"refused: {told} (and the refusal could not be audited)") from None
    if not decision.allowed:
        raise AccessRefused(f"refused: {told}")
    return decision
