"""Tokens and roles for the CLI: a wrong role is refused (exit 3) and audited; no tokens at all
is local single-user mode, audited too (tests/cli/test_roles.py has the rest). Only PostgreSQL
is needed: refusals come before Temporal."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from tests.support.cli_stack import Run, run_tada

pytestmark = pytest.mark.asyncio(loop_scope="session")

OPS, CASEWORKER, MONITOR = "ops-token-0123456789", "cw-token-0123456789", "mon-token-0123456789"
TOKENS = f"{OPS}:ops,{CASEWORKER}:caseworker,{MONITOR}:monitor:watcher"


async def tada(env: dict[str, str], *args: str) -> Run:
    return await run_tada(*args, env=env)


@pytest.fixture
def base_env(postgres_url, tmp_path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TADA_")}
    env.update(
        TADA_DATABASE_URL=postgres_url,
        TADA_TEMPORAL_ADDRESS="127.0.0.1:9",  # never reached: these commands need only the database
        TADA_STATE_DIR=str(tmp_path / ".tada"),
        TADA_DATA_KEY=os.environ["TADA_DATA_KEY"],
        TADA_LOG_FORMAT="json",
    )
    return env


def as_role(env: dict[str, str], token: str | None) -> dict[str, str]:
    changed = {**env, "TADA_API_TOKENS": TOKENS}
    if token is not None:
        changed["TADA_TOKEN"] = token
    return changed


async def audit_rows(db_pool, target: str) -> list[tuple]:
    rows = await db_pool.fetch(
        "SELECT actor_role, action, allowed, reason FROM audit_events WHERE target = $1 ORDER BY id", target
    )
    return [tuple(row) for row in rows]


async def test_roles_decide_what_the_cli_may_do_and_every_decision_is_audited(base_env, db_pool):
    code, out, err = await tada(as_role(base_env, OPS), "case", "open", "--age", "30", "--json")
    assert code == 0, err
    case_id = json.loads(out)["case_id"]

    monitor = await tada(as_role(base_env, MONITOR), "status", case_id)
    assert monitor[0] == 3 and monitor[1] == ""
    assert "read needs a ops or caseworker token; this is a monitor token" in monitor[2]
    caseworker_status = await tada(as_role(base_env, CASEWORKER), "status", case_id, "--json")
    assert caseworker_status[0] == 0, caseworker_status[2]
    caseworker_withdraw = await tada(as_role(base_env, CASEWORKER), "case", "withdraw", case_id)
    assert caseworker_withdraw[0] == 3 and "case.withdraw needs a ops token" in caseworker_withdraw[2]
    purge = await tada(as_role(base_env, CASEWORKER), "case", "purge", case_id, "--yes")
    assert purge[0] == 3 and "case.purge" in purge[2]

    assert await audit_rows(db_pool, case_id) == [
        ("monitor", "read", False, "read needs a ops or caseworker token; this is a monitor token"),
        ("caseworker", "read", True, ""),
        ("caseworker", "case.withdraw", False, "case.withdraw needs a ops token; this is a caseworker token"),
        ("caseworker", "case.purge", False, "case.purge needs a ops token; this is a caseworker token"),
    ]
    assert await db_pool.fetchval("SELECT status FROM cases WHERE case_id = $1", case_id) == "open"


async def test_a_missing_or_unknown_token_is_refused_and_never_echoed(base_env, db_pool):
    wrong = "not-a-real-token-42424242"
    cases = (
        (as_role(base_env, None), "set TADA_TOKEN"),
        (as_role(base_env, wrong), "not a known token"),
        ({**base_env, "TADA_TOKEN": wrong}, "not a known token"),  # a token but no table
    )
    before = await db_pool.fetchval("SELECT COALESCE(max(id), 0) FROM audit_events")  # the audit is the suite's
    runs = await asyncio.gather(
        *(tada(env, "case", "open", "--age", "30", "--reference", "SHOULD-NOT-EXIST") for env, _ in cases)
    )
    for (code, out, err), (_, why) in zip(runs, cases):
        assert (code, out) == (3, ""), err
        assert why in err and wrong not in err and OPS not in err
    assert await db_pool.fetchval("SELECT count(*) FROM cases WHERE reference = 'SHOULD-NOT-EXIST'") == 0
    refused = await db_pool.fetch(
        "SELECT actor_role FROM audit_events WHERE id > $1 AND action = 'case.open' AND NOT allowed", before
    )
    assert len(refused) >= 3 and all(row["actor_role"] is None for row in refused)


async def test_without_any_tokens_the_cli_is_local_and_single_user(base_env, db_pool):
    code, out, err = await tada(base_env, "case", "open", "--age", "30", "--json")
    assert code == 0, err
    case_id = json.loads(out)["case_id"]
    assert (await tada(base_env, "status", case_id))[0] == 0
    assert await audit_rows(db_pool, case_id) == [("local", "read", True, "local mode (no tokens configured)")]


async def test_audit_events_are_append_only(db_pool):
    await db_pool.execute("INSERT INTO audit_events (actor_role, action, allowed) VALUES ('ops', 'read', true)")
    for statement in ("UPDATE audit_events SET allowed = NOT allowed", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            await db_pool.execute(statement)
