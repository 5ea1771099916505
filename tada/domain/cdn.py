"""CDN-fronted sites: is an address one of a CDN's, and what is that CDN's abuse process?

The ranges ship as data (``tada/domain/data/cdn_ranges.toml``) with their source and
the date they were captured; nothing is fetched at run time.
"""

from __future__ import annotations

import ipaddress
import tomllib
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

from pydantic import BaseModel

RANGES_FILE = Path(__file__).parent / "data" / "cdn_ranges.toml"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class CdnProvider(BaseModel):
    id: str
    name: str
    abuse_form: str
    abuse_category: str
    instructions: str
    policy_pages: list[str]
    range_sources: list[str]
    captured: date
    ranges: list[str]

    def network_of(self, address: str) -> IPNetwork | None:
        """The range of this provider that holds ``address``, or None."""
        ip = _ip(address)
        if ip is None:
            return None
        for network in _networks(self.id):
            if ip.version == network.version and ip in network:
                return network
        return None


@lru_cache(maxsize=1)
def providers() -> tuple[CdnProvider, ...]:
    with RANGES_FILE.open("rb") as file:
        data = tomllib.load(file)
    return tuple(CdnProvider.model_validate(entry) for entry in data.get("provider", []))


def cdn_for(address: str) -> CdnProvider | None:
    """The CDN whose published ranges hold ``address``, or None (also for anything that is not an address)."""
    for provider in providers():
        if provider.network_of(address) is not None:
            return provider
    return None


@cache
def _networks(provider_id: str) -> tuple[IPNetwork, ...]:
    provider = next(p for p in providers() if p.id == provider_id)
    return tuple(ipaddress.ip_network(r) for r in provider.ranges)


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(address.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip
