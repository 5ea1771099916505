"""``tada``: the ops and caseworker command line.

    tada case open --age N [--language en|zh-Hant] [--reference TEXT]
    tada case withdraw CASE
    tada links import CASE FILE          tada links add CASE URL...
    tada status CASE
    tada link show LINK
    tada link respond|pause|resume|withdraw|escalate|recheck|reopen|filed LINK
    tada repost CASE URL --source NAME [--of LINK] [--pdq HEX]
    tada case add-hash CASE HEX          tada hash FILE...          tada api

Every command takes ``--json`` (one JSON document on stdout, nothing else).
Exit codes: 0 ok, 1 a service failed, 2 usage, 3 refused, 4 not found.
Connection details come from the TADA_* settings; Temporal is contacted only by
the commands that need it, and the case/link listings come from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
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

from tada.domain import registry_values
from tada.domain.intake import ImportTooLarge, ParsedImport, parse_link_file, parse_url_args
from tada.domain.models import EscalationContact, LinkStatus, PlatformResponse
from tada.domain.registry import RegistryError, load_registry
from tada.domain.states import Escalation, ResponseOutcome
from tada.domain.victim_data import InvalidField, check_jurisdiction, check_note, check_reference
from tada.app.caseworker import LinkClosed, signal_link, withdraw_case
from tada.cli.access import AccessRefused, authorise
from tada.adapters.data_crypto import DataKeyError
from tada.cli.output import Output, show_case_status, show_import, show_link
from tada.adapters.database import create_pool
from tada.app.intake import CaseNotFound, CaseRefused, ImportOutcome, add_links, case_language, open_case
from tada.servers.codec import CodecServerRefused, build_server
from tada.adapters.keys import PayloadKeyError, new_key_line, parse_keys
from tada.adapters.log_setup import configure_logging
from tada.app.audit import record_audit
from tada.app.purge import delete_histories, purge_case_data
from tada.app.readmodel import LinkNotFound, case_link_ids, case_status, find_link, link_timeline
from tada.adapters.temporal import connect
from tada.settings import Settings, get_settings
from tada.workflows.link import LinkWorkflow

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_FOUND = 0, 1, 2, 3, 4
CONNECT_TIMEOUT = 15.0
MAX_IMPORT_BYTES = 50 * 2**20  # an import file is read whole: bigger ones are refused unread
QUERY_TIMEOUT = timedelta(seconds=5)

app = typer.Typer(
    help="tada: Take-Down Assistance. Open cases, import reported links, follow and steer every take-down.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals would carry URLs and email addresses
)
case_app = typer.Typer(help="Open or withdraw a case; add PDQ hashes of its images.", no_args_is_help=True)
links_app = typer.Typer(
    help="Add reported links to a case; one workflow starts per link.", no_args_is_help=True
)
link_app = typer.Typer(help="One link: its timeline, and what a caseworker can do to it.", no_args_is_help=True)
app.add_typer(case_app, name="case")
app.add_typer(links_app, name="links")
app.add_typer(link_app, name="link")
keys_app = typer.Typer(help="Keys that encrypt Temporal payloads (TADA_PAYLOAD_KEYS).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


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
        self.actor_role: str | None = None  # the token's role, or "local" (tada/cli/access.py)

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
        problems = "; ".join(
            (f"TADA_{'_'.join(map(str, e['loc'])).upper()}: " if e["loc"] else "") + e["msg"] for e in error.errors()
        )
        out.error(f"bad setting: {problems}")
        raise typer.Exit(EXIT_USAGE) from None
    configure_logging(settings.log_format, level=logging.WARNING)

    async def main() -> None:
        session = Session(settings)
        try:
            session.actor_role = (await authorise(settings, session.pool)).actor_role  # audited; see cli_access
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
    except (CaseRefused, LinkClosed, AccessRefused) as error:
        code, message = EXIT_REFUSED, str(error)
    except (PayloadKeyError, CodecServerRefused, DataKeyError, InvalidField) as error:
        code, message = EXIT_USAGE, str(error)
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


def _checked(check: Callable[[str | None], str | None]) -> Callable[[str | None], str | None]:
    """A typer callback: free text checked by tada/domain/victim_data.py, or a usage error (exit 2)."""

    def callback(value: str | None) -> str | None:
        try:
            return check(value)
        except InvalidField as error:
            raise typer.BadParameter(str(error)) from None

    return callback


# --- case -----------------------------------------------------------------------------------


@case_app.command("open")
def case_open(
    age: Annotated[
        int, typer.Option("--age", min=0, help="The victim's age; under the minimum age no case is opened.")
    ],
    language: Annotated[Language, typer.Option("--language", help="Language of the notices.")] = Language.EN,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="Your own reference (never the victim's name); one line.",
            callback=_checked(check_reference),
        ),
    ] = None,
    jurisdiction: Annotated[
        str | None,
        typer.Option(
            "--jurisdiction",
            help="Where the case belongs, e.g. HK: notices then cite local law.",
            callback=_checked(check_jurisdiction),
        ),
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
        str, typer.Option("--reason", help="Recorded in every link's timeline.", callback=_checked(check_note))
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


@case_app.command("purge")
def case_purge(
    case_id: CaseArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: Json = False,
) -> None:
    """Erase a withdrawn or closed case's personal data for good: key, reference, notes, URLs, histories.

    The anonymous counts the reports need (platform, category, states, event kinds and times) stay."""
    out = Output(as_json)
    if not yes:
        if not out.interactive:
            out.error("purging cannot be undone: add --yes")
            raise typer.Exit(EXIT_USAGE)
        typer.confirm(f"Erase the personal data of case {case_id} for good?", abort=True, err=True)

    async def command(session: Session) -> None:
        pool = await session.pool()
        outcome = await purge_case_data(pool, case_id)  # not withdrawn or closed: refused, exit 3
        outcome.histories_deleted = await delete_histories(await session.client(), await case_link_ids(pool, case_id))
        await record_audit(
            pool, actor_role=session.actor_role, action="case.purge", target=case_id, allowed=True,
            reason=f"done: {outcome.links} link(s) erased, {outcome.histories_deleted} workflow run(s) deleted",
        )  # fmt: skip
        if out.as_json:
            out.json(outcome)
        else:
            out.say(
                f"Case {case_id} purged: its key, reference and notes are unreadable for good, "
                f"{outcome.links} link address(es) erased, {outcome.histories_deleted} workflow run(s) deleted."
            )

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
        if file.is_file() and file.stat().st_size > MAX_IMPORT_BYTES:
            out.error(f"FILE {file}: larger than {MAX_IMPORT_BYTES // 2**20} MiB: split it into smaller files")
            raise typer.Exit(EXIT_USAGE)
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
    try:
        parsed = parse_link_file(data)
    except ImportTooLarge as error:
        out.error(f"FILE {file}: {error}")
        raise typer.Exit(EXIT_USAGE) from None
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
    note: Annotated[
        str | None, typer.Option("--note", help="A short note for the timeline.", callback=_checked(check_note))
    ] = None,
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
    reason: Annotated[
        str | None, typer.Option("--reason", help="Recorded in the timeline.", callback=_checked(check_note))
    ] = None,
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


# --- privacy: payload keys and the codec server --------------------------------------------


@keys_app.command("new")
def keys_new(
    key_id: Annotated[str | None, typer.Option("--id", help="The key's id (default: k<date>-<random>).")] = None,
) -> None:
    """Print a fresh AES-256 key as `id:base64`: put it first in TADA_PAYLOAD_KEYS to rotate."""
    line = new_key_line(key_id)
    try:
        parse_keys(line)  # an id that the configuration would refuse is refused now
    except PayloadKeyError:
        raise typer.BadParameter("letters, digits, '.', '_' or '-', at most 64", param_hint="--id") from None
    typer.echo(line)


@app.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option("--port", help="Port (default TADA_CODEC_PORT, 8235).")] = None,
) -> None:
    """Serve the payload codec for the Temporal Web UI (POST …/encode, …/decode); TADA_CODEC_TOKEN required."""
    out = Output(False)

    async def command(session: Session) -> None:
        server = build_server(session.settings, host, port)
        endpoint = f"http://{host}:{server.config.port}"
        out.err.print(f"codec server on {endpoint} for the Web UI at {session.settings.codec_cors_origin}")
        out.err.print(f"Web UI codec endpoint: {endpoint}/<TADA_CODEC_TOKEN>; Ctrl-C stops it")
        try:
            await server.serve()
        except SystemExit:  # uvicorn's way of saying it could not start (it logged why)
            pass
        if not server.started:
            raise CliError(f"the codec server could not listen on {host}:{server.config.port}")

    run(out, command)


# --- reposts and perceptual hashes ------------------------------------------------------------


@app.command("repost")
def repost(
    case_id: CaseArg,
    url: Annotated[str, typer.Argument(metavar="URL", help="Where the case's content is up again.")],
    source: Annotated[str, typer.Option("--source", metavar="NAME", help="The monitor that found it.")],
    of_link: Annotated[
        str | None, typer.Option("--of", metavar="LINK", help="The case's earlier link this copies.")
    ] = None,
    pdq: Annotated[
        str | None, typer.Option("--pdq", metavar="HEX", help="PDQ hash of what was found: must match the case.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Report a repost: a new URL starts a workflow; a known one is re-checked or starts a new cycle."""
    from tada.domain.reposts import InvalidRepost, RepostRefused
    from tada.app.reposts import report_repost

    out = Output(as_json)

    async def command(session: Session) -> None:
        settings = session.settings
        registry = load_registry(settings.platforms)
        pool = await session.pool()
        await case_language(pool, case_id)  # unknown or withdrawn case: exit before Temporal is contacted
        try:
            outcome = await report_repost(
                pool, await session.client(), registry, case_id=case_id, url=url, source=source,
                of_link=of_link, pdq=pdq, settings=settings,
            )  # fmt: skip
        except InvalidRepost as error:
            option = {"url": "URL", "source": "--source", "of_link": "--of", "pdq": "--pdq"}[error.field]
            raise CliError(f"{option}: {error.reason}", EXIT_USAGE) from None
        except RepostRefused as error:
            raise CliError(f"refused: {error.reason}", EXIT_REFUSED) from None
        if out.as_json:
            out.json(outcome)
        else:
            known = "new link, workflow started" if outcome.new else "already known: re-checked, no second workflow"
            match = f"; PDQ distance {outcome.distance}" if outcome.distance is not None else ""
            out.say(f"{outcome.link_id}  {known}{match}")

    run(out, command)


