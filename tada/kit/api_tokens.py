"""API tokens for the local stack: without TADA_API_TOKENS, ``make run`` makes an ops and a
monitor token once and keeps them in ``.tada/api_tokens`` (mode 600), so a restart keeps them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tada.api.auth import parse_tokens

TOKENS_FILE = "api_tokens"


def local_api_tokens(state_dir: Path) -> tuple[str, Path]:
    """The tokens (``token:role,...``) and the file that keeps them; made on first use."""
    path = Path(state_dir) / TOKENS_FILE
    if path.exists():
        os.chmod(path, 0o600)
        text = path.read_text(encoding="utf-8").strip()
        try:
            parse_tokens(text)
        except ValueError as error:
            raise RuntimeError(f"{path}: {error}; fix it or delete the file to get new tokens") from None
        return text, path
    text = f"{secrets.token_urlsafe(32)}:ops,{secrets.token_urlsafe(32)}:monitor"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    return text, path


def describe_tokens(text: str) -> list[tuple[str, str]]:
    """(role, token) pairs, for the banner of the local stack only."""
    pairs = []
    for entry in text.split(","):
        token, _, role = entry.strip().rpartition(":")
        if token:
            pairs.append((role, token))
    return pairs
