"""The embedded PostgreSQL: a fresh data dir is initialised, the schema applies, data survives a restart."""

from __future__ import annotations

import asyncpg

from tada.adapters.database import apply_schema
from tada.kit.ports import free_port, port_is_free
from tada.kit.postgres import EmbeddedPostgres


async def test_schema_applies_and_data_survives_a_restart(tmp_path):
    data_dir = tmp_path / "pgdata"
    port = free_port()
    server = EmbeddedPostgres(data_dir, port)
    assert server.url == f"postgresql://postgres@127.0.0.1:{port}/tada"

    server.start()
    try:
        await apply_schema(server.url)
        await apply_schema(server.url)  # idempotent
        conn = await asyncpg.connect(server.url)
        try:
            await conn.execute("CREATE TABLE devstack_probe (value text)")
            await conn.execute("INSERT INTO devstack_probe VALUES ('kept')")
            tables = await conn.fetchval("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
        finally:
            await conn.close()
        assert tables > 1  # schema.sql's tables plus the probe
    finally:
        server.stop()
    assert not server.is_running()
    assert port_is_free("127.0.0.1", port)

    again = EmbeddedPostgres(data_dir, port)
    again.start()
    try:
        again.start()  # a server already running on the data dir is reused
        conn = await asyncpg.connect(again.url)
        try:
            assert await conn.fetchval("SELECT value FROM devstack_probe") == "kept"
        finally:
            await conn.close()
    finally:
        again.stop()
    assert not again.is_running()
