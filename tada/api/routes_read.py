"""Read endpoints for caseworker tools: what ``tada status`` and ``tada link show`` print."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from tada.api.auth import Action, require
from tada.api.context import ApiContext, context
from tada.app.readmodel import CaseStatus, LinkDetail, case_status, link_timeline
from tada.domain.models import LinkStatus
from tada.workflows.link import LinkWorkflow

router = APIRouter(prefix="/v1", tags=["read"], dependencies=[Depends(require(Action.READ))])

QUERY_TIMEOUT = timedelta(seconds=5)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or an invalid bearer token"},
    403: {"description": "A monitor token (it can only report reposts)"},
    404: {"description": "Unknown id"},
}


class LinkView(LinkDetail):
    """The link's timeline from the database, and its workflow's live status when reachable."""

    live: LinkStatus | None = None
    live_unavailable: str | None = None


@router.get("/cases/{case_id}", response_model=CaseStatus, responses=NOT_FOUND, summary="A case and its links")
async def get_case(
    case_id: Annotated[str, Path(max_length=40)], ctx: Annotated[ApiContext, Depends(context)]
) -> CaseStatus:
    """Every link with its state, next action and notices sent, and the counts by state."""
    return await case_status(ctx.pool, case_id, ctx.crypto)


@router.get("/links/{link_id}", response_model=LinkView, responses=NOT_FOUND, summary="A link's timeline")
async def get_link(
    link_id: Annotated[str, Path(max_length=80)], ctx: Annotated[ApiContext, Depends(context)]
) -> LinkView:
    """Every event, notice and platform reply of the link, oldest first. A reply gives when it
    came, the sender's domain, its classification (kind, confidence, rule), how it was matched,
    its attachments' types and sizes, and the excerpt of the platform's words as plain text."""
    detail = await link_timeline(ctx.pool, link_id, ctx.crypto)
    view = LinkView(**detail.model_dump())
    try:
        handle = ctx.client.get_workflow_handle(link_id)
        view.live = await handle.query(LinkWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, TimeoutError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        view.live_unavailable = f"workflow not reachable: {reason}"
    return view
