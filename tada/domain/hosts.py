"""Hosts and the domains they belong to, by the public suffix list (``tada.domain.suffixes``).

Two questions, two answers:

- ``registrable_domain(host)``: whose site this is, the domain a notice goes to
  (``abuse@<it>``) when no platform in the registry matches. Under a registry's private
  suffix it is the registrant's (``site.uk.com``); under a platform's it is the platform's
  (``user.github.io`` -> ``github.io``: the platform hosts it and can take it down).
- ``rdap_domain(host)``: the name as registered under an ICANN suffix, the one the TLD's
  RDAP server knows and answers for with its registrar (``site.uk.com`` -> ``uk.com``).

A name under no listed suffix (a TLD the list does not know) follows the list's own default
rule, ``*``: its last two labels (``www.site.tld`` -> ``site.tld``), never the whole host.
"""

from __future__ import annotations

import ipaddress

from tada.domain.suffixes import bundled


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host is, with or without [brackets], or None for a name."""
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def registrable_domain(host: str) -> str:
    """``sub.example.co.uk`` -> ``example.co.uk``, ``www.site.uk.com`` -> ``site.uk.com``,
    ``someone.blogspot.com`` -> ``blogspot.com``; an IP address, or a host that is itself a
    public suffix, is returned as it is."""
    host = _plain(host)
    ip = ip_literal(host)
    if ip is not None:
        return str(ip)
    return bundled().registrable(host) or host


def rdap_domain(host: str) -> str:
    """``www.site.uk.com`` -> ``uk.com``: the domain registered at the TLD's registry, the one
    to ask its RDAP server about; an IP address, or a public suffix, is returned as it is."""
    host = _plain(host)
    ip = ip_literal(host)
    if ip is not None:
        return str(ip)
    return bundled().registered(host) or host


def suffix_list_version() -> str:
    """The ``VERSION`` of the public suffix list in use (``2026-10-22_08-36-41_UTC``)."""
    return bundled().version


def _plain(host: str) -> str:
    return host.strip().lower().removesuffix(".")
