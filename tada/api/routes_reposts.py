"""``POST /v1/cases/{case}/reposts``: a monitor reports where a case's content is up again.

An ops token gets the full answer (200: link id, new, PDQ distance; 404, 409 as they are);
a monitor token, scoped to the cases that opted into its name, gets tada/api/monitor_reports.py's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tada.api.auth import Action, Principal, Role, require
from tada.api.context import ApiContext, context
from tada.api.monitor_reports import REFUSED, MonitorReceipt, monitor_report
from tada.app.reposts import RepostOutcome, report_repost
from tada.domain.pdq import HEX_DIGITS, InvalidPdq, parse_pdq
from tada.domain.reposts import SOURCE_MAX_LENGTH, InvalidRepost, check_source
from tada.domain.urls import MAX_URL_LENGTH, InvalidUrl, normalise_url

router = APIRouter(prefix="/v1", tags=["reposts"])

CaseId = Annotated[str, Path(min_length=1, max_length=40, description="Case id, e.g. TD-AB3DEF7G.")]


class RepostBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://host.example/v/123", "source": "hashwatch", "of_link": None, "pdq": None}]
        },
    )

    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="Where the content is (http or https).")
    source: str = Field(min_length=1, max_length=SOURCE_MAX_LENGTH, description="The monitor's name.")
    of_link: str | None = Field(
        default=None,
        min_length=1,
        max_length=80,
        description="The case's earlier link this copies, if known.",
    )
    pdq: str | None = Field(
        default=None,
        description="PDQ hash (64 hex digits) of what was found; then it must match one of the case's hashes.",
        json_schema_extra={"pattern": f"^[0-9a-fA-F]{{{HEX_DIGITS}}}$"},
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            normalise_url(value)
        except InvalidUrl as error:
            raise ValueError(error.reason) from None
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        try:
            return check_source(value)
        except InvalidRepost as error:
            raise ValueError(error.reason) from None

    @field_validator("pdq")
    @classmethod
    def _pdq(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return parse_pdq(value)
        except InvalidPdq as error:
            raise ValueError(error.reason) from None


@router.post(
    "/cases/{case_id}/reposts",
    response_model=RepostOutcome,
    summary="Report a repost",
    responses={
        202: {"model": MonitorReceipt, "description": "A monitor's report was taken"},
        401: {"description": "No or an invalid bearer token (answered before the body is read)"},
        403: {"description": "The token's role may not report reposts"},
        404: {
            "description": "No such case; for a monitor token, also every case it may not report on "
            f"(one answer for all: `{REFUSED}`)"
        },
        409: {"description": "The case or the link was withdrawn (ops tokens)"},
        413: {"description": "The body is over TADA_API_MAX_BODY_BYTES"},
        422: {"description": "A field is invalid, or the PDQ hash matches none of the case's hashes"},
    },
)
async def post_repost(
    case_id: CaseId,
    body: RepostBody,
    ctx: Annotated[ApiContext, Depends(context)],
    principal: Annotated[Principal, Depends(require(Action.REPOST))],
) -> RepostOutcome | JSONResponse:
    """Same URL twice gives the same link id (`new` false) and never a second workflow. A
    removed link seen again is re-checked, or started again in a new cycle whose notices say repost.

    An ops token gets 200 with `link_id`, `new` and `distance`. A monitor token
    (`token:monitor:NAME`) may report only on open cases that opted into NAME; it gets 202
    `{"accepted": true, "link_id"}`, and one and the same 404 for any case it may not report on."""
    if principal.role == Role.MONITOR:
        return await monitor_report(
            ctx, principal, case_id, url=body.url, source=body.source, of_link=body.of_link, pdq=body.pdq
        )
    return await report_repost(
        ctx.pool, ctx.client, ctx.registry, case_id=case_id, url=body.url, source=body.source,
        of_link=body.of_link, pdq=body.pdq, settings=ctx.settings,
    )  # fmt: skip
