"""``tada``: the ops and caseworker command line.

    tada case open --age N [--language en|zh-Hant] [--reference TEXT]
    tada case withdraw CASE
    tada links import CASE FILE          tada links add CASE URL...
    tada status CASE
    tada link show LINK
    tada link respond|pause|resume|withdraw|escalate|recheck|reopen|filed LINK
    tada repost CASE URL --source NAME [--of LINK] [--pdq HEX]
    tada case add-hash CASE HEX          tada hash FILE...          tada api
    tada user add|list|disable|reset-password|unlock|remove-2fa     (the console's accounts)

Every command takes ``--json`` (one JSON document on stdout, nothing else).
Exit codes: 0 ok, 1 a service failed, 2 usage, 3 refused, 4 not found.
Connection details come from the TADA_* settings; Temporal is contacted only by
the commands that need it, and the case/link listings come from PostgreSQL.

Each noun has its module (tada/cli/case.py, links.py, link.py, status.py, repost.py,
keys.py, servers.py, report.py, simulate.py, inbox.py, user.py); tada/cli/runtime.py runs every
command. This module only assembles them, in the order ``tada --help`` lists them, importing
only the one a command needs.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer

#: The command line's parts, in the order ``tada --help`` lists them: (module in tada/cli, its
#: Typer, the group's name or None for top-level commands, the first words it answers to).
PARTS = (
    ("status", "app", None, ("status",)),
    ("servers", "codec_app", None, ("codec-server",)),
    ("repost", "app", None, ("repost", "hash")),
    ("servers", "api_app", None, ("api",)),
    ("report", "app", None, ("report",)),
    ("simulate", "app", None, ("simulate",)),
    ("case", "app", "case", ("case",)),
    ("links", "app", "links", ("links",)),
    ("link", "app", "link", ("link",)),
    ("keys", "app", "keys", ("keys",)),
    ("inbox", "app", "inbox", ("inbox",)),
    ("user", "app", "user", ("user",)),
)


def build_app(command: str | None = None) -> typer.Typer:
    """The ``tada`` app. With ``command`` (the first word typed), only the part that answers to
    it is imported: each part pulls in what its commands need (Temporal's client, PostgreSQL,
    the rehearsal …), and a command starts in about half the time without the others'. A word
    no part answers to (``--help``, a typo) gets the whole app, so its help and errors list every command."""
    app = typer.Typer(
        help="tada: Take-Down Assistance. Open cases, import reported links, follow and steer every take-down.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,  # locals would carry URLs and email addresses
    )
    wanted = [part for part in PARTS if command in part[3]] or PARTS
    for module, attribute, group, _ in wanted:
        commands = getattr(importlib.import_module(f"tada.cli.{module}"), attribute)
        if group is None:
            app.add_typer(commands)
        else:
            app.add_typer(commands, name=group)
    return app


def __getattr__(name: str) -> typer.Typer:
    """``tada.cli.main.app``: the whole app (the tests drive it with typer's CliRunner)."""
    if name == "app":
        return build_app()
    raise AttributeError(name)


def main() -> None:
    """The `tada` command. It ends with os._exit once its output is flushed: the Temporal client's
    native threads can abort a finishing interpreter (temporalio/sdk-python#300), which would
    turn a command that succeeded into a crash with exit code -6."""
    try:
        build_app(sys.argv[1] if len(sys.argv) > 1 else None)()
        code = 0
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            code = exit_.code or 0
        else:
            print(exit_.code, file=sys.stderr)
            code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
