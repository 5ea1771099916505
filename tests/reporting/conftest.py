"""A database of its own for the reporting tests, holding the hand-built dataset."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager

import asyncpg
import pytest_asyncio

from tada.adapters.database import create_pool
from tada.simulation.database import fresh_database
from tests.reporting.dataset import insert_dataset
from tests.reporting.record_dataset import insert_record_dataset


@asynccontextmanager
async def _dataset_db(postgres_url: str, name: str, insert):
    """A database of its own holding one dataset (``insert``), and a pool on it."""
    url = await fresh_database(postgres_url, f"{name}_{uuid.uuid4().hex[:8]}")
    conn = await asyncpg.connect(url)
    try:
        await insert(conn)
    finally:
        await conn.close()
    pool = await create_pool(url)
    try:
        yield url, pool
    finally:
        await pool.close()


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def report_db(postgres_url):
    async with _dataset_db(postgres_url, "tada_report", insert_dataset) as db:
        yield db


@pytest_asyncio.fixture(loop_scope="session")
async def report_pool(report_db):
    return report_db[1]


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def record_db(postgres_url):
    """Issue 17's record: the scorecard's and the trusted-flagger report's dataset (record_dataset.py)."""
    async with _dataset_db(postgres_url, "tada_record", insert_record_dataset) as db:
        yield db


@pytest_asyncio.fixture(loop_scope="session")
async def record_pool(record_db):
    return record_db[1]
