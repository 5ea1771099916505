"""Victim data at rest: per-case keys wrapped by the master key, sealed fields, crypto-shredding."""

from __future__ import annotations

import base64
import os

import pytest

from tada.adapters.data_crypto import (
    PURGED,
    UNREADABLE,
    DataCrypto,
    DataKey,
    DataKeyError,
    DataKeyMissing,
    ensure_local_data_key,
    parse_data_keys,
)
from tada.adapters.sealing import Unsealable, is_sealed, new_key, open_text, seal_text
from tada.app.intake import open_case
from tada.app.readmodel import case_status

pytestmark = pytest.mark.asyncio(loop_scope="session")


def a_key(key_id: str = "k1") -> DataKey:
    return DataKey(key_id, os.urandom(32))


async def test_a_sealed_text_opens_only_with_its_key_and_context():
    key = new_key()
    sealed = seal_text(key, "REF-1 {{7*7}} '; DROP TABLE cases; --", "tada/TD-A/reference")
    assert is_sealed(sealed) and "REF-1" not in sealed
    assert open_text(key, sealed, "tada/TD-A/reference") == "REF-1 {{7*7}} '; DROP TABLE cases; --"
    for wrong_key, context in ((new_key(), "tada/TD-A/reference"), (key, "tada/TD-B/reference")):
        with pytest.raises(Unsealable):
            open_text(wrong_key, sealed, context)
    with pytest.raises(Unsealable):
        open_text(key, sealed[:-4] + "AAAA", "tada/TD-A/reference")


async def test_data_keys_parse_bare_or_with_ids_and_never_echo_the_key():
    bare = base64.b64encode(os.urandom(32)).decode()
    [key] = parse_data_keys(bare)
    assert key.key_id.startswith("d") and len(key.key) == 32
    keys = parse_data_keys(f"new:{base64.b64encode(os.urandom(32)).decode()},{bare}")
    assert [k.key_id for k in keys] == ["new", key.key_id]
    short = base64.b64encode(os.urandom(16)).decode()
    for text in (short, "not base64 at all!", f"x:{short}"):
        with pytest.raises(DataKeyError) as error:
            parse_data_keys(text)
        assert short not in str(error.value)


async def test_the_local_key_file_is_written_once_and_private(tmp_path):
    path, created = ensure_local_data_key(tmp_path)
    again, created_again = ensure_local_data_key(tmp_path)
    assert (path, created, created_again) == (again, True, False)
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(parse_data_keys(path.read_text())) == 1


async def test_a_case_reference_is_sealed_with_the_case_key_and_shredded_with_it(db_pool):
    crypto = DataCrypto([a_key()])
    case_id = await open_case(db_pool, age=30, minimum_age=16, signpost="", reference="RL-2026-014", crypto=crypto)
    stored = await db_pool.fetchval("SELECT reference FROM cases WHERE case_id = $1", case_id)
    assert is_sealed(stored) and "RL-2026-014" not in stored
    wrapped = await db_pool.fetchval("SELECT wrapped FROM case_keys WHERE case_id = $1", case_id)
    assert wrapped and len(wrapped) == 12 + 32 + 16
    assert (await case_status(db_pool, case_id, crypto)).case.reference == "RL-2026-014"

    with pytest.raises(DataKeyError, match="does not list"):  # another master key cannot open it
        await DataCrypto([a_key("other")]).open(db_pool, case_id, "reference", stored)
    with pytest.raises(DataKeyMissing):
        await DataCrypto([]).open(db_pool, case_id, "reference", stored)

    await db_pool.execute("DELETE FROM case_keys WHERE case_id = $1", case_id)  # what purge does
    assert await crypto.open(db_pool, case_id, "reference", stored) == PURGED


async def test_the_master_key_rotates_old_case_keys_still_open(db_pool):
    old, new = a_key("old"), a_key("new")
    case_id = await open_case(db_pool, age=30, minimum_age=16, signpost="", reference="R", crypto=DataCrypto([old]))
    rotated = DataCrypto([new, old])
    assert (await case_status(db_pool, case_id, rotated)).case.reference == "R"
    later = await open_case(db_pool, age=30, minimum_age=16, signpost="", reference="S", crypto=rotated)
    assert await db_pool.fetchval("SELECT key_id FROM case_keys WHERE case_id = $1", later) == "new"


async def test_a_purged_case_never_gets_a_new_key(db_pool):
    crypto = DataCrypto([a_key()])
    case_id = await open_case(db_pool, age=30, minimum_age=16, signpost="", crypto=crypto)
    await db_pool.execute("UPDATE cases SET status = 'withdrawn', purged_at = now() WHERE case_id = $1", case_id)
    assert await crypto.seal(db_pool, case_id, "x/note", "late note") == PURGED
    assert await db_pool.fetchval("SELECT count(*) FROM case_keys WHERE case_id = $1", case_id) == 0


async def test_values_stored_before_encryption_read_as_they_are_and_tampering_is_unreadable(db_pool):
    crypto = DataCrypto([a_key()])
    case_id = await open_case(db_pool, age=30, minimum_age=16, signpost="", reference="R", crypto=crypto)
    assert await crypto.open(db_pool, case_id, "reference", "legacy plain") == "legacy plain"
    sealed = await crypto.seal(db_pool, case_id, "L/note", "n")
    assert await crypto.open(db_pool, case_id, "M/note", sealed) == UNREADABLE  # another link's field
