"""Shared real components for the suite: PostgreSQL, SMTP, an HTTP server and
Temporal (time-skipping for lifecycles, the dev server for visibility and the CLI).
Nothing here needs the internet."""

from __future__ import annotations

import base64
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tada.adapters.database import apply_schema, create_pool
from tada.domain.search import SEARCH_ATTRIBUTES
from tada.kit.ports import free_port
from tada.kit.postgres import EmbeddedPostgres
from tada.settings import Settings
from tests.support.smtp import start_smtp_server
from tests.support.web import served, start_web_server

BIN = Path(sys.executable).parent

# Victim data at rest (tada/adapters/data_crypto.py): one data key for every Settings() of the
# suite; a test that runs `tada` in a subprocess with a filtered environment passes it on.
os.environ.setdefault("TADA_DATA_KEY", base64.b64encode(os.urandom(32)).decode("ascii"))


def _binary(name: str) -> str:
    path = BIN / name
    return str(path) if path.exists() else (shutil.which(name) or name)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    # Not under pytest's temp root: the server runs as another user, and a concurrent
    # pytest run tidying that root must not pull the data directory from under it.
    data_dir = Path(tempfile.mkdtemp(prefix="tada-test-pg-"))
    server = EmbeddedPostgres(data_dir / "data", free_port())
    server.start()
    yield server.url
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def db_pool(postgres_url):
    await apply_schema(postgres_url)
    pool = await create_pool(postgres_url)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
def smtp_server():
    collector, controller = start_smtp_server()
    yield collector, controller.port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    collector, _ = smtp_server
    collector.messages.clear()
    collector.envelopes.clear()
    return collector


@pytest.fixture(scope="session")
def web_server():
    yield from served(start_web_server())


@pytest.fixture
def web(web_server):
    web_server.reset()
    return web_server


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server with tada's search attributes."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace="default",
            search_attributes={
                name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
                for name, kind in SEARCH_ATTRIBUTES.items()
            },
        )
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def time_env():
    """One time-skipping server per test module: workflows a module leaves behind
    cannot hold up another module's time skipping."""
    async with time_skipping_server() as env:
        yield env


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env(tmp_path_factory):
    from tada.domain import search

    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=[search.CASE_ID, search.STATE, search.CATEGORY, search.PLATFORM, search.NEXT_ACTION_AT],
        dev_server_extra_args=["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
def settings(postgres_url, smtp_server, tmp_path) -> Settings:
    """Settings for one test: its own task queue, real local SMTP, private targets allowed."""
    _, smtp_port = smtp_server
    return Settings(
        database_url=postgres_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        task_queue=f"tada-test-{uuid.uuid4().hex[:8]}",
        allow_private_targets=True,
        notice_from="Take-Down Assistance <takedown@tada.test>",
        notifier_name="Take-Down Assistance (test)",
        state_dir=tmp_path / ".tada",
        liveness_timeout_seconds=5,
        recipient_hourly_limit=0,  # tests send many notices to one address; the limit has its own test
    )


@pytest.fixture(scope="session")
def data_crypto():
    """Victim data at rest under this run's data key (TADA_DATA_KEY above), for activities built by hand."""
    from tests.support.crypto import suite_crypto

    return suite_crypto()
