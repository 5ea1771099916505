"""PostgreSQL connection pool and schema."""

from __future__ import annotations

import json
from importlib.resources import files
from urllib.parse import urlsplit, urlunsplit

import asyncpg

SCHEMA_PATH = files("tada.adapters") / "schema.sql"  # the top-level schema.sql, shipped as package data


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class _Connection(asyncpg.Connection):
    """tada keeps no session state on a connection (no SET, LISTEN, session advisory lock or
    cursor outside a transaction), so a connection going back to the pool needs no reset
    query: one round trip less per use. asyncpg still rolls back any open transaction."""

    def get_reset_query(self) -> str:
        return ""


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init_connection, connection_class=_Connection
    )


async def apply_schema(database_url: str) -> None:
    """Apply schema.sql (idempotent). Serialised by an advisory lock so workers may race."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7472616461)")
            await conn.execute(SCHEMA_PATH.read_text(encoding="utf-8"))
    finally:
        await conn.close()


def redact_url(url: str) -> str:
    """A database URL with any password replaced by ``***``, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
