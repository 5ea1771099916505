"""What ``make run`` prints once the stack is up: what runs where, and what to try first."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tada.adapters.database import redact_url as redact_url  # the stack prints the database URL with it


@dataclass
class StackInfo:
    database: str
    temporal: str
    smtp: str
    platforms: Path
    web_ui: str | None = None
    notes: list[str] = field(default_factory=list)
    api: str | None = None  # the HTTP API's address
    api_tokens: str | None = None  # which bearer tokens work
    console: str | None = None  # the caseworkers' console


def show_path(path: Path) -> str:
    """A path relative to the working directory when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def print_banner(console: Console, info: StackInfo) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    table.add_row("PostgreSQL", info.database)
    table.add_row("Temporal", info.temporal)
    if info.web_ui:
        table.add_row("Web UI", info.web_ui)
    table.add_row("SMTP", info.smtp)
    if info.api:
        table.add_row("HTTP API", info.api)
        table.add_row("API tokens", info.api_tokens or "-")
    if info.console:
        table.add_row("Console", f"{info.console}  [dim](sign in as a person: make one first, below)[/]")
    platforms = show_path(info.platforms)
    table.add_row("Platforms", platforms if Path(info.platforms).exists() else f"{platforms} [yellow](missing)[/]")

    console.print()
    console.rule("[bold]tada is running")
    console.print(table)
    for note in info.notes:
        console.print(f"[dim]{note}[/]")
    console.print()
    console.print("Try, in another terminal:")
    console.print("  [green].venv/bin/tada case open --age 25[/]")
    console.print("  [green].venv/bin/tada links add CASE https://...[/]")
    console.print("  [green].venv/bin/tada status CASE[/]")
    if info.console:
        console.print("  [green].venv/bin/tada user add NAME --role ops[/]  [dim](then sign in to the console)[/]")
    console.print()
    console.print("[dim]Ctrl-C stops everything; `make run` again resumes every open workflow.[/]")
    console.rule()
