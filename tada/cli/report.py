"""``tada report``: the service report for a period (``--kind service``, the default), or a
trusted flagger's annual report under DSA Art. 22(3) (``--kind trusted-flagger --year YEAR``),
as a table, JSON, CSV or HTML."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Group
from rich.text import Text

from tada.cli.output import Output
from tada.cli.params import day
from tada.cli.runtime import CliError, Session, needs, run
from tada.domain.access import Action
from tada.domain.terminal_text import json_for_terminal, terminal_document, terminal_text
from tada.errors import EXIT_USAGE
from tada.reporting.flagger import FlaggerReport
from tada.reporting.flagger_queries import build_flagger_report
from tada.reporting.flagger_render import flagger_renderables, render_flagger
from tada.reporting.model import Report
from tada.reporting.queries import build_report
from tada.reporting.render import ReportFormat, render
from tada.reporting.render_table import renderables

app = typer.Typer()


class ReportKind(str, Enum):
    SERVICE = "service"
    TRUSTED_FLAGGER = "trusted-flagger"


def write_report(out: Output, text: str, fmt: ReportFormat, path: Path | None, report: Report | FlaggerReport) -> None:
    """To the file (saying where), or to stdout: tables in colour on a terminal, the rest as
    rendered but safe for a terminal (JSON with its control characters escaped, CSV and HTML
    without them, line ends and tabs kept: names come from RDAP and the registry)."""
    if path is not None:
        path.write_text(text, encoding="utf-8", newline="")  # as rendered: the CSV ends its rows in CR LF
        out.err.print(Text(f"report written to {terminal_text(str(path))} ({fmt.value})"))  # a path is no markup
    elif fmt == ReportFormat.TABLE:
        parts = flagger_renderables(report) if isinstance(report, FlaggerReport) else renderables(report)
        out.console.print(Group(*parts))
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
    kind: Annotated[
        ReportKind,
        typer.Option("--kind", help="service: the service report; trusted-flagger: the DSA Art. 22(3) annual report."),
    ] = ReportKind.SERVICE,
    year: Annotated[
        int | None,
        typer.Option("--year", metavar="YEAR", min=1970, max=9998, help="With --kind trusted-flagger: the year (UTC)."),
    ] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Output format.")] = ReportFormat.TABLE,
    out_file: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write the report to FILE instead of stdout.")
    ] = None,
) -> None:
    """The service report: cases, links, removal rates, removal steps, silent platforms, reposts,
    and the scorecard per platform and per hosting provider.

    Covers the links added in the period (links.added_at); every figure comes from one query.
    With --kind trusted-flagger --year YEAR: the notices submitted in that year by provider of
    hosting services, type of content and the action taken (no personal data).
    """
    first, last = day(start), day(end)
    out = Output(as_json=fmt == ReportFormat.JSON)

    async def command(session: Session) -> None:
        if kind == ReportKind.TRUSTED_FLAGGER:
            if year is None:
                raise CliError("--kind trusted-flagger needs --year YEAR (the calendar year, UTC)", EXIT_USAGE)
            if first or last:
                raise CliError(
                    "--from and --to are for the service report; the trusted-flagger one takes --year", EXIT_USAGE
                )
            flagged = await build_flagger_report(await session.pool(), year=year, now=datetime.now().astimezone())
            write_report(out, render_flagger(flagged, fmt), fmt, out_file, flagged)
            return
        if year is not None:
            raise CliError(
                "--year goes with --kind trusted-flagger; the service report takes --from and --to", EXIT_USAGE
            )
        if first and last and first > last:
            raise CliError(f"--from {first} is after --to {last}", EXIT_USAGE)
        result = await build_report(await session.pool(), start=first, end=last, now=datetime.now().astimezone())
        write_report(out, render(result, fmt), fmt, out_file, result)

    run(out, command, Action.READ)
