"""``tada``: the ops and caseworker command line.

    tada case open --age N [--language en|zh-Hant] [--reference TEXT]
    tada case withdraw CASE
    tada links import CASE FILE          tada links add CASE URL...
    tada status CASE
    tada link show LINK
    tada link respond|pause|resume|withdraw|escalate|recheck|reopen|filed LINK

Every command takes ``--json`` (one JSON document on stdout, nothing else).
Exit codes: 0 ok, 1 a service failed, 2 usage, 3 refused, 4 not found.
Connection details come from the TADA_* settings; Temporal is contacted only by
the commands that need it, and the case/link listings come from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import asyncpg
import typer
from pydantic import ValidationError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from domain import registry_values
from domain.intake import ParsedImport, parse_link_file, parse_url_args
from domain.models import EscalationContact, LinkStatus, PlatformResponse
from domain.registry import RegistryError, load_registry
from domain.states import Escalation, ResponseOutcome
from services.caseworker import LinkClosed, signal_link, withdraw_case
from services.cli_output import Output, show_case_status, show_import, show_link
from services.database import create_pool
from services.intake import CaseNotFound, CaseRefused, ImportOutcome, add_links, case_language, open_case
from services.logging import configure_logging
from services.readmodel import LinkNotFound, case_link_ids, case_status, find_link, link_timeline
from services.temporal import connect
from settings import Settings, get_settings
from workflows.link import LinkWorkflow

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_FOUND = 0, 1, 2, 3, 4
CONNECT_TIMEOUT = 15.0
QUERY_TIMEOUT = timedelta(seconds=5)

app = typer.Typer(
    help="tada: Take-Down Assistance. Open cases, import reported links, follow and steer every take-down.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals would carry URLs and email addresses
)
case_app = typer.Typer(help="Open or withdraw a case.", no_args_is_help=True)
links_app = typer.Typer(
    help="Add reported links to a case; one workflow starts per link.", no_args_is_help=True
)
link_app = typer.Typer(help="One link: its timeline, and what a caseworker can do to it.", no_args_is_help=True)
app.add_typer(case_app, name="case")
app.add_typer(links_app, name="links")
app.add_typer(link_app, name="link")


class Language(str, Enum):
    EN = "en"
    ZH_HANT = "zh-Hant"


class EscalationKind(str, Enum):
    HOST = Escalation.HOST.value
    ADMIN = Escalation.ADMIN.value


assert {lang.value for lang in Language} == set(registry_values.LANGUAGES)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
CaseArg = Annotated[str, typer.Argument(metavar="CASE", help="Case id, e.g. TD-AB3DEF7G.")]
LinkArg = Annotated[str, typer.Argument(metavar="LINK", help="Link id, as `tada status CASE` lists them.")]


class CliError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class Session:
    """The connections one command needs, opened on first use and closed at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._client: Client | None = None

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            where = _database_location(self.settings.database_url)
            try:
                self._pool = await asyncio.wait_for(
                    create_pool(self.settings.database_url, min_size=1, max_size=8), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                problem = f"cannot reach PostgreSQL at {where} (TADA_DATABASE_URL): {_reason(error)}"
                raise CliError(problem) from None
        return self._pool

    async def client(self) -> Client:
        if self._client is None:
            address = self.settings.temporal_address
            try:
                self._client = await asyncio.wait_for(connect(self.settings), CONNECT_TIMEOUT)
            except (RuntimeError, OSError, TimeoutError, RPCError) as error:
                problem = f"cannot reach Temporal at {address} (TADA_TEMPORAL_ADDRESS): {_reason(error)}"
                raise CliError(problem) from None
        return self._client

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()


def _database_location(url: str) -> str:
    """host:port/database of a database URL, without the user name or password."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.hostname or 'localhost'}{port}{parts.path}"
    except ValueError:
        return "the configured address"


def _reason(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def run(out: Output, command: Callable[[Session], Awaitable[None]]) -> None:
    """Run one command: settings, logging, connections, and the exit code for every failure."""
    try:
        settings = get_settings()
    except ValidationError as error:
        problems = "; ".join(f"TADA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        out.error(f"bad setting: {problems}")
        raise typer.Exit(EXIT_USAGE) from None
    configure_logging(settings.log_format, level=logging.WARNING)

    async def main() -> None:
        session = Session(settings)
        try:
            await command(session)
        finally:
            await session.close()

    code, message = EXIT_OK, None
    try:
        asyncio.run(main())
    except CliError as error:
        code, message = error.code, str(error)
    except CaseNotFound as error:
        code, message = EXIT_NOT_FOUND, f"no case {error}"
    except LinkNotFound as error:
        code, message = EXIT_NOT_FOUND, f"no link {error}"
    except (CaseRefused, LinkClosed) as error:
        code, message = EXIT_REFUSED, str(error)
    except RegistryError as error:
        code, message = EXIT_USAGE, f"platform registry (TADA_PLATFORMS): {error}"
    except asyncpg.UndefinedTableError:
        code, message = EXIT_FAILED, "the database has no tada tables yet: start the worker once (it creates them)"
    except RPCError as error:
        code, message = EXIT_FAILED, f"Temporal refused the request: {_reason(error)}"
    except KeyboardInterrupt:
        code, message = 130, "interrupted"
    if message:
        out.error(message)
    if code:
        raise typer.Exit(code)


# --- case -----------------------------------------------------------------------------------


@case_app.command("open")
def case_open(
    age: Annotated[
        int, typer.Option("--age", min=0, help="The victim's age; under the minimum age no case is opened.")
    ],
    language: Annotated[Language, typer.Option("--language", help="Language of the notices.")] = Language.EN,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Your own reference (never the victim's name).")
    ] = None,
    jurisdiction: Annotated[
        str | None,
        typer.Option("--jurisdiction", help="Where the case belongs, e.g. HK: notices then cite local law."),
    ] = None,
    as_json: Json = False,
) -> None:
    """Open a case and print its id."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        settings = session.settings
        if age < settings.minimum_age:  # refused before anything is opened or stored
            raise CaseRefused(settings.underage_signpost.format(minimum_age=settings.minimum_age))
        case_id = await open_case(
            await session.pool(),
            age=age,
            minimum_age=settings.minimum_age,
            signpost=settings.underage_signpost,
            language=language.value,
            reference=reference,
            jurisdiction=jurisdiction,
        )
        if out.as_json:
            out.json(
                {"case_id": case_id, "language": language.value, "reference": reference, "jurisdiction": jurisdiction}
            )
        else:
            out.console.print(case_id)

    run(out, command)


@case_app.command("withdraw")
def case_withdraw(
    case_id: CaseArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Recorded in every link's timeline.")
    ] = "case withdrawn",
    as_json: Json = False,
) -> None:
    """Withdraw a case: no new links, and every link's workflow stops; nothing more is sent."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        pool = await session.pool()
        await case_link_ids(pool, case_id)  # unknown case: exit 4 before Temporal is contacted
        result = await withdraw_case(pool, await session.client(), case_id, reason)
        if out.as_json:
            out.json(result)
        else:
            closed = f", {result.already_closed} already closed" if result.already_closed else ""
            stopped = f"{result.withdrawn} link(s) told to stop{closed}"
            out.say(f"Case {case_id} withdrawn: {stopped}. Nothing more will be sent.")

    run(out, command)


# --- links ----------------------------------------------------------------------------------


async def _start(
    out: Output, session: Session, case_id: str, parsed: ParsedImport, source: str, unit: str
) -> None:
    """Start a workflow per good row (``unit`` names a row for people: line or argument)."""
    settings = session.settings
    registry = load_registry(settings.platforms)
    pool = await session.pool()
    await case_language(pool, case_id)  # unknown or withdrawn case: exit before Temporal is contacted
    client = await session.client()

    async def start(progress: Callable[[int], None] | None = None) -> ImportOutcome:
        return await add_links(
            pool, client, registry, case_id=case_id, rows=parsed.rows, rejected=parsed.rejected,
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


@links_app.command("import")
def links_import(
    case_id: CaseArg,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A CSV with a `url` column, or one URL a line.")],
    as_json: Json = False,
) -> None:
    """Import a file of reported links; bad rows are named by line, the good ones start."""
    out = Output(as_json)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        out.error(f"FILE {file}: no such file")
        raise typer.Exit(EXIT_USAGE) from None
    except IsADirectoryError:
        out.error(f"FILE {file}: is a directory, not a file")
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as error:
        out.error(f"FILE {file}: cannot be read: {error.strerror}")
        raise typer.Exit(EXIT_USAGE) from None
    parsed = parse_link_file(data)
    run(out, lambda session: _start(out, session, case_id, parsed, "import", "line"))


@links_app.command("add")
def links_add(
    case_id: CaseArg,
    urls: Annotated[list[str], typer.Argument(metavar="URL...", help="One or more links.")],
    as_json: Json = False,
) -> None:
    """Add links given on the command line; bad ones are named by position, the good ones start."""
    out = Output(as_json)
    parsed = parse_url_args(urls)
    run(out, lambda session: _start(out, session, case_id, parsed, "cli", "argument"))


# --- status and show --------------------------------------------------------------------


@app.command("status")
def status(case_id: CaseArg, as_json: Json = False) -> None:
    """Where every link of a case stands (from the database), with counts by state."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        result = await case_status(await session.pool(), case_id)
        if out.as_json:
            out.json(result)
        else:
            show_case_status(out, result)

    run(out, command)


