"""``tada repost`` (a monitor's find) and ``tada hash`` (PDQ hashes computed here, never sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tada.app.reposts import report_repost
from tada.cli.output import Output
from tada.cli.params import CaseArg, Json
from tada.cli.runtime import CliError, Session, needs, run
from tada.domain.access import Action
from tada.domain.registry import load_registry
from tada.domain.reposts import InvalidRepost
from tada.errors import EXIT_USAGE

#: How the CLI names each field of a repost report (the API names them as in its body).
OPTIONS = {"url": "URL", "source": "--source", "of_link": "--of", "pdq": "--pdq"}

app = typer.Typer()


@app.command("repost")
@needs(Action.REPOST)
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
    out = Output(as_json)

    async def command(session: Session) -> None:
        settings = session.settings
        registry = load_registry(settings.platforms)
        try:  # an unknown or withdrawn case: report_repost refuses it before it opens the client
            outcome = await report_repost(
                await session.pool(), session.client, registry, case_id=case_id, url=url, source=source,
                of_link=of_link, pdq=pdq, settings=settings,
            )  # fmt: skip
        except InvalidRepost as error:  # named as the command line names it
            raise CliError(f"{OPTIONS[error.field]}: {error.reason}", EXIT_USAGE) from None
        if out.as_json:
            out.json(outcome)
        else:
            known = "new link, workflow started" if outcome.new else "already known: re-checked, no second workflow"
            match = f"; PDQ distance {outcome.distance}" if outcome.distance is not None else ""
            out.say(f"{outcome.link_id}  {known}{match}")

    run(out, command, Action.REPOST, target=case_id)


@app.command("hash")
@needs(None)
def hash_files(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Image files (read here, never sent).")],
    as_json: Json = False,
) -> None:
    """Compute PDQ hashes locally: prints only `HASH  quality` per file, nothing is stored or sent."""
    from tada.adapters.pdq_hashing import UnreadableImage, hash_image_path  # numpy and PIL: only here

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
