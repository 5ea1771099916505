"""Safe egress: outgoing requests reach only public internet addresses.

Every request (liveness checks, web forms, RDAP) refuses schemes other than
http(s), credentials in the address, IP addresses written in non-standard forms
(``http://2130706433/``) and hosts that resolve to private, loopback,
link-local, multicast, reserved or otherwise non-public addresses (see
``domain.addresses``), unless TADA_ALLOW_PRIVATE_TARGETS is set, as it is in
tests and local demos.

``EgressPolicy.check(url)`` is the early check callers make before a request
(and on every redirect hop); ``EgressPolicy.addresses(host, port)`` is the
check at connect time that ``activities.safe_transport`` makes: resolve once,
validate every address, then connect to the validated address itself, so a
second DNS answer (DNS rebinding) never reaches a socket.

Messages name the host at most, never the URL.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from tada.domain.addresses import nonstandard_ip_host, parse_ip, refusal

#: (host, port) -> the host's addresses; the system resolver unless a test swaps it.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class EgressRefused(httpx.ConnectError):
    """The target is not a public http(s) address; nothing was sent to it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


class HostNotFound(httpx.ConnectError):
    """The host name does not resolve (NXDOMAIN)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"host {host} does not exist")
        self.host = host


class ResolutionFailed(httpx.ConnectError):
    """The resolver failed (not an NXDOMAIN): worth trying again later."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system's resolver."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            raise HostNotFound(host) from error
        raise ResolutionFailed(f"could not resolve {host} ({error.strerror})") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class EgressPolicy:
    """Where outgoing requests may go. ``resolver`` and ``exempt_hosts`` are hooks for tests
    (a fake DNS, one named test host allowed to reach 127.0.0.1); configuration never sets them."""

    allow_private: bool = False
    resolver: Resolver = system_resolver
    exempt_hosts: frozenset[str] = field(default_factory=frozenset)

    def check_url(self, url: str | httpx.URL) -> str:
        """Refuse a URL by its spelling alone; returns its host."""
        if isinstance(url, httpx.URL):
            scheme, host, userinfo = url.scheme, url.host, url.userinfo.decode("ascii", "replace")
        else:
            try:
                parts = urlsplit(url)
                host = parts.hostname or ""
            except ValueError:
                raise EgressRefused("not a valid web address") from None
            scheme, userinfo = parts.scheme.lower(), parts.netloc.rpartition("@")[0]
        if scheme not in ("http", "https"):
            why = f"scheme {scheme[:20]!r} is not http(s)" if scheme else "not an absolute http(s) address"
            raise EgressRefused(why)
        if userinfo:
            raise EgressRefused("credentials in the address")
        return self.check_host(host)

    def check_host(self, host: str) -> str:
        if not host:
            raise EgressRefused("no host")
        if "%" in host or any(ord(ch) < 33 or ord(ch) == 127 for ch in host):
            raise EgressRefused("host with control characters or a zone id")
        if nonstandard_ip_host(host):
            raise EgressRefused("IP address written in a non-standard form (decimal, octal or hex)")
        return host

    async def addresses(self, host: str, port: int) -> list[str]:
        """Resolve ``host`` once and validate every address: all of them public, or EgressRefused.
        The caller connects to these addresses, never to the name again."""
        self.check_host(host)
        literal = parse_ip(host)
        found = [str(literal)] if literal is not None else await self.resolver(host, port)
        if not found:
            raise HostNotFound(host)
        if self.allow_private or host.lower().rstrip(".") in self.exempt_hosts:
            return found
        for address in found:
            why = refusal(address)
            if why is not None:
                shown = "the address is" if literal is not None else f"host {host} resolves to"
                raise EgressRefused(f"{shown} not public ({why})")
        return found

    async def check(self, url: str) -> None:
        """Raise EgressRefused or HostNotFound unless ``url`` may be fetched now."""
        host = self.check_url(url)
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        except ValueError:
            raise EgressRefused("invalid port") from None
        await self.addresses(host, port)


async def check_target(url: str, *, allow_private: bool) -> None:
    """Raise EgressRefused or HostNotFound unless ``url`` may be fetched (system resolver)."""
    await EgressPolicy(allow_private=allow_private).check(url)
