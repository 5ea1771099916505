"""Which monitors may report on a case: ``case_monitors``, the names a case opted into.

A monitor token is ``token:monitor:NAME`` (tada/domain/access.py); it may report reposts
only on an open case that opted into NAME (``tada case open --monitor NAME``, ``tada case
monitors CASE --add NAME``). ``refusal_for_monitor`` says why it may not, for the audit
trail only: the monitor itself is told one and the same thing whatever the reason
(tada/api/monitor_reports.py), so it learns nothing about a case it is not scoped to.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from tada.domain.access import check_monitor_name
from tada.errors import CaseNotFound, CaseRefused, InvalidInput

#: What a monitor is told for every case it may not report on, whatever the reason (the API's
#: 404 body, the CLI's refusal): the true reason goes to the audit trail only.
MONITOR_REFUSAL = "report not taken: no case open to this monitor has this id, or it takes no more reports"


class InvalidMonitorName(InvalidInput, ValueError):
    """A monitor name that cannot be one (exit 2, HTTP 422); the message says why."""


def monitor_names(names: Sequence[str]) -> list[str]:
    """The names, checked and without repeats (InvalidMonitorName saying which one is wrong)."""
    checked: list[str] = []
    for position, name in enumerate(names, start=1):
        try:
            value = check_monitor_name(name.strip())
        except ValueError as error:
            raise InvalidMonitorName(f"monitor name {position}: {error}") from None
        if value not in checked:
            checked.append(value)
    return checked


async def case_monitors(pool: asyncpg.Pool | asyncpg.Connection, case_id: str) -> list[str]:
    """The monitors the case opted into, by name (CaseNotFound for no such case)."""
    if not await pool.fetchval("SELECT 1 FROM cases WHERE case_id = $1", case_id):
        raise CaseNotFound(case_id)
    rows = await pool.fetch("SELECT monitor FROM case_monitors WHERE case_id = $1 ORDER BY monitor", case_id)
    return [row["monitor"] for row in rows]


async def change_case_monitors(
    pool: asyncpg.Pool, case_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> list[str]:
    """Opt the case into ``add`` and out of ``remove`` (names checked first), in one transaction,
    and return its monitors. Adding needs an open case (CaseRefused otherwise); removing does not."""
    added, removed = monitor_names(add), monitor_names(remove)
    async with pool.acquire() as connection, connection.transaction():
        status = await connection.fetchval("SELECT status FROM cases WHERE case_id = $1 FOR UPDATE", case_id)
        if status is None:
            raise CaseNotFound(case_id)
        if added and status != "open":
            raise CaseRefused(f"case {case_id} is {status}: it takes no new monitors")
        if removed:
            await connection.execute(
                "DELETE FROM case_monitors WHERE case_id = $1 AND monitor = ANY($2::text[])", case_id, removed
            )
        if added:
            await connection.executemany(
                "INSERT INTO case_monitors (case_id, monitor) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                [(case_id, name) for name in added],
            )
        return await case_monitors(connection, case_id)


async def refusal_for_monitor(pool: asyncpg.Pool, case_id: str, monitor: str) -> str | None:
    """Why the monitor may not report on this case (for the audit trail), or None if it may."""
    row = await pool.fetchrow(
        """SELECT c.status, c.purged_at IS NOT NULL AS purged,
                  EXISTS (SELECT 1 FROM case_monitors m WHERE m.case_id = c.case_id AND m.monitor = $2) AS opted
           FROM cases c WHERE c.case_id = $1""",
        case_id,
        monitor,
    )
    if row is None:
        return "no such case"
    if not row["opted"]:
        return f"case did not opt into monitor {monitor}"
    if row["purged"]:
        return "case purged"
    if row["status"] != "open":
        return f"case {row['status']}"
    return None
