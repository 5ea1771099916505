"""What every request handler needs, opened once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from fastapi import Request
from temporalio.client import Client

from tada.adapters.data_crypto import DataCrypto
from tada.domain.registry import Registry
from tada.settings import Settings


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    pool: asyncpg.Pool
    client: Client
    registry: Registry
    crypto: DataCrypto  # opens sealed case references and notes for the read endpoints


def context(request: Request) -> ApiContext:
    return request.app.state.tada
