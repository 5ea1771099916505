"""The console's accounts (issue 16, tada/app/accounts.py) on a real database: adding people,
names unique whatever their case, logins right and wrong, the lock-out and its lift, the
per-address limit, a disabled person, the TOTP second factor (sealed at rest, no code twice)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher

from tada.adapters.sealing import is_sealed
from tada.app import accounts
from tada.app.accounts import (
    ADDRESS_LIMIT,
    MAX_FAILURES,
    AccountInvalid,
    UnknownUser,
    add_user,
    authenticate,
    begin_totp,
    confirm_totp,
    disable_user,
    find_user,
    list_users,
    remove_totp,
    reset_password,
    set_language,
    unlock_user,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "correct horse battery"


def fresh_name(prefix: str = "cw") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def fresh_address() -> str:
    return f"192.0.2.{secrets.randbelow(250)}#{secrets.token_hex(4)}"  # of this test alone


async def failures(db_pool, user_id: int, address: str) -> int:
    """The account's wrong passwords or codes in a row from ``address``."""
    found = await db_pool.fetchval(
        "SELECT failures FROM console_account_locks WHERE user_id = $1 AND address = $2", user_id, address
    )
    return int(found or 0)


async def login(db_pool, crypto, name, password=PASSWORD, otp=None, address=None, require_2fa=False, **kw):
    return await authenticate(
        db_pool, crypto, name, password, otp, address or fresh_address(), require_2fa=require_2fa, **kw
    )


def verifies(monkeypatch) -> list[str]:
    """From now on, the hash of every argon2 verify ``authenticate`` does, in order."""
    verified: list[str] = []
    real_verify = accounts.verify_password

    async def counting(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return await real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting)
    return verified


async def test_add_find_and_list(db_pool):
    name = fresh_name("Alice")
    user = await add_user(db_pool, name, "caseworker", PASSWORD)
    assert (user.name, user.role, user.language, user.disabled, user.totp_enrolled, user.locked_until) == (
        name, "caseworker", "en", False, False, None,
    )  # fmt: skip
    assert await find_user(db_pool, name.upper()) == user
    assert await find_user(db_pool, fresh_name()) is None
    assert user in await list_users(db_pool)
    stored = await db_pool.fetchval("SELECT password_hash FROM console_users WHERE id = $1", user.id)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert "argon2" not in repr(user) and PASSWORD not in repr(user)
    await set_language(db_pool, user.id, "zh-Hant")
    assert (await find_user(db_pool, name)).language == "zh-Hant"
    with pytest.raises(AccountInvalid, match="language"):
        await set_language(db_pool, user.id, "fr")


async def test_bad_accounts_are_refused_naming_the_field(db_pool):
    name = fresh_name("Bob")
    await add_user(db_pool, name, "ops", PASSWORD)
    for taken in (name, name.upper(), name.lower()):
        with pytest.raises(AccountInvalid, match="name: already taken"):
            await add_user(db_pool, taken, "ops", PASSWORD)
    for bad_name in ("", "two words", "x" * 65, "名前", "a/b"):
        with pytest.raises(AccountInvalid, match="^name:"):
            await add_user(db_pool, bad_name, "ops", PASSWORD)
    with pytest.raises(AccountInvalid, match="^role:"):
        await add_user(db_pool, fresh_name(), "admin", PASSWORD)
    with pytest.raises(AccountInvalid, match="^password: at least 12") as error:
        await add_user(db_pool, fresh_name(), "ops", "short-pw")
    assert "short-pw" not in str(error.value)
    assert isinstance(error.value, ValueError)
    for change in (disable_user, unlock_user, remove_totp):
        with pytest.raises(UnknownUser) as missing:
            await change(db_pool, fresh_name())
        assert isinstance(missing.value, LookupError)
    with pytest.raises(LookupError):
        await reset_password(db_pool, fresh_name(), PASSWORD)


