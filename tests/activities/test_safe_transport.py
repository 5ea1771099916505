"""The safe transport's bounds: bytes read, total time, and form answers never read."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tada.clients.egress import EgressPolicy
from tada.clients.forms import submit_form
from tada.clients.rdap_client import MAX_RDAP_BYTES, RdapClient, RdapUnavailable
from tada.clients.safe_transport import ResponseTooLarge, read_limited, safe_client
from tests.support.web import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

LOCAL = EgressPolicy(allow_private=True)


async def test_a_body_larger_than_the_limit_is_not_read(web):
    web.pages["/big"] = Page(200, "x" * 300_000, content_type="application/json")
    async with safe_client(LOCAL, timeout=5, max_response_bytes=100_000) as http:
        with pytest.raises(ResponseTooLarge):
            await http.get(web.url("/big"))
        async with http.stream("GET", web.url("/big")) as response:
            with pytest.raises(ResponseTooLarge):
                await read_limited(response, 10_000)  # a caller's own, smaller bound


async def test_no_cookie_a_site_sets_is_sent_back(web):
    """Every check is a first visit: a session or tracking cookie set by one answer is not
    kept, so the next request to the same site carries none."""
    web.pages["/tracked"] = Page(200, headers={"Set-Cookie": "visitor=abc123; Path=/; Max-Age=3600"})
    async with safe_client(LOCAL, timeout=5) as http:
        first = await http.get(web.url("/tracked"))
        assert first.headers["set-cookie"].startswith("visitor=")  # the site did set one
        await http.get(web.url("/tracked"))
        assert not http.cookies
    assert web.cookies_sent[-2:] == [None, None]


async def _trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Headers at once, then one byte every 100 ms, for ever: no single read ever times out."""
    await reader.readline()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
    try:
        while True:
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.1)
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def test_a_trickling_server_is_cut_off_by_the_total_time_limit():
    server = await asyncio.start_server(_trickle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started = asyncio.get_running_loop().time()
    try:
        async with safe_client(LOCAL, timeout=5, total_timeout=1.0) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get(f"http://127.0.0.1:{port}/slow")
    finally:
        server.close()
    assert asyncio.get_running_loop().time() - started < 3


async def test_forms_go_out_through_the_safe_transport(web):
    web.pages["/form"] = Page(200)
    async with safe_client(LOCAL, timeout=5, max_response_bytes=1000) as http:
        status = await submit_form(http, web.url("/form"), {"a": "b"}, allow_private=True)
    assert status == 200 and web.posts == [("/form", {"a": ["b"]})]


async def test_an_oversized_rdap_answer_is_not_read(web):
    web.pages["/ip/192.0.2.1"] = Page(200, '{"x": "' + "z" * (MAX_RDAP_BYTES + 10) + '"}', "application/rdap+json")
    async with safe_client(LOCAL, timeout=5) as http:
        with pytest.raises(RdapUnavailable, match="ResponseTooLarge"):
            await RdapClient(http)._get(web.url("/ip/192.0.2.1"), "ip")  # noqa: SLF001 - the raw reader
