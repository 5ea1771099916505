"""The rehearsal's own database, on the configured PostgreSQL server: created afresh
for every run, so simulated cases never mix with real ones."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tada.adapters.database import apply_schema
from tada.errors import Refused

DEFAULT_DATABASE = "tada_simulation"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class DatabaseRefused(Refused, ValueError):
    """The rehearsal's database cannot be used (it is not the rehearsal's own, say)."""

    @property
    def message(self) -> str:
        return f"simulation refused: {self}"


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "postgres"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database ``name`` on the server of ``server_url``, apply the schema; its URL."""
    if not _NAME.fullmatch(name):
        raise DatabaseRefused(f"{name!r} is not a plain database name (lower case, digits, _)")
    if name == database_name(server_url):
        raise DatabaseRefused(f"{name} is the configured database (TADA_DATABASE_URL): the rehearsal needs its own")
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(server_url, name)
    await apply_schema(url)
    return url
