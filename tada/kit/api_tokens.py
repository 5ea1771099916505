"""API tokens for the local stack: without TADA_API_TOKENS, ``make run`` makes an ops and a
monitor token once and keeps them in ``.tada/api_tokens`` (mode 600), so a restart keeps them.

The monitor token is the monitor ``local`` (``token:monitor:local``): it reports on the cases
that opted into it (``tada case open --monitor local``). A file from before monitors had
names (``token:monitor``) is given that name the first time it is read.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tada.api.auth import parse_tokens

TOKENS_FILE = "api_tokens"
LOCAL_MONITOR = "local"


def local_api_tokens(state_dir: Path) -> tuple[str, Path]:
    """The tokens (``token:role,...``) and the file that keeps them; made on first use."""
    path = Path(state_dir) / TOKENS_FILE
    if path.exists():
        os.chmod(path, 0o600)
        text = path.read_text(encoding="utf-8").strip()
        named = _name_the_monitors(text)
        try:
            parse_tokens(named)
        except ValueError as error:
            raise RuntimeError(f"{path}: {error}; fix it or delete the file to get new tokens") from None
        if named != text:
            _write(path, named, replace=True)
        return named, path
    text = f"{secrets.token_urlsafe(32)}:ops,{secrets.token_urlsafe(32)}:monitor:{LOCAL_MONITOR}"
    _write(path, text, replace=False)
    return text, path


def _name_the_monitors(text: str) -> str:
    """``token:monitor`` entries (monitors had no names before) become ``token:monitor:local``."""
    entries = [entry.strip() for entry in text.split(",")]
    return ",".join(f"{entry}:{LOCAL_MONITOR}" if entry.endswith(":monitor") else entry for entry in entries)


def _write(path: Path, text: str, *, replace: bool) -> None:
    if replace:
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text + "\n")


def describe_tokens(text: str) -> list[tuple[str, str]]:
    """(role, token) pairs, for the banner of the local stack only; a monitor's role names it."""
    pairs = []
    for entry in text.split(","):
        token, _, role = entry.strip().partition(":")
        if token and role:
            pairs.append((role, token))
    return pairs
