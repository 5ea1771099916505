"""The mailbox over TLS for real: implicit TLS (TADA_IMAP_SECURITY=tls, port 993's way) and
STARTTLS, each checking the server's certificate; a certificate not trusted is refused."""

from __future__ import annotations

import ssl

import pytest
import pytest_asyncio

from tada.clients.imap_mailbox import ImapError, open_mailbox
from tests.support.imap import self_signed, start_pymap_starttls, tls_front

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("imap-tls"))


@pytest.fixture(scope="module")
def starttls_server(certificate):
    server = start_pymap_starttls(*certificate)
    yield server
    server.stop()


@pytest_asyncio.fixture
async def tls_port(starttls_server, certificate):
    front = await tls_front(starttls_server.port, *certificate)
    yield front.sockets[0].getsockname()[1]
    front.close()
    await front.wait_closed()


def trusting(certificate) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


async def test_starttls(starttls_server, certificate):
    config = starttls_server.config(security="starttls", ssl_context=trusting(certificate))
    async with open_mailbox(config) as session:
        assert session.uidvalidity > 0


async def test_implicit_tls(starttls_server, certificate, tls_port):
    config = starttls_server.config(security="tls", port=tls_port, ssl_context=trusting(certificate))
    async with open_mailbox(config) as session:
        assert await session.list_after(0) == []


async def test_an_untrusted_certificate_is_refused_with_starttls(starttls_server):
    config = starttls_server.config(security="starttls", timeout=10)  # the system's trust store
    with pytest.raises(ImapError) as raised:
        async with open_mailbox(config):
            pass
    assert raised.value.step == "tls"


async def test_an_untrusted_certificate_is_refused_with_tls(starttls_server, tls_port):
    with pytest.raises(ImapError) as raised:
        async with open_mailbox(starttls_server.config(security="tls", port=tls_port, timeout=10)):
            pass
    assert raised.value.step == "tls"
