"""AES-256-GCM sealing of short texts and keys (the ``cryptography`` package).

A sealed text is ``tada1:`` + URL-safe base64 of a random 96-bit nonce and the
ciphertext with its tag. ``context`` is authenticated but not stored (AES-GCM
associated data): a value copied into another row, case or field no longer
opens. Nothing here logs or keeps a key.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "tada1:"
KEY_BYTES = 32
_NONCE_BYTES = 12


class Unsealable(ValueError):
    """Not a sealed value, sealed under another key or context, or tampered with."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def seal_bytes(key: bytes, data: bytes, context: str) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, data, context.encode("utf-8"))


def open_bytes(key: bytes, sealed: bytes, context: str) -> bytes:
    if len(sealed) < _NONCE_BYTES + 16:
        raise Unsealable("too short to be sealed")
    try:
        return AESGCM(key).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], context.encode("utf-8"))
    except InvalidTag:
        raise Unsealable("does not open with this key and context") from None


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal_text(key: bytes, text: str, context: str) -> str:
    sealed = seal_bytes(key, text.encode("utf-8"), context)
    return PREFIX + base64.urlsafe_b64encode(sealed).decode("ascii")


def open_text(key: bytes, value: str, context: str) -> str:
    if not is_sealed(value):
        raise Unsealable("not a sealed value")
    try:
        sealed = base64.urlsafe_b64decode(value[len(PREFIX) :].encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise Unsealable("not a sealed value") from None
    return open_bytes(key, sealed, context).decode("utf-8")
