"""``tada status``: where every link of a case stands, from the database."""

from __future__ import annotations

import typer

from tada.app.readmodel import case_status
from tada.cli.output import Output, show_case_status
from tada.cli.params import CaseArg, Json
from tada.cli.runtime import Session, needs, run
from tada.domain.access import Action

app = typer.Typer()


@app.command("status")
@needs(Action.READ)
def status(case_id: CaseArg, as_json: Json = False) -> None:
    """Where every link of a case stands (from the database), with counts by state."""
    out = Output(as_json)

    async def command(session: Session) -> None:
        result = await case_status(await session.pool(), case_id, session.crypto)
        if out.as_json:
            out.json(result)
        else:
            show_case_status(out, result)

    run(out, command, Action.READ, target=case_id)
