"""What a case page's POST leaves for the page it redirects to: an import's progress and outcome,
or a bulk action's outcome per link.

Kept in this server process's memory for an hour, under a random id, for the person who sent the
form only (another person's id is "not found"). An import runs as a task of its own, so its page
can show a progress bar (it reloads itself) while the links start. A server run as several
processes would need these in PostgreSQL; tada serves the console from one process.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from tada.app.bulk_links import LinkOutcome
from tada.app.intake import ImportOutcome
from tada.domain.intake import Rejection
from tada.errors import TadaError

log = structlog.get_logger(__name__)

KEEP_SECONDS = 3600
MAX_KEPT = 500


@dataclass
class ImportJob:
    case_id: str
    total: int  # good lines to start
    rejected: list[Rejection]
    done: int = 0
    outcome: ImportOutcome | None = None
    problem: str | None = None  # why it stopped (a message for people, no URL)

    @property
    def finished(self) -> bool:
        return self.outcome is not None or self.problem is not None


@dataclass
class BulkResult:
    case_id: str
    action: str
    outcomes: list[LinkOutcome]


@dataclass
class _Kept:
    user_id: int
    value: Any
    at: float = field(default_factory=time.monotonic)


_kept: dict[str, _Kept] = {}
_running: set[asyncio.Task[None]] = set()


def keep(user_id: int, value: ImportJob | BulkResult) -> str:
    _forget_old()
    key = secrets.token_urlsafe(12)
    _kept[key] = _Kept(user_id, value)
    return key


def kept(user_id: int, key: str, kind: type) -> Any:
    """What ``keep`` kept under ``key`` for ``user_id`` if it is a ``kind``; None otherwise."""
    found = _kept.get(key)
    if found is None or found.user_id != user_id or not isinstance(found.value, kind):
        return None
    return found.value


def run_import(job: ImportJob, start: Callable[[Callable[[int], None]], Awaitable[ImportOutcome]]) -> None:
    """Start ``start`` (the import use case, given a progress callback) as a task of its own."""

    def advance(n: int) -> None:
        job.done += n

    async def body() -> None:
        try:
            job.outcome = await start(advance)
        except TadaError as error:  # a refusal (the case was withdrawn), Temporal unreachable
            job.problem = error.message
        except Exception as error:  # noqa: BLE001 - told on the job's page; logged by ids only
            log.warning("console import failed", case_id=job.case_id, error=type(error).__name__)
            job.problem = f"the import stopped ({type(error).__name__}); links already started keep going"

    task = asyncio.get_running_loop().create_task(body())
    _running.add(task)
    task.add_done_callback(_running.discard)


async def settle(job: ImportJob, seconds: float) -> None:
    """Wait up to ``seconds`` for ``job`` to finish (a small import lands on its outcome)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not job.finished and loop.time() < deadline:
        await asyncio.sleep(0.05)


def _forget_old() -> None:
    now = time.monotonic()
    for key in [key for key, value in _kept.items() if now - value.at > KEEP_SECONDS]:
        del _kept[key]
    while len(_kept) >= MAX_KEPT:
        del _kept[next(iter(_kept))]
