"""Payload encryption keys: parsed from configuration, or kept for the local stack.

``TADA_PAYLOAD_KEYS`` is ``id1:base64key,id2:base64key`` with 32-byte (AES-256)
keys. The first key encrypts; every key listed decrypts, so a key is rotated by
putting a new one first and keeping the old ones after it for as long as
histories encrypted with them are kept. Without the variable, the keys of
``<state_dir>/payload_keys`` (written once by ``make run``) are used. Error
messages name a key by its id, never by its value.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tada.errors import Misconfigured

if TYPE_CHECKING:
    from tada.settings import Settings

KEY_BYTES = 32
KEYS_FILE = "payload_keys"
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class PayloadKeyError(Misconfigured, ValueError):
    """The configured payload keys cannot be used; the message says why (never the key)."""


@dataclass(frozen=True)
class PayloadKey:
    key_id: str
    key: bytes = field(repr=False)


def parse_keys(text: str, *, source: str = "TADA_PAYLOAD_KEYS") -> list[PayloadKey]:
    """``id:base64key,...`` → keys, the encrypting one first. Empty text → no keys."""
    keys: list[PayloadKey] = []
    for number, entry in enumerate(filter(None, (part.strip() for part in re.split(r"[,\n]", text))), 1):
        key_id, colon, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not colon or not _KEY_ID.fullmatch(key_id):
            raise PayloadKeyError(
                f"{source}: entry {number} is not `id:base64key` (the id: letters, digits, '.', '_' or '-', at most 64)"
            )
        key = _decode_key(encoded.strip())
        if key is None:
            raise PayloadKeyError(f"{source}: key {key_id!r} is not valid base64")
        if len(key) != KEY_BYTES:
            raise PayloadKeyError(f"{source}: key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if any(known.key_id == key_id for known in keys):
            raise PayloadKeyError(f"{source}: key id {key_id!r} is listed twice")
        keys.append(PayloadKey(key_id, key))
    return keys


def _decode_key(encoded: str) -> bytes | None:
    """Standard or URL-safe base64, padding optional."""
    padded = encoded.translate(str.maketrans("-_", "+/")) + "=" * (-len(encoded) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def new_key_line(key_id: str | None = None) -> str:
    """A fresh key as ``id:base64``; the id says when it was made."""
    key_id = key_id or f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode('ascii')}"


def keys_file(state_dir: Path) -> Path:
    return Path(state_dir) / KEYS_FILE


def configured_keys(settings: Settings) -> list[PayloadKey]:
    """TADA_PAYLOAD_KEYS, else ``<state_dir>/payload_keys`` when it exists, else none."""
    text = settings.payload_keys.get_secret_value()
    if text.strip():
        return parse_keys(text)
    path = keys_file(settings.state_dir)
    if path.is_file():
        return parse_keys(path.read_text(encoding="utf-8"), source=str(path))
    return []


def ensure_local_keys(state_dir: Path) -> Path:
    """Write a fresh key to ``<state_dir>/payload_keys`` (mode 600) unless it exists; returns the path."""
    path = keys_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(new_key_line() + "\n")
    os.chmod(path, 0o600)  # whatever the umask
    return path
