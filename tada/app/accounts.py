"""People's accounts for the caseworkers' web console (issue 16): ``console_users``.

A person signs in with a name (unique whatever its case: kept as typed, compared ``lower()``),
a password (hashed with argon2id, argon2-cffi's defaults; rehashed when those change) and,
once enrolled, a TOTP code (pyotp: 6 digits, 30 s steps, one step either side accepted). The
TOTP secret is sealed at rest (AES-GCM under ``DataCrypto.sub_keys("console-totp")``, bound to
the user's id), and the last step a code was accepted for is kept: no code works twice, nor an
older one after it.

``authenticate`` decides a login, in this order:

1. an address with ``ADDRESS_LIMIT`` failures in the last ``ADDRESS_WINDOW`` is refused
   (``address_limited``) before any hash work;
2. an unknown name still costs one argon2 verify (of a dummy hash) and is ``wrong``;
3. a lock-out still running is ``locked`` (after a dummy verify too: the same work);
4. a wrong password is ``wrong`` (a disabled user's too); the right one of a disabled user is
   ``disabled``;
5. an enrolled user without a code is ``otp_needed`` (not a failure), with a wrong or reused
   code ``otp_wrong`` (a failure);
6. with ``require_2fa`` a user not enrolled gets ``enrol_2fa``, with the user: the console makes
   them enrol before anything else.

Every attempt counts against its address from before its hash work (so a burst sent at once is
counted at once), and is taken back when it succeeds; a wrong password or code counts against
the account *from that address* too, and ``MAX_FAILURES`` in a row lock the account from that
address for ``lockout_minutes`` (that attempt answers ``locked``; the count starts again after
the lock): a stranger's guesses from elsewhere never keep its person out. Success from an address
clears its count. An ops user lifts every lock-out of an account with ``unlock_user``. At most
``HASHES_AT_ONCE`` argon2 computations run at once (each takes 64 MiB).

Nothing here logs or puts in an error a password, a code, a secret or a URI: user ids and
names at most.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal

import asyncpg
import pyotp
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict

from tada.adapters.data_crypto import DataCrypto
from tada.adapters.sealing import Unsealable, open_text, seal_text
from tada.app.console_sessions import close_all_sessions
from tada.errors import InvalidInput, NotFound

log = structlog.get_logger(__name__)

ROLES = ("ops", "caseworker")
LANGUAGES = ("en", "zh-Hant")
NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
MIN_PASSWORD_LENGTH = 12
#: Consecutive wrong passwords or codes that lock an account.
MAX_FAILURES = 5
#: Failed logins from one address within ADDRESS_WINDOW that refuse it (before any hash work).
ADDRESS_LIMIT = 20
ADDRESS_WINDOW = timedelta(minutes=15)
TOTP_PURPOSE = "console-totp"
TOTP_ISSUER = "tada"
TOTP_VALID_WINDOW = 1  # steps either side of now

Refusal = Literal["wrong", "locked", "address_limited", "otp_needed", "otp_wrong", "disabled", "enrol_2fa"]

_hasher = PasswordHasher()  # argon2id, the library's defaults


class AccountInvalid(InvalidInput, ValueError):
    """A name, role, password or language that cannot be used; the message names the field
    (exit 2, HTTP 422) and never holds a password."""


class UnknownUser(NotFound):
    """No console user by that name (exit 4, HTTP 404)."""

    def __init__(self, name: str | int) -> None:
        if isinstance(name, int):
            super().__init__(f"no console user with id {name}")
        elif NAME_PATTERN.fullmatch(name):
            super().__init__(f"no console user {name}")
        else:
            super().__init__("no console user by that name")


class ConsoleUser(BaseModel):
    """A person who signs in to the console; never a hash or a secret. ``locked_until`` only
    while a lock-out runs."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    role: Literal["ops", "caseworker"]
    language: Literal["en", "zh-Hant"]
    disabled: bool
    totp_enrolled: bool
    locked_until: datetime | None
    created_at: datetime | None = None


@dataclass(frozen=True)
class LoginResult:
    """``user`` when the password (and code) were right, or with ``enrol_2fa``; ``refusal`` None
    when the person may have a session."""

    user: ConsoleUser | None
    refusal: Refusal | None

    @property
    def ok(self) -> bool:
        return self.refusal is None and self.user is not None


_USER_COLUMNS = """
    id, name, role, language, disabled_at IS NOT NULL AS disabled, totp_confirmed AS totp_enrolled,
    (SELECT max(k.locked_until) FROM console_account_locks k
      WHERE k.user_id = console_users.id AND k.locked_until > now()) AS locked_until, created_at
"""


def _user(row: asyncpg.Record) -> ConsoleUser:
    return ConsoleUser(**{key: row[key] for key in ConsoleUser.model_fields})


