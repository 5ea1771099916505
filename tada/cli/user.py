"""``tada user``: the people who sign in to the caseworkers' web console (tada/app/accounts.py).

    tada user add NAME --role ops|caseworker [--password-stdin]
    tada user list [--json]
    tada user disable NAME
    tada user reset-password NAME [--password-stdin]
    tada user unlock NAME
    tada user remove-2fa NAME

Every command needs the ops role (Action.USER_ADMIN) and is audited twice, as the others are:
the access decision, then what was done (target ``user:NAME``). A password is asked twice on
the terminal without echo, or read from the first line of stdin with ``--password-stdin``;
it is never printed, logged or audited.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tada.app.accounts import (
    NAME_PATTERN,
    ConsoleUser,
    add_user,
    check_name,
    check_password,
    disable_user,
    list_users,
    remove_totp,
    reset_password,
    unlock_user,
)
from tada.app.audit import record_audit
from tada.cli.output import Output, when
from tada.cli.params import Json
from tada.cli.runtime import Session, needs, run, usage_error
from tada.domain.access import Action

app = typer.Typer(
    help="The people who sign in to the caseworkers' web console: add, list, disable, reset, unlock.",
    no_args_is_help=True,
)

#: More than any password anyone types; what --password-stdin reads at most.
MAX_PASSWORD_BYTES = 4096


class Role(str, Enum):
    OPS = "ops"
    CASEWORKER = "caseworker"


NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The person's sign-in name (any case).")]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin instead of asking."),
]


def _target(name: str) -> str | None:
    return f"user:{name}" if NAME_PATTERN.fullmatch(name) else None


def _password(out: Output, from_stdin: bool) -> str:
    """The new password: stdin's first line, or asked twice without echo."""
    if not from_stdin:
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    data = sys.stdin.buffer.read(MAX_PASSWORD_BYTES + 1)
    if len(data) > MAX_PASSWORD_BYTES:
        raise usage_error(out, f"--password-stdin: at most {MAX_PASSWORD_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise usage_error(out, "--password-stdin: the password is not UTF-8") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise usage_error(out, "--password-stdin: no password on stdin")
    if any(line for line in lines[1:]):
        raise usage_error(out, "--password-stdin: one line only")
    return lines[0]


async def _done(session: Session, name: str, what: str) -> None:
    await record_audit(
        await session.pool(), actor_role=session.actor_role, action=Action.USER_ADMIN.value, target=_target(name),
        allowed=True, reason=f"done: {what}",
    )  # fmt: skip


def _show(out: Output, user: ConsoleUser, what: str) -> None:
    if out.as_json:
        out.json(user)
    else:
        out.say("console user ", (user.name, "bold"), f" ({user.role}) {what}")


@app.command("add")
@needs(Action.USER_ADMIN)
def user_add(
    name: NameArg,
    role: Annotated[Role, typer.Option("--role", help="ops (everything) or caseworker (the casework).")],
    password_stdin: PasswordStdin = False,
    as_json: Json = False,
) -> None:
    """Add a person who may sign in to the console (a password of at least 12 characters)."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        check_name(name)  # before a password is asked for
        password = _password(out, password_stdin)
        check_password(password)
        user = await add_user(await session.pool(), name, role.value, password)
        await _done(session, user.name, f"added ({user.role})")
        _show(out, user, "added: they sign in at /console/login")

    run(out, command, Action.USER_ADMIN, _target(name))


@app.command("list")
@needs(Action.USER_ADMIN)
def user_list(as_json: Json = False) -> None:
    """Everyone who may sign in to the console: role, language, second factor, locked or disabled."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        users = await list_users(await session.pool())
        if out.as_json:
            out.json([user.model_dump(mode="json") for user in users])
            return
        if not users:
            out.say("No console users yet: add one with `tada user add NAME --role ops`.")
            return
        table = Table(show_edge=False)
        for column in ("Name", "Role", "Language", "2FA", "Status", "Added"):
            table.add_column(column)
        for user in users:
            status = (
                Text("disabled", style="dim")
                if user.disabled
                else Text(f"locked until {when(user.locked_until)}", style="red")
                if user.locked_until
                else Text("active", style="green")
            )
            table.add_row(
                Text(user.name), user.role, user.language, "yes" if user.totp_enrolled else "no", status,
                when(user.created_at),
            )  # fmt: skip
        out.console.print(table)

    run(out, command, Action.USER_ADMIN)


@app.command("disable")
@needs(Action.USER_ADMIN)
def user_disable(name: NameArg, as_json: Json = False) -> None:
    """The person may no longer sign in; every session of theirs ends now."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        user = await disable_user(await session.pool(), name)
        await _done(session, user.name, "disabled, sessions closed")
        _show(out, user, "disabled: every session of theirs ended")

    run(out, command, Action.USER_ADMIN, _target(name))


@app.command("reset-password")
@needs(Action.USER_ADMIN)
def user_reset_password(name: NameArg, password_stdin: PasswordStdin = False, as_json: Json = False) -> None:
    """Give the person a new password: every session of theirs ends, a lock-out is lifted."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        password = _password(out, password_stdin)
        user = await reset_password(await session.pool(), name, password)
        await _done(session, user.name, "password reset, sessions closed, unlocked")
        _show(out, user, "has a new password: every session of theirs ended")

    run(out, command, Action.USER_ADMIN, _target(name))


@app.command("unlock")
@needs(Action.USER_ADMIN)
def user_unlock(name: NameArg, as_json: Json = False) -> None:
    """Lift a lock-out after too many wrong passwords or codes."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        user = await unlock_user(await session.pool(), name)
        await _done(session, user.name, "unlocked")
        _show(out, user, "unlocked: they may sign in again")

    run(out, command, Action.USER_ADMIN, _target(name))


@app.command("remove-2fa")
@needs(Action.USER_ADMIN)
def user_remove_2fa(name: NameArg, as_json: Json = False) -> None:
    """Remove the person's second factor (a lost phone): they enrol again at their next sign-in."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        user = await remove_totp(await session.pool(), name)
        await _done(session, user.name, "second factor removed")
        _show(out, user, "has no second factor now: they enrol again when they sign in")

    run(out, command, Action.USER_ADMIN, _target(name))
