"""``--monitor NAME`` (``tada case open``) and ``--add`` / ``--remove`` (``tada case monitors``):
monitor names, checked before anything runs (a bad one is a usage error, exit 2)."""

from __future__ import annotations

from typing import Annotated

import typer

from tada.app.monitors import InvalidMonitorName, monitor_names


def _checked(values: list[str] | None) -> list[str]:
    try:
        return monitor_names(values or [])
    except InvalidMonitorName as error:
        raise typer.BadParameter(str(error)) from None


def monitor_option(flag: str, help_text: str) -> object:
    return typer.Option(flag, metavar="NAME", help=help_text, callback=_checked)


MonitorNames = Annotated[
    list[str] | None,
    monitor_option(
        "--monitor",
        "A monitor that may report reposts on this case: a monitor token token:monitor:NAME. Repeatable.",
    ),
]
AddMonitors = Annotated[list[str] | None, monitor_option("--add", "Let this monitor report on the case. Repeatable.")]
RemoveMonitors = Annotated[list[str] | None, monitor_option("--remove", "Take this monitor off the case. Repeatable.")]
