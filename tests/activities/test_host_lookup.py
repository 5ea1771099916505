"""Host escalation lookup against a real local DNS server and a real local RDAP
service (bootstrap, ARIN- and RIPE-shaped registries, a gTLD registry)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from tada.activities.host_lookup import HostLookupActivities, HostLookupConfig
from tada.clients.dns_lookup import parse_dns_server
from tada.clients.rdap_bootstrap import load_bootstrap
from tada.domain.abuse_contacts import AbuseContact, ContactSource, HostLookupRequest
from tada.settings import Settings
from tada.worker import host_lookup_config
from tests.support.escalation_world import (
    ARIN,
    NOMINET,
    RIPE,
    VERISIGN,
    start_escalation_dns,
    start_escalation_rdap,
)
from tests.support.web import served

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def dns_server():
    server = start_escalation_dns()
    yield server.state
    server.stop()


@pytest.fixture(scope="module")
def rdap_server():
    yield from served(start_escalation_rdap())


@pytest.fixture
def rdap(rdap_server):
    rdap_server.hits.clear()
    rdap_server.throttle.clear()
    rdap_server.retry_after = "1"
    return rdap_server


@pytest.fixture
async def make_lookup(rdap, dns_server):
    async with httpx.AsyncClient() as http:

        def make(**overrides) -> HostLookupActivities:
            values = {
                "rdap_bootstrap": rdap.bootstrap_url,
                "rdap_allow_http": True,
                "rdap_timeout_seconds": 5,
                "dns_server": dns_server.address,
                "dns_timeout_seconds": 2,
            }
            config = HostLookupConfig(**(values | overrides))
            return HostLookupActivities(config, http)

        yield make


async def find(make_lookup, host: str, **overrides):
    return await make_lookup(**overrides).find_abuse_contacts(HostLookupRequest(host=host))


def registrar(
    rdap, tld_registry=VERISIGN, email="abuse@registrar.example", name="Example Registrar, Inc.", handle="9999"
):
    return AbuseContact(
        kind="registrar",
        email=email,
        name=name,
        how=ContactSource(source="rdap_domain", rdap_server=rdap.registry_url(tld_registry), entity_handle=handle),
    )


async def test_arin_nested_abuse_contact_with_how_it_was_found(make_lookup, rdap):
    result = await find(make_lookup, "www.tada-arin.com")
    assert result.addresses == ["23.94.10.5"]
    assert result.registrable_domain == "tada-arin.com"
    assert result.contacts == [
        AbuseContact(
            kind="host",
            email="abuse@colohost.example",
            how=ContactSource(
                source="rdap_ip",
                address="23.94.10.5",
                rdap_server=rdap.registry_url(ARIN),
                entity_handle="ABUSE3010-ARIN",
            ),
        ),
        registrar(rdap),
    ]
    assert rdap.queries("domain") == ["tada-arin.com"]


async def test_ripe_top_level_abuse_c_found_once_for_v4_and_v6(make_lookup, rdap):
    result = await find(make_lookup, "tada-ripe.co.uk")
    assert result.addresses == ["185.53.178.10", "2a01:4f8:1::10"]
    host, registrar_contact = result.contacts
    assert (host.kind, host.email, host.how.entity_handle) == ("host", "abuse@hostde.example", "AR40377-RIPE")
    assert host.how.address == "185.53.178.10"
    assert host.how.rdap_server == rdap.registry_url(RIPE)
    assert registrar_contact == registrar(rdap, NOMINET, "abuse@uknames.example", "UK Names Ltd", "1234")


async def test_several_abuse_contacts_in_document_order(make_lookup, rdap):
    result = await find(make_lookup, "www.tada-multi.net")
    assert [(c.kind, c.email, c.how.entity_handle) for c in result.contacts] == [
        ("host", "abuse@multi.example", "ABUSE3010-ARIN"),
        ("host", "security@multi.example", "ABUSE3011-ARIN"),
        ("registrar", "abuse@registrar.example", "9999"),
    ]


async def test_no_abuse_contact_leaves_the_registrar_only(make_lookup, rdap):
    result = await find(make_lookup, "tada-none.com")
    assert result.contacts == [registrar(rdap)]
    assert rdap.queries("ip") == ["50.7.1.1"]


async def test_rate_limit_is_waited_out_then_the_contact_found(make_lookup, rdap):
    rdap.throttle["93.184.1.1"] = 2
    rdap.retry_after = "0"
    result = await find(make_lookup, "tada-ratelimited.com")
    assert [c.email for c in result.contacts] == ["abuse@busy.example", "abuse@registrar.example"]
    assert rdap.queries("ip") == ["93.184.1.1"] * 3


async def test_rate_limit_honours_retry_after(make_lookup, rdap):
    rdap.throttle["93.184.1.1"] = 1
    rdap.retry_after = "1"
    lookup = make_lookup()
    started = time.monotonic()
    result = await lookup.find_abuse_contacts(HostLookupRequest(host="tada-ratelimited.com"))
    assert time.monotonic() - started >= 0.9
    assert result.contacts[0].email == "abuse@busy.example"


async def test_persistent_rate_limit_is_a_retryable_error_not_no_contact(make_lookup, rdap):
    rdap.throttle["94.130.1.1"] = 99
    rdap.retry_after = "0"
    with pytest.raises(ApplicationError) as raised:
        await find(make_lookup, "tada-limited.com", rdap_max_attempts=3)
    assert raised.value.type == "RdapRateLimited"
    assert not raised.value.non_retryable
    assert rdap.queries("ip") == ["94.130.1.1"] * 3


async def test_long_retry_after_is_left_to_temporal(make_lookup, rdap):
    rdap.throttle["94.130.1.1"] = 99
    rdap.retry_after = "120"
    with pytest.raises(ApplicationError) as raised:
        await find(make_lookup, "tada-limited.com")
    assert raised.value.type == "RdapRateLimited"
    assert raised.value.next_retry_delay.total_seconds() == 120
    assert rdap.queries("ip") == ["94.130.1.1"]


async def test_cdn_fronted_site_goes_to_the_cdn_abuse_process_first(make_lookup, rdap):
    result = await find(make_lookup, "www.tada-cdn.com")
    cdn, registrar_contact = result.contacts
    assert cdn.kind == "cdn"
    assert cdn.email is None
    assert cdn.name == "Cloudflare, Inc."
    assert "https://abuse.cloudflare.com" in cdn.instructions
    assert "Non-Consensual Sexually Explicit Imagery" in cdn.instructions
    assert cdn.how == ContactSource(source="cdn_ranges", address="104.16.1.1", network="104.16.0.0/13")
    assert registrar_contact == registrar(rdap)
    assert rdap.queries("ip") == []  # the CDN's own RDAP record would name the CDN, not the host


async def test_redirect_to_the_registry_holding_the_address_is_recorded(make_lookup, rdap):
    result = await find(make_lookup, "tada-transferred.com")
    host = result.contacts[0]
    assert (host.email, host.how.entity_handle) == ("abuse@moved.example", "AM1-RIPE")
    assert host.how.rdap_server == rdap.registry_url(RIPE)


async def test_nxdomain_is_an_empty_list(make_lookup, rdap, dns_server):
    result = await find(make_lookup, "gone.tada-nowhere.com")
    assert result.addresses == [] and result.contacts == []
    assert rdap.queries("ip") == rdap.queries("domain") == []
    assert ("gone.tada-nowhere.com", "A") in dns_server.queries


async def test_name_without_addresses_is_an_empty_list(make_lookup):
    result = await find(make_lookup, "tada-noaddress.com")
    assert result.contacts == []


async def test_dns_timeout_is_a_retryable_error(make_lookup):
    with pytest.raises(ApplicationError) as raised:
        await find(make_lookup, "tada-slow.com", dns_timeout_seconds=0.5)
    assert raised.value.type == "DnsUnavailable"
    assert not raised.value.non_retryable


async def test_ip_address_host_has_no_registrar(make_lookup, rdap):
    result = await find(make_lookup, "23.94.10.5")
    assert [c.kind for c in result.contacts] == ["host"]
    assert rdap.queries("domain") == []


async def test_unreachable_rdap_server_is_a_retryable_error(make_lookup):
    with pytest.raises(ApplicationError) as raised:
        await find(make_lookup, "www.tada-arin.com", rdap_bootstrap="http://127.0.0.1:9/")
    assert raised.value.type == "RdapUnavailable"


async def test_bootstrap_from_a_local_directory(make_lookup, rdap, tmp_path):
    for name in ("dns.json", "ipv4.json", "ipv6.json"):
        (tmp_path / name).write_text(json.dumps(rdap.bootstrap(name)))
    result = await find(make_lookup, "www.tada-arin.com", rdap_bootstrap=str(tmp_path))
    assert [c.email for c in result.contacts] == ["abuse@colohost.example", "abuse@registrar.example"]
    assert not any(hit.startswith("/bootstrap/") for hit in rdap.hits)


async def test_the_workers_host_lookup_config_comes_from_its_settings():
    settings = Settings(dns_server="127.0.0.1:5353", rdap_timeout_seconds=3.0)
    config = host_lookup_config(settings)
    assert (config.dns_server, config.rdap_timeout_seconds, config.rdap_bootstrap) == ("127.0.0.1:5353", 3.0, None)


async def test_bootstrap_from_a_file_saved_by_whoisit(make_lookup, rdap, tmp_path):
    async with httpx.AsyncClient() as http:
        bootstrap = await load_bootstrap(rdap.bootstrap_url, http, allow_http=True)
    saved = tmp_path / "bootstrap.json"
    saved.write_text(bootstrap.save_bootstrap_data())
    result = await find(make_lookup, "tada-ripe.co.uk", rdap_bootstrap=str(saved))
    assert [c.email for c in result.contacts] == ["abuse@hostde.example", "abuse@uknames.example"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.53", ("10.0.0.53", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
async def test_dns_server_setting(value, expected):
    assert parse_dns_server(value) == expected


@pytest.mark.parametrize("value", ["dns.example", "dns.example:53", "127.0.0.1:0", "127.0.0.1:x"])
async def test_dns_server_setting_must_be_an_address_and_port(value):
    with pytest.raises(ValueError):
        parse_dns_server(value)
