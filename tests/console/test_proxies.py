"""Behind a reverse proxy (TADA_API_TRUSTED_PROXIES) a person's address is the one the proxy
forwards; from anyone else, X-Forwarded-For is not believed."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tada.api.server import ApiRunner
from tada.kit.ports import free_port
from tests.console.conftest import csrf_of

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _failed_from(console, settings, forwarded: str) -> list[str]:
    """The addresses a wrong sign-in through a server of ``settings`` was counted against."""
    runner = ApiRunner(settings.model_copy(update={"api_port": free_port()}))
    await runner.start()
    try:
        async with httpx.AsyncClient(base_url=runner.url, timeout=30) as http:
            form = await http.get("/console/login")
            name = f"nobody-{uuid.uuid4().hex[:8]}"
            data = {"username": name, "password": "a wrong guess", "csrf": csrf_of(form.text)}
            before = await console.pool.fetchval("SELECT coalesce(max(id), 0) FROM console_login_failures")
            answer = await http.post("/console/login", data=data, headers={"X-Forwarded-For": forwarded})
            assert answer.status_code == 401
            rows = await console.pool.fetch("SELECT address FROM console_login_failures WHERE id > $1", before)
            return [row["address"] for row in rows]
    finally:
        await runner.stop()


async def test_a_trusted_proxy_names_the_client_and_no_one_else_does(console):
    trusted = console.settings.model_copy(update={"api_trusted_proxies": "127.0.0.1"})
    assert await _failed_from(console, trusted, "203.0.113.9") == ["203.0.113.9"]
    assert await _failed_from(console, console.settings, "203.0.113.9") == ["127.0.0.1"]
