"""One small internet for host-escalation tests: names in DNS, addresses at an
ARIN- and a RIPE-shaped registry, domains at gTLD and .uk registries.

| host                  | addresses                        | what RDAP says                              |
|-----------------------|----------------------------------|---------------------------------------------|
| www.tada-arin.com     | 23.94.10.5                       | ARIN, abuse nested in the organisation       |
| tada-ripe.co.uk       | 185.53.178.10, 2a01:4f8:1::10    | RIPE, abuse-c at the top (same for both)     |
| www.tada-multi.net    | 45.76.1.1                        | ARIN, several abuse contacts                 |
| tada-none.com         | 50.7.1.1                         | ARIN, no abuse contact at all                |
| tada-ratelimited.com  | 93.184.1.1                       | ARIN (tests make it answer 429 first)        |
| tada-limited.com      | 94.130.1.1                       | ARIN (tests make it answer 429 throughout)   |
| tada-transferred.com  | 45.140.2.2                       | ARIN redirects to RIPE                       |
| www.tada-cdn.com      | 104.16.1.1, 2606:4700::6810:101  | Cloudflare ranges: never asked               |
| tada-noaddress.com    | (none)                           | -                                            |
| tada-slow.com         | (DNS never answers)              | -                                            |

Every registrable domain above has a registrar with an abuse contact
(abuse@registrar.example, or abuse@uknames.example for .co.uk); any other name is NXDOMAIN.
"""

from __future__ import annotations

from tada.kit.web import LoopbackWeb
from tests.support.dns import RunningDnsServer, start_dns_server
from tests.support.rdap import RdapServer, start_rdap_server
from tests.support.rdap_records import arin_network, registry_domain, ripe_network

ARIN, RIPE, VERISIGN, NOMINET = "arin/registry/", "ripe/", "verisign/", "nominet/"

DNS = {
    "www.tada-arin.com": {"A": ["23.94.10.5"]},
    "tada-ripe.co.uk": {"A": ["185.53.178.10"], "AAAA": ["2a01:4f8:1::10"]},
    "www.tada-multi.net": {"A": ["45.76.1.1"]},
    "tada-none.com": {"A": ["50.7.1.1"]},
    "tada-ratelimited.com": {"A": ["93.184.1.1"]},
    "tada-limited.com": {"A": ["94.130.1.1"]},
    "tada-transferred.com": {"A": ["45.140.2.2"]},
    "www.tada-cdn.com": {"A": ["104.16.1.1"], "AAAA": ["2606:4700::6810:101"]},
    "tada-noaddress.com": {},
}
SLOW_NAME = "tada-slow.com"  # never answered: a DNS timeout


def start_escalation_dns() -> RunningDnsServer:
    """The DNS server of the scenario; ``stop()`` it when done. Its ``state.address`` is TADA_DNS_SERVER."""
    server = start_dns_server()
    server.state.records.update(DNS)
    server.state.silent.add(SLOW_NAME)
    return server


def start_escalation_rdap() -> tuple[RdapServer, LoopbackWeb]:
    """The RDAP service of the scenario; ``shutdown()`` the server when done.
    Its ``bootstrap_url`` is TADA_RDAP_BOOTSTRAP (with TADA_RDAP_ALLOW_HTTP)."""
    state, httpd = start_rdap_server()
    state.address_blocks = {
        ARIN: ["23.0.0.0/8", "45.0.0.0/8", "50.0.0.0/8", "93.0.0.0/8", "94.0.0.0/8", "2600::/12"],
        RIPE: ["185.0.0.0/8", "2a01::/16"],
    }
    state.tlds = {VERISIGN: ["com", "net"], NOMINET: ["uk"]}
    arin, ripe = state.registry_url(ARIN), state.registry_url(RIPE)
    arin_blocks = [  # (network, handle, name, abuse addresses...)
        ("23.94.0.0/15", "CC-17", "ColoHost Inc", "abuse@colohost.example"),
        ("50.7.0.0/16", "QUIET-1", "Quiet Hosting LLC"),  # no abuse contact
        ("93.184.0.0/16", "BUSY-1", "Busy Host Inc", "abuse@busy.example"),
        ("94.130.0.0/16", "SWAMP-1", "Swamped Inc", "abuse@swamped.example"),
    ]
    ripe_blocks = [
        ("185.53.176.0/22", "HOSTDE-NET", "HostDE GmbH", "abuse@hostde.example"),
        ("2a01:4f8::/32", "HOSTDE-V6", "HostDE GmbH", "abuse@hostde.example"),
    ]
    state.networks = {
        **{cidr: (ARIN, arin_network(cidr, *rest, base=arin)) for cidr, *rest in arin_blocks},
        **{cidr: (RIPE, ripe_network(cidr, *rest, base=ripe)) for cidr, *rest in ripe_blocks},
        "45.76.0.0/16": (ARIN, _several_contacts(arin, ripe)),
        "45.140.0.0/16": (
            RIPE,
            ripe_network(
                "45.140.0.0/16", "MOVED-NET", "Moved BV", "abuse@moved.example", base=ripe, abuse_handle="AM1-RIPE"
            ),
        ),
    }
    verisign, nominet = state.registry_url(VERISIGN), state.registry_url(NOMINET)
    for name in (
        "tada-arin.com",
        "tada-multi.net",
        "tada-none.com",
        "tada-ratelimited.com",
        "tada-limited.com",
        "tada-transferred.com",
        "tada-cdn.com",
    ):
        state.domains[name] = (
            VERISIGN,
            registry_domain(name, "Example Registrar, Inc.", "9999", "abuse@registrar.example", base=verisign),
        )
    state.domains["tada-ripe.co.uk"] = (
        NOMINET,
        registry_domain("tada-ripe.co.uk", "UK Names Ltd", "1234", "abuse@uknames.example", base=nominet),
    )
    return state, httpd


def _several_contacts(arin: str, ripe: str) -> dict:
    """Two abuse entities in the organisation, and a third at the top repeating one of them."""
    record = arin_network(
        "45.76.0.0/16", "MULTI-1", "Multi Host Inc", "abuse@multi.example", "security@multi.example", base=arin
    )
    record["entities"].append(
        {
            "objectClassName": "entity",
            "handle": "ABUSE9-ARIN",
            "roles": ["abuse"],
            "vcardArray": ["vcard", [["fn", {}, "text", "Abuse"], ["email", {}, "text", "ABUSE@multi.example"]]],
        }
    )
    return record
