"""``tada case``: open, withdraw or purge a case; add PDQ hashes of its images; choose its monitors;
write its dossier for the authorities."""

from __future__ import annotations

import os
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from tada.app.case_authorisation import record_authorisation
from tada.app.case_hashes import add_case_hash
from tada.app.case_opening import open_new_case
from tada.app.case_purge import purge_case
from tada.app.caseworker import withdraw_case
from tada.app.dossier import case_dossier
from tada.app.monitors import change_case_monitors
from tada.cli.monitor_options import AddMonitors, MonitorNames, RemoveMonitors
from tada.cli.output import Output
from tada.cli.params import CaseArg, Json, day, text_option
from tada.cli.runtime import CliError, Session, needs, reason, run, usage_error
from tada.domain import registry_values
from tada.domain.access import Action
from tada.domain.pdq import InvalidPdq, parse_pdq
from tada.domain.registry import load_registry
from tada.domain.terminal_text import terminal_text
from tada.domain.victim_data import check_jurisdiction, check_note, check_reference
from tada.errors import EXIT_USAGE
from tada.reporting.dossier_html import render_dossier_html

app = typer.Typer(
    help="Open or withdraw a case; add PDQ hashes of its images; choose the monitors that report on it; "
    "write its dossier.",
    no_args_is_help=True,
)


class Language(str, Enum):
    EN = "en"
    ZH_HANT = "zh-Hant"


assert {lang.value for lang in Language} == set(registry_values.LANGUAGES)


AuthorisedOn = Annotated[
    date | None,
    typer.Option(
        "--authorised-on", metavar="DATE", parser=day,
        help="The day the victim authorised the organisation to act for them (its date only, never who). "
        "A law such as the TAKE IT DOWN Act needs it: its notices wait until the case has it.",
    ),
]  # fmt: skip
VictimMadeImage = Annotated[
    bool,
    typer.Option(
        "--victim-made-image",
        help="The victim made the image themselves: platforms whose registry entry allows it get a copyright "
        "notice (17 U.S.C. § 512(c)(3)). Never set without the victim's word.",
    ),
]


@app.command("open")
@needs(Action.CASE_OPEN)
def case_open(
    age: Annotated[
        int, typer.Option("--age", min=0, help="The victim's age; under the minimum age no case is opened.")
    ],
    language: Annotated[Language, typer.Option("--language", help="Language of the notices.")] = Language.EN,
    reference: Annotated[
        str | None,
        text_option("--reference", check_reference, "Your own reference (never the victim's name); one line."),
    ] = None,
    jurisdiction: Annotated[
        str | None,
        text_option(
            "--jurisdiction", check_jurisdiction, "Where the case belongs, e.g. HK: notices then cite local law."
        ),
    ] = None,
    monitors: MonitorNames = None,
    authorised_on: AuthorisedOn = None,
    victim_made_image: VictimMadeImage = False,
    as_json: Json = False,
) -> None:
    """Open a case and print its id."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        settings = session.settings
        opened = await open_new_case(  # under the minimum age: refused before anything is stored
            await session.pool(), session.crypto, age=age, minimum_age=settings.minimum_age,
            signpost=settings.underage_signpost, language=language.value, reference=reference,
            jurisdiction=jurisdiction, monitors=monitors or [], authorised_on=authorised_on,
            victim_made_image=victim_made_image,
        )  # fmt: skip
        case_id, names = opened.case_id, opened.monitors
        if out.as_json:
            out.json(
                {"case_id": case_id, "language": language.value, "reference": reference, "jurisdiction": jurisdiction,
                 "monitors": names, "authorised_on": authorised_on.isoformat() if authorised_on else None,
                 "victim_made_image": victim_made_image}
            )  # fmt: skip
        else:
            out.console.print(case_id)

    run(out, command, Action.CASE_OPEN)


@app.command("authorise")
@needs(Action.CASE_AUTHORISE)
def case_authorise(
    case_id: CaseArg,
    authorised_on: AuthorisedOn = None,
    victim_made_image: Annotated[
        bool | None,
        typer.Option(
            "--victim-made-image/--not-victim-made-image",
            help="Record whether the victim made the image (the copyright route); unchanged when not given.",
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """Record the victim's authorisation of the organisation (its date) after the case was opened; a
    notice that waited for it goes out."""
    out = Output(as_json)
    if authorised_on is None and victim_made_image is None:
        raise usage_error(out, "give --authorised-on DATE or --victim-made-image / --not-victim-made-image")

    async def command(session: Session) -> None:
        result = await record_authorisation(
            await session.pool(), session.client, case_id, authorised_on=authorised_on,
            victim_made_image=victim_made_image,
        )  # fmt: skip
        if out.as_json:
            out.json(result)
        else:
            when = result.authorised_on.isoformat() if result.authorised_on else "none recorded"
            out.console.print(
                f"case {case_id}: authorised on {when}; victim made the image: "
                f"{'yes' if result.victim_made_image else 'no'}; {result.links_told} link(s) told"
            )

    run(out, command, Action.CASE_AUTHORISE, target=case_id)


@app.command("withdraw")
@needs(Action.CASE_WITHDRAW)
def case_withdraw(
    case_id: CaseArg,
    reason: Annotated[
        str, text_option("--reason", check_note, "Recorded in every link's timeline.")
    ] = "case withdrawn",
    as_json: Json = False,
) -> None:
    """Withdraw a case: no new links, and every link's workflow stops; nothing more is sent."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        # an unknown case: exit 4 before Temporal is contacted (withdraw_case opens the client after)
        result = await withdraw_case(await session.pool(), session.client, case_id, reason)
        if out.as_json:
            out.json(result)
        else:
            closed = f", {result.already_closed} already closed" if result.already_closed else ""
            stopped = f"{result.withdrawn} link(s) told to stop{closed}"
            out.say(f"Case {case_id} withdrawn: {stopped}. Nothing more will be sent.")

    run(out, command, Action.CASE_WITHDRAW, target=case_id)


