"""Victim data encrypted at rest: one key per case, wrapped by the master data key.

The master key comes from TADA_DATA_KEY — a base64 32-byte key, or
``id:base64key,id:base64key`` like TADA_PAYLOAD_KEYS (tada/adapters/keys.py: the first
wraps new case keys, every one listed unwraps, so the master key can rotate) —
or, when that is unset, from ``<state_dir>/data_key``, which ``make run``
writes once.

Each case gets a random 32-byte key the first time something of it is sealed,
stored in ``case_keys`` wrapped (AES-GCM) by the master key. The case's
reference and its timeline notes are sealed with that case key
(tada/adapters/sealing.py). ``tada case purge`` deletes the case key: every sealed
value of the case is then unreadable for good (crypto-shredding), with no need
to touch the append-only timeline. A purged case never gets a new key.

Other keys tada needs are derived from the master key (HKDF-SHA256, one ``purpose`` each:
``derive_sub_key``), never the master key itself: the reply tags' HMAC key
(tada/domain/reply_tags.py) is ``sub_keys("reply-tags")``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import structlog
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tada.adapters.keys import PayloadKeyError, new_key_line, parse_keys
from tada.adapters.sealing import (
    KEY_BYTES,
    Unsealable,
    is_sealed,
    new_key,
    open_bytes,
    open_text,
    seal_bytes,
    seal_text,
)
from tada.errors import Misconfigured

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from tada.settings import Settings

DATA_KEY_FILE = "data_key"
#: What a sealed value reads as once its case was purged, or when it no longer opens.
PURGED = "[purged]"
UNREADABLE = "[unreadable]"

MISSING = (
    "no data key: set TADA_DATA_KEY (a base64 32-byte key, e.g. from "
    "`python -c 'import os,base64; print(base64.b64encode(os.urandom(32)).decode())'`) "
    "or run `make run` once, which writes .tada/data_key"
)


class DataKeyError(Misconfigured, ValueError):
    """The configured data key cannot be used; the message names it by id, never by value."""


class DataKeyMissing(DataKeyError):
    """Victim data must be sealed or opened, and no data key is configured."""

    def __init__(self) -> None:
        super().__init__(MISSING)


@dataclass(frozen=True)
class DataKey:
    key_id: str
    key: bytes = field(repr=False)


def parse_data_keys(text: str, *, source: str = "TADA_DATA_KEY") -> list[DataKey]:
    """A bare base64 key, or ``id:base64key,...``; the first one wraps new case keys."""
    keys: list[DataKey] = []
    for number, entry in enumerate(filter(None, (part.strip() for part in re.split(r"[,\n]", text))), 1):
        if ":" in entry:
            try:
                [parsed] = parse_keys(entry, source=source)
            except PayloadKeyError as error:
                raise DataKeyError(str(error).replace("entry 1", f"entry {number}")) from None
            keys.append(DataKey(parsed.key_id, parsed.key))
            continue
        try:
            key = base64.b64decode(entry.translate(str.maketrans("-_", "+/")) + "=" * (-len(entry) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise DataKeyError(f"{source}: entry {number} is not base64") from None
        if len(key) != KEY_BYTES:
            raise DataKeyError(f"{source}: entry {number} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        keys.append(DataKey("d" + hashlib.sha256(key).hexdigest()[:8], key))
    if len({key.key_id for key in keys}) != len(keys):
        raise DataKeyError(f"{source}: a key id is listed twice")
    return keys


def derive_sub_key(master: bytes, purpose: str, length: int = KEY_BYTES) -> bytes:
    """A key of its own for ``purpose``, derived from a master data key (HKDF-SHA256): knowing
    it tells nothing of the master key, nor of another purpose's key."""
    if not purpose:
        raise ValueError("a sub-key needs a purpose")
    info = b"tada/sub-key/" + purpose.encode("utf-8")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info).derive(master)


def data_key_file(state_dir: Path) -> Path:
    return Path(state_dir) / DATA_KEY_FILE


def configured_data_keys(settings: Settings) -> list[DataKey]:
    """TADA_DATA_KEY, else ``<state_dir>/data_key`` when it exists, else none."""
    text = settings.data_key.get_secret_value()
    if text.strip():
        return parse_data_keys(text)
    path = data_key_file(settings.state_dir)
    if path.is_file():
        return parse_data_keys(path.read_text(encoding="utf-8"), source=str(path))
    return []


def ensure_local_data_key(state_dir: Path) -> tuple[Path, bool]:
    """Write a fresh key to ``<state_dir>/data_key`` (mode 600) unless it exists: (path, created)."""
    path = data_key_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path, False
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(new_key_line() + "\n")
    os.chmod(path, 0o600)
    return path, True


