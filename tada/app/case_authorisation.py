"""Recording a case's legal facts after it was opened (``tada case authorise``): that the victim
authorised the organisation to act for them, and on which day (never who they are), and whether
the victim made the image (the copyright route, where the registry allows one).

A law such as the TAKE IT DOWN Act wants a request signed by the depicted person or someone
authorised to act for them: a notice citing it waits until the case has the authorisation
(activities/notices.py refuses it, naming the element). Every link of the case is told
(``case_updated``), so a notice waiting for it goes out at once; a link whose workflow has ended
has nothing waiting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
from pydantic import BaseModel

from tada.app.caseworker import signal_each
from tada.app.client_source import ClientSource, client_of
from tada.domain.models import CaseUpdate
from tada.domain.victim_data import check_authorised_on
from tada.errors import CaseNotFound, CaseRefused
from tada.workflows.link import LinkWorkflow


class CaseAuthorisation(BaseModel):
    case_id: str
    authorised_on: date | None
    victim_made_image: bool
    links_told: int  # running link workflows told of it


async def record_authorisation(
    pool: asyncpg.Pool,
    client: ClientSource,
    case_id: str,
    *,
    authorised_on: date | None,
    victim_made_image: bool | None = None,
) -> CaseAuthorisation:
    """Record the case's authorisation date (and, when given, whether the victim made the image),
    then tell its links. CaseNotFound, CaseRefused for a purged or withdrawn case, InvalidField for
    a date after today; nothing is changed then."""
    authorised_on = check_authorised_on(authorised_on, datetime.now(UTC).date())
    case = await pool.fetchrow("SELECT status, purged_at FROM cases WHERE case_id = $1", case_id)
    if case is None:
        raise CaseNotFound(case_id)
    if case["purged_at"] is not None or case["status"] != "open":
        raise CaseRefused(f"case {case_id} is {'purged' if case['purged_at'] else case['status']}")
    client = await client_of(client)
    row = await pool.fetchrow(
        """
        UPDATE cases SET authorised_on = COALESCE($2, authorised_on),
                         victim_made_image = COALESCE($3, victim_made_image)
         WHERE case_id = $1 RETURNING authorised_on, victim_made_image
        """,
        case_id,
        authorised_on,
        victim_made_image,
    )
    update = CaseUpdate(victim_made_image=row["victim_made_image"])
    links = await pool.fetch(
        "SELECT link_id FROM links WHERE case_id = $1 AND state <> 'WITHDRAWN' ORDER BY added_at, link_id", case_id
    )
    told = await signal_each(client, [r["link_id"] for r in links], LinkWorkflow.case_updated, update)
    return CaseAuthorisation(
        case_id=case_id, authorised_on=row["authorised_on"], victim_made_image=row["victim_made_image"],
        links_told=told,
    )  # fmt: skip
