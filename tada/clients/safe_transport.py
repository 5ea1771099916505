"""An httpx transport that reaches public addresses only, checked at connect time.

Every request through it (liveness checks, web forms, RDAP, the RDAP bootstrap;
every redirect hop is a request of its own) is refused by its URL first (scheme,
credentials, numeric host forms: ``EgressPolicy.check_url``). Then, when
httpcore opens a connection, the network backend resolves the host once,
validates every address and connects to the validated address itself: no
second DNS lookup, so a name that answers "public" to a first query and
"127.0.0.1" to the next (DNS rebinding) never reaches a private socket. TLS
still verifies the certificate for the host name and sends it as SNI, and the
Host header is untouched: only the socket's destination is pinned.

No cookies are kept: every request is a first visit, so nothing a site set on one check
(a session, a tracking id) is sent back on the next, and a check sees what a stranger sees.

Responses are bounded too: at most ``max_response_bytes`` read and at most
``total_timeout`` seconds per request, headers and body together (httpx's own
timeouts are per read, so a server trickling one byte at a time would never
trip them). The byte limit holds after decoding as well: tada asks for
``identity``, and a body a server compresses anyway is decoded here, in bounded
steps (``tada.clients.decoding``: one gzip or deflate layer at most, at most
100:1), its decoded bytes counted against the same limit; an answer with a chain
of encodings or an unknown one is refused (``AnswerRefused``) before its body is
read. The response handed on names no Content-Encoding, so httpx decodes nothing.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import typing

import httpcore
import httpx

from tada.clients.decoding import AnswerRefused, BoundedDecoder, decoded_chunks, decoder_for
from tada.clients.egress import EgressPolicy

DEFAULT_TOTAL_TIMEOUT = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
#: Few idle connections kept: tada's requests go to many hosts, rarely twice to one soon, and
#: httpcore checks every idle connection (a poll and a getpeername each) on every request,
#: so a big keep-alive pool costs more than it saves (measured: 20 kept, 2.6 ms CPU per
#: liveness check; 10 kept, 2.15 ms; 100 kept, 6 ms). httpx's default keeps 20.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=10)


class ResponseTooLarge(httpx.ReadError):
    """The response body is larger than the transport lets anyone read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"response larger than {limit} bytes")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy validated."""

    def __init__(self, policy: EgressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._policy.addresses(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        failure: Exception | None = None
        for address in addresses:  # each one validated; the name is never resolved again
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise httpcore.ConnectError("unix sockets are never an egress target")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _BoundedStream(httpx.AsyncByteStream):
    """A response body read within the byte limit and the request's deadline, decoded by
    ``decoder`` if it is encoded: the limit holds for the bytes on the wire and for the
    decoded bytes alike."""

    def __init__(
        self, inner: httpx.AsyncByteStream, max_bytes: int, deadline: float, decoder: BoundedDecoder | None = None
    ) -> None:
        self._inner = inner
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._decoder = decoder

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        read = 0
        chunks = self._inner.__aiter__()
        while True:
            remaining = self._deadline - loop.time()
            if remaining <= 0:
                raise httpx.ReadTimeout("the response took longer than the egress time limit")
            try:
                async with asyncio.timeout(remaining):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise httpx.ReadTimeout("the response took longer than the egress time limit") from None
            read += len(chunk)
            if read > self._max_bytes:
                raise ResponseTooLarge(self._max_bytes)
            if self._decoder is None:
                yield chunk
                continue
            for piece in self._decoder.decode(chunk):
                yield self._within_limit(piece)
        if self._decoder is not None:
            for piece in self._decoder.flush():
                yield self._within_limit(piece)

    def _within_limit(self, piece: bytes) -> bytes:
        assert self._decoder is not None
        if self._decoder.decoded > self._max_bytes:
            raise ResponseTooLarge(self._max_bytes)
        return piece

    async def aclose(self) -> None:
        await self._inner.aclose()


class SafeTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncClient(transport=SafeTransport(policy))``: see the module docstring.
    Never uses a proxy from the environment (the proxy would make the connection, unchecked)."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        verify: bool = True,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        self.policy = policy
        self._total_timeout = total_timeout
        self._max_bytes = max_response_bytes
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, backend),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.policy.check_url(request.url)
        request.headers["Accept-Encoding"] = "identity"  # the byte limit is the size of what is read
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._total_timeout
        try:
            async with asyncio.timeout(self._total_timeout):
                response = await super().handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout("no response within the egress time limit", request=request) from None
        assert isinstance(response.stream, httpx.AsyncByteStream)
        try:
            decoder = decoder_for(response.headers)
        except AnswerRefused as refused:
            await response.aclose()  # not read: the connection is closed, not kept
            refused.request = request
            raise
        headers = response.headers
        if decoder is not None:  # handed on decoded: what httpx sees is the body itself
            headers = httpx.Headers(
                [(name, value) for name, value in headers.raw if name.lower() not in _ENCODED_BODY_HEADERS]
            )
        return httpx.Response(
            status_code=response.status_code,
            headers=headers,
            stream=_BoundedStream(response.stream, self._max_bytes, deadline, decoder),
            extensions=response.extensions,
        )


#: What describes an encoded body and no longer holds once it is decoded.
_ENCODED_BODY_HEADERS = (b"content-encoding", b"content-length")


class _NoCookies(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing (httpx always has one; it would keep what sites set)."""

    def extract_cookies(self, response, request) -> None:  # type: ignore[no-untyped-def]
        return None

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return None


def safe_client(
    policy: EgressPolicy,
    *,
    timeout: float,
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    limits: httpx.Limits = DEFAULT_LIMITS,
    backend: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """An httpx client whose every request goes through a SafeTransport; redirects are not followed
    unless a caller asks (each hop then goes through the same checks)."""
    transport = SafeTransport(
        policy, limits=limits, total_timeout=total_timeout, max_response_bytes=max_response_bytes, backend=backend
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        cookies=_NoCookies(),
    )


async def read_limited(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed response, or ResponseTooLarge as soon as it passes ``limit`` bytes
    (decoded bytes, decoded in bounded steps whatever the client: ``decoding.decoded_chunks``)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(limit)
    body = bytearray()
    async for chunk in decoded_chunks(response):
        body.extend(chunk)
        if len(body) > limit:
            raise ResponseTooLarge(limit)
    return bytes(body)
