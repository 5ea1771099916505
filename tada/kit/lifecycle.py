"""``with`` and ``async with`` for the kit's servers, whose ``start()`` and ``stop()`` block."""

from __future__ import annotations

import asyncio
from typing import Self


class Scoped:
    """A server with blocking ``start()`` and ``stop()``: ``with`` it, or ``async with`` it
    (start and stop then run in a thread, off the event loop)."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)
