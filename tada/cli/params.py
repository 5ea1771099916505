"""What many commands take: ``--json``, a case or link id, and free text checked before use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

import typer

from tada.domain.victim_data import InvalidField

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else.")]
CaseArg = Annotated[str, typer.Argument(metavar="CASE", help="Case id, e.g. TD-AB3DEF7G.")]
LinkArg = Annotated[str, typer.Argument(metavar="LINK", help="Link id, as `tada status CASE` lists them.")]


def checked(check: Callable[[str | None], str | None]) -> Callable[[str | None], str | None]:
    """A typer callback: free text checked by tada/domain/victim_data.py, or a usage error (exit 2)."""

    def callback(value: str | None) -> str | None:
        try:
            return check(value)
        except InvalidField as error:
            raise typer.BadParameter(str(error)) from None

    return callback


def text_option(flag: str, check: Callable[[str | None], str | None], help_text: str) -> Any:
    """An option of free text (a note, a reference): ``check`` passes it before use, see ``checked``."""
    return typer.Option(flag, help=help_text, callback=checked(check))


def day(value: str | None) -> date | None:
    """A day written as ISO 8601 (2026-03-31), for a typer option's ``parser``."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-03-31") from None
