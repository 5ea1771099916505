"""What a repost report must look like before anything is looked up or started."""

from __future__ import annotations

import re
from typing import Any

from tada.errors import InvalidInput, Refused

#: A monitor's name: recorded as the link's source and in every repost row.
SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]*$"
SOURCE_MAX_LENGTH = 64
_SOURCE = re.compile(SOURCE_PATTERN)


class InvalidRepost(InvalidInput, ValueError):
    """One field of a repost report is unusable; ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def http_body(self) -> dict[str, Any]:
        return field_error(self.field, self.reason, "value_error")


class RepostRefused(Refused):
    """A well-formed report tada will not take for this case (the PDQ hash does not match,
    the link was withdrawn); ``field`` names what decided it, ``reason`` says why.
    Refused for the CLI (exit 3); for the API a 422 naming the field, like InvalidRepost."""

    http_status = 422

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason

    @property
    def message(self) -> str:
        return f"refused: {self.reason}"

    def http_body(self) -> dict[str, Any]:
        return field_error(self.field, self.reason, "refused")


def field_error(field: str, reason: str, kind: str) -> dict[str, Any]:
    """FastAPI's own shape of a field error, so a client reads every one the same way."""
    return {"detail": [{"loc": ["body", field], "msg": reason, "type": kind}]}


def check_source(source: str) -> str:
    """The monitor's name, or InvalidRepost saying what is wrong with it."""
    value = source.strip() if isinstance(source, str) else ""
    if not value:
        raise InvalidRepost("source", "name the monitor that found it")
    if len(value) > SOURCE_MAX_LENGTH:
        raise InvalidRepost("source", f"at most {SOURCE_MAX_LENGTH} characters")
    if not _SOURCE.fullmatch(value):
        raise InvalidRepost("source", "letters, digits and . _ : @ / + - only, starting with a letter or digit")
    return value
