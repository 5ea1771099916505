"""The worker as a process of its own, so the chaos run can SIGKILL it: ``worker.run_worker``
with the settings from the environment (TADA_*), stopped cleanly by SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from services.logging import configure_logging
from settings import Settings
from worker import run_worker


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_format)

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(settings, stop=stop)

    asyncio.run(_main())


if __name__ == "__main__":
    main()
