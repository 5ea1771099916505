"""A monitor's report: taken only for an open case that opted into the monitor's name, and
answered so that the monitor learns nothing it did not send.

A monitor token (``token:monitor:NAME``) gets one and the same refusal, 404 with one body,
for a case that does not exist, that did not opt into NAME, that is withdrawn, closed or
purged, and for a link that was withdrawn: it cannot tell a case it is not scoped to from
one that does not exist. A report taken is 202 with the link's id (for a later ``of_link``);
not whether the link is new, nor the PDQ distance to the case's hashes. A PDQ hash that
matches none of them is 422 without the distance. Every decision is audited, with its
true reason, under the monitor's name (tada/app/audit.py). Ops tokens get the full answer
(tada/api/routes_reposts.py).
"""

from __future__ import annotations

import contextlib
from typing import Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tada.api.context import ApiContext
from tada.app.audit import record_audit
from tada.app.monitors import MONITOR_REFUSAL, refusal_for_monitor
from tada.app.reposts import RepostRefused, report_repost
from tada.domain.access import Action, Principal
from tada.domain.reposts import InvalidRepost, field_error
from tada.errors import CaseNotFound, Refused

REFUSED_STATUS = 404
REFUSED = {"detail": MONITOR_REFUSAL}
NO_MATCH = "matches none of the case's hashes"


class MonitorReceipt(BaseModel):
    """A monitor's report was taken: its link is watched (started, re-checked or started again)."""

    accepted: Literal[True] = True
    link_id: str


async def monitor_report(
    ctx: ApiContext, principal: Principal, case_id: str, *, url: str, source: str, of_link: str | None, pdq: str | None
) -> JSONResponse:
    monitor = principal.monitor or ""
    reason = await refusal_for_monitor(ctx.pool, case_id, monitor)
    if reason is None:
        try:
            outcome = await report_repost(
                ctx.pool, ctx.client, ctx.registry, case_id=case_id, url=url, source=source,
                of_link=of_link, pdq=pdq, settings=ctx.settings,
            )  # fmt: skip
        except RepostRefused as error:  # its own case: the field is named, the distance is not
            await _audit(ctx, monitor, case_id, allowed=False, reason=f"{error.field}: {error.reason}")
            return JSONResponse(field_error(error.field, NO_MATCH, "refused"), status_code=422)
        except InvalidRepost as error:  # an of_link that is not a link of its own case
            await _audit(ctx, monitor, case_id, allowed=False, reason=error.message)
            raise
        except (CaseNotFound, Refused) as error:  # withdrawn since the check, or the link withdrawn
            reason = error.message
        else:
            taken = "new link" if outcome.new else "known link"
            await _audit(ctx, monitor, case_id, allowed=True, reason=f"taken: {taken} {outcome.link_id}")
            return JSONResponse(MonitorReceipt(link_id=outcome.link_id).model_dump(), status_code=202)
    with contextlib.suppress(Exception):  # refused all the same if the audit cannot be written
        await _audit(ctx, monitor, case_id, allowed=False, reason=reason)
    return JSONResponse(REFUSED, status_code=REFUSED_STATUS)


async def _audit(ctx: ApiContext, monitor: str, case_id: str, *, allowed: bool, reason: str) -> None:
    await record_audit(
        ctx.pool, actor_role="monitor", actor_name=monitor, action=Action.REPOST.value,
        target=case_id, allowed=allowed, reason=reason,
    )  # fmt: skip
