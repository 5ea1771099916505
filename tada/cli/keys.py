"""``tada keys``: keys that encrypt Temporal payloads; made here, never stored or sent."""

from __future__ import annotations

from typing import Annotated

import typer

from tada.adapters.keys import PayloadKeyError, new_key_line, parse_keys
from tada.cli.runtime import needs

app = typer.Typer(help="Keys that encrypt Temporal payloads (TADA_PAYLOAD_KEYS).", no_args_is_help=True)


@app.command("new")
@needs(None)
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
