"""A database of its own for the reporting tests, holding the hand-built dataset."""

from __future__ import annotations

import uuid

import asyncpg
import pytest_asyncio

from tada.adapters.database import create_pool
from tada.simulation.database import fresh_database
from tests.reporting.dataset import insert_dataset
from tests.reporting.record_dataset import insert_record_dataset


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


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def record_db(postgres_url):
    """Issue 17's record: the scorecard's and the trusted-flagger report's dataset (record_dataset.py)."""
    url = await fresh_database(postgres_url, f"tada_record_{uuid.uuid4().hex[:8]}")
    conn = await asyncpg.connect(url)
    try:
        await insert_record_dataset(conn)
    finally:
        await conn.close()
    pool = await create_pool(url)
    yield url, pool
    await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def record_pool(record_db):
    return record_db[1]
