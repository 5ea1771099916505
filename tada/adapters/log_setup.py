"""structlog set-up: JSON lines in production, readable console output in a terminal.

Log lines carry ids, states and hosts only; never a URL, a name or an email.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(log_format: str = "auto", level: int = logging.INFO) -> None:
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    # A terminal's tracebacks never show local variables: a request handler's hold passwords,
    # codes, notes and pasted URLs.
    readable = structlog.dev.ConsoleRenderer(
        exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
    )
    renderer = structlog.processors.JSONRenderer() if use_json else readable
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines would carry URLs
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd (the outbox): every address
    # aioimaplib (the inbox) logs every protocol line at DEBUG, some at INFO: the login, whole messages
    logging.getLogger("aioimaplib").setLevel(logging.WARNING)
