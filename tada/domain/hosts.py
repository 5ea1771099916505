"""Hosts and registrable domains, from tldextract's bundled Public Suffix List (never fetched)."""

from __future__ import annotations

import ipaddress

import tldextract

#: No network and no cache: the suffix list shipped inside the tldextract package.
#: Private suffixes (blogspot.com, github.io...) are left out on purpose, so the
#: registrable domain is the operator's (blogspot.com), whose abuse desk can act.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host is, with or without [brackets], or None for a name."""
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def registrable_domain(host: str) -> str:
    """``sub.example.co.uk`` -> ``example.co.uk``; an IP address, or a name under no known suffix, is returned as is."""
    host = host.lower().rstrip(".")
    ip = ip_literal(host)
    if ip is not None:
        return str(ip)
    return _EXTRACT.extract_str(host).top_domain_under_public_suffix or host
