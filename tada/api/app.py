"""The ASGI app: ``create_app(settings)``; uvicorn serves it (``tada api``, ``make run``).

Its lifespan applies the schema, opens the PostgreSQL pool and the Temporal
client and loads the platform registry. Around the app, outermost first: the bearer gate
(tada/api/gate.py: no known token, 401 before the body is read) and the body cap
(tada/api/body_limit.py, TADA_API_MAX_BODY_BYTES). The OpenAPI documents (/openapi.json,
/docs, /redoc) are served only with TADA_API_DOCS, and then to anyone: they describe the
API and hold no data, and a browser's /docs cannot present a token for the document it loads.
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
from tada.api.body_limit import BodyLimit
from tada.api.context import ApiContext
from tada.api.errors import install_error_handlers
from tada.api.gate import BearerGate
from tada.console.headers import PREFIX as CONSOLE
from tada.console.headers import ConsoleHeaders
from tada.console.uploads import SignedInUploads
from tada.console.web import install_console
from tada.domain.registry import load_registry
from tada.settings import Settings

DESCRIPTION = """\
Monitors report where a case's content is up again (`POST /v1/cases/{case}/reposts`);
caseworker tools read cases and links. Every call needs `Authorization: Bearer <token>`
with a token from `TADA_API_TOKENS`: a monitor token (`token:monitor:NAME`) can report reposts
on the cases that opted into NAME and nothing else; caseworker and ops tokens can read (ops can
also report, on any case). A request without a known token is refused (401) before its body is
read; a body over `TADA_API_MAX_BODY_BYTES` is 413.
"""

#: Served only with TADA_API_DOCS, and then without a token.
DOCS_PATHS = ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")


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

    docs = settings.api_docs
    app = FastAPI(
        title="tada", version="1", summary="Take-Down Assistance", description=DESCRIPTION, lifespan=lifespan,
        openapi_url="/openapi.json" if docs else None, docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )  # fmt: skip
    app.state.tokens = tokens
    app.state.startup_error = None
    app.include_router(routes_reposts.router)
    app.include_router(routes_read.router)
    install_console(app)
    install_error_handlers(app)
    # the last added runs first: the gate, a signed-in import's higher cap, the cap, then the app
    app.add_middleware(ConsoleHeaders)
    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(SignedInUploads, max_bytes=settings.console_max_import_bytes)
    public = (*(DOCS_PATHS if docs else ()), CONSOLE)  # /console itself redirects to /console/
    app.add_middleware(BearerGate, tokens=tokens, public=public, exempt=(CONSOLE + "/",))
    return app
