"""``tada codec-server``: the payload codec over HTTP, for the Temporal Web UI.

Temporal's codec server protocol: ``POST …/encode`` and ``POST …/decode`` take
and return ``{"payloads": [...]}`` in protobuf JSON (metadata values and data in
base64); only the last part of the path says which. Every call needs the token,
as ``Authorization: Bearer <token>`` or, for the Web UI (which sends no header of
ours), as the path segment before ``encode``/``decode``: the UI's codec endpoint
is then ``http://127.0.0.1:8235/<token>``. CORS lets the UI's origin call it.
Requests are not logged (their paths can carry the token, their bodies plaintext).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import signal
from collections.abc import Iterator

import uvicorn
from google.protobuf.json_format import MessageToDict, Parse, ParseError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from tada.adapters.codec import EncryptionCodec, PayloadDecryptionError
from tada.adapters.keys import configured_keys
from tada.errors import Misconfigured
from tada.settings import Settings

MAX_BODY_BYTES = 64 * 1024 * 1024
ALLOWED_HEADERS = ["content-type", "authorization", "x-namespace"]


class CodecServerRefused(Misconfigured):
    """The codec server will not start; the message says what to configure."""


def create_app(codec: PayloadCodec, token: str, cors_origin: str) -> Starlette:
    if not token:
        raise CodecServerRefused("the codec server needs a token")

    def authorised(request: Request, prefix: list[str]) -> bool:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode()):
            return True
        return bool(prefix) and hmac.compare_digest(prefix[-1].encode(), token.encode())

    async def endpoint(request: Request) -> JSONResponse:
        *prefix, action = [part for part in request.url.path.split("/") if part] or [""]
        if action not in ("encode", "decode"):
            return _error(404, "POST …/encode or …/decode")
        if not authorised(request, prefix):
            return _error(401, "a valid token is required", {"WWW-Authenticate": "Bearer"})
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "request too large")
        try:
            payloads = Parse(body, Payloads())
        except (ParseError, UnicodeDecodeError):
            return _error(400, 'the body must be {"payloads": [...]} in protobuf JSON')
        convert = codec.encode if action == "encode" else codec.decode
        try:
            result = await convert(payloads.payloads)
        except PayloadDecryptionError as error:
            return _error(400, str(error))
        return JSONResponse({"payloads": [MessageToDict(payload) for payload in result]})

    return Starlette(
        routes=[Route("/{path:path}", endpoint, methods=["POST"])],
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=[cors_origin],
                allow_methods=["POST"],
                allow_headers=ALLOWED_HEADERS,
                allow_credentials=True,
                max_age=600,
            )
        ],
    )


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def app_for(settings: Settings) -> Starlette:
    """The app for the configured keys and token; CodecServerRefused names what is missing."""
    token = settings.codec_token.get_secret_value().strip() if settings.codec_token else ""
    if not token:
        raise CodecServerRefused(
            "no TADA_CODEC_TOKEN: the codec server decrypts every payload, so it does not run without a "
            "token (make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    keys = configured_keys(settings)
    if not keys:
        raise CodecServerRefused("no payload keys (TADA_PAYLOAD_KEYS): there is nothing to decode")
    return create_app(EncryptionCodec(keys), token, settings.codec_cors_origin)


def build_server(settings: Settings, host: str = "127.0.0.1", port: int | None = None) -> uvicorn.Server:
    config = uvicorn.Config(
        app_for(settings),
        host=host,
        port=settings.codec_port if port is None else port,
        access_log=False,  # paths can carry the token
        log_config=None,  # our structlog set-up
        lifespan="off",
    )
    return _Server(config)


class _Server(uvicorn.Server):
    """Ctrl-C or SIGTERM stops the server cleanly, without re-raising the signal afterwards."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
