"""Headers on every console response: a strict Content-Security-Policy (everything from tada
itself, no inline script or style, no frames, forms posting only here), no referrer, no framing,
no MIME sniffing, and no caching of pages (they hold case data; the static files may be cached).

An ASGI middleware, so a response that FastAPI or Starlette makes (an error, a redirect, a
static file) carries them too.
"""

from __future__ import annotations

from tada.api.asgi import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/console"
STATIC = f"{PREFIX}/static/"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_ALWAYS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
_NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
_STATIC_CACHE = [(b"cache-control", b"private, max-age=3600")]


class ConsoleHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        extra = _ALWAYS + (_STATIC_CACHE if path.startswith(STATIC) else _NO_STORE)
        names = {name for name, _ in extra}

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, with_headers)
