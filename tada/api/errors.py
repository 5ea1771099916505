"""Service exceptions as HTTP answers: 404 unknown, 409 refused, 422 naming the field, 503 unavailable.

A 422 from the service has FastAPI's own shape (``detail`` is a list of
``{"loc": ["body", field], "msg", "type"}``), so a client reads every field
error the same way. Nothing here logs a URL, a body or a token.
"""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from tada.domain.reposts import InvalidRepost, RepostRefused
from tada.app.intake import CaseNotFound, CaseRefused
from tada.app.readmodel import LinkNotFound

log = structlog.get_logger(__name__)


def _field_error(status: int, field: str, reason: str, kind: str) -> JSONResponse:
    return JSONResponse(
        {"detail": [{"loc": ["body", field], "msg": reason, "type": kind}]}, status_code=status
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CaseNotFound)
    async def case_not_found(request: Request, error: CaseNotFound) -> JSONResponse:
        return JSONResponse({"detail": f"no case {error}"}, status_code=404)

    @app.exception_handler(LinkNotFound)
    async def link_not_found(request: Request, error: LinkNotFound) -> JSONResponse:
        return JSONResponse({"detail": f"no link {error}"}, status_code=404)

    @app.exception_handler(CaseRefused)
    async def refused(request: Request, error: CaseRefused) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(InvalidRepost)
    async def invalid(request: Request, error: InvalidRepost) -> JSONResponse:
        return _field_error(422, error.field, error.reason, "value_error")

    @app.exception_handler(RepostRefused)
    async def not_matched(request: Request, error: RepostRefused) -> JSONResponse:
        return _field_error(422, error.field, error.reason, "refused")

    @app.exception_handler(RPCError)
    async def temporal_down(request: Request, error: RPCError) -> JSONResponse:
        log.warning("api_temporal_error", status=error.status.name if error.status else None)
        return JSONResponse(
            {"detail": "Temporal is unavailable or refused the request; try again"}, status_code=503
        )

    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.InterfaceError)
    async def database_down(request: Request, error: Exception) -> JSONResponse:
        log.warning("api_database_error", error=type(error).__name__)
        return JSONResponse({"detail": "the database is unavailable; try again"}, status_code=503)