@link_app.command("show")
def link_show(link_id: LinkArg, as_json: Json = False) -> None:
    """A link, its whole timeline and notices, and its workflow's live status when reachable."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        detail = await link_timeline(await session.pool(), link_id)
        live, problem = await _live_status(session, link_id)
        if out.as_json:
            data = detail.model_dump(mode="json")
            data["live"] = live.model_dump(mode="json") if live else None
            data["live_unavailable"] = problem
            out.json(data)
        else:
            show_link(out, detail, live, problem)

    run(out, command)


async def _live_status(session: Session, link_id: str) -> tuple[LinkStatus | None, str | None]:
    try:
        client = await session.client()
        handle = client.get_workflow_handle(link_id)
        live = await handle.query(LinkWorkflow.status, rpc_timeout=QUERY_TIMEOUT)
    except CliError as error:
        return None, str(error)
    except (RPCError, WorkflowQueryFailedError, TimeoutError) as error:
        return None, f"workflow not reachable: {_reason(error)}"
    return live, None


# --- caseworker signals -------------------------------------------------------------------


def _signal(link_id: str, as_json: bool, name: str, signal: Callable, *args, said: str = "") -> None:
    out = Output(as_json)

    async def command(session: Session) -> None:
        pool = await session.pool()
        await find_link(pool, link_id)  # unknown link: exit 4 before Temporal is contacted
        link = await signal_link(pool, await session.client(), link_id, signal, args)
        if out.as_json:
            out.json({"link_id": link_id, "signal": name, "sent": True, "state": link.state})
        else:
            out.say(f"{name}{said} sent to link {link_id} (state was {link.state}).")
            out.say(f"See what it did with `tada link show {link_id}`.")

    run(out, command)


def _email(value: str) -> str:
    try:
        return registry_values.email(value)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@link_app.command("respond")
def link_respond(
    link_id: LinkArg,
    outcome: Annotated[ResponseOutcome, typer.Option("--outcome", help="What the platform replied.")],
    note: Annotated[str | None, typer.Option("--note", help="A short note for the timeline.")] = None,
    as_json: Json = False,
) -> None:
    """Record a platform's reply: removed, rejected, acknowledged or needs-info."""
    response = PlatformResponse(outcome=outcome, note=note)
    _signal(link_id, as_json, "respond", LinkWorkflow.respond, response, said=f" ({outcome.value})")


