"""RDAP answers shaped like the real ones (RFC 9083): ARIN's network with the abuse
entity nested in the registrant organisation, RIPE's with its abuse-c at the top,
and a Verisign-style domain whose registrar entity holds a handle-less abuse entity."""

from __future__ import annotations

import ipaddress
import zlib
from typing import Any

JSON = dict[str, Any]


def vcard(fn: str, *emails: str, kind: str = "group", tel: str | None = None) -> list:
    props: list = [["version", {}, "text", "4.0"], ["fn", {}, "text", fn], ["kind", {}, "text", kind]]
    props += [["email", {}, "text", email] for email in emails]
    if tel:
        props.append(["tel", {"type": ["work", "voice"]}, "uri", f"tel:{tel}"])
    return ["vcard", props]


def entity(
    handle: str | None, roles: list[str], fn: str, *emails: str, entities: list[JSON] = (), base: str = ""
) -> JSON:
    record: JSON = {"objectClassName": "entity", "roles": roles, "vcardArray": vcard(fn, *emails, tel="+1-555-0100")}
    if handle:
        record["handle"] = handle
        record["links"] = [
            {"value": base, "rel": "self", "type": "application/rdap+json", "href": f"{base}entity/{handle}"}
        ]
    if entities:
        record["entities"] = list(entities)
    return record


def _network(cidr: str, handle: str, name: str, entities: list[JSON], base: str, conformance: list[str]) -> JSON:
    network = ipaddress.ip_network(cidr)
    return {
        "rdapConformance": conformance,
        "notices": [{"title": "Terms of Service", "description": ["By using this service you agree..."]}],
        "objectClassName": "ip network",
        "handle": handle,
        "startAddress": str(network.network_address),
        "endAddress": str(network.broadcast_address),
        "ipVersion": f"v{network.version}",
        "name": name,
        "type": "DIRECT ALLOCATION",
        "status": ["active"],
        "entities": entities,
        "links": [{"value": f"{base}ip/{network.network_address}", "rel": "self", "href": f"{base}ip/{cidr}"}],
        "events": [{"eventAction": "registration", "eventDate": "2012-05-03T10:00:00-04:00"}],
    }


def arin_network(cidr: str, name: str, org: str, *abuse: str, base: str) -> JSON:
    """ARIN: the abuse (and NOC, tech) entities sit inside the registrant organisation."""
    handle = "NET-" + cidr.split("/")[0].replace(".", "-").replace(":", "-") + "-1"
    org_handle = name.upper()[:4] + "-ARIN"
    nested = [entity(f"ABUSE{i}-ARIN", ["abuse"], "Abuse", email, base=base) for i, email in enumerate(abuse, 3010)]
    nested.append(
        entity(
            "NOC123-ARIN",
            ["noc", "technical"],
            "Network Operations",
            "noc@" + org.split()[0].lower() + ".example",
            base=base,
        )
    )
    registrant = entity(org_handle, ["registrant"], org, entities=nested, base=base)
    registrant["vcardArray"][1].append(
        ["adr", {"label": "1 Main St\nBuffalo\nNY\n14202\nUnited States"}, "text", ["", "", "", "", "", "", ""]]
    )
    return _network(
        cidr, handle, name, [registrant], base, ["nro_rdap_profile_0", "rdap_level_0", "cidr0", "arin_originas0"]
    )


def ripe_network(
    cidr: str, name: str, org: str, abuse_email: str | None, *, base: str, abuse_handle: str = "AR40377-RIPE"
) -> JSON:
    """RIPE: registrant, admin/tech and the abuse-c role all at the top level."""
    network = ipaddress.ip_network(cidr)
    entities = [
        entity("ORG-TH1-RIPE", ["registrant"], org, base=base),
        entity("TH123-RIPE", ["administrative", "technical"], f"{org} NOC", base=base),
    ]
    if abuse_email:
        entities.append(entity(abuse_handle, ["abuse"], "Abuse contact role object", abuse_email, base=base))
    record = _network(
        cidr,
        f"{network.network_address} - {network.broadcast_address}",
        name,
        entities,
        base,
        ["cidr0", "rdap_level_0", "nro_rdap_profile_0", "redacted"],
    )
    record["type"] = "ASSIGNED PA"
    record["country"] = "DE"
    return record


def registry_domain(name: str, registrar: str, iana_id: str, abuse_email: str, *, base: str) -> JSON:
    """A thin gTLD registry's answer: the registrar entity with its abuse contact nested, no handle on it."""
    abuse = entity(None, ["abuse"], "", abuse_email)
    registrar_entity = entity(iana_id, ["registrar"], registrar, entities=[abuse], base=base)
    registrar_entity["publicIds"] = [{"type": "IANA Registrar ID", "identifier": iana_id}]
    del registrar_entity["vcardArray"][1][3:]  # the registrar's own card: its name, no email
    return {
        "rdapConformance": [
            "rdap_level_0",
            "icann_rdap_technical_implementation_guide_0",
            "icann_rdap_response_profile_0",
        ],
        "objectClassName": "domain",
        "handle": f"{zlib.crc32(name.encode())}_DOMAIN_COM-VRSN",
        "ldhName": name.upper(),
        "status": ["client transfer prohibited"],
        "entities": [registrar_entity],
        "nameservers": [{"objectClassName": "nameserver", "ldhName": "NS1.EXAMPLE-DNS.COM"}],
        "secureDNS": {"delegationSigned": False},
        "links": [
            {
                "value": f"{base}tada/domain/{name}",
                "rel": "self",
                "href": f"{base}tada/domain/{name}",
                "type": "application/rdap+json",
            },
            {
                "value": f"{base}tada/domain/{name}",
                "rel": "related",
                "href": f"https://rdap.registrar.example/domain/{name}",
                "type": "application/rdap+json",
            },
        ],
        "events": [{"eventAction": "registration", "eventDate": "2019-01-01T00:00:00Z"}],
    }
