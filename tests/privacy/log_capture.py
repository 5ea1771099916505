"""Capture every log line of this process as production writes them (structlog JSON)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tada.adapters.log_setup import configure_logging


class CapturedLogs:
    def __init__(self, stream: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
        self._stream = stream
        self._caplog = caplog

    def text(self) -> str:
        """The rendered JSON lines, and each record's message and arguments as logged."""
        plain = logging.Formatter()
        records = [
            f"{r.name} {r.getMessage()} {r.args!r} {plain.formatException(r.exc_info) if r.exc_info else ''}"
            for r in self._caplog.records
        ]
        return self._stream.getvalue() + "\n" + "\n".join(records)


@contextmanager
def captured_logs(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> Iterator[CapturedLogs]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("json", level=level)  # replaces the root handlers with the production one
    stream = io.StringIO()
    [handler] = root.handlers
    handler.setStream(stream)
    root.addHandler(caplog.handler)
    caplog.handler.setLevel(level)
    try:
        yield CapturedLogs(stream, caplog)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