class DataCrypto:
    """Seals and opens a case's victim data with the case's own key."""

    def __init__(self, keys: Sequence[DataKey]) -> None:
        self._keys = {key.key_id: key for key in keys}
        self._current = keys[0] if keys else None

    @classmethod
    def from_settings(cls, settings: Settings) -> DataCrypto:
        return cls(configured_data_keys(settings))

    @property
    def configured(self) -> bool:
        return self._current is not None

    def sub_keys(self, purpose: str) -> list[bytes]:
        """``purpose``'s key under every configured data key, the current one's first (it makes
        new values; all of them check old ones, so the master key can rotate)."""
        current = self._require()
        others = [key for key in self._keys.values() if key.key_id != current.key_id]
        return [derive_sub_key(key.key, purpose) for key in (current, *others)]

    async def case_key(self, conn: asyncpg.Connection | asyncpg.Pool, case_id: str, *, create: bool) -> bytes | None:
        """The case's key; None when it has none (or was purged) and ``create`` is false, or the
        case was purged. ``create`` makes one for a case that has none yet."""
        row = await conn.fetchrow("SELECT key_id, wrapped FROM case_keys WHERE case_id = $1", case_id)
        if row is None and create:
            current = self._require()
            wrapped = seal_bytes(current.key, new_key(), _wrap_context(case_id))
            await conn.execute(
                """
                INSERT INTO case_keys (case_id, key_id, wrapped)
                SELECT case_id, $2, $3 FROM cases WHERE case_id = $1 AND purged_at IS NULL
                ON CONFLICT (case_id) DO NOTHING
                """,
                case_id,
                current.key_id,
                wrapped,
            )
            row = await conn.fetchrow("SELECT key_id, wrapped FROM case_keys WHERE case_id = $1", case_id)
        if row is None:
            return None
        master = self._keys.get(row["key_id"])
        if master is None:
            if not self._keys:
                raise DataKeyMissing()
            raise DataKeyError(
                f"case {case_id} is sealed under data key {row['key_id']!r}, which TADA_DATA_KEY does not list"
            )
        try:
            return open_bytes(master.key, row["wrapped"], _wrap_context(case_id))
        except Unsealable:
            raise DataKeyError(f"data key {master.key_id!r} does not open the key of case {case_id}") from None

    async def seal(self, conn: asyncpg.Connection | asyncpg.Pool, case_id: str, name: str, text: str) -> str:
        """``text`` sealed with the case key (made if need be); PURGED for a purged case."""
        key = await self.case_key(conn, case_id, create=True)
        if key is None:
            return PURGED
        return seal_text(key, text, _field_context(case_id, name))

    async def seal_many(
        self, conn: asyncpg.Connection | asyncpg.Pool, case_id: str, named: Sequence[tuple[str, str]]
    ) -> list[str]:
        """``seal`` for several (name, text) of one case: its key read once."""
        if not named:
            return []
        key = await self.case_key(conn, case_id, create=True)
        if key is None:
            return [PURGED for _ in named]
        return [seal_text(key, text, _field_context(case_id, name)) for name, text in named]

    async def open(
        self, conn: asyncpg.Connection | asyncpg.Pool, case_id: str, name: str, value: str | None
    ) -> str | None:
        """The text of a sealed value; None stays None, and text never sealed (stored before
        encryption existed) is returned as it is."""
        if value is None or not is_sealed(value):
            return value
        key = await self.case_key(conn, case_id, create=False)
        if key is None:
            return PURGED
        try:
            return open_text(key, value, _field_context(case_id, name))
        except Unsealable:
            return UNREADABLE

    async def open_among_many(
        self, conn: asyncpg.Connection | asyncpg.Pool, case_id: str, name: str, value: str | None
    ) -> str | None:
        """``open`` for a value shown among many cases' (a list, a search): a case sealed under a
        data key that TADA_DATA_KEY no longer lists reads UNREADABLE (logged by case and key id)
        instead of failing the whole list. No data key at all is still DataKeyMissing."""
        try:
            return await self.open(conn, case_id, name, value)
        except DataKeyMissing:
            raise
        except DataKeyError:
            log.warning("case_key_not_configured", case_id=case_id)
            return UNREADABLE

    def _require(self) -> DataKey:
        if self._current is None:
            raise DataKeyMissing()
        return self._current


def _wrap_context(case_id: str) -> str:
    return f"tada/case-key/{case_id}"


def _field_context(case_id: str, name: str) -> str:
    return f"tada/{case_id}/{name}"
