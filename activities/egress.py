"""Safe egress: outgoing requests reach only public internet addresses.

Liveness checks and web forms refuse private, loopback, link-local, multicast and
reserved targets (every redirect hop is checked again) unless
TADA_ALLOW_PRIVATE_TARGETS is set, as it is in tests and local demos.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class EgressRefused(Exception):
    """The target is not a public http(s) address."""


class HostNotFound(Exception):
    """The host name does not resolve (NXDOMAIN)."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raise EgressRefused or HostNotFound unless ``url`` may be fetched."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise EgressRefused(f"scheme {parts.scheme!r} is not http(s)")
    if parts.username or parts.password:
        raise EgressRefused("credentials in the address")
    host = parts.hostname
    if not host:
        raise EgressRefused("no host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            raise HostNotFound(host) from error
        raise EgressRefused(f"could not resolve {host} ({error.strerror})") from error
    if allow_private:
        return
    for info in infos:
        if not _is_public(info[4][0]):
            raise EgressRefused(f"host {host} resolves to a non-public address")
