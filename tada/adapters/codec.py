"""AES-256-GCM payload codec: Temporal (its server, database and Web UI) sees only ciphertext.

An encoded payload has the metadata ``encoding: binary/encrypted`` and
``encryption-key-id: <id>``; its data is a 12-byte nonce followed by the
AES-GCM ciphertext of the serialised original ``Payload``, with the key id as
associated data (so the id cannot be swapped on a stored payload). The first
key encrypts; any key listed decrypts, so keys can rotate. Payloads that are
not encrypted pass through ``decode`` unchanged (histories from before the
codec was switched on still read).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from tada.adapters.keys import PayloadKey

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadDecryptionError(ValueError):
    """An encrypted payload cannot be decrypted: unknown key id, or tampered / corrupt data."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise ValueError("EncryptionCodec needs at least one key")
        self._encrypt_id = keys[0].key_id
        self._ciphers = {key.key_id: AESGCM(key.key) for key in keys}

    @property
    def key_id(self) -> str:
        """The id of the key that encrypts new payloads."""
        return self._encrypt_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self._encrypt_id.encode()
        sealed = self._ciphers[self._encrypt_id].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which is not among the configured keys "
                f"({', '.join(sorted(self._ciphers))}): add it to TADA_PAYLOAD_KEYS"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except (InvalidTag, ValueError):
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r} does not decrypt: it was altered or is corrupt"
            ) from None
        return Payload.FromString(plain)
