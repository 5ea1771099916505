"""Which IP addresses tada may connect to: public unicast internet addresses only.

Pure rules, no I/O: ``refusal(ip)`` says why an address is not a public
destination (loopback, private, link-local, multicast, reserved, ...), or None
when it is. Python's ``ipaddress.is_global`` alone is not enough (it calls
``2002:7f00:1::`` and ``::7f00:1`` global), so the special-purpose blocks of the
IANA registries are listed here, and the IPv4 address inside an IPv6 one
(IPv4-mapped, NAT64, 6to4) is judged as that IPv4 address.

``nonstandard_ip_host(host)`` spots hosts that the system resolver would read
as an IPv4 address although they are not written as one (``2130706433``,
``0177.0.0.1``, ``0x7f.1``): they are refused outright.
"""

from __future__ import annotations

import functools
import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4 = [
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
]
_V6 = [
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local NAT64"),
    ("100::/64", "discard-only"),
    ("2001::/23", "IETF protocol assignment (Teredo, ...)"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing"),
    ("fc00::/7", "unique local (private)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
]
_V4_BLOCKS = [(ipaddress.IPv4Network(net), why) for net, why in _V4]
_V6_BLOCKS = [(ipaddress.IPv6Network(net), why) for net, why in _V6]
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")

#: A host made only of numbers (decimal, octal with a leading 0, hex with 0x) and dots.
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)  # every request asks, at its check and at connect time
def parse_ip(text: str) -> IPAddress | None:
    """The address ``text`` is in its standard spelling (brackets and an IPv6 zone allowed), or None."""
    text = text.strip().removeprefix("[").removesuffix("]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: IPv4-mapped, NAT64 (64:ff9b::/96) or 6to4."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


@functools.lru_cache(maxsize=4096)
def refusal(ip: IPAddress | str) -> str | None:
    """Why ``ip`` is not a public internet destination ("loopback", "private", ...), or None."""
    if isinstance(ip, str):
        parsed = parse_ip(ip)
        if parsed is None:
            return "not an IP address"
        ip = parsed
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            why = refusal(inner)
            return f"{why}, inside an IPv6 address" if why else None
        for network, why in _V6_BLOCKS:
            if ip in network:
                return why
        if ip not in _GLOBAL_UNICAST:
            return "reserved (outside IPv6 global unicast)"
        return None
    for network4, why in _V4_BLOCKS:
        if ip in network4:
            return why
    if not ip.is_global:
        return "not globally routable"
    return None


@functools.lru_cache(maxsize=4096)  # asked several times per request, mostly about the same few hosts
def nonstandard_ip_host(host: str) -> bool:
    """True for a host the OS resolver would take as an IPv4 address written in a non-standard
    way (decimal ``2130706433``, octal ``0177.0.0.1``, hex ``0x7f.1``, short ``127.1``)."""
    host = host.strip()
    if not _NUMERIC_HOST.fullmatch(host):
        return False
    try:
        return str(ipaddress.IPv4Address(host)) != host
    except ValueError:
        return True
