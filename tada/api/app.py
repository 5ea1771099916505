"""The ASGI app: ``create_app(settings)``; uvicorn serves it (``tada api``, ``make run``).

Its lifespan applies the schema, opens the PostgreSQL pool and the Temporal
client and loads the platform registry; OpenAPI is at /openapi.json and /docs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import apply_schema, create_pool
from tada.adapters.temporal import connect
from tada.api import routes_read, routes_reposts
from tada.api.auth import parse_tokens
from tada.api.context import ApiContext
from tada.api.errors import install_error_handlers
from tada.domain.registry import load_registry
from tada.settings import Settings

DESCRIPTION = """\
Monitors report where a case's content is up again (`POST /v1/cases/{case}/reposts`);
caseworker tools read cases and links. Every call needs `Authorization: Bearer <token>`
with a token from `TADA_API_TOKENS`: a monitor token can report reposts and nothing else,
caseworker and ops tokens can read (ops can also report).
"""


def create_app(settings: Settings) -> FastAPI:
    """The app; ValueError (naming the entry) when TADA_API_TOKENS is malformed."""
    tokens = parse_tokens(settings.api_tokens.get_secret_value())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            registry = load_registry(settings.platforms)
            await apply_schema(settings.database_url)
            pool = await create_pool(settings.database_url, min_size=1, max_size=10)
        except Exception as error:
            app.state.startup_error = error
            raise
        try:
            try:
                client = await connect(settings)
            except Exception as error:
                app.state.startup_error = error
                raise
            crypto = DataCrypto.from_settings(settings)
            app.state.tada = ApiContext(settings=settings, pool=pool, client=client, registry=registry, crypto=crypto)
            yield
        finally:
            await pool.close()

    app = FastAPI(title="tada", version="1", summary="Take-Down Assistance", description=DESCRIPTION, lifespan=lifespan)
    app.state.tokens = tokens
    app.state.startup_error = None
    app.include_router(routes_reposts.router)
    app.include_router(routes_read.router)
    install_error_handlers(app)
    return app
