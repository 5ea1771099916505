"""``tada user`` (issue 16): the console's accounts from the command line, as a ``tada``
subprocess against the real database. Only ops may run it; every command is audited; a
password read with --password-stdin is never printed nor audited."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from tada.app.accounts import authenticate, find_user
from tada.app.console_sessions import open_session, session_for
from tada.cli.main import app as tada_app
from tada.cli.runtime import use_settings
from tada.settings import Settings
from tests.support.cli_stack import TADA, Run

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPS, CASEWORKER = "ops-token-user-0123456789", "cw-token-user-0123456789"
PASSWORD = "a long enough password"


@pytest.fixture
def env(postgres_url) -> dict[str, str]:
    values = {key: value for key, value in os.environ.items() if not key.startswith("TADA_")}
    values.update(
        TADA_DATABASE_URL=postgres_url,
        TADA_TEMPORAL_ADDRESS="127.0.0.1:9",  # never reached: these commands need only the database
        TADA_DATA_KEY=os.environ["TADA_DATA_KEY"],
        TADA_API_TOKENS=f"{OPS}:ops,{CASEWORKER}:caseworker",
        TADA_TOKEN=OPS,
        TADA_LOG_FORMAT="json",
        COLUMNS="200",
    )
    return values


async def tada(env: dict[str, str], *args: str, stdin: str = "", token: str | None = None) -> Run:
    environment = env if token is None else {**env, "TADA_TOKEN": token}
    process = await asyncio.create_subprocess_exec(
        str(TADA), "user", *args, env=environment,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
    return Run(process.returncode or 0, stdout.decode(), stderr.decode())


async def login(db_pool, data_crypto, name: str, password: str):
    return await authenticate(db_pool, data_crypto, name, password, None, "cli-test", require_2fa=False)


async def test_the_round_trip(env, db_pool, data_crypto):
    name = f"Carol-{secrets.token_hex(3)}"
    start = await db_pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_events")

    added = await tada(env, "add", name, "--role", "caseworker", "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert added.code == 0, added.stderr
    assert added.json["name"] == name and added.json["role"] == "caseworker"
    assert set(added.json) >= {"id", "name", "role", "language", "disabled", "totp_enrolled", "locked_until"}
    assert (await login(db_pool, data_crypto, name, PASSWORD)).ok

    listed = await tada(env, "list", "--json")
    assert listed.code == 0, listed.stderr
    assert [user["name"] for user in listed.json if user["name"] == name] == [name]
    table = await tada(env, "list")
    assert table.code == 0 and name in table.stdout and "caseworker" in table.stdout

    taken = await tada(env, "add", name.upper(), "--role", "ops", "--password-stdin", stdin=PASSWORD)
    assert taken.code == 2 and "name: already taken" in taken.stderr
    short = await tada(env, "add", f"d-{secrets.token_hex(3)}", "--role", "ops", "--password-stdin", stdin="short\n")
    assert short.code == 2 and "password: at least 12 characters" in short.stderr and "short" not in short.stdout
    bad_role = await tada(env, "add", f"d-{secrets.token_hex(3)}", "--role", "admin", "--password-stdin")
    assert bad_role.code == 2 and "--role" in bad_role.stderr
    bad_name = await tada(env, "add", "two words", "--role", "ops", "--password-stdin", stdin=PASSWORD)
    assert bad_name.code == 2 and "name:" in bad_name.stderr
    empty = await tada(env, "add", f"d-{secrets.token_hex(3)}", "--role", "ops", "--password-stdin", stdin="")
    assert empty.code == 2 and "--password-stdin" in empty.stderr

    new_password = "another password, longer"
    user = await find_user(db_pool, name)
    opened = await open_session(db_pool, user.id, "127.0.0.1")
    reset = await tada(env, "reset-password", name.lower(), "--password-stdin", stdin=new_password + "\n")
    assert reset.code == 0, reset.stderr
    assert await session_for(db_pool, opened.token, idle_minutes=30) is None
    assert (await login(db_pool, data_crypto, name, PASSWORD)).refusal == "wrong"
    assert (await login(db_pool, data_crypto, name, new_password)).ok

    for _ in range(5):
        await login(db_pool, data_crypto, name, "wrong password!")
    assert (await login(db_pool, data_crypto, name, new_password)).refusal == "locked"
    assert "locked until" in (await tada(env, "list")).stdout
    unlocked = await tada(env, "unlock", name)
    assert unlocked.code == 0, unlocked.stderr
    assert (await login(db_pool, data_crypto, name, new_password)).ok

    removed = await tada(env, "remove-2fa", name, "--json")
    assert removed.code == 0 and removed.json["totp_enrolled"] is False
    disabled = await tada(env, "disable", name, "--json")
    assert disabled.code == 0 and disabled.json["disabled"] is True
    assert (await login(db_pool, data_crypto, name, new_password)).refusal == "disabled"

    for command in (("disable",), ("unlock",), ("remove-2fa",)):
        missing = await tada(env, *command, f"nobody-{secrets.token_hex(3)}")
        assert missing.code == 4 and "no console user" in missing.stderr
    missing = await tada(env, "reset-password", f"nobody-{secrets.token_hex(3)}", "--password-stdin", stdin=PASSWORD)
    assert missing.code == 4

    audit = await db_pool.fetch(
        "SELECT actor_role, action, target, allowed, reason FROM audit_events"
        " WHERE id > $1 AND target = $2 ORDER BY id",
        start,
        f"user:{name}",
    )
    done = [row["reason"] for row in audit if row["reason"].startswith("done:")]
    assert done == [
        "done: added (caseworker)", "done: password reset, sessions closed, unlocked", "done: unlocked",
        "done: second factor removed", "done: disabled, sessions closed",
    ]  # fmt: skip
    assert {(row["actor_role"], row["action"]) for row in audit} == {("ops", "user.admin")}
    everything = await db_pool.fetch("SELECT reason, target FROM audit_events WHERE id > $1", start)
    text = json.dumps([dict(row) for row in everything])
    assert PASSWORD not in text and new_password not in text


async def test_a_caseworker_token_is_refused(env, db_pool):
    name = f"Eve-{secrets.token_hex(3)}"
    refused = await tada(
        env, "add", name, "--role", "ops", "--password-stdin", stdin=PASSWORD, token=CASEWORKER
    )  # fmt: skip
    assert refused.code == 3, refused.stderr
    assert "user.admin needs a ops token; this is a caseworker token" in refused.stderr
    assert await find_user(db_pool, name) is None
    row = await db_pool.fetchrow(
        "SELECT actor_role, allowed FROM audit_events WHERE target = $1 ORDER BY id DESC LIMIT 1", f"user:{name}"
    )
    assert (row["actor_role"], row["allowed"]) == ("caseworker", False)
    listed = await tada(env, "list", token=CASEWORKER)
    assert listed.code == 3 and listed.stdout == ""


async def test_without_password_stdin_the_password_is_asked_twice_unechoed(
    postgres_url, db_pool, data_crypto, tmp_path
):
    base = Settings(
        database_url=postgres_url, temporal_address="127.0.0.1:9", state_dir=tmp_path / ".tada",
        data_key=SecretStr(os.environ["TADA_DATA_KEY"]), api_tokens=SecretStr(""),
    ).model_copy(update={"cli_token": SecretStr("")})  # fmt: skip
    name = f"Dan-{secrets.token_hex(3)}"

    def invoke(typed: str) -> Any:
        with use_settings(base):
            return CliRunner().invoke(tada_app, ["user", "add", name, "--role", "ops"], input=typed)

    mismatch = await asyncio.to_thread(invoke, f"{PASSWORD}\nsomething else entirely\n")
    assert mismatch.exit_code != 0 and await find_user(db_pool, name) is None
    result = await asyncio.to_thread(invoke, f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert (await login(db_pool, data_crypto, name, PASSWORD)).ok


async def test_the_console_settings_are_checked():
    assert Settings(timezone="Asia/Hong_Kong").timezone == "Asia/Hong_Kong"
    defaults = Settings()
    assert (defaults.console_require_2fa, defaults.console_secure_cookies) == (False, False)
    assert (defaults.console_idle_minutes, defaults.console_lockout_minutes, defaults.timezone) == (30, 15, "UTC")
    for zone in ("Mars/Olympus_Mons", "", "America", "../../etc/passwd"):
        with pytest.raises(ValidationError, match="TADA_TIMEZONE: unknown time zone"):
            Settings(timezone=zone)
    with pytest.raises(ValidationError):
        Settings(console_idle_minutes=0)


async def test_an_unknown_time_zone_stops_the_cli_naming_the_setting(env):
    run = await tada({**env, "TADA_TIMEZONE": "Mars/Olympus_Mons"}, "list")
    assert run.code == 2 and "TADA_TIMEZONE" in run.stderr and "unknown time zone" in run.stderr
