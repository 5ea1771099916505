"""Compressed bombs: a few KiB on the wire, many MiB once decoded, built without ever
holding the decoded bytes."""

from __future__ import annotations

import zlib

GZIP, DEFLATE, RAW_DEFLATE = zlib.MAX_WBITS | 16, zlib.MAX_WBITS, -zlib.MAX_WBITS
_BLOCK = bytes(1 << 20)


def bomb(decoded_bytes: int, wbits: int = GZIP) -> bytes:
    """``decoded_bytes`` zero bytes, compressed (gzip by default)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = []
    left = decoded_bytes
    while left > 0:
        parts.append(packer.compress(_BLOCK[: min(left, len(_BLOCK))]))
        left -= len(_BLOCK)
    parts.append(packer.flush())
    return b"".join(parts)


def compressed(data: bytes, wbits: int = GZIP) -> bytes:
    """``data`` compressed once more (a second layer, for ``Content-Encoding: gzip, gzip``)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()