async def test_right_wrong_and_unknown(db_pool, data_crypto, monkeypatch):
    name = fresh_name()
    user = await add_user(db_pool, name, "caseworker", PASSWORD)
    here = fresh_address()
    ok = await login(db_pool, data_crypto, name.upper(), address=here)
    assert ok.ok and ok.user == user and ok.refusal is None
    wrong = await login(db_pool, data_crypto, name, "not the password", address=here)
    assert (wrong.user, wrong.refusal) == (None, "wrong")
    assert await failures(db_pool, user.id, here) == 1
    assert (await login(db_pool, data_crypto, name, address=here)).ok  # success clears the count
    assert await failures(db_pool, user.id, here) == 0

    verified = verifies(monkeypatch)
    unknown = await login(db_pool, data_crypto, fresh_name(), PASSWORD)
    assert (unknown.user, unknown.refusal) == (None, "wrong")
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")  # the dummy: the same work


async def test_five_failures_lock_the_account_from_that_address_until_an_ops_user_lifts_it(db_pool, data_crypto):
    name = fresh_name()
    user = await add_user(db_pool, name, "caseworker", PASSWORD)
    here = fresh_address()
    refusals = [
        (await login(db_pool, data_crypto, name, "wrong password!", address=here)).refusal for _ in range(MAX_FAILURES)
    ]
    assert refusals == ["wrong"] * (MAX_FAILURES - 1) + ["locked"]
    locked = await login(db_pool, data_crypto, name, address=here)  # the right password does not open it here
    assert (locked.user, locked.refusal) == (None, "locked")
    found = await find_user(db_pool, name)
    assert found.locked_until is not None
    assert timedelta(minutes=14) < found.locked_until - datetime.now(UTC) <= timedelta(minutes=15)
    # a stranger's guesses from one address never keep the person out from theirs
    assert (await login(db_pool, data_crypto, name)).ok

    before = await db_pool.fetchval("SELECT count(*) FROM console_login_failures WHERE address = $1", here)
    unlocked = await unlock_user(db_pool, name)
    assert unlocked.locked_until is None and unlocked.id == user.id
    after = await db_pool.fetchval("SELECT count(*) FROM console_login_failures WHERE address = $1", here)
    assert before == after == MAX_FAILURES + 1  # the address's failures are left alone
    assert (await login(db_pool, data_crypto, name, address=here)).ok


async def test_a_locked_account_costs_the_same_hash_work_as_an_unknown_name(db_pool, data_crypto, monkeypatch):
    """A lock-out answered without an argon2 verify would be told apart from a wrong password by
    its time; the console shows both the same way (tada/console/login.py)."""
    name = fresh_name()
    await add_user(db_pool, name, "caseworker", PASSWORD)
    here = fresh_address()
    for _ in range(MAX_FAILURES):
        await login(db_pool, data_crypto, name, "wrong password!", address=here)
    verified = verifies(monkeypatch)
    locked = await login(db_pool, data_crypto, name, address=here)
    assert (locked.user, locked.refusal) == (None, "locked")  # the audit still tells ops which it was
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


async def test_a_lock_runs_its_own_time_and_a_reset_password_lifts_it(db_pool, data_crypto):
    name = fresh_name()
    await add_user(db_pool, name, "caseworker", PASSWORD)
    here = fresh_address()
    for _ in range(MAX_FAILURES):
        await login(db_pool, data_crypto, name, "wrong password!", address=here, lockout_minutes=2)
    found = await find_user(db_pool, name)
    assert found.locked_until - datetime.now(UTC) <= timedelta(minutes=2)
    await db_pool.execute(
        "UPDATE console_account_locks SET locked_until = now() - interval '1 second' WHERE user_id = $1", found.id
    )
    assert (await login(db_pool, data_crypto, name, address=here)).ok  # the lock ran out
    for _ in range(MAX_FAILURES):
        await login(db_pool, data_crypto, name, "wrong password!", address=here)
    assert (await login(db_pool, data_crypto, name, address=here)).refusal == "locked"
    new_password = "another long password"
    await reset_password(db_pool, name, new_password)
    assert (await login(db_pool, data_crypto, name, address=here)).refusal == "wrong"
    assert (await login(db_pool, data_crypto, name, new_password, address=here)).ok


