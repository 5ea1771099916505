"""The rehearsal's own Temporal dev server: in memory, on 127.0.0.1, gone when it stops.

Like ``tada.kit.temporal_server`` but without a database file or Web UI: a
rehearsal leaves nothing behind in Temporal (its record is the database).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

from temporalio.client import Client

from tada.kit.ports import free_port, port_accepts
from tada.kit.temporal_server import temporal_executable
from tada.domain.search import SEARCH_ATTRIBUTES


class EphemeralTemporal:
    host = "127.0.0.1"

    def __init__(self, log_file: Path, namespace: str = "default") -> None:
        self.log_file = log_file
        self.namespace = namespace
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def command(self) -> list[str]:
        args = [
            temporal_executable(), "server", "start-dev", "--headless",
            "--ip", self.host, "--port", str(self.port), "--namespace", self.namespace,
            "--log-level", "error",
        ]  # fmt: skip
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
        return args

    async def start(self, timeout: float = 60.0) -> None:
        self.port = free_port(self.host)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited with code {self._process.returncode}; see {self.log_file}")
            if port_accepts(self.host, self.port):
                try:
                    await Client.connect(self.address, namespace=self.namespace)
                    return
                except Exception:  # not serving yet
                    pass
            await asyncio.sleep(0.2)
        await self.stop()
        raise TimeoutError(f"the Temporal dev server on {self.address} is not ready after {timeout:.0f}s")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        for _ in range(100):
            if process.poll() is not None:
                return
            await asyncio.sleep(0.1)
        process.kill()
        await asyncio.to_thread(process.wait, 5)
