"""One local stack per state directory: a second ``make run`` must not touch the first one's servers."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class AlreadyRunningError(RuntimeError):
    pass


class StackLock:
    """An exclusive ``flock`` on ``<state_dir>/run.lock``, released when the process ends, however it ends."""

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / "run.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        file = self.path.open("a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip() or "another process"
            file.close()
            raise AlreadyRunningError(
                f"the local stack in {self.path.parent} is already running (pid {holder}); stop it with Ctrl-C first"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file

    def release(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            fcntl.flock(file, fcntl.LOCK_UN)
            file.close()

    def __enter__(self) -> StackLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