async def test_the_per_address_limit_comes_before_any_hash_work(db_pool, data_crypto, monkeypatch):
    name = fresh_name()
    await add_user(db_pool, name, "caseworker", PASSWORD)
    address, other = fresh_address(), fresh_address()
    await db_pool.execute(
        "INSERT INTO console_login_failures (address, at) VALUES ($1, now() - interval '16 minutes')", address
    )
    for number in range(ADDRESS_LIMIT):
        result = await login(db_pool, data_crypto, f"nobody-{number}-{secrets.token_hex(3)}", address=address)
        assert result.refusal == "wrong"
    # the row older than the window was pruned, and never counted
    assert await db_pool.fetchval(
        "SELECT count(*) FROM console_login_failures WHERE address = $1", address
    ) == ADDRESS_LIMIT  # fmt: skip

    async def no_hashing(*_: object) -> bool:
        raise AssertionError("no hash work for a limited address")

    monkeypatch.setattr(accounts, "verify_password", no_hashing)
    limited = await login(db_pool, data_crypto, name, address=address)
    assert (limited.user, limited.refusal) == (None, "address_limited")
    monkeypatch.undo()
    assert (await login(db_pool, data_crypto, name, address=other)).ok
    await db_pool.execute(
        "UPDATE console_login_failures SET at = at - interval '15 minutes' WHERE address = $1", address
    )
    assert (await login(db_pool, data_crypto, name, address=address)).ok


async def test_a_disabled_person_is_told_so_only_with_the_right_password(db_pool, data_crypto):
    name = fresh_name()
    await add_user(db_pool, name, "caseworker", PASSWORD)
    disabled = await disable_user(db_pool, name)
    assert disabled.disabled
    assert (await login(db_pool, data_crypto, name, "wrong password!")).refusal == "wrong"
    result = await login(db_pool, data_crypto, name)
    assert (result.user, result.refusal) == (None, "disabled")
    assert (await find_user(db_pool, name)).disabled


async def test_an_old_hash_is_rehashed_at_the_next_login(db_pool, data_crypto):
    name = fresh_name()
    user = await add_user(db_pool, name, "caseworker", PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await db_pool.execute("UPDATE console_users SET password_hash = $2 WHERE id = $1", user.id, weak)
    assert (await login(db_pool, data_crypto, name)).ok
    stored = await db_pool.fetchval("SELECT password_hash FROM console_users WHERE id = $1", user.id)
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)
    assert (await login(db_pool, data_crypto, name)).ok


async def test_totp_enrol_confirm_and_log_in_with_a_code_once(db_pool, data_crypto):
    name = fresh_name()
    user = await add_user(db_pool, name, "caseworker", PASSWORD)
    uri = await begin_totp(db_pool, data_crypto, name)
    assert uri.startswith("otpauth://totp/") and "issuer=tada" in uri
    totp = pyotp.parse_uri(uri)
    secret = totp.secret
    stored = await db_pool.fetchval("SELECT totp_secret FROM console_users WHERE id = $1", user.id)
    assert is_sealed(stored) and secret not in stored and secret.lower() not in stored.lower()
    assert not (await find_user(db_pool, name)).totp_enrolled
    assert (await login(db_pool, data_crypto, name)).ok  # not confirmed yet: no code asked

    assert not await confirm_totp(db_pool, data_crypto, name, "000000" if totp.now() != "000000" else "111111")
    assert not await confirm_totp(db_pool, data_crypto, name, "not a code")
    code = totp.now()
    assert await confirm_totp(db_pool, data_crypto, name, code)
    assert (await find_user(db_pool, name)).totp_enrolled
    stored_after = await db_pool.fetchval("SELECT totp_secret FROM console_users WHERE id = $1", user.id)
    assert secret not in stored_after

    here = fresh_address()
    needed = await login(db_pool, data_crypto, name, address=here)
    assert (needed.user, needed.refusal) == (None, "otp_needed")
    assert await failures(db_pool, user.id, here) == 0
    reused = await login(db_pool, data_crypto, name, otp=code, address=here)  # used to confirm: refused
    assert (reused.user, reused.refusal) == (None, "otp_wrong")
    assert await failures(db_pool, user.id, here) == 1
    next_code = totp.at(datetime.now(UTC) + timedelta(seconds=30))  # one step ahead: accepted
    ok = await login(db_pool, data_crypto, name, otp=next_code, require_2fa=True)
    assert ok.ok and ok.user.totp_enrolled
    again = await login(db_pool, data_crypto, name, otp=next_code)
    assert again.refusal == "otp_wrong"
    assert (await login(db_pool, data_crypto, name, "wrong password!", otp=next_code)).refusal == "wrong"
    with pytest.raises(AccountInvalid, match="already enrolled"):
        await begin_totp(db_pool, data_crypto, name)

    removed = await remove_totp(db_pool, name)
    assert not removed.totp_enrolled
    assert await db_pool.fetchval("SELECT totp_secret FROM console_users WHERE id = $1", user.id) is None
    assert (await login(db_pool, data_crypto, name)).ok


