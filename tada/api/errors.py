"""Service exceptions as HTTP answers: 404 unknown, 409 refused, 422 naming the field, 503 unavailable.

Every tada error answers its own ``http_status`` with its ``http_body()`` (tada/errors.py);
a 422 from the service has FastAPI's own shape (``detail`` is a list of
``{"loc": ["body", field], "msg", "type"}``), so a client reads every field
error the same way. Nothing here logs a URL, a body or a token.
"""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from tada.errors import TadaError

log = structlog.get_logger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TadaError)
    async def tada_error(request: Request, error: TadaError) -> JSONResponse:
        if error.http_status >= 500 and error.http_status != 503:
            raise error  # the server's own fault (its configuration): its plain 500, nothing more said
        return JSONResponse(error.http_body(), status_code=error.http_status)

    @app.exception_handler(RPCError)
    async def temporal_down(request: Request, error: RPCError) -> JSONResponse:
        log.warning("api_temporal_error", status=error.status.name if error.status else None)
        return JSONResponse({"detail": "Temporal is unavailable or refused the request; try again"}, status_code=503)

    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(asyncpg.InterfaceError)
    async def database_down(request: Request, error: Exception) -> JSONResponse:
        log.warning("api_database_error", error=type(error).__name__)
        return JSONResponse({"detail": "the database is unavailable; try again"}, status_code=503)
