"""A response body's Content-Encoding, decoded in bounded steps or refused.

httpx decodes whatever a server names in Content-Encoding, as many layers as it names, each
wire chunk in one call: a few KiB of ``gzip, gzip`` are GiBs after decoding, and a byte
limit counted on the wire never sees them. tada asks for ``identity`` and decodes what a
server sends anyway with this module instead:

- one coding at most, ``gzip`` (``x-gzip``) or ``deflate``; a chain (``gzip, gzip``, or two
  Content-Encoding lines) or any other coding (``br``, ``zstd``, ``compress``, ...) is
  refused before the body is read;
- one decompressor call hands out at most ``STEP`` bytes (zlib's ``max_length``; the rest of
  the input waits in ``unconsumed_tail``), so no single call can blow up;
- past the first ``RATIO_GRACE`` decoded bytes, the decoded size may be at most
  ``MAX_RATIO`` times the compressed bytes it came from. Real pages and JSON compress 3 to
  15 times, deflate can reach about 1,030 times: a bomb is refused at 100:1, after at most
  a few tens of KiB, while the grace lets small, very repetitive answers through;
- corrupt compressed data is refused.

Callers count the decoded bytes against their own limits. Refusals are ``AnswerRefused``,
whose message names the problem only (never a URL).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

#: The most decoded bytes one decompressor call hands out.
STEP = 16 * 1024
#: Decoded bytes per compressed byte, at most (once past RATIO_GRACE).
MAX_RATIO = 100
#: Decoded bytes let through whatever their ratio: a bomb costs no more than this before it is
#: named (below liveness's 64 KiB slice, so a bomb page is refused rather than read as a page).
RATIO_GRACE = 32 * 1024

_GZIP = zlib.MAX_WBITS | 16
_WBITS = {"gzip": _GZIP, "x-gzip": _GZIP, "deflate": zlib.MAX_WBITS}
_TOKEN = re.compile(r"[a-z0-9][a-z0-9._+-]{0,23}")


class AnswerRefused(httpx.DecodingError):
    """An answer whose body is not read (or not read on): its encoding is stacked, unknown or
    corrupt, or it decodes to more than MAX_RATIO times its size."""

    def __init__(self, problem: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(problem, request=request)


def decoder_for(headers: httpx.Headers) -> BoundedDecoder | None:
    """The decoder of a response with these headers; None if its body is not encoded;
    AnswerRefused for a chain of codings or one not decoded here."""
    codings = [value.strip().lower() for value in headers.get_list("content-encoding", split_commas=True)]
    codings = [coding for coding in codings if coding and coding != "identity"]
    if not codings:
        return None
    if len(codings) > 1:
        raise AnswerRefused("stacked content encodings")
    coding = codings[0]
    if coding not in _WBITS:
        shown = f" {coding!r}" if _TOKEN.fullmatch(coding) else ""
        raise AnswerRefused(f"unknown content encoding{shown}")
    return BoundedDecoder(coding)


class BoundedDecoder:
    """One gzip or deflate stream, decoded STEP bytes at a time within MAX_RATIO.
    Bytes after the end of the compressed stream are ignored (as httpx does)."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.compressed = 0  # bytes the decompressor has consumed
        self.decoded = 0
        self._zlib = zlib.decompressobj(_WBITS[coding])
        #: "deflate" is zlib-wrapped by the standard, raw deflate in some servers' practice:
        #: until zlib has taken its 2-byte header, the bytes are kept to start again raw.
        self._may_be_raw = coding == "deflate"
        self._head = b""
        self._stalled = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        """``data``'s decoded bytes, in pieces of at most STEP bytes."""
        while data and not self._zlib.eof:
            piece = self._inflate(data)
            if self._stalled:
                return  # neither took nor gave a byte (zlib always does one): never a busy loop
            data = self._zlib.unconsumed_tail
            if piece:
                yield piece

    def flush(self) -> Iterator[bytes]:
        """What the decompressor still holds once the wire has ended, in bounded pieces."""
        while not self._zlib.eof:
            piece = self._inflate(b"")
            if not piece:
                return
            yield piece

    def _inflate(self, data: bytes) -> bytes:
        try:
            piece = self._zlib.decompress(data, STEP)
        except zlib.error:
            if not self._may_be_raw:
                raise AnswerRefused(f"corrupt {self.coding} data") from None
            # No zlib header in the first bytes: raw deflate, from the start.
            self._may_be_raw = False
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            data, self._head, self.compressed = self._head + data, b"", 0
            return self._inflate(data)
        consumed = len(data) - len(self._zlib.unconsumed_tail)
        self.compressed += consumed
        self._stalled = consumed == 0 and not piece
        if self._may_be_raw:  # zlib checks its 2-byte header first: past it, it is zlib
            self._head += data[:consumed]
            self._may_be_raw = self.compressed < 2
        self.decoded += len(piece)
        if self.decoded > RATIO_GRACE and self.decoded > MAX_RATIO * self.compressed:
            raise AnswerRefused(f"compressed beyond {MAX_RATIO}:1")
        return piece


async def decoded_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """A streamed response's body, decoded within the bounds above (pieces of at most STEP
    bytes when encoded). Through the safe transport the body arrives decoded already and its
    Content-Encoding gone; through any other client this is the bound."""
    decoder = decoder_for(response.headers)
    async for chunk in response.aiter_raw():
        if decoder is None:
            yield chunk
            continue
        for piece in decoder.decode(chunk):
            yield piece
    if decoder is not None:
        for piece in decoder.flush():
            yield piece
