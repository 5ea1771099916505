"""A Temporal client, or how to open one: a use case checks PostgreSQL first and connects only
then, so an unknown case or link is answered without contacting Temporal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio.client import Client

ClientSource = Client | Callable[[], Awaitable[Client]]


async def client_of(source: ClientSource) -> Client:
    """The client itself, or the one the callable opens (the CLI's session opens it once)."""
    return source if isinstance(source, Client) else await source()