@app.command("purge")
@needs(Action.CASE_PURGE)
def case_purge(
    case_id: CaseArg,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: Json = False,
) -> None:
    """Erase a withdrawn or closed case's personal data for good: keys, reference, notes, URLs, addresses, histories.

    The anonymous counts the reports need (platform, category, states, event kinds and times) stay."""
    out = Output(as_json)
    if not yes:
        if not out.interactive:
            raise usage_error(out, "purging cannot be undone: add --yes")
        typer.confirm(f"Erase the personal data of case {case_id} for good?", abort=True, err=True)

    async def command(session: Session) -> None:
        # not withdrawn or closed: refused, exit 3, before Temporal is contacted
        outcome = await purge_case(await session.pool(), session.client, case_id, actor_role=session.actor_role)
        if out.as_json:
            out.json(outcome)
        else:
            out.say(
                f"Case {case_id} purged: its key, reference and notes are unreadable for good, "
                f"{outcome.links} link address(es) erased, {outcome.histories_deleted} workflow run(s) deleted."
            )

    run(out, command, Action.CASE_PURGE, target=case_id)


@app.command("add-hash")
@needs(Action.CASE_ADD_HASH)
def case_add_hash(
    case_id: CaseArg,
    pdq: Annotated[str, typer.Argument(metavar="HEX", help="A PDQ hash (64 hex digits), e.g. from `tada hash`.")],
    as_json: Json = False,
) -> None:
    """Add a PDQ hash of one of the victim's images: monitors' finds are matched against it."""
    out = Output(as_json)
    try:
        value = parse_pdq(pdq)
    except InvalidPdq as error:
        raise usage_error(out, f"HEX: {error.reason}") from None

    async def command(session: Session) -> None:
        added = await add_case_hash(await session.pool(), case_id, value)
        if out.as_json:
            out.json({"case_id": case_id, "pdq": value, "added": added})
        else:
            out.say(f"{'Added' if added else 'Already there:'} {value} (case {case_id})")

    run(out, command, Action.CASE_ADD_HASH, target=case_id)


@app.command("monitors")
@needs(Action.CASE_MONITORS)
def case_monitors(
    case_id: CaseArg, add: AddMonitors = None, remove: RemoveMonitors = None, as_json: Json = False
) -> None:
    """List the monitors that may report reposts on a case; --add or --remove one (by its token's NAME).

    A monitor token (token:monitor:NAME in TADA_API_TOKENS) reports only on open cases that list its NAME."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        names = await change_case_monitors(await session.pool(), case_id, add=add or [], remove=remove or [])
        if out.as_json:
            out.json({"case_id": case_id, "monitors": names})
        else:
            out.say(f"Case {case_id}: {', '.join(names) if names else 'no monitors'}")

    run(out, command, Action.CASE_MONITORS, target=case_id)


#: What ``--out`` may end in, and the format it gets.
DOSSIER_FORMATS = {".pdf": "pdf", ".html": "html", ".htm": "html"}


@app.command("dossier")
@needs(Action.CASE_DOSSIER)
def case_dossier_command(
    case_id: CaseArg,
    out_file: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="FILE.pdf or FILE.html: where to write the dossier.")
    ],
    as_json: Json = False,
) -> None:
    """Write the case's dossier, for a police report, a complaint or a court: every link's address
    (as text), its notices (dates, recipients, laws cited), the platform's answers, tada's checks of
    the address (times and results), the legal deadlines and the state now. No content, nothing about
    the victim, no notes. Only you can read the file (mode 600); a purged case has none (exit 3)."""
    out = Output(as_json)
    fmt = DOSSIER_FORMATS.get(out_file.suffix.lower())
    if fmt is None:
        raise usage_error(out, "--out: the file's name must end in .pdf or .html")

    async def command(session: Session) -> None:
        settings = session.settings
        # how the registry cites each law (its [[law]] entries); an id it does not define shows as it is
        laws = load_registry(settings.platforms).laws
        names = {law_id: law.citation or law.name for law_id, law in laws.items()}
        dossier = await case_dossier(
            await session.pool(), session.crypto, case_id, author=settings.notifier_name, law_names=names
        )
        if fmt == "pdf":
            from tada.reporting.dossier_pdf import render_dossier_pdf  # WeasyPrint (pango): only here

            data = render_dossier_pdf(dossier)
        else:
            data = render_dossier_html(dossier).encode("utf-8")
        try:
            _write_private(out_file, data)
        except OSError as error:
            raise CliError(f"--out: cannot write {out_file}: {error.strerror or reason(error)}", EXIT_USAGE) from None
        summary = {"case_id": case_id, "out": str(out_file), "format": fmt, "links": len(dossier.links),
                   "notices": dossier.notices, "removed": dossier.removed}  # fmt: skip
        if out.as_json:
            out.json(summary)
        else:
            out.say(
                f"Dossier of case {case_id} ({fmt}): {len(dossier.links)} link(s), {dossier.notices} notice(s), "
                f"{dossier.removed} removed now; written to {terminal_text(str(out_file))}. "
                "It lists the case's addresses: keep it as you keep the case."
            )

    run(out, command, Action.CASE_DOSSIER, target=case_id)


def _write_private(path: Path, data: bytes) -> None:
    """``data`` to ``path``, readable by its owner only (it lists a case's addresses)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # a file that was there keeps no wider mode
        file.write(data)
