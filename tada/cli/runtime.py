"""How one ``tada`` command runs: settings, logging, the access check, the connections it
needs (opened on first use), and the exit code and message of every failure, in one place.

Exit codes: 0 ok, 1 a service failed, 2 usage, 3 refused, 4 not found (tada/errors.py).
A command that touches the database or Temporal runs through ``run``, stating its
``Action``: there is no other way to get a Session, so none runs unchecked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import asyncpg
import typer
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from tada.adapters.data_crypto import DataCrypto
from tada.adapters.database import create_pool
from tada.adapters.log_setup import configure_logging
from tada.adapters.temporal import connect
from tada.cli.access import authorise
from tada.cli.output import Output
from tada.domain.access import Action
from tada.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, TadaError, Unavailable
from tada.settings import Settings, get_settings

CONNECT_TIMEOUT = 15.0
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., None])

#: Every command's declared action, by its callback; ``None``: it touches neither the database
#: nor Temporal. tests/domain/test_access.py checks that every registered command is here.
DECLARED: dict[Callable[..., None], Action | None] = {}


def needs(action: Action | None) -> Callable[[F], F]:
    """Declare what a command does (``None``: offline); it passes the same action to ``run``."""

    def declare(callback: F) -> F:
        DECLARED[callback] = action
        return callback

    return declare


class CliError(TadaError):
    """A failure the CLI describes itself, with its exit code (1 unless said)."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = code


@dataclass
class _Environment:
    """Where ``run`` gets its settings and whether it configures logging: tests that run the
    app in-process give their own through ``use_settings``."""

    settings: Callable[[], Settings] = get_settings
    configure_logs: bool = True


_environment = _Environment()


@contextmanager
def use_settings(settings: Settings, *, configure_logs: bool = False) -> Iterator[None]:
    """Run the commands with these settings (and the caller's logging) until the block ends."""
    previous = _environment.settings, _environment.configure_logs
    _environment.settings, _environment.configure_logs = (lambda: settings), configure_logs
    try:
        yield
    finally:
        _environment.settings, _environment.configure_logs = previous


class Session:
    """The connections one command needs, opened on first use and closed at the end."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._client: Client | None = None
        self.actor_role: str | None = None  # the token's role, or "local" (tada/cli/access.py)
        self._crypto: DataCrypto | None = None

    @property
    def crypto(self) -> DataCrypto:
        """Victim data at rest: the keys of this command's settings (TADA_DATA_KEY)."""
        if self._crypto is None:
            self._crypto = DataCrypto.from_settings(self.settings)
        return self._crypto

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            where = _database_location(self.settings.database_url)
            try:
                self._pool = await asyncio.wait_for(
                    create_pool(self.settings.database_url, min_size=1, max_size=8), CONNECT_TIMEOUT
                )
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                problem = f"cannot reach PostgreSQL at {where} (TADA_DATABASE_URL): {reason(error)}"
                raise Unavailable(problem) from None
        return self._pool

    async def client(self) -> Client:
        """The Temporal client; a use case is given this method itself, to call after its checks."""
        if self._client is None:
            address = self.settings.temporal_address
            try:
                self._client = await asyncio.wait_for(connect(self.settings), CONNECT_TIMEOUT)
            except (RuntimeError, OSError, TimeoutError, RPCError) as error:
                problem = f"cannot reach Temporal at {address} (TADA_TEMPORAL_ADDRESS): {reason(error)}"
                raise Unavailable(problem) from None
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


def reason(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def usage_error(out: Output, message: str) -> typer.Exit:
    """A command line that cannot run, found before ``run``: the message on stderr, and the exit
    (code 2) for the caller to raise."""
    out.error(message)
    return typer.Exit(EXIT_USAGE)


def _settings(out: Output) -> Settings:
    try:
        return _environment.settings()
    except ValidationError as error:
        problems = "; ".join(
            (f"TADA_{'_'.join(map(str, e['loc'])).upper()}: " if e["loc"] else "") + e["msg"] for e in error.errors()
        )
        raise usage_error(out, f"bad setting: {problems}") from None


def run(out: Output, command: Callable[[Session], Awaitable[None]], action: Action, target: str | None = None) -> None:
    """Run one command: settings, logging, the access check of its ``action`` on its ``target``
    (a case or link id, for the audit), connections, and the exit code for every failure."""
    if not isinstance(action, Action):  # fail closed: nothing runs unchecked
        raise TypeError("run() needs the command's Action (tada/domain/access.py)")
    settings = _settings(out)
    if _environment.configure_logs:
        configure_logging(settings.log_format, level=logging.WARNING)

    async def main() -> None:
        session = Session(settings)
        try:
            decision = await authorise(settings, session.pool, action, target)  # audited
            if decision.unaudited:
                out.err.print("local mode: not audited (tada's database cannot be reached)")
            session.actor_role = decision.actor_role
            await command(session)
        finally:
            await session.close()

    code, message = EXIT_OK, None
    try:
        asyncio.run(main())
    except TadaError as error:
        code, message = error.exit_code, error.message
    except asyncpg.UndefinedTableError:
        code, message = EXIT_FAILED, "the database has no tada tables yet: start the worker once (it creates them)"
    except RPCError as error:
        code, message = EXIT_FAILED, f"Temporal refused the request: {reason(error)}"
    except KeyboardInterrupt:
        code, message = EXIT_INTERRUPTED, "interrupted"
    if message:
        out.error(message)
    if code:
        raise typer.Exit(code)
