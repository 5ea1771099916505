"""A database of its own for the reporting tests, holding the hand-built dataset."""

from __future__ import annotations

import uuid

import asyncpg
import pytest_asyncio

from tada.adapters.database import create_pool
from tada.simulation.database import fresh_database
from tests.reporting.dataset import insert_dataset


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def report_db(postgres_url):
    url = await fresh_database(postgres_url, f"tada_report_{uuid.uuid4().hex[:8]}")
    conn = await asyncpg.connect(url)
    try:
        await insert_dataset(conn)
    finally:
        await conn.close()
    pool = await create_pool(url)
    yield url, pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def report_pool(report_db):
    return report_db[1]
