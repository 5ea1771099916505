"""``tada report``: the service report for a period, as a table, JSON, CSV or HTML."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.text import Text

from tada.cli.output import Output
from tada.cli.runtime import CliError, Session, needs, run
from tada.domain.access import Action
from tada.domain.terminal_text import json_for_terminal, terminal_document, terminal_text
from tada.errors import EXIT_USAGE
from tada.reporting.queries import build_report
from tada.reporting.render import ReportFormat, render
from tada.reporting.render_table import renderables

app = typer.Typer()


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2023-03-31") from None


def write_report(out: Output, text: str, fmt: ReportFormat, path: Path | None, report) -> None:
    """To the file (saying where), or to stdout: tables in colour on a terminal, the rest as
    rendered but safe for a terminal (JSON with its control characters escaped, CSV and HTML
    without them, line ends and tabs kept: names come from RDAP and the registry)."""
    if path is not None:
        path.write_text(text, encoding="utf-8", newline="")  # as rendered: the CSV ends its rows in CR LF
        out.err.print(Text(f"report written to {terminal_text(str(path))} ({fmt.value})"))  # a path is no markup
    elif fmt == ReportFormat.TABLE:
        out.console.print(Group(*renderables(report)))
    else:
        out.console.file.write(json_for_terminal(text) if fmt == ReportFormat.JSON else terminal_document(text))
        out.console.file.flush()


@app.command("report")
@needs(Action.READ)
def report(
    start: Annotated[
        str | None, typer.Option("--from", metavar="DATE", help="First day (UTC) of links added, e.g. 2021-04-01.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", metavar="DATE", help="Last day (UTC) of links added, inclusive.")
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Output format.")] = ReportFormat.TABLE,
    out_file: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write the report to FILE instead of stdout.")
    ] = None,
) -> None:
    """The service report: cases, links, removal rates, removal steps, silent platforms, reposts.

    Covers the links added in the period (links.added_at); every figure comes from one query.
    """
    first, last = _day(start), _day(end)
    out = Output(as_json=fmt == ReportFormat.JSON)

    async def command(session: Session) -> None:
        if first and last and first > last:
            raise CliError(f"--from {first} is after --to {last}", EXIT_USAGE)
        result = await build_report(await session.pool(), start=first, end=last, now=datetime.now().astimezone())
        write_report(out, render(result, fmt), fmt, out_file, result)

    run(out, command, Action.READ)
