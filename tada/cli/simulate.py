"""``tada simulate``: rehearse in a local world of simulated platforms, then see the report."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tada.adapters.database import redact_url
from tada.cli.output import Output
from tada.cli.report import write_report
from tada.cli.runtime import EXIT_INTERRUPTED, CliError, Session, needs, run
from tada.domain.access import Action
from tada.errors import EXIT_USAGE
from tada.reporting.render import ReportFormat, render
from tada.simulation.database import DEFAULT_DATABASE
from tada.simulation.plan import random_seed
from tada.simulation.run import SimulationOptions, run_simulation

app = typer.Typer()


@app.command("simulate")
@needs(Action.SIMULATE)
def simulate(
    cases: Annotated[int, typer.Option("--cases", min=1, help="Cases to open.")] = 171,
    links: Annotated[int, typer.Option("--links", min=1, help="Links to report, spread over the cases.")] = 1342,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the world (default: a random one).")] = None,
    speed: Annotated[
        float, typer.Option("--speed", min=0.05, metavar="SECONDS", help="Seconds of real time per simulated day.")
    ] = 1.0,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, metavar="SECONDS", help="Give up waiting for links to settle.")
    ] = 1800.0,
    database: Annotated[
        str, typer.Option("--database", help="Database created afresh for the rehearsal on the configured server.")
    ] = DEFAULT_DATABASE,
    fmt: Annotated[ReportFormat, typer.Option("--format", help="Format of the report.")] = ReportFormat.TABLE,
    out_file: Annotated[Path | None, typer.Option("--out", metavar="FILE", help="Write the report to FILE.")] = None,
) -> None:
    """Run the real engine against simulated platforms on 127.0.0.1, then print `tada report` for the run.

    Nothing leaves this machine: every page, form, mailbox, DNS and RDAP server is local.
    """
    if links < cases:
        typer.echo("error: --links must be at least --cases", err=True)
        raise typer.Exit(EXIT_USAGE)
    out = Output(as_json=fmt == ReportFormat.JSON)
    options = SimulationOptions(
        cases=cases, links=links, seed=seed if seed is not None else random_seed(),
        seconds_per_day=speed, timeout_seconds=timeout, database=database,
    )  # fmt: skip

    async def command(session: Session) -> None:
        bar = Progress(
            TextColumn("links settled"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=out.err, transient=True, disable=not out.err.is_terminal,
        )  # fmt: skip
        task = bar.add_task("settle", total=links)

        def started(url: str) -> None:
            out.err.print(f"rehearsal: seed {options.seed}, database {redact_url(url)}, {cases} cases, {links} links")
            bar.start()

        # SIGTERM: stop as cleanly as Ctrl-C does (the servers started here are stopped too).
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
        try:
            result = await run_simulation(
                options, session.settings,
                on_progress=lambda p: bar.update(task, completed=p.settled),
                on_started=started,
            )  # fmt: skip
        except asyncio.CancelledError:  # refusals (SimulationRefused, DatabaseRefused) exit 3 in run
            raise CliError("simulation stopped", EXIT_INTERRUPTED) from None
        except (OSError, asyncpg.PostgresError) as error:
            raise CliError(f"simulation could not start: {type(error).__name__}: {error}") from None
        finally:
            bar.stop()
            loop.remove_signal_handler(signal.SIGTERM)
        write_report(out, render(result.report, fmt), fmt, out_file, result.report)
        out.err.print(
            f"{'settled' if result.settled else 'NOT settled'} in {result.seconds:.0f} s; "
            f"{len(result.mail)} emails, all to the simulation's SMTP server on 127.0.0.1. "
            f"Again: TADA_DATABASE_URL={redact_url(result.database_url)} tada report"
        )
        if not result.settled:
            raise CliError("not every link settled before --timeout")

    run(out, command, Action.SIMULATE)