@case_app.command("add-hash")
def case_add_hash(
    case_id: CaseArg,
    pdq: Annotated[str, typer.Argument(metavar="HEX", help="A PDQ hash (64 hex digits), e.g. from `tada hash`.")],
    as_json: Json = False,
) -> None:
    """Add a PDQ hash of one of the victim's images: monitors' finds are matched against it."""
    from tada.domain.pdq import InvalidPdq, parse_pdq
    from tada.app.case_hashes import add_case_hash

    out = Output(as_json)
    try:
        value = parse_pdq(pdq)
    except InvalidPdq as error:
        out.error(f"HEX: {error.reason}")
        raise typer.Exit(EXIT_USAGE) from None

    async def command(session: Session) -> None:
        added = await add_case_hash(await session.pool(), case_id, value)
        if out.as_json:
            out.json({"case_id": case_id, "pdq": value, "added": added})
        else:
            out.say(f"{'Added' if added else 'Already there:'} {value} (case {case_id})")

    run(out, command)


@app.command("hash")
def hash_files(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Image files (read here, never sent).")],
    as_json: Json = False,
) -> None:
    """Compute PDQ hashes locally: prints only `HASH  quality` per file, nothing is stored or sent."""
    from tada.adapters.pdq_hashing import UnreadableImage, hash_image_path

    out = Output(as_json)
    results: list[dict] = []
    for number, file in enumerate(files, start=1):
        try:
            found = hash_image_path(file)
        except UnreadableImage as error:
            out.error(f"FILE {number} ({file}): {error}")
            results.append({"file": number, "error": str(error)})
            continue
        if found.quality < 50:
            out.warn(f"FILE {number}: low quality {found.quality}: PDQ is unreliable for flat or featureless images")
        results.append({"file": number, "pdq": found.pdq, "quality": found.quality})
        if not out.as_json:
            typer.echo(f"{found.pdq}  {found.quality}")
    if out.as_json:
        out.json(results)
    if any("error" in result for result in results):
        raise typer.Exit(EXIT_USAGE)


@app.command("api")
def api_serve() -> None:
    """Serve the HTTP API for monitors and caseworker tools (TADA_API_HOST:TADA_API_PORT) until Ctrl-C."""
    from tada.api.server import main as serve_api

    raise typer.Exit(serve_api())


# --- reporting and rehearsal (tada/reporting/, tada/simulation/) -----------------------------------------
from tada.cli.report import add_report_command  # noqa: E402
from tada.cli.simulate import add_simulate_command  # noqa: E402

add_report_command(app, run, lambda message: CliError(message, EXIT_USAGE))
add_simulate_command(app, run, CliError)


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
