"""What the CLI's roles can and cannot do (issue 14). The CLI holds the database's and
Temporal's credentials, so its user can always step around a role: by unsetting the token
variables (local mode) or by writing a token table of their own. What the CLI does is put
every one of those commands in the audit trail, local mode included, and let a deployment
refuse local mode (TADA_REQUIRE_TOKEN). And a case chooses the monitors that may report on
it. The real ``tada`` app in-process (Typer's CliRunner) with settings of the test's own;
only PostgreSQL is needed."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from tada.cli.access import authorise
from tada.cli.main import app as tada_app
from tada.cli.runtime import Session, use_settings
from tada.domain.access import Action
from tada.errors import Unavailable
from tada.kit.ports import free_port
from tada.settings import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPS, CASEWORKER, WATCHER = "ops-token-0123456789", "cw-token-0123456789", "watch-token-0123456789"
TOKENS = f"{OPS}:ops,{CASEWORKER}:caseworker,{WATCHER}:monitor:watcher"
MINE = "mine-own-token-0123456789"
LOCAL = ("local", "local mode (no tokens configured)")
NO_SUCH_CASE = f"TD-NO{secrets.token_hex(3).upper()}"  # of this module alone: the audit is shared


class Cli:
    def __init__(self, postgres_url: str, tmp_path: Any) -> None:
        self.base = Settings(
            database_url=postgres_url,
            temporal_address="127.0.0.1:9",  # never reached: these commands need only the database
            state_dir=tmp_path / ".tada",
            data_key=SecretStr(os.environ["TADA_DATA_KEY"]),
            log_format="json",
            api_tokens=SecretStr(""),
        ).model_copy(update={"cli_token": SecretStr("")})

    async def __call__(self, *args: str, tokens: str = "", token: str = "", require: bool = False) -> tuple:
        """(exit code, stdout, stderr) of ``tada *args`` with these token settings."""
        settings = self.base.model_copy(
            update={"api_tokens": SecretStr(tokens), "cli_token": SecretStr(token), "require_token": require}
        )
        with use_settings(settings, configure_logs=False):
            result = await asyncio.to_thread(CliRunner().invoke, tada_app, list(args), env={"COLUMNS": "250"})
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli(postgres_url, tmp_path) -> Cli:
    return Cli(postgres_url, tmp_path)


async def audit_after(db_pool, last: int) -> list[tuple]:
    rows = await db_pool.fetch(
        "SELECT actor_role, action, target, allowed, reason, actor_name FROM audit_events WHERE id > $1 ORDER BY id",
        last,
    )
    return [tuple(row) for row in rows]


async def last_audit(db_pool) -> int:
    return await db_pool.fetchval("SELECT coalesce(max(id), 0) FROM audit_events")


async def test_a_refused_caseworker_can_step_around_the_role_but_not_around_the_audit(cli, db_pool):
    start = await last_audit(db_pool)
    refused = await cli("case", "open", "--age", "30", "--json", tokens=TOKENS, token=CASEWORKER)
    assert refused[0] == 3 and refused[1] == ""
    assert "case.open needs a ops token; this is a caseworker token" in refused[2]

    local = await cli("case", "open", "--age", "30", "--json")  # both token variables unset: local mode
    assert local[0] == 0, local[2]
    own_table = await cli("case", "open", "--age", "30", "--json", tokens=f"{MINE}:ops", token=MINE)
    assert own_table[0] == 0, own_table[2]
    local_case = json.loads(local[1])["case_id"]
    assert (await cli("status", local_case))[0] == 0

    assert await audit_after(db_pool, start) == [
        ("caseworker", "case.open", None, False, "case.open needs a ops token; this is a caseworker token", None),
        (LOCAL[0], "case.open", None, True, LOCAL[1], None),
        ("ops", "case.open", None, True, "", None),  # a table of one's own: it shows as the role it claimed
        (LOCAL[0], "read", local_case, True, LOCAL[1], None),
    ]


async def test_a_deployment_can_refuse_local_mode(cli, db_pool):
    start = await last_audit(db_pool)
    opened = await cli("case", "open", "--age", "30", "--json", tokens=TOKENS, token=OPS, require=True)
    assert opened[0] == 0, opened[2]
    case_id = json.loads(opened[1])["case_id"]

    for args in (("case", "open", "--age", "30", "--reference", "NOT-OPENED"), ("status", case_id)):
        code, out, err = await cli(*args, require=True)
        assert (code, out) == (3, ""), err
        assert "this deployment requires a token (TADA_REQUIRE_TOKEN): set TADA_TOKEN" in err
    assert await db_pool.fetchval("SELECT count(*) FROM cases WHERE reference = 'NOT-OPENED'") == 0
    half = await cli("status", case_id, tokens=TOKENS, require=True)  # a table but no token: as before
    assert half[0] == 3 and "set TADA_TOKEN" in half[2]
    assert (await cli("status", case_id, tokens=TOKENS, token=CASEWORKER, require=True))[0] == 0
    offline = await cli("keys", "new", require=True)  # needs no role, touches nothing: runs
    assert offline[0] == 0 and offline[1].strip()

    why = "this deployment requires a token (TADA_REQUIRE_TOKEN): set TADA_TOKEN (and TADA_API_TOKENS)"
    assert [(row[0], row[1], row[3], row[4]) for row in await audit_after(db_pool, start)] == [
        ("ops", "case.open", True, ""),
        (None, "case.open", False, why),
        (None, "read", False, why),
        (None, "read", False, "tokens are configured: set TADA_TOKEN to your token"),
        ("caseworker", "read", True, ""),
    ]


async def test_a_case_chooses_its_monitors(cli, db_pool):
    as_ops = {"tokens": TOKENS, "token": OPS}
    code, out, err = await cli(
        "case", "open", "--age", "30", "--monitor", "watcher", "--monitor", "w2", "--json", **as_ops
    )
    assert code == 0, err
    opened = json.loads(out)
    case_id = opened["case_id"]
    assert opened["monitors"] == ["w2", "watcher"]

    changed = await cli("case", "monitors", case_id, "--add", "hash.watch-3", "--remove", "w2", "--json", **as_ops)
    assert changed[0] == 0, changed[2]
    assert json.loads(changed[1]) == {"case_id": case_id, "monitors": ["hash.watch-3", "watcher"]}
    listed = await cli("case", "monitors", case_id, **as_ops)
    assert listed[0] == 0 and f"Case {case_id}: hash.watch-3, watcher" in listed[1]

    bad = await cli("case", "monitors", case_id, "--add", "two words", **as_ops)
    assert bad[0] == 2 and "--add" in bad[2] and "letters, digits" in bad[2]
    bad_open = await cli("case", "open", "--age", "30", "--monitor", "-x", **as_ops)
    assert bad_open[0] == 2 and "--monitor" in bad_open[2]
    assert (await cli("case", "monitors", NO_SUCH_CASE, **as_ops))[0] == 4
    caseworker = await cli("case", "monitors", case_id, "--add", "x", tokens=TOKENS, token=CASEWORKER)
    assert caseworker[0] == 3 and "case.monitors needs a ops token" in caseworker[2]
    rows = await db_pool.fetch("SELECT monitor FROM case_monitors WHERE case_id = $1 ORDER BY monitor", case_id)
    assert [row["monitor"] for row in rows] == ["hash.watch-3", "watcher"]


async def test_a_monitor_token_in_the_cli_is_scoped_like_the_api(cli, db_pool):
    as_ops = {"tokens": TOKENS, "token": OPS}
    other = json.loads((await cli("case", "open", "--age", "30", "--json", **as_ops))[1])["case_id"]
    start = await last_audit(db_pool)
    runs = [
        await cli("repost", case_id, "https://host.example/v/1", "--source", "w", tokens=TOKENS, token=WATCHER)
        for case_id in (other, NO_SUCH_CASE)
    ]
    for code, out, err in runs:
        assert (code, out) == (3, "")
        assert err == runs[0][2]  # the same words for both
        assert "report not taken: no case open to this monitor has this id" in err
    assert [(row[0], row[2], row[3], row[4], row[5]) for row in await audit_after(db_pool, start)] == [
        ("monitor", other, False, "case did not opt into monitor watcher", "watcher"),
        ("monitor", NO_SUCH_CASE, False, "no such case", "watcher"),
    ]


async def test_local_mode_runs_on_when_the_audit_cannot_be_written(tmp_path):
    """Local mode has no roles to enforce: a command that needs none of tada's database (a
    rehearsal runs in its own) still runs where that database is not up, and says it went
    unaudited; with tokens, a decision that cannot be audited is not carried out."""
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/tada"
    local = Settings(database_url=closed, state_dir=tmp_path / ".tada")
    session = Session(local)
    try:
        decision = await authorise(local, session.pool, Action.SIMULATE, None)
    finally:
        await session.close()
    assert decision.allowed and decision.unaudited and decision.actor_role == "local"

    with_tokens = local.model_copy(update={"api_tokens": SecretStr(TOKENS), "cli_token": SecretStr(OPS)})
    session = Session(with_tokens)
    try:
        with pytest.raises(Unavailable, match="cannot reach PostgreSQL"):
            await authorise(with_tokens, session.pool, Action.SIMULATE, None)
    finally:
        await session.close()
