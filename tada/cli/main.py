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
keys.py, servers.py, report.py, simulate.py, user.py); tada/cli/runtime.py runs every command.
This module only assembles them, in the order ``tada --help`` lists them.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from tada.cli import case, inbox, keys, link, links, report, repost, servers, simulate, status, user

app = typer.Typer(
    help="tada: Take-Down Assistance. Open cases, import reported links, follow and steer every take-down.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals would carry URLs and email addresses
)
for commands in (status.app, servers.codec_app, repost.app, servers.api_app, report.app, simulate.app):
    app.add_typer(commands)
app.add_typer(case.app, name="case")
app.add_typer(links.app, name="links")
app.add_typer(link.app, name="link")
app.add_typer(keys.app, name="keys")
app.add_typer(inbox.app, name="inbox")
app.add_typer(user.app, name="user")


def main() -> None:
    """The `tada` command. It ends with os._exit once its output is flushed: the Temporal client's
    native threads can abort a finishing interpreter (temporalio/sdk-python#300), which would
    turn a command that succeeded into a crash with exit code -6."""
    try:
        app()
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
