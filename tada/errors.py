"""One error vocabulary: every error tada tells a person about says how the CLI exits and the
API answers.

A ``TadaError`` carries its ``exit_code`` (0 ok, 1 a service failed, 2 usage, 3 refused,
4 not found) and its ``http_status``; ``message`` is the text for people and ``http_body()``
the API's answer. Each kind below sets both; a module's own error derives from one kind
(and keeps its ``ValueError`` or ``LookupError`` base where callers catch that).

A message never carries a URL, an email address, a name, a note or a key: only ids and reasons.
This module imports nothing from tada, so the domain may raise these errors.
"""

from __future__ import annotations

from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_REFUSED, EXIT_NOT_FOUND = 0, 1, 2, 3, 4


class TadaError(Exception):
    """An error for people: the CLI prints ``message`` and exits ``exit_code``; the API answers
    ``http_status`` with ``http_body()``. A status of 500 is a server fault: the API leaves it
    to the server's own 500 and tells the client nothing more."""

    exit_code: int = EXIT_FAILED
    http_status: int = 500

    @property
    def message(self) -> str:
        return str(self)

    def http_body(self) -> dict[str, Any]:
        return {"detail": self.message}


class NotFound(TadaError, LookupError):
    """No such case or link (exit 4, HTTP 404)."""

    exit_code = EXIT_NOT_FOUND
    http_status = 404


class Refused(TadaError):
    """A well-formed request tada will not carry out: under age, withdrawn, closed (exit 3, HTTP 409)."""

    exit_code = EXIT_REFUSED
    http_status = 409


class InvalidInput(TadaError):
    """A value someone gave cannot be used; the message says why (exit 2, HTTP 422)."""

    exit_code = EXIT_USAGE
    http_status = 422


class Misconfigured(TadaError):
    """A setting (a key, the platform registry, a token) cannot be used: a usage error for the
    CLI (exit 2); for the API a fault of its own configuration (HTTP 500), not the client's."""

    exit_code = EXIT_USAGE
    http_status = 500


class Unavailable(TadaError):
    """A service tada needs (PostgreSQL, Temporal) cannot be reached (exit 1, HTTP 503)."""

    exit_code = EXIT_FAILED
    http_status = 503


class CaseRefused(Refused):
    """The case cannot be opened or changed (under age, withdrawn)."""


class CaseNotFound(NotFound):
    """No case with this id; the argument is the id."""

    @property
    def message(self) -> str:
        return f"no case {self}"


class LinkNotFound(NotFound):
    """No link with this id; the argument is the id (and maybe why, in parentheses)."""

    @property
    def message(self) -> str:
        return f"no link {self}"


class PortInUseError(Unavailable, RuntimeError):
    """A server (the API, the codec server, a service of the local stack) cannot start because
    its port is taken."""

    def __init__(self, port: int, service: str, host: str = "127.0.0.1") -> None:
        super().__init__(f"{service} cannot start: {host}:{port} is already in use by another program")
        self.port = port
        self.service = service
        self.host = host