async def test_wrong_codes_lock_the_account_too(db_pool, data_crypto):
    name = fresh_name()
    await add_user(db_pool, name, "caseworker", PASSWORD)
    totp = pyotp.parse_uri(await begin_totp(db_pool, data_crypto, name))
    assert await confirm_totp(db_pool, data_crypto, name, totp.now())
    now = datetime.now(UTC)
    right = {totp.at(now + timedelta(seconds=30 * step)) for step in (-1, 0, 1, 2)}
    wrong = next(code for code in (f"{n:06d}" for n in range(1000)) if code not in right)
    here = fresh_address()
    refusals = [(await login(db_pool, data_crypto, name, otp=wrong, address=here)).refusal for _ in range(MAX_FAILURES)]
    assert refusals == ["otp_wrong"] * (MAX_FAILURES - 1) + ["locked"]


async def test_require_2fa_sends_a_person_without_it_to_enrol(db_pool, data_crypto):
    name = fresh_name()
    user = await add_user(db_pool, name, "ops", PASSWORD)
    result = await login(db_pool, data_crypto, name, require_2fa=True)
    assert (result.user, result.refusal, result.ok) == (user, "enrol_2fa", False)
    wrong = await login(db_pool, data_crypto, name, "wrong password!", require_2fa=True)
    assert (wrong.user, wrong.refusal) == (None, "wrong")
    totp = pyotp.parse_uri(await begin_totp(db_pool, data_crypto, name))
    assert await confirm_totp(db_pool, data_crypto, name, totp.now())
    later = totp.at(datetime.now(UTC) + timedelta(seconds=30))
    assert (await login(db_pool, data_crypto, name, otp=later, require_2fa=True)).ok


async def test_nothing_secret_is_logged(db_pool, data_crypto, caplog):
    import structlog.testing

    name = fresh_name()
    with structlog.testing.capture_logs() as logs:
        await add_user(db_pool, name, "caseworker", PASSWORD)
        uri = await begin_totp(db_pool, data_crypto, name)
        code = pyotp.parse_uri(uri).now()
        await confirm_totp(db_pool, data_crypto, name, code)
        await login(db_pool, data_crypto, name, "wrong password!", otp=code)
        await login(db_pool, data_crypto, name, otp=code)
        await reset_password(db_pool, name, "a new long password")
    text = repr(logs) + caplog.text
    secret = pyotp.parse_uri(uri).secret
    for value in (PASSWORD, "wrong password!", "a new long password", secret, uri, code):
        assert value not in text
    assert logs  # something was logged: ids and names


async def test_a_burst_of_guesses_sent_at_once_is_counted_at_once(db_pool, data_crypto, monkeypatch):
    name = fresh_name()
    await add_user(db_pool, name, "caseworker", PASSWORD)
    verified = verifies(monkeypatch)
    here = fresh_address()
    burst = await asyncio.gather(
        *(login(db_pool, data_crypto, f"nobody-{n}-{secrets.token_hex(3)}", "a guess", address=here) for n in range(40))
    )
    assert sum(result.refusal == "address_limited" for result in burst) == 40 - ADDRESS_LIMIT
    assert len(verified) == ADDRESS_LIMIT  # no hash work past the limit, however many came at once


async def test_setting_up_a_second_factor_again_before_confirming_keeps_the_same_key(db_pool, data_crypto):
    name = fresh_name()
    await add_user(db_pool, name, "caseworker", PASSWORD)
    first = pyotp.parse_uri(await begin_totp(db_pool, data_crypto, name))
    again = pyotp.parse_uri(await begin_totp(db_pool, data_crypto, name))  # a reload of the page
    assert first.secret == again.secret
    assert not await confirm_totp(db_pool, data_crypto, name, "not a code")  # a typo keeps it too
    assert await confirm_totp(db_pool, data_crypto, name, first.now())
    removed = await accounts.remove_totp(db_pool, name)
    assert not removed.totp_enrolled
    assert (
        pyotp.parse_uri(await begin_totp(db_pool, data_crypto, name)).secret != first.secret
    )  # a new one after removal
