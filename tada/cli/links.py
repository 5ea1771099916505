"""``tada links``: add reported links to a case, from a file or the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tada.app.intake import ImportOutcome, add_links
from tada.cli.output import Output, show_import
from tada.cli.params import CaseArg, Json
from tada.cli.runtime import Session, needs, run, usage_error
from tada.domain.access import Action
from tada.domain.intake import ImportTooLarge, ParsedImport, parse_link_file, parse_url_args
from tada.domain.registry import load_registry

MAX_IMPORT_BYTES = 50 * 2**20  # an import file is read whole: bigger ones are refused unread

app = typer.Typer(help="Add reported links to a case; one workflow starts per link.", no_args_is_help=True)


def _start(out: Output, case_id: str, parsed: ParsedImport, source: str, unit: str) -> None:
    """Start a workflow per good row (``unit`` names a row for people: line or argument)."""

    async def command(session: Session) -> None:
        settings = session.settings
        registry = load_registry(settings.platforms)
        pool = await session.pool()

        async def start(progress: Callable[[int], None] | None = None) -> ImportOutcome:
            # an unknown or withdrawn case: add_links refuses it before it opens the client
            return await add_links(
                pool, session.client, registry, case_id=case_id, rows=parsed.rows, rejected=parsed.rejected,
                task_queue=settings.task_queue, source=source, progress=progress,
            )  # fmt: skip

        if out.interactive and parsed.rows:
            columns = (TextColumn("starting workflows"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=out.console, transient=True) as bar:
                task = bar.add_task("start", total=len(parsed.rows))
                outcome = await start(lambda n: bar.advance(task, n))
        else:
            outcome = await start()
        if out.as_json:
            out.json(outcome)
        else:
            show_import(out, outcome, unit)

    run(out, command, Action.LINKS_IMPORT, target=case_id)


@app.command("import")
@needs(Action.LINKS_IMPORT)
def links_import(
    case_id: CaseArg,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A CSV with a `url` column, or one URL a line.")],
    as_json: Json = False,
) -> None:
    """Import a file of reported links; bad rows are named by line, the good ones start."""
    out = Output(as_json)
    try:
        if file.is_file() and file.stat().st_size > MAX_IMPORT_BYTES:
            raise usage_error(
                out, f"FILE {file}: larger than {MAX_IMPORT_BYTES // 2**20} MiB: split it into smaller files"
            )
        data = file.read_bytes()
    except FileNotFoundError:
        raise usage_error(out, f"FILE {file}: no such file") from None
    except IsADirectoryError:
        raise usage_error(out, f"FILE {file}: is a directory, not a file") from None
    except OSError as error:
        raise usage_error(out, f"FILE {file}: cannot be read: {error.strerror}") from None
    try:
        parsed = parse_link_file(data)
    except ImportTooLarge as error:
        raise usage_error(out, f"FILE {file}: {error}") from None
    _start(out, case_id, parsed, "import", "line")


@app.command("add")
@needs(Action.LINKS_IMPORT)
def links_add(
    case_id: CaseArg,
    urls: Annotated[list[str], typer.Argument(metavar="URL...", help="One or more links.")],
    as_json: Json = False,
) -> None:
    """Add links given on the command line; bad ones are named by position, the good ones start."""
    out = Output(as_json)
    _start(out, case_id, parse_url_args(urls), "cli", "argument")
