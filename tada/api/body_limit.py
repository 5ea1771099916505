"""The request-body cap (TADA_API_MAX_BODY_BYTES) for everything the HTTP server serves: the
API, and the console that will be served next to it.

A plain ASGI layer, so any app can be wrapped in it. A ``Content-Length`` over the cap is
answered 413 at once, nothing read. Otherwise the body is read here, counted as it streams
(a chunked body has no length to trust), and a body that passes the cap is cut off with 413
there; the connection is closed after it. A body within the cap is handed to the app as it
came, so the app never holds more than the cap of any one request. One request may have a higher
cap set by a layer outside this one (a signed-in person's link import: tada/console/uploads.py).
"""

from __future__ import annotations

from tada.api.asgi import ASGIApp, Message, Receive, Scope, Send, answer, header

#: The key in scope["state"] by which an outer layer raises the cap for one request it vouched for.
RAISED_BY = "tada_max_body"


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = scope.get("state", {}).get(RAISED_BY, self.max_bytes)  # a console import (tada/console/uploads.py)
        declared = _content_length(header(scope, b"content-length"))
        if declared is not None and declared > cap:
            await self._too_large(send, cap)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            body += message.get("body", b"")
            if len(body) > cap:
                await self._too_large(send, cap)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _too_large(self, send: Send, cap: int) -> None:
        await answer(send, 413, f"request body too large: at most {cap} bytes")


def _content_length(value: bytes | None) -> int | None:
    """The declared length; the HTTP server has already refused one that is not a number."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app the whole body once, then what the client does next."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
