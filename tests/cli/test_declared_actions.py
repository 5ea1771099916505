"""A command's declared action (``@needs``) is the one it is checked and audited for.

Each command says its action twice: to ``@needs`` (which tests/domain/test_access.py reads to
prove that no command is left undeclared) and to ``run`` (which checks the token's role and
writes the audit record). Read from the source, the two must name the same action.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tada.cli

CLI = Path(tada.cli.__file__).parent


def _declared(function: ast.FunctionDef) -> str | None:
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "needs":
            [argument] = decorator.args
            if isinstance(argument, ast.Attribute) and getattr(argument.value, "id", None) == "Action":
                return argument.attr
    return None  # offline (None), or declared through a variable passed on to run() as it is


#: `tada api` starts the HTTP API, which checks every request's own token; the command itself
#: is declared (SERVE) but not run through the CLI's access check, as before.
SERVES_ITS_OWN_CHECKS = {"api_serve"}


def _actions_used(function: ast.FunctionDef, helpers: dict[str, ast.FunctionDef]) -> set[str]:
    """The actions the command names, in its body or in the module's helpers it calls."""
    used: set[str] = set()
    for statement in function.body:
        for node in ast.walk(statement):
            if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "Action":
                used.add(node.attr)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in helpers:
                used |= _actions_used(helpers[node.func.id], {})
    return used


def _commands() -> list[tuple[str, ast.FunctionDef, dict[str, ast.FunctionDef]]]:
    found = []
    for path in sorted(CLI.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
        helpers = {f.name: f for f in functions if not _declared(f)}
        found += [(path.name, f, helpers) for f in functions if _declared(f)]
    return found


COMMANDS = _commands()


def test_the_commands_are_found():
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize(("module", "function", "helpers"), COMMANDS, ids=[f"{m}:{f.name}" for m, f, _ in COMMANDS])
def test_a_command_runs_under_the_action_it_declares(module: str, function: ast.FunctionDef, helpers):
    used = _actions_used(function, helpers)
    if function.name in SERVES_ITS_OWN_CHECKS:
        assert used == set(), f"{module}: {function.name}"
    else:
        assert used == {_declared(function)}, f"{module}: {function.name}"
