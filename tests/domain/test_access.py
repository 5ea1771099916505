"""Roles and the permission table (tada/domain/access.py), and that every CLI command declares its action."""

from __future__ import annotations

import pytest
import typer

from tada.cli.main import app
from tada.cli.runtime import DECLARED, needs
from tada.domain.access import Action, Principal, Role, allowed, parse_tokens, role_for

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
    table = parse_tokens(f"{OPS}:ops, {CW}:caseworker,{MON}:monitor:hash.watch-2")
    assert [role_for(table, t) for t in (OPS, CW, MON, "x" * 16, "")] == [
        Role.OPS, Role.CASEWORKER, Role.MONITOR, None, None,
    ]  # fmt: skip
    assert table.principal_of(MON) == Principal(Role.MONITOR, "hash.watch-2")
    assert table.principal_of(OPS) == Principal(Role.OPS, None)
    bad = (
        f"ops:{OPS}", f"{OPS}", f"{OPS}:admin", "short:ops", f"{OPS}:ops,{OPS}:monitor:m",
        f"{MON}:monitor", f"{MON}:monitor:", f"{OPS}:ops:name", f"{MON}:monitor:two words", f"{MON}:monitor:-x",
        f"{MON}:monitor:" + "n" * 65,
    )  # fmt: skip
    for text in bad:
        with pytest.raises(ValueError) as error:
            parse_tokens(text)
        assert OPS not in str(error.value)


def _commands(group: typer.Typer, prefix: str = "") -> dict[str, object]:
    """Every registered command's words after ``tada``, and its callback."""
    found = {
        f"{prefix}{c.name or c.callback.__name__.replace('_', '-')}": c.callback for c in group.registered_commands
    }
    for sub in group.registered_groups:
        found |= _commands(sub.typer_instance, f"{prefix}{sub.name} " if sub.name else prefix)
    return found


def test_every_cli_command_declares_its_action():
    commands = _commands(app)
    assert {"case open", "link respond", "status", "repost", "hash", "keys new", "simulate"} <= set(commands)
    missing = sorted(words for words, callback in commands.items() if callback not in DECLARED)
    assert not missing, f"declare these commands' actions with @needs (tada/cli/runtime.py): {missing}"
    offline = {words for words, callback in commands.items() if DECLARED[callback] is None}
    assert offline == OFFLINE, "only commands that touch neither the database nor Temporal go without an action"


def test_a_command_that_forgets_its_action_is_caught():
    """A check that cannot fail proves nothing: a new command without @needs is named."""
    extra = typer.Typer()

    @extra.command("forgotten")
    def forgotten() -> None: ...

    @extra.command("declared")
    @needs(Action.READ)
    def declared() -> None: ...

    commands = _commands(extra)
    assert [words for words, callback in commands.items() if callback not in DECLARED] == ["forgotten"]
    del DECLARED[declared]