@link_app.command("pause")
def link_pause(link_id: LinkArg, as_json: Json = False) -> None:
    """Hold the link's timers until `tada link resume`."""
    _signal(link_id, as_json, "pause", LinkWorkflow.pause)


@link_app.command("resume")
def link_resume(link_id: LinkArg, as_json: Json = False) -> None:
    """Resume a paused link; its timers continue where they stopped."""
    _signal(link_id, as_json, "resume", LinkWorkflow.resume)


@link_app.command("withdraw")
def link_withdraw(
    link_id: LinkArg,
    reason: Annotated[str | None, typer.Option("--reason", help="Recorded in the timeline.")] = None,
    as_json: Json = False,
) -> None:
    """Stop chasing this link; nothing more is sent."""
    _signal(link_id, as_json, "withdraw", LinkWorkflow.withdraw, reason)


@link_app.command("escalate")
def link_escalate(
    link_id: LinkArg,
    to: Annotated[
        str, typer.Option("--to", metavar="EMAIL", help="The contact to escalate to.", callback=_email)
    ],
    kind: Annotated[
        EscalationKind, typer.Option("--kind", help="The site's host, or the channel/group admin.")
    ],
    as_json: Json = False,
) -> None:
    """Supply an escalation contact (host or admin); the link escalates to it."""
    contact = EscalationContact(email=to, kind=Escalation(kind.value), source="caseworker")
    _signal(link_id, as_json, "escalate", LinkWorkflow.escalate, contact, said=f" ({kind.value})")


@link_app.command("recheck")
def link_recheck(link_id: LinkArg, as_json: Json = False) -> None:
    """Check now whether the content is still up."""
    _signal(link_id, as_json, "recheck", LinkWorkflow.recheck)


@link_app.command("reopen")
def link_reopen(link_id: LinkArg, as_json: Json = False) -> None:
    """Start again from REPORTED with an UNRESOLVED link."""
    _signal(link_id, as_json, "reopen", LinkWorkflow.reopen)


@link_app.command("filed")
def link_filed(link_id: LinkArg, as_json: Json = False) -> None:
    """Confirm that you filed a manual report for this link."""
    _signal(link_id, as_json, "filed", LinkWorkflow.confirm_filed)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
