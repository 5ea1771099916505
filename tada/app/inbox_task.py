"""The inbox reader beside the worker (tada/worker.py): started when TADA_IMAP_HOST is set,
stopped with it: told to stop after the message in hand, and cancelled if that takes longer
than ``grace`` (safe: a row left in processing is retried at the next poll)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import structlog

from tada.app.inbox import InboxReader, OnMessage, record_unmatched
from tada.settings import Settings

log = structlog.get_logger(__name__)


@asynccontextmanager
async def inbox_reading(
    settings: Settings, pool: asyncpg.Pool, on_message: OnMessage = record_unmatched, *, grace: float = 10.0
) -> AsyncIterator[asyncio.Task[None] | None]:
    """The reader's task for the block (``None``: no mailbox configured)."""
    if not settings.imap_host:
        yield None
        return
    reader = InboxReader.from_settings(settings, pool, on_message)  # Misconfigured: stops the worker here
    halt = asyncio.Event()
    task = asyncio.create_task(reader.run(halt), name="inbox-reader")
    try:
        yield task
    finally:
        halt.set()
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.warning("inbox_reader_cancelled", after_seconds=grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