# --- checks --------------------------------------------------------------------------


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise AccountInvalid("name: 1 to 64 letters, digits, '.', '_' or '-'")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountInvalid("role: ops or caseworker")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountInvalid(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    return password


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise AccountInvalid("language: en or zh-Hant")
    return language


#: argon2 computations at once (each holds 64 MiB): a burst of logins waits its turn.
HASHES_AT_ONCE = 2
_hashing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _hash_gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _hashing.get(loop)
    if gate is None:
        gate = _hashing[loop] = asyncio.Semaphore(HASHES_AT_ONCE)
    return gate


async def _hash(password: str) -> str:
    async with _hash_gate():
        return await asyncio.to_thread(_hasher.hash, password)


def _verify_now(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    async with _hash_gate():
        return await asyncio.to_thread(_verify_now, password_hash, password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """What an unknown name's password is checked against: the same work as a real one."""
    return _hasher.hash(secrets.token_urlsafe(24))


# --- accounts ------------------------------------------------------------------------


async def add_user(pool: asyncpg.Pool, name: str, role: str, password: str) -> ConsoleUser:
    check_name(name)
    check_role(role)
    check_password(password)
    password_hash = await _hash(password)
    try:
        row = await pool.fetchrow(
            f"INSERT INTO console_users (name, role, password_hash) VALUES ($1, $2, $3) RETURNING {_USER_COLUMNS}",
            name,
            role,
            password_hash,
        )
    except asyncpg.UniqueViolationError:
        raise AccountInvalid("name: already taken (names are compared whatever their case)") from None
    user = _user(row)
    log.info("console user added", user_id=user.id, user=user.name, role=user.role)
    return user


async def list_users(pool: asyncpg.Pool) -> list[ConsoleUser]:
    rows = await pool.fetch(f"SELECT {_USER_COLUMNS} FROM console_users ORDER BY lower(name)")
    return [_user(row) for row in rows]


async def find_user(pool: asyncpg.Pool | asyncpg.Connection, name: str) -> ConsoleUser | None:
    row = await pool.fetchrow(f"SELECT {_USER_COLUMNS} FROM console_users WHERE lower(name) = lower($1)", name)
    return _user(row) if row else None


async def user_by_id(pool: asyncpg.Pool | asyncpg.Connection, user_id: int) -> ConsoleUser | None:
    row = await pool.fetchrow(f"SELECT {_USER_COLUMNS} FROM console_users WHERE id = $1", user_id)
    return _user(row) if row else None


async def _update(pool: asyncpg.Pool | asyncpg.Connection, name: str, assignments: str, *values: object) -> ConsoleUser:
    """``UPDATE console_users SET assignments`` for the user called ``name`` ($1); ``values`` are $2…."""
    row = await pool.fetchrow(
        f"UPDATE console_users SET {assignments} WHERE lower(name) = lower($1) RETURNING {_USER_COLUMNS}",
        name,
        *values,
    )
    if row is None:
        raise UnknownUser(name)
    return _user(row)


async def disable_user(pool: asyncpg.Pool, name: str) -> ConsoleUser:
    """The person may no longer sign in; every session of theirs ends now."""
    async with pool.acquire() as conn, conn.transaction():
        user = await _update(conn, name, "disabled_at = coalesce(disabled_at, now())")
        closed = await close_all_sessions(conn, user.id)
    log.info("console user disabled", user_id=user.id, user=user.name, sessions_closed=closed)
    return user


async def reset_password(pool: asyncpg.Pool, name: str, password: str) -> ConsoleUser:
    """A new password: every session ends, any lock-out is lifted."""
    check_password(password)
    password_hash = await _hash(password)
    async with pool.acquire() as conn, conn.transaction():
        user = await _update(
            conn, name,
            "password_hash = $2, password_changed_at = now()", password_hash,
        )  # fmt: skip
        await conn.execute("DELETE FROM console_account_locks WHERE user_id = $1", user.id)
        closed = await close_all_sessions(conn, user.id)
    log.info("console password reset", user_id=user.id, user=user.name, sessions_closed=closed)
    return user


async def unlock_user(pool: asyncpg.Pool, name: str) -> ConsoleUser:
    """Lift every lock-out of an account (an ops user's act): its failure counts are cleared; the
    addresses' failures stay as they are."""
    found = await find_user(pool, name)
    if found is None:
        raise UnknownUser(name)
    await pool.execute("DELETE FROM console_account_locks WHERE user_id = $1", found.id)
    user = await _update(pool, name, "failed_logins = 0, locked_until = NULL")
    log.info("console user unlocked", user_id=user.id, user=user.name)
    return user


async def set_language(pool: asyncpg.Pool, user_id: int, language: str) -> None:
    check_language(language)
    done = await pool.fetchval("UPDATE console_users SET language = $2 WHERE id = $1 RETURNING id", user_id, language)
    if done is None:
        raise UnknownUser(user_id)


# --- TOTP ----------------------------------------------------------------------------


def _totp_context(user_id: int) -> str:
    return f"console-totp/{user_id}"


def _seal_secret(crypto: DataCrypto, user_id: int, secret: str) -> str:
    return seal_text(crypto.sub_keys(TOTP_PURPOSE)[0], secret, _totp_context(user_id))


def _open_secret(crypto: DataCrypto, user_id: int, sealed: str) -> str | None:
    for key in crypto.sub_keys(TOTP_PURPOSE):
        try:
            return open_text(key, sealed, _totp_context(user_id))
        except Unsealable:
            continue
    log.warning("console TOTP secret does not open", user_id=user_id)
    return None


def _accepted_step(secret: str, code: str, last_step: int | None, now: datetime | None = None) -> int | None:
    """The 30 s step ``code`` is right for (now, or one step either side), later than the last
    one used; None when it is wrong, or already used."""
    code = re.sub(r"[\s-]", "", code)
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or datetime.now(UTC))
    found = None
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code) and (last_step is None or step > last_step):
            found = step
    return found


async def _use_step(conn: asyncpg.Pool | asyncpg.Connection, user_id: int, step: int, *, confirm: bool) -> bool:
    """Record ``step`` as used, unless a concurrent login used it (or a later one) first."""
    done = await conn.fetchval(
        "UPDATE console_users SET totp_last_step = $2, totp_confirmed = totp_confirmed OR $3"
        " WHERE id = $1 AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $2)"
        " RETURNING id",
        user_id,
        step,
        confirm,
    )
    return done is not None


async def begin_totp(pool: asyncpg.Pool, crypto: DataCrypto, name: str) -> str:
    """A TOTP secret for ``name``, kept sealed and unconfirmed until ``confirm_totp`` (the one
    begun before, while unconfirmed); the ``otpauth://`` URI for an authenticator app (issuer
    "tada"). Shown to the person only, never logged. A user already enrolled is refused: an ops
    user removes the factor first."""
    user = await find_user(pool, name)
    if user is None:
        raise UnknownUser(name)
    if user.totp_enrolled:
        raise AccountInvalid("otp: already enrolled; an ops user can remove it (tada user remove-2fa NAME)")
    pending = await pool.fetchval("SELECT totp_secret FROM console_users WHERE id = $1", user.id)
    secret = _open_secret(crypto, user.id, pending) if pending else None
    if secret:  # begun before and not confirmed: the same key (a reload must not undo what the app holds)
        return pyotp.TOTP(secret).provisioning_uri(name=user.name, issuer_name=TOTP_ISSUER)
    secret = pyotp.random_base32()
    sealed = _seal_secret(crypto, user.id, secret)
    await pool.execute(
        "UPDATE console_users SET totp_secret = $2, totp_confirmed = false, totp_last_step = NULL WHERE id = $1",
        user.id,
        sealed,
    )
    log.info("console TOTP enrolment begun", user_id=user.id, user=user.name)
    return pyotp.TOTP(secret).provisioning_uri(name=user.name, issuer_name=TOTP_ISSUER)


async def confirm_totp(pool: asyncpg.Pool, crypto: DataCrypto, name: str, code: str) -> bool:
    """Confirm the pending secret with a code from the app: True (and enrolled) when right."""
    row = await pool.fetchrow(
        "SELECT id, totp_secret, totp_confirmed, totp_last_step FROM console_users WHERE lower(name) = lower($1)",
        name,
    )
    if row is None:
        raise UnknownUser(name)
    if row["totp_secret"] is None:
        return False
    secret = _open_secret(crypto, row["id"], row["totp_secret"])
    step = _accepted_step(secret, code, row["totp_last_step"]) if secret else None
    if step is None or not await _use_step(pool, row["id"], step, confirm=True):
        return False
    log.info("console TOTP enrolled", user_id=row["id"])
    return True


async def remove_totp(pool: asyncpg.Pool, name: str) -> ConsoleUser:
    """Take the second factor away (ops: a lost phone); the person enrols again."""
    user = await _update(pool, name, "totp_secret = NULL, totp_confirmed = false, totp_last_step = NULL")
    log.info("console TOTP removed", user_id=user.id, user=user.name)
    return user


# --- logging in ----------------------------------------------------------------------


async def _address_failures(pool: asyncpg.Pool | asyncpg.Connection, address: str) -> int:
    window = ADDRESS_WINDOW
    await pool.execute("DELETE FROM console_login_failures WHERE at < now() - $1::interval", window)
    count: int = await pool.fetchval(
        "SELECT count(*) FROM console_login_failures WHERE address = $1 AND at >= now() - $2::interval",
        address,
        window,
    )
    return count


async def _attempt_if_allowed(pool: asyncpg.Pool, address: str) -> int | None:
    """The attempt counted against ``address``, unless it is over its limit (None): the count and
    the row in one transaction under a lock on the address, so a burst sent at once is counted."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(74726164, hashtext($1))", address)
        if await _address_failures(conn, address) >= ADDRESS_LIMIT:
            return None
        return await _attempt(conn, address)


async def _attempt(pool: asyncpg.Pool | asyncpg.Connection, address: str) -> int:
    """One attempt counted against ``address`` now; its row id (taken back if it succeeds)."""
    found: int = await pool.fetchval("INSERT INTO console_login_failures (address) VALUES ($1) RETURNING id", address)
    return found


async def _taken_back(pool: asyncpg.Pool, attempt: int) -> None:
    await pool.execute("DELETE FROM console_login_failures WHERE id = $1", attempt)


async def _account_failed(pool: asyncpg.Pool, user_id: int, address: str, lockout_minutes: int) -> bool:
    """One more failure in a row of this account from this address; True when it locked it (the
    count starts again)."""
    locked: bool = await pool.fetchval(
        """
        INSERT INTO console_account_locks AS k (user_id, address, failures, locked_until)
        VALUES ($1, $2, 1, CASE WHEN 1 >= $3 THEN now() + make_interval(mins => $4) END)
        ON CONFLICT (user_id, address) DO UPDATE SET
            failures = CASE WHEN k.failures + 1 >= $3 THEN 0 ELSE k.failures + 1 END,
            locked_until = CASE WHEN k.failures + 1 >= $3 THEN now() + make_interval(mins => $4)
                                ELSE k.locked_until END
        RETURNING coalesce(k.locked_until > now(), false)
        """,
        user_id,
        address,
        MAX_FAILURES,
        lockout_minutes,
    )
    return locked


async def authenticate(
    pool: asyncpg.Pool,
    crypto: DataCrypto,
    name: str,
    password: str,
    otp: str | None,
    address: str,
    *,
    require_2fa: bool,
    lockout_minutes: int = 15,
) -> LoginResult:
    """Decide one login attempt (the rules are in this module's docstring)."""
    attempt = await _attempt_if_allowed(pool, address)  # counted before the hash work; taken back on success
    if attempt is None:
        log.warning("console login refused: address over its limit")
        return LoginResult(None, "address_limited")
    row = await pool.fetchrow(
        f"""SELECT {_USER_COLUMNS}, password_hash, totp_secret, totp_last_step,
                   EXISTS (SELECT 1 FROM console_account_locks k WHERE k.user_id = console_users.id
                              AND k.address = $2 AND k.locked_until > now()) AS locked
              FROM console_users WHERE lower(name) = lower($1)""",
        name,
        address,
    )
    if row is None:
        await verify_password(_dummy_hash(), password)
        log.info("console login refused: unknown name")
        return LoginResult(None, "wrong")
    user = _user(row)
    if row["locked"]:
        await verify_password(_dummy_hash(), password)  # the same work as a wrong password: no tell in the time
        log.info("console login refused: locked", user_id=user.id)
        return LoginResult(None, "locked")

    async def failed(refusal: Refusal) -> LoginResult:
        locked = await _account_failed(pool, user.id, address, lockout_minutes)
        log.info("console login refused", user_id=user.id, refusal=refusal, locked=locked)
        return LoginResult(None, "locked" if locked else refusal)

    if not await verify_password(row["password_hash"], password):
        return await failed("wrong")
    await _taken_back(pool, attempt)  # the right password: whatever follows is not a guess
    if user.disabled:
        log.info("console login refused: disabled", user_id=user.id)
        return LoginResult(None, "disabled")
    if _hasher.check_needs_rehash(row["password_hash"]):
        await pool.execute("UPDATE console_users SET password_hash = $2 WHERE id = $1", user.id, await _hash(password))
    if user.totp_enrolled:
        if not otp or not otp.strip():
            return LoginResult(None, "otp_needed")
        secret = _open_secret(crypto, user.id, row["totp_secret"]) if row["totp_secret"] else None
        step = _accepted_step(secret, otp, row["totp_last_step"]) if secret else None
        if step is None or not await _use_step(pool, user.id, step, confirm=False):
            await _attempt(pool, address)  # a wrong code counts against the address after all
            return await failed("otp_wrong")
    await pool.execute("DELETE FROM console_account_locks WHERE user_id = $1 AND address = $2", user.id, address)
    if require_2fa and not user.totp_enrolled:
        log.info("console login: second factor to enrol", user_id=user.id)
        return LoginResult(user, "enrol_2fa")
    log.info("console login", user_id=user.id, user=user.name)
    return LoginResult(user, None)
