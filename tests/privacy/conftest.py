"""A time-skipping Temporal server whose client encrypts payloads like production does."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from tada.adapters.converter import converter_for
from tada.adapters.keys import PayloadKey, new_key_line, parse_keys
from tada.domain.search import SEARCH_ATTRIBUTES


def _binary(name: str) -> str:
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else (shutil.which(name) or name)


@pytest.fixture(scope="package")
def payload_key_line() -> str:
    """``id:base64`` of the key these tests encrypt with (TADA_PAYLOAD_KEYS for subprocesses)."""
    return new_key_line("privacy-test")


@pytest.fixture(scope="package")
def payload_keys(payload_key_line) -> list[PayloadKey]:
    return parse_keys(payload_key_line)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def encrypted_time_env(payload_keys):
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server"),
        data_converter=converter_for(payload_keys),
    )
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
                for name, kind in SEARCH_ATTRIBUTES.items()
            },
        )
    )
    yield env
    await env.shutdown()
