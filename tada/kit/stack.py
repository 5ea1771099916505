"""A throw-away local stack for harnesses (the benchmarks, the chaos run): embedded
PostgreSQL with the schema applied, the Temporal dev server (SQLite file with the WAL
pragmas, Web UI) and an SMTP sink, each on a free port of 127.0.0.1 under one
directory, and the TADA_* settings those servers imply.

``make run`` keeps its own, persistent stack on fixed ports (tada/kit/run.py); the
rehearsal (``tada simulate``) uses the configured PostgreSQL server and an in-memory
Temporal; both are built from the same parts.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tada.adapters.database import apply_schema
from tada.kit.ports import free_port
from tada.kit.postgres import EmbeddedPostgres
from tada.kit.smtp import SmtpSink
from tada.kit.temporal_server import DevTemporalServer
from tada.settings import Settings


def random_key() -> str:
    """A fresh 256-bit key, base64 (for TADA_DATA_KEY, or a TADA_PAYLOAD_KEYS entry)."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


def temporary_directory(prefix: str) -> Path:
    """A new directory under the system's temp dir, not a pytest or user temp root: under root
    PostgreSQL runs as its own user, which must be able to reach it."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(directory, 0o755)
    return directory


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """Settings from TADA_* variables alone (no .env file; every variable given wins)."""
    fields = {name[5:].lower(): value for name, value in env.items() if name.startswith("TADA_")}
    return Settings(_env_file=None, **fields)


class LocalStack:
    """``async with LocalStack(directory, smtp)``: the three servers up, ``env()`` pointing at them."""

    def __init__(self, directory: Path, smtp: SmtpSink | None = None) -> None:
        self.directory = Path(directory)
        self.smtp = smtp if smtp is not None else SmtpSink()
        self.postgres = EmbeddedPostgres(self.directory / "pgdata", free_port())
        self.temporal = DevTemporalServer(
            self.directory / "temporal.db", free_port(), free_port(), self.directory / "temporal.log"
        )
        self.data_key = random_key()

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self.smtp.start)
            await asyncio.to_thread(self.postgres.start)
            await apply_schema(self.postgres.url)
            await self.temporal.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every part that runs, whatever stops the others."""
        for name, stop in (
            ("Temporal", self.temporal.stop),
            ("PostgreSQL", lambda: asyncio.to_thread(self.postgres.stop)),
            ("SMTP", lambda: asyncio.to_thread(self.smtp.stop)),
        ):
            try:
                await stop()
            except Exception as error:  # noqa: BLE001 - keep tearing down
                print(f"local stack: stopping {name}: {error}", file=sys.stderr)

    async def __aenter__(self) -> LocalStack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def env(self) -> dict[str, str]:
        """The TADA_* variables of a worker or a client of this stack."""
        return {
            "TADA_TEMPORAL_ADDRESS": self.temporal.address,
            "TADA_TEMPORAL_NAMESPACE": "default",
            "TADA_DATABASE_URL": self.postgres.url,
            "TADA_SMTP_HOST": self.smtp.host,
            "TADA_SMTP_PORT": str(self.smtp.port),
            "TADA_ALLOW_PRIVATE_TARGETS": "true",  # the "internet" here is 127.0.0.x
            "TADA_RECIPIENT_HOURLY_LIMIT": "0",  # every notice goes to a few platform addresses
            "TADA_DATA_KEY": self.data_key,
            "TADA_STATE_DIR": str(self.directory / "state"),
            "TADA_LOG_FORMAT": "json",
        }

    def temporal_db_bytes(self) -> int:
        """The dev server's SQLite file, with its WAL and shared memory."""
        assert self.temporal.db_file is not None
        return sum(
            path.stat().st_size
            for path in (Path(f"{self.temporal.db_file}{suffix}") for suffix in ("", "-wal", "-shm"))
            if path.exists()
        )
