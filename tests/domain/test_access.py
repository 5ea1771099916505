"""Roles and the permission table (tada/domain/access.py), and that every CLI command has an entry."""

from __future__ import annotations

import pytest
import typer

import tada.cli.main as starter
from tada.domain.access import CLI_COMMANDS, Action, Role, allowed, parse_tokens, role_for

OPS, CW, MON = "o" * 16, "c" * 16, "m" * 16

#: Commands that touch neither the database nor Temporal: no token needed.
OFFLINE = {"keys new", "hash"}


def test_each_role_may_do_exactly_its_own_work():
    assert allowed(Role.OPS, Action.CASE_OPEN) and allowed(Role.OPS, Action.CASE_PURGE)
    assert allowed(Role.OPS, Action.LINKS_IMPORT) and allowed(Role.OPS, Action.CASE_WITHDRAW)
    assert not allowed(Role.OPS, Action.LINK_RESPOND)
    assert allowed(Role.CASEWORKER, Action.READ) and allowed(Role.CASEWORKER, Action.LINK_ESCALATE)
    for action in (Action.CASE_OPEN, Action.LINKS_IMPORT, Action.CASE_PURGE, Action.CASE_WITHDRAW, Action.REPOST):
        assert not allowed(Role.CASEWORKER, action)
    assert [a for a in Action if allowed(Role.MONITOR, a)] == [Action.REPOST]
    assert not allowed(None, Action.READ)


def test_tokens_parse_and_resolve_without_ever_echoing_a_token():
    table = parse_tokens(f"{OPS}:ops, {CW}:caseworker,{MON}:monitor")
    assert [role_for(table, t) for t in (OPS, CW, MON, "x" * 16, "")] == [
        Role.OPS, Role.CASEWORKER, Role.MONITOR, None, None,
    ]  # fmt: skip
    for text in (f"ops:{OPS}", f"{OPS}", f"{OPS}:admin", "short:ops", f"{OPS}:ops,{OPS}:monitor"):
        with pytest.raises(ValueError) as error:
            parse_tokens(text)
        assert OPS not in str(error.value)


def _commands(group: typer.Typer, prefix: str = "") -> set[str]:
    names = {f"{prefix}{c.name or c.callback.__name__.replace('_', '-')}" for c in group.registered_commands}
    for sub in group.registered_groups:
        names |= _commands(sub.typer_instance, f"{prefix}{sub.name} ")
    return names


def test_every_cli_command_is_in_the_permission_table():
    missing = _commands(starter.app) - set(CLI_COMMANDS) - OFFLINE
    assert not missing, f"add these commands to tada/domain/access.py CLI_COMMANDS: {sorted(missing)}"
